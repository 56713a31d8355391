"""FatJet constituents from NanoAOD-like event arrays (PFNano and NanoAOD v15 naming).

Private helper shared by ``hepjepa-run`` and the coffea processor: it only gathers
the PF candidates of each FatJet in FatJet order; features are computed by
``hepjepa.features.tokenize_flat`` (the one implementation used in training).
"""

from __future__ import annotations

import numpy as np

# name scheme -> (PF collection, jet index branch, candidate index branch)
SCHEMES = {
    "PFNano": ("PFCands", "FatJetPFCands_jetIdx", "FatJetPFCands_pFCandsIdx"),
    "NanoAODv15": ("PFCand", "FatJetPFCand_jetIdx", "FatJetPFCand_pfCandIdx"),
}
PF_FIELDS = ("pt", "eta", "phi", "mass", "pdgId")


class MissingBranchesError(KeyError):
    """The input lacks branches the job needs; lists all of them."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


def detect_scheme(keys, src: str = "FatJet", pfcands: str = "") -> tuple[str, str, str]:
    """Pick the PF naming scheme present in ``keys``; raise MissingBranchesError listing what is missing."""
    keys = set(keys)
    candidates = [s for s in SCHEMES.values() if not pfcands or s[0] == pfcands]
    if not candidates:
        raise MissingBranchesError(f"unknown PF collection {pfcands!r}; expected one of {[s[0] for s in SCHEMES.values()]}")
    best, best_missing = None, None
    for pf, jidx, cidx in candidates:
        need = [f"n{src}", f"{src}_pt", jidx, cidx] + [f"{pf}_{f}" for f in PF_FIELDS]
        missing = [b for b in need if b not in keys]
        if not missing:
            return pf, jidx, cidx
        if best_missing is None or len(missing) < len(best_missing):
            best, best_missing = (pf, jidx, cidx), missing
    raise MissingBranchesError(f"input lacks branches {best_missing} (closest naming: {best[0]}/{best[1]})")


def needed_branches(scheme: tuple[str, str, str], src: str = "FatJet") -> list[str]:
    pf, jidx, cidx = scheme
    return [f"n{src}", f"{src}_pt", jidx, cidx] + [f"{pf}_{f}" for f in PF_FIELDS]


def fatjet_constituents(arrays, scheme: tuple[str, str, str], src: str = "FatJet") -> dict[str, np.ndarray]:
    """Flat constituent arrays of every FatJet of a chunk, FatJet after FatJet.

    Args:
        arrays: mapping of branch -> awkward/NumPy arrays for one chunk of events.
        scheme: from :func:`detect_scheme`.
        src: FatJet collection name.

    Returns:
        dict with ``px, py, pz, energy, charge, isChargedHadron, isNeutralHadron, isPhoton,
        isElectron, isMuon`` (P,) float32, ``offsets`` (n_jets+1,) int64, ``n_jets_per_event``
        (n_events,) int64 and ``n_constituents`` (n_jets,) int64.
    """
    import awkward as ak

    pf, jidx_b, cidx_b = scheme
    njet = np.asarray(arrays[f"n{src}"], dtype=np.int64)  # (E,)
    npf = np.asarray(ak.num(arrays[f"{pf}_pt"]), dtype=np.int64)  # (E,)
    jidx = arrays[jidx_b]
    cidx = arrays[cidx_b]
    nmap = np.asarray(ak.num(jidx), dtype=np.int64)
    ev_of_map = np.repeat(np.arange(len(njet)), nmap)
    jet_off = np.concatenate([[0], np.cumsum(njet)])[:-1]
    pf_off = np.concatenate([[0], np.cumsum(npf)])[:-1]
    j_local = ak.to_numpy(ak.flatten(jidx)).astype(np.int64)
    c_local = ak.to_numpy(ak.flatten(cidx)).astype(np.int64)
    # entries pointing outside their event's collections are dropped (e.g. jets cut after mapping)
    ok = (j_local >= 0) & (j_local < njet[ev_of_map]) & (c_local >= 0) & (c_local < npf[ev_of_map])
    gj = (jet_off[ev_of_map] + j_local)[ok]
    gc = (pf_off[ev_of_map] + c_local)[ok]
    order = np.argsort(gj, kind="stable")  # keep the file's constituent order within a jet
    gj, gc = gj[order], gc[order]
    n_jets = int(njet.sum())
    ncon = np.bincount(gj, minlength=n_jets).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(ncon)]).astype(np.int64)
    flat = {f: ak.to_numpy(ak.flatten(arrays[f"{pf}_{f}"])).astype(np.float64)[gc] for f in PF_FIELDS}
    pt, eta, phi, m = flat["pt"], flat["eta"], flat["phi"], flat["mass"]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    pdg = np.abs(flat["pdgId"]).astype(np.int64)
    sign = np.sign(flat["pdgId"])
    charged = np.isin(pdg, (211, 321, 2212, 11, 13))
    # PDG: negative ids of e/mu are positive charge
    charge = np.where(charged, np.where(np.isin(pdg, (11, 13)), -sign, sign), 0.0)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {
        "px": f32(px), "py": f32(py), "pz": f32(pz), "energy": f32(energy), "charge": f32(charge),
        "isChargedHadron": f32(np.isin(pdg, (211, 321, 2212))), "isNeutralHadron": f32(np.isin(pdg, (130, 2112, 310, 1))),
        "isPhoton": f32((pdg == 22) | (pdg == 2)), "isElectron": f32(pdg == 11), "isMuon": f32(pdg == 13),
        "offsets": offsets, "n_jets_per_event": njet, "n_constituents": ncon,
    }
