"""NanoAOD-like ROOT reader: one record per FatJet with its PF candidates.

Two namings are accepted (real CMS files differ):

* PFNano (and our generator): ``PFCands_*``, ``FatJetPFCands_jetIdx``, ``FatJetPFCands_pFCandsIdx``;
* NanoAOD v15: ``PFCand_*``, ``FatJetPFCand_jetIdx``, ``FatJetPFCand_pfCandIdx``.

Jets come in event order, then FatJet order; constituents of a jet in the order of the mapping.
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np
import uproot

from ._common import flags_from_pdgid, jagged_record, open_root
from ._errors import FormatError, MissingFieldsError

TREE = "Events"
#: (candidate prefix, mapping prefix, candidate-index branch) per naming.
NAMINGS = (
    ("PFCands", "FatJetPFCands", "FatJetPFCands_pFCandsIdx"),
    ("PFCand", "FatJetPFCand", "FatJetPFCand_pfCandIdx"),
)
CAND_VARS = ("pt", "eta", "phi", "mass")
TRUTH = "FatJet_truthLabel"


def iter_file(path: str, step_size: int, entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield FatJets of a NanoAOD-like file, reading ``step_size`` events at a time.

    Args:
        path: the ROOT file.
        step_size: events per chunk (a chunk holds all FatJets of those events).
        entry_start: first event.

    Returns:
        iterator of ``ak.Array`` records with ``event_index``, ``fatjet_index``, every
        ``FatJet_*`` branch, ``jet_pt/jet_eta/jet_phi`` (and ``jet_sdmass`` from ``msoftdrop``),
        and ``label`` from ``FatJet_truthLabel`` (-1 when absent or unmatched).
    """
    with open_root(path, "NanoAOD ROOT") as f:
        if TREE not in f:
            raise FormatError(f"{path}: not a NanoAOD file, no TTree {TREE!r} (keys: {list(f.keys())[:10]})")
        names = set(f[TREE].keys())
    for cand, mapping, cidx in NAMINGS:
        need = [f"{cand}_{v}" for v in CAND_VARS] + [f"{mapping}_jetIdx", cidx, "nFatJet"]
        if all(n in names for n in need):
            break
    else:
        best = max(NAMINGS, key=lambda nm: sum(b.startswith(nm[0] + "_") for b in names))
        need = [f"{best[0]}_{v}" for v in CAND_VARS] + [f"{best[1]}_jetIdx", best[2], "nFatJet"]
        raise MissingFieldsError(path, "NanoAOD (PFNano or v15 naming)", [n for n in need if n not in names], names)
    optional = [f"{cand}_{v}" for v in ("pdgId", "charge") if f"{cand}_{v}" in names]
    jet_branches = sorted(b for b in names if b.startswith("FatJet_"))
    branches = [f"{cand}_{v}" for v in CAND_VARS] + optional + [f"{mapping}_jetIdx", cidx, "nFatJet"] + jet_branches
    start = entry_start
    for chunk in uproot.iterate(f"{path}:{TREE}", branches, step_size=step_size, entry_start=entry_start, library="ak"):
        yield _convert(path, chunk, cand, mapping, cidx, jet_branches, start)
        start += len(chunk)


def _convert(path, ev: ak.Array, cand: str, mapping: str, cidx: str, jet_branches: list[str], start: int) -> ak.Array:
    njet = ak.to_numpy(ev["nFatJet"]).astype(np.int64)  # (n_events,)
    jet_idx = ev[f"{mapping}_jetIdx"]
    pf_idx = ev[cidx]
    # group the mapping by jet; a stable sort keeps the file's constituent order inside a jet
    order = ak.argsort(jet_idx, axis=1, stable=True)
    jet_idx, pf_idx = jet_idx[order], pf_idx[order]
    flat_j = ak.to_numpy(ak.flatten(jet_idx)).astype(np.int64)
    n_map = ak.to_numpy(ak.num(jet_idx)).astype(np.int64)
    ev_of_map = np.repeat(np.arange(len(njet)), n_map)
    bad = (flat_j < 0) | (flat_j >= njet[ev_of_map])
    if bad.any():
        e = int(ev_of_map[bad][0])
        raise FormatError(f"{path}: event {start + e} maps a candidate to FatJet {int(flat_j[bad][0])}, but it has {int(njet[e])} FatJets")
    n_pf = ak.num(ev[f"{cand}_pt"])
    if ak.any((pf_idx < 0) | (pf_idx >= n_pf)):
        raise FormatError(f"{path}: {cidx} points past the {cand} collection in events {start}..{start + len(njet) - 1}")
    jet_offset = np.concatenate([[0], np.cumsum(njet)[:-1]])
    counts = np.bincount(jet_offset[ev_of_map] + flat_j, minlength=int(njet.sum()))  # constituents per FatJet

    def gather(var):
        return ak.to_numpy(ak.flatten(ev[f"{cand}_{var}"][pf_idx])).astype(np.float64)

    pt, eta, phi, mass = (gather(v) for v in CAND_VARS)
    particles = {
        "px": (pt * np.cos(phi)).astype(np.float32),
        "py": (pt * np.sin(phi)).astype(np.float32),
        "pz": (pt * np.sinh(eta)).astype(np.float32),
        "energy": np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2).astype(np.float32),
    }
    if f"{cand}_charge" in ev.fields:
        charge = gather("charge")
        particles["charge"] = charge.astype(np.float32)
        if f"{cand}_pdgId" in ev.fields:
            pid = gather("pdgId").astype(np.int64)
            particles["pdgId"] = pid
            particles.update(flags_from_pdgid(pid, charge))
    scalars = {
        "event_index": np.repeat(np.arange(start, start + len(njet)), njet),
        "fatjet_index": ak.to_numpy(ak.flatten(ak.local_index(ev["FatJet_pt"] if "FatJet_pt" in ev.fields else ak.unflatten(np.zeros(njet.sum()), njet)))),
    }
    for b in jet_branches:
        col = ev[b]
        if col.ndim == 2 and np.array_equal(ak.to_numpy(ak.num(col)), njet):
            scalars[b] = ak.to_numpy(ak.flatten(col))
    for src, dst in (("FatJet_pt", "jet_pt"), ("FatJet_eta", "jet_eta"), ("FatJet_phi", "jet_phi"), ("FatJet_msoftdrop", "jet_sdmass")):
        if src in scalars:
            scalars[dst] = scalars[src]
    if TRUTH in scalars:
        lab = scalars[TRUTH].astype(np.int64)
        scalars["label"] = np.where(lab < 0, -1, lab)
    else:
        scalars["label"] = np.full(int(njet.sum()), -1, dtype=np.int64)
    return jagged_record(counts, particles, scalars)
