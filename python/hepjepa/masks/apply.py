"""The one shared ``apply_masks``: select groups by index along the token axis."""

from __future__ import annotations

import torch

__all__ = ["apply_masks"]


def apply_masks(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Gather along axis 1.

    Args:
        x: (B, G, ...) tensor.
        idx: (B, M) long indices into axis 1 (padding entries may hold any valid index).

    Returns:
        (B, M, ...) tensor.
    """
    if idx.dim() != 2 or idx.shape[0] != x.shape[0]:
        msg = f"idx shape {tuple(idx.shape)}: expected (B={x.shape[0]}, M)"
        raise ValueError(msg)
    view = idx.reshape(idx.shape + (1,) * (x.dim() - 2)).expand(idx.shape + x.shape[2:])
    return torch.gather(x, 1, view)
