"""NanoAOD-like ROOT reader: one record per FatJet with its PF candidates.

Two layouts are accepted (real CMS files differ; see :mod:`hepjepa.data.association`):

* PFNano (and our generator): ``PFCands_*``, ``FatJetPFCands_jetIdx``, ``FatJetPFCands_pFCandsIdx``;
* NanoAOD v15: ``PFCand_*``, ``FatJetPFCand_jetIdx``, ``FatJetPFCand_pfCandIdx``.

Jets come in event order, then FatJet order; constituents of a jet in the order of the mapping.
A mapping row that points outside its event's collections is a :class:`FormatError` here
(training data must be exact); the taggers mark such jets instead (``bad_association``).
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np

from ._common import jagged_record, open_tree
from ._errors import MissingFieldsError
from .association import detect_layout, fatjet_constituents

TREE = "Events"
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

    Raises:
        FormatError: no ``Events`` tree, a broken FatJet -> candidate mapping.
        MissingFieldsError: (a ``FormatError``) the branches of neither layout are complete.
    """
    with open_tree(path, "NanoAOD", TREE) as tree:
        names = set(tree.keys())
        try:
            layout = detect_layout(names, where=f"{path}: tree {TREE!r}")
        except MissingFieldsError as e:  # the reader's own wording: which file, which format
            raise MissingFieldsError(path, "NanoAOD (PFNano or v15 layout)", e.missing, names) from None
        yield from _iterate(path, tree, names, layout, step_size, entry_start)


def _iterate(path: str, tree, names: set[str], layout, step_size: int, entry_start: int) -> Iterator[ak.Array]:
    # the open tree's own iterate: module-level uproot.iterate silently ignores entry_start
    # (uproot 5.7 swallows unknown options) and would always read from entry 0
    jet_branches = sorted(b for b in names if b.startswith("FatJet_"))
    branches = sorted(set(layout.branches()) | set(layout.optional_branches(names)) | set(jet_branches))
    start = entry_start
    for chunk in tree.iterate(branches, step_size=step_size, entry_start=entry_start, library="ak"):
        yield _convert(path, chunk, layout, jet_branches, start)
        start += len(chunk)


def _convert(path, ev: ak.Array, layout, jet_branches: list[str], start: int) -> ak.Array:
    njet = ak.to_numpy(ev["nFatJet"]).astype(np.int64)  # (n_events,)
    con = fatjet_constituents(ev, layout, where=f"{path}: {layout.mapping}", first_event=start, strict=True)
    particles = {k: v for k, v in con.items() if k not in ("offsets", "n_constituents", "n_jets_per_event")}
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
    return jagged_record(con["n_constituents"], particles, scalars)
