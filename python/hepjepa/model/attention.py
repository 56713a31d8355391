"""Multi-head self-attention with two backends: exact softmax and ELU+1 linear attention.

Softmax takes an additive float bias (B, H, T, T) carrying both the key padding
(-1e4, finite so ONNX and fully-padded rows stay NaN-free) and the pairwise physics
bias. The linear backend (Katharopoulos et al. 2020, phi(x) = elu(x) + 1) costs
O(T D^2) memory instead of O(T^2); it masks padded keys by zeroing their features,
and CANNOT take a pairwise bias (the T x T matrix is never formed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hepjepa.contract import MASK_NEG

__all__ = ["Attention", "NEG_INF"]

NEG_INF = MASK_NEG  # the contract's "minus infinity" (survives fp16 and ONNX export)


class Attention(nn.Module):
    """Self-attention.

    Args:
        dim: token width D.
        num_heads: H.
        backend: "softmax" or "linear".
    """

    def __init__(self, dim: int, num_heads: int, backend: str = "softmax") -> None:
        super().__init__()
        if backend not in ("softmax", "linear"):
            raise ValueError(f"backend={backend!r}: expected 'softmax' or 'linear'")
        if dim % num_heads:
            raise ValueError(f"dim={dim} not divisible by num_heads={num_heads}")
        self.num_heads, self.backend = num_heads, backend
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, T, D); key_mask (B, T) 1 = real; bias (B, H, T, T) additive or None.
        Returns: (B, T, D)."""
        B, T, D = x.shape
        # Linears on 2-D (B*T, D) views: exported, each is one Gemm with its bias folded in
        q, k, v = self.qkv(x.reshape(-1, D)).reshape(B, T, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, Dh)
        if self.backend == "softmax":
            attn_bias = ((1.0 - key_mask) * NEG_INF)[:, None, None, :].to(q.dtype)  # (B, 1, 1, T)
            if bias is not None:
                attn_bias = attn_bias + bias  # (B, H, T, T)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)  # (B, H, T, Dh)
        else:
            if bias is not None:
                raise ValueError("the linear attention backend cannot take a pairwise bias; set pair_bias=False")
            out = _linear_attention(q, k, v, key_mask)
        return self.proj(out.transpose(1, 2).reshape(-1, D)).reshape(B, T, D)  # (B, T, D)


def _linear_attention(q, k, v, key_mask, eps: float = 1e-6):
    """ELU+1 kernel attention; padded keys contribute nothing. q,k,v (B, H, T, Dh)."""
    q = F.elu(q) + 1.0
    k = (F.elu(k) + 1.0) * key_mask[:, None, :, None]  # (B, H, T, Dh), padded keys -> 0
    kv = torch.einsum("bhtd,bhte->bhde", k, v)  # (B, H, Dh, Dh)
    z = 1.0 / (torch.einsum("bhtd,bhd->bht", q, k.sum(dim=2)) + eps)  # (B, H, T)
    return torch.einsum("bhtd,bhde->bhte", q, kv) * z.unsqueeze(-1)  # (B, H, T, Dh)
