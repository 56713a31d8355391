"""Group embedding: a shared per-particle MLP + masked max-pool over each group."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from hepjepa.contract import MASK_NEG

__all__ = ["PointNet"]

# padding value for the max-pool: the contract's large negative but finite "minus infinity" (ONNX/NaN safe)
_NEG = MASK_NEG


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
        B, G, K, nf = features.shape
        hid = cast(nn.Linear, self.mlp1[0]).out_features
        # the MLPs run on 2-D (rows, channels) views: exported, each Linear is then one Gemm with its bias
        # folded in, instead of a MatMul plus a separate broadcast Add over all B*G*K rows
        pad = ((particle_mask - 1.0) * -_NEG).reshape(-1, K, 1)  # (B*G, K, 1): 0 = real particle, _NEG = padding
        h = self.mlp1(features.reshape(-1, nf))  # (B*G*K, H)
        g = _masked_max(h.reshape(-1, K, hid), pad)  # (B*G, H)
        # Linear(2H) of [h, g broadcast over K] = W_h h + (W_g g + b): the group half is computed once per
        # group, not once per particle, and the (B*G*K, 2H) concatenation is never materialised
        first = cast(nn.Linear, self.mlp2[0])
        h = F.linear(h, first.weight[:, :hid]).reshape(-1, K, hid) + F.linear(g, first.weight[:, hid:], first.bias).unsqueeze(1)  # (B*G, K, H)
        h = self.mlp2[1:](h.reshape(-1, hid))  # (B*G*K, D)
        out = _masked_max(h.reshape(-1, K, h.shape[-1]), pad).reshape(B, G, -1)  # (B, G, D)
        return out * (particle_mask.sum(-1, keepdim=True) > 0).to(out.dtype)  # zero empty groups


def _masked_max(h: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Max over the particle axis (-2) ignoring padding: ``pad`` is 0 at real particles, _NEG at padding.

    One broadcast add (exported as a single Add node) instead of ``h * m + (1 - m) * _NEG`` (four
    passes over (B*G, K, C)), with the (B*G, K, 1) ``pad`` computed once for both pools. A group with
    a real particle gets exactly the max of its real particles as long as activations stay far from
    |_NEG| = 1e4 (the same condition the multiplicative form needed); an all-padding group gets
    max(h) + _NEG instead of _NEG, and is zeroed by the caller either way.
    """
    return (h + pad).amax(dim=-2)  # (B*G, C)
