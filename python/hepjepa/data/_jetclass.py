"""JetClass ROOT reader (Qu, Li, Qian 2022): TTree ``tree``, one jet per entry.

Also accepts our generator's extra ``aux_*`` branches (e.g. ``aux_qcd_is_quark``).
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np

from ..labels import JETCLASS_LABELS
from ._common import open_tree
from ._errors import check_fields

TREE = "tree"
PART = ("part_px", "part_py", "part_pz", "part_energy")
PART_OPTIONAL = ("part_charge", "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon")
JET_OPTIONAL = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_nparticles", "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4")


def iter_file(path: str, step_size: int, entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield jet records of a JetClass ROOT file in chunks of ``step_size`` jets.

    Args:
        path: the ROOT file.
        step_size: jets per chunk.
        entry_start: first entry to read.

    Returns:
        iterator of ``ak.Array`` records (see docs/architecture.md); ``label`` is the index of the
        set one-hot branch, -1 when no ``label_*`` branch is set.
    """
    # the open tree's own iterate: module-level uproot.iterate silently ignores entry_start
    # (uproot 5.7 swallows unknown options) and would always read from entry 0
    with open_tree(path, "JetClass", TREE) as tree:
        names = set(tree.keys())
        check_fields(path, "JetClass", PART, names)
        part = list(PART) + [b for b in PART_OPTIONAL if b in names]
        labels = [b for b in JETCLASS_LABELS if b in names]
        scal = [b for b in JET_OPTIONAL if b in names] + sorted(b for b in names if b.startswith("aux_"))
        for chunk in tree.iterate(part + labels + scal, step_size=step_size, entry_start=entry_start, library="ak"):
            yield _convert(chunk, part, labels, scal)


def _convert(chunk: ak.Array, part: list[str], labels: list[str], scal: list[str]) -> ak.Array:
    n = len(chunk)
    fields = {}
    for b in part:
        fields[b.removeprefix("part_")] = ak.values_astype(chunk[b], np.float32)
    if labels:
        onehot = np.stack([ak.to_numpy(chunk[b]).astype(np.float32) for b in labels], axis=1)  # (n, n_labels)
        idx = np.array([JETCLASS_LABELS.index(b) for b in labels])
        label = np.where(onehot.max(axis=1) > 0, idx[np.argmax(onehot, axis=1)], -1)
    else:
        label = np.full(n, -1)
    fields["label"] = label.astype(np.int64)
    for b in scal:
        fields[b] = chunk[b]
    return ak.zip(fields, depth_limit=1)
