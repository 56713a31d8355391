"""Group embedding: a shared per-particle MLP + masked max-pool over each group."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PointNet"]

# padding value for the max-pool: large negative but finite (ONNX/NaN safe)
_NEG = -1e4


class PointNet(nn.Module):
    """Embed each group's K particles into one token.

    Args:
        num_features: F, particle features.
        hidden: width of the shared MLP.
        embed_dim: D, output width.
    """

    def __init__(self, num_features: int, hidden: int, embed_dim: int) -> None:
        super().__init__()
        self.mlp1 = nn.Sequential(nn.Linear(num_features, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, hidden))
        # second stage sees each particle plus its group's pooled summary (PointNet-style local+global)
        self.mlp2 = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, embed_dim))

    def forward(self, features: torch.Tensor, particle_mask: torch.Tensor) -> torch.Tensor:
        """Args: features (B, G, K, F); particle_mask (B, G, K), 1 = real.
        Returns: (B, G, D); all-padding groups give finite values (masked later)."""
        m = particle_mask.unsqueeze(-1)  # (B, G, K, 1)
        h = self.mlp1(features)  # (B, G, K, H)
        g = _masked_max(h, m)  # (B, G, H)
        h = torch.cat([h, g.unsqueeze(2).expand_as(h)], dim=-1)  # (B, G, K, 2H)
        h = self.mlp2(h)  # (B, G, K, D)
        out = _masked_max(h, m)  # (B, G, D)
        return out * (particle_mask.sum(-1, keepdim=True) > 0).to(out.dtype)  # zero empty groups


def _masked_max(h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Max over the particle axis (-2) ignoring padding (m == 0)."""
    return (h * m + (1.0 - m) * _NEG).amax(dim=-2)  # (B, G, C)
