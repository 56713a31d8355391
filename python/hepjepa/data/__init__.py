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

from ._detect import FORMATS, guess_format
from ._errors import FormatError, MissingFieldsError, UnknownFormatError
from .read import labels, read_jets
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
