"""Deployment: ONNX export of a tagger with its ``preprocess.json``, and the shipped model.

Public API::

    from hepjepa.deploy import export_onnx, load_preprocess, validate_preprocess, shipped_model_dir
"""

from __future__ import annotations

from pathlib import Path

from hepjepa.deploy.export import INPUT_NAMES, OUTPUT_NAMES, export_onnx
from hepjepa.deploy.preprocess import PreprocessMismatchError, load_preprocess, validate_preprocess

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "PreprocessMismatchError",
    "ShippedModelMissingError",
    "export_onnx",
    "load_preprocess",
    "shipped_model_dir",
    "validate_preprocess",
]


#: Jets per ONNX Runtime call where a caller passes more (the C++ producer's ``batch_size`` default,
#: which cpp/src/JetTagProducer.cc repeats). Measured on the shipped model, 1 thread, 1024 jets in:
#: sub-batches of 64 / 128 / 256 / 512 ran at 11.6k / 11.5k / 11.1k / 10.1k jets/s. Past ~256 jets
#: the activations (jets x 96 particles x 64 floats per layer) spill out of the core's L2 cache.
DEFAULT_BATCH_SIZE = 128


class ShippedModelMissingError(FileNotFoundError):
    """The package has no shipped model of the requested name."""


def shipped_model_dir(name: str = "default") -> Path:
    """Directory of a model shipped as package data, ``hepjepa/models/<name>/``.

    Args:
        name: model name (a sub-folder of ``hepjepa/models``).

    Returns:
        The directory, which holds ``model.onnx`` and ``preprocess.json``.

    Raises:
        ShippedModelMissingError: when the folder or one of its two files is absent,
            listing the models that do exist.
    """
    root = Path(__file__).resolve().parent.parent / "models"
    d = root / name
    missing = [f for f in ("model.onnx", "preprocess.json") if not (d / f).is_file()]
    if missing:
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ShippedModelMissingError(
            f"no shipped model {name!r} in {root} (missing {missing}); shipped models: {have or 'none'}. "
            "Export one with `hepjepa export CHECKPOINT -o DIR` and pass its directory instead."
        )
    return d
