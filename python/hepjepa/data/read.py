"""``read_jets`` (every format, one ``ak.Array``) and ``labels`` (the class of each jet)."""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..labels import JETCLASS_LABELS
from ._errors import MissingFieldsError
from .streaming import iter_jets

__all__ = ["labels", "read_jets"]


def read_jets(paths, format: str | None = None, step_size: int = 100_000, max_jets: int | None = None) -> ak.Array:
    """Read all jets (or the first ``max_jets``) of one or more files into one ``ak.Array``.

    The concatenation of :func:`iter_jets`; use that for inputs that do not fit in memory.

    Args:
        paths: a path, glob, or list of them.
        format: ``jetclass, toptagging, quarkgluon, nanoaod, e2e``; guessed per file when None.
        step_size: read chunk size.
        max_jets: stop after this many jets.

    Returns:
        ``ak.Array`` of jet records (an empty array when the files hold no jets).
    """
    chunks = list(iter_jets(paths, format=format, step_size=step_size, max_jets=max_jets))
    if not chunks:
        return ak.Array([])
    return chunks[0] if len(chunks) == 1 else ak.concatenate(chunks)


def labels(jets: ak.Array, names: bool = False) -> np.ndarray:
    """The class of each jet: ``label`` as an int array, or as JetClass names when ``names=True``.

    Args:
        jets: records from :func:`read_jets`.
        names: return ``label_QCD``-style names (``"unknown"`` for -1) instead of indices.

    Returns:
        ``np.ndarray`` of int64 indices into ``JETCLASS_LABELS`` (-1 unknown), or of str.

    Raises:
        MissingFieldsError: when ``jets`` has no ``label`` field.
    """
    if "label" not in ak.fields(jets):
        msg = "<ak.Array>"
        raise MissingFieldsError(msg, "jet records", ["label"], ak.fields(jets))
    idx = ak.to_numpy(jets["label"]).astype(np.int64)
    if not names:
        return idx
    table = np.array(list(JETCLASS_LABELS) + ["unknown"])
    return table[np.where(idx < 0, len(JETCLASS_LABELS), idx)]
