"""FatJet constituents from NanoAOD-like event arrays (PFNano and NanoAOD v15 naming).

Private adapter shared by ``hepjepa-run`` and the coffea processor over the one gathering
code, ``hepjepa.data._nanoaod.fatjet_constituents``: it only gathers
the PF candidates of each FatJet in FatJet order; features are computed by
``hepjepa.features.tokenize_flat`` (the one implementation used in training).
"""

from __future__ import annotations

import numpy as np

from hepjepa.data._nanoaod import NAMINGS, fatjet_constituents as _gather

# name scheme -> (PF collection, jet index branch, candidate index branch), from the reader's namings
SCHEMES = {name: (cand, f"{mapping}_jetIdx", cidx) for name, (cand, mapping, cidx) in zip(("PFNano", "NanoAODv15"), NAMINGS)}
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


def optional_branches(scheme: tuple[str, str, str], keys) -> list[str]:
    """Branches read when present: the PF candidates' ``charge``."""
    return [b for b in (f"{scheme[0]}_charge",) if b in set(keys)]


def needed_branches(scheme: tuple[str, str, str], src: str = "FatJet") -> list[str]:
    pf, jidx, cidx = scheme
    return [f"n{src}", f"{src}_pt", jidx, cidx] + [f"{pf}_{f}" for f in PF_FIELDS]


def fatjet_constituents(arrays, scheme: tuple[str, str, str], src: str = "FatJet") -> dict[str, np.ndarray]:
    """Flat constituent arrays of every FatJet of a chunk, FatJet after FatJet.

    A thin adapter of :func:`hepjepa.data._nanoaod.fatjet_constituents` (the one
    implementation, shared with ``read_jets``) for branch-name mappings. Mapping entries that
    point outside their event's collections are dropped (real files may cut jets after the
    mapping was made). Charge comes from ``<PF>_charge`` when the input has it (as the
    training files do), else from the PDG id (NanoAOD v15 ``PFCand`` has no charge).

    Args:
        arrays: mapping of branch -> awkward/NumPy arrays for one chunk of events.
        scheme: from :func:`detect_scheme`.
        src: FatJet collection name.

    Returns:
        dict with ``px, py, pz, energy, charge, isChargedHadron, isNeutralHadron, isPhoton,
        isElectron, isMuon`` (P,) float32, ``offsets`` (n_jets+1,) int64, ``n_jets_per_event``
        (n_events,) int64 and ``n_constituents`` (n_jets,) int64.
    """
    pf, jidx_b, cidx_b = scheme
    cands = {f: arrays[f"{pf}_{f}"] for f in PF_FIELDS}
    names = arrays.fields if hasattr(arrays, "fields") else arrays
    if f"{pf}_charge" in names:  # the file's charge, as in training files; else charge from the PDG id
        cands["charge"] = arrays[f"{pf}_charge"]
    return _gather(np.asarray(arrays[f"n{src}"]), arrays[jidx_b], arrays[cidx_b], cands, where=cidx_b, drop_bad_indices=True)


def select_jets(con: dict[str, np.ndarray], keep: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The flat constituents of the FatJets ``keep`` (indices into the chunk's jets), in that order.

    Args:
        con: from :func:`fatjet_constituents`.
        keep: (n_keep,) int jet indices.

    Returns:
        (particles, offsets): dict of flat per-particle arrays of the kept jets (every
        per-particle key of ``con``) and their (n_keep + 1,) offsets.
    """
    starts, stops = con["offsets"][keep], con["offsets"][keep + 1]
    lengths = stops - starts  # (n_keep,)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # index of every kept particle without a Python loop: its jet's start + its rank inside the jet
    sel = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    n_part = con["offsets"][-1]
    particles = {k: v[sel] for k, v in con.items() if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == n_part
                 and k not in ("offsets", "n_constituents", "n_jets_per_event")}
    return particles, offsets


def nonfinite_jets(con: dict[str, np.ndarray]) -> np.ndarray:
    """(n_jets,) bool: FatJets with at least one constituent whose px, py, pz or energy is NaN/inf."""
    ncon = con["n_constituents"]
    bad = ~(np.isfinite(con["px"]) & np.isfinite(con["py"]) & np.isfinite(con["pz"]) & np.isfinite(con["energy"]))
    jet_of = np.repeat(np.arange(len(ncon)), ncon)
    return np.bincount(jet_of[bad], minlength=len(ncon)) > 0
