"""The models shipped as package data (``hepjepa/models/<name>/``)."""

from __future__ import annotations

from pathlib import Path

from hepjepa.errors import ModelNotFoundError

__all__ = ["ShippedModelMissingError", "shipped_model_dir"]


class ShippedModelMissingError(ModelNotFoundError):
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
        msg = (
            f"no shipped model {name!r} in {root} (missing {missing}); shipped models: {have or 'none'}. "
            "Export one with `hepjepa export CHECKPOINT -o DIR` and pass its directory instead."
        )
        raise ShippedModelMissingError(
            msg
        )
    return d
