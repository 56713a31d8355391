"""Readers for the public jet formats, all returning the same jet records.

Formats: JetClass ROOT (``jetclass``), Top Tagging Reference HDF5 (``toptagging``), EnergyFlow
quark/gluon ``.npz`` (``quarkgluon``), our NanoAOD-like ROOT (``nanoaod``, PFNano or v15 naming),
ML4SCI E2E jet-image parquet (``e2e``). Every reader returns an ``ak.Array`` of records, one per jet,
with jagged float32 ``px, py, pz, energy`` (GeV), jagged ``charge`` and the five particle-type flags
when the format has them, scalar ``label`` (index into ``hepjepa.labels.JETCLASS_LABELS``, -1 unknown),
and the jet-level fields the format provides (see docs/architecture.md).

Example::

    from hepjepa.data import read_jets, iter_jets, shuffled
    jets = read_jets("data/*.root", max_jets=1000)
    for chunk in shuffled(iter_jets("train/*.root", step_size=5000), buffer_size=100_000, seed=1):
        ...
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from ..labels import JETCLASS_LABELS
from ._detect import FORMATS, guess_format
from ._errors import FormatError, MissingFieldsError, UnknownFormatError
from .streaming import ShuffleBuffer, iter_jets, shuffled

__all__ = [
    "FORMATS",
    "FormatError",
    "MissingFieldsError",
    "ShuffleBuffer",
    "UnknownFormatError",
    "guess_format",
    "iter_jets",
    "labels",
    "read_jets",
    "shuffled",
]


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
        raise MissingFieldsError("<ak.Array>", "jet records", ["label"], ak.fields(jets))
    idx = ak.to_numpy(jets["label"]).astype(np.int64)
    if not names:
        return idx
    table = np.array(list(JETCLASS_LABELS) + ["unknown"])
    return table[np.where(idx < 0, len(JETCLASS_LABELS), idx)]
