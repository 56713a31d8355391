"""Exact softmax attention (``F.scaled_dot_product_attention``), padding and the pairwise bias as one additive mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hepjepa.contract import MASK_NEG


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """q, k, v (B, H, T, Dh); key_mask (B, T) 1 = real; bias (B, H, T, T) or None. Returns (B, H, T, Dh)."""
    # padded keys get the contract's finite "minus infinity": ONNX and fully padded rows stay NaN-free
    attn_bias = ((1.0 - key_mask) * MASK_NEG)[:, None, None, :].to(q.dtype)  # (B, 1, 1, T)
    if bias is not None:
        attn_bias = attn_bias + bias  # (B, H, T, T)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)  # (B, H, T, Dh)


def _backend():
    from hepjepa.model.backends import Backend

    return Backend(attend=attend, takes_bias=True, doc="exact, O(T^2) memory, takes the pairwise bias")


BACKEND = _backend()
