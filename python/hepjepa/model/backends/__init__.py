"""Attention backends, by name: a new backend is one file here plus one line in :data:`BACKENDS`.

A backend is a function ``attend(q, k, v, key_mask, bias) -> out`` on (B, H, T, Dh) tensors
(``key_mask`` (B, T), 1 = real; ``bias`` (B, H, T, T) additive, or None) and whether it can
take the pairwise bias (a backend that never forms the T x T matrix cannot).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["BACKENDS", "Backend"]


@dataclass(frozen=True)
class Backend:
    """One attention backend: its function and whether it accepts an additive pairwise bias."""

    attend: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
    takes_bias: bool
    doc: str


from hepjepa.model.backends import linear, softmax  # noqa: E402  (they build Backend objects)

#: name -> backend; BackboneConfig.attention must be one of these names
BACKENDS: dict[str, Backend] = {
    "softmax": softmax.BACKEND,
    "linear": linear.BACKEND,
}
