"""Checkpoints that carry their config: a model is rebuilt from the file alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hepjepa.errors import UserInputError
from hepjepa.model.config import JEPAConfig, from_dict
from hepjepa.model.encoder import Backbone

__all__ = ["save_checkpoint", "load_checkpoint", "load_backbone"]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (must contain ``config``: a JEPAConfig dict) atomically with torch.save."""
    from hepjepa.atomic import atomic_path

    if "config" not in state:
        msg = "checkpoint state has no 'config'; expected the JEPAConfig dict so the model can be rebuilt"
        raise KeyError(msg)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict (CPU tensors)."""
    path = Path(path)
    if not path.is_file():
        msg = f"no checkpoint at {str(path)!r}"
        raise FileNotFoundError(msg)
    return torch.load(path, map_location="cpu", weights_only=False)


def load_backbone(path: str | Path, which: str = "target") -> Backbone:
    """Rebuild a Backbone from a pretraining checkpoint alone.

    Args:
        path: checkpoint written by ``hepjepa pretrain`` (or ``save_checkpoint``).
        which: "target" (the EMA encoder, the one used downstream, as I-JEPA) or "context".
    Returns:
        Backbone in eval mode.
    """
    if which not in ("target", "context"):
        msg = f"which={which!r}: expected 'target' or 'context'"
        raise UserInputError(msg)
    ckpt = load_checkpoint(path)
    cfg = from_dict(JEPAConfig, ckpt["config"]["model"] if "model" in ckpt["config"] else ckpt["config"])
    model = Backbone(cfg.backbone)
    prefix = f"{which}_encoder."
    sd = {k[len(prefix):]: v for k, v in ckpt["model"].items() if k.startswith(prefix)}
    model.load_state_dict(sd)
    return model.eval()
