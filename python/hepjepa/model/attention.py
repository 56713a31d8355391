"""Multi-head self-attention over a backend chosen by name (``hepjepa.model.backends.BACKENDS``).

``softmax`` takes an additive float bias (B, H, T, T) carrying both the key padding
(the contract's finite ``MASK_NEG``, so ONNX and fully padded rows stay NaN-free) and the
pairwise physics bias; ``linear`` (ELU+1 kernel) costs O(T D^2) memory instead of O(T^2) and
CANNOT take a pairwise bias. A new backend: one file in ``model/backends/`` and one line there.
"""

from __future__ import annotations

import torch
from torch import nn

from hepjepa.contract import MASK_NEG
from hepjepa.errors import UserInputError
from hepjepa.model.backends import BACKENDS

__all__ = ["Attention", "NEG_INF"]

NEG_INF = MASK_NEG  # the contract's "minus infinity" (survives fp16 and ONNX export)


class Attention(nn.Module):
    """Self-attention.

    Args:
        dim: token width D.
        num_heads: H.
        backend: a name of ``hepjepa.model.backends.BACKENDS`` ("softmax", "linear").
    """

    def __init__(self, dim: int, num_heads: int, backend: str = "softmax") -> None:
        super().__init__()
        if backend not in BACKENDS:
            msg = f"backend={backend!r}: expected one of {sorted(BACKENDS)}"
            raise UserInputError(msg)
        if dim % num_heads:
            msg = f"dim={dim} not divisible by num_heads={num_heads}"
            raise UserInputError(msg)
        self.num_heads, self.backend = num_heads, backend
        self._attend = BACKENDS[backend].attend
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, T, D); key_mask (B, T) 1 = real; bias (B, H, T, T) additive or None.
        Returns: (B, T, D)."""
        B, T, D = x.shape
        # Linears on 2-D (B*T, D) views: exported, each is one Gemm with its bias folded in
        q, k, v = self.qkv(x.reshape(-1, D)).reshape(B, T, 3, self.num_heads, D // self.num_heads).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, Dh)
        out = self._attend(q, k, v, key_mask, bias)  # (B, H, T, Dh)
        return self.proj(out.transpose(1, 2).reshape(-1, D)).reshape(B, T, D)  # (B, T, D)
