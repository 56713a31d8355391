"""Pairwise physics bias: ParT's 4 pairwise features -> one additive attention bias per head."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PairwiseBias"]


class PairwiseBias(nn.Module):
    """Embed (ln dR, ln kT, ln z, ln m^2) of each group pair into H biases.

    Registers and padded groups get bias 0 (the key padding is added separately).

    Args:
        num_heads: H.
        hidden: MLP width.
        num_registers: R, tokens placed before the groups.
    """

    def __init__(self, num_heads: int, hidden: int, num_registers: int) -> None:
        super().__init__()
        self.num_registers = num_registers
        self.mlp = nn.Sequential(nn.Linear(4, hidden), nn.GELU(), nn.Linear(hidden, num_heads))

    def forward(self, pair_features: torch.Tensor, group_mask: torch.Tensor) -> torch.Tensor:
        """Args: pair_features (B, G, G, 4); group_mask (B, G) 1 = real.
        Returns: bias (B, H, R+G, R+G)."""
        B, G = group_mask.shape
        pm = (group_mask[:, :, None] * group_mask[:, None, :]).unsqueeze(-1)  # (B, G, G, 1)
        # the MLP runs on a 2-D (pairs, 4) view: exported, its Linears become Gemms with the bias folded in
        b = self.mlp(pair_features.reshape(-1, 4)).reshape(B, G, G, -1) * pm  # (B, G, G, H)
        b = b.permute(0, 3, 1, 2)  # (B, H, G, G)
        R = self.num_registers
        return nn.functional.pad(b, (R, 0, R, 0))  # (B, H, R+G, R+G), zeros for registers
