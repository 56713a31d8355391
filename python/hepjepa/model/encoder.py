"""The backbone: PointNet group tokens + positional embedding + registers + pre-norm transformer."""

from __future__ import annotations

import torch
from torch import nn

from hepjepa.errors import UserInputError
from hepjepa.masks.apply import apply_masks as gather_groups
from hepjepa.model.attention import Attention
from hepjepa.model.config import BackboneConfig
from hepjepa.model.pairwise import PairwiseBias
from hepjepa.model.pointnet import PointNet

__all__ = ["Backbone", "Block", "PositionalEmbedding"]


class PositionalEmbedding(nn.Module):
    """Embed group centres (delta eta, delta phi) into D (shared by encoder and predictor)."""

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, centers: torch.Tensor) -> torch.Tensor:
        """centers (B, G, 2) -> (B, G, D)."""
        B, G, _ = centers.shape
        return self.mlp(centers.reshape(-1, 2)).reshape(B, G, -1)  # 2-D view: exported Linears are Gemms


class Block(nn.Module):
    """Pre-norm transformer block (LayerNorm: RMSNorm has no ONNX symbolic)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, backend: str, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, backend)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, D), key_mask (B, T) 1 = real, bias (B, H, T, T) or None -> (B, T, D)."""
        B, T, D = x.shape
        x = x + self.drop(self.attn(self.norm1(x), key_mask, bias))  # (B, T, D)
        # the MLP runs on a 2-D (B*T, D) view: exported, each Linear is one Gemm with its bias folded in
        return x + self.drop(self.mlp(self.norm2(x).reshape(-1, D))).reshape(B, T, D)  # (B, T, D)


class Backbone(nn.Module):
    """JEPA encoder over jet groups.

    Args:
        config: BackboneConfig.

    Attributes:
        embed_dim: D.
        num_registers: R (the first R output tokens).
    """

    def __init__(self, config: BackboneConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or BackboneConfig()
        self.embed_dim, self.num_registers = config.embed_dim, config.num_registers
        self.group_embed = PointNet(config.num_features, config.pointnet_hidden, config.embed_dim)
        self.pos_embed = PositionalEmbedding(config.embed_dim)
        self.registers = nn.Parameter(torch.zeros(1, config.num_registers, config.embed_dim))
        nn.init.trunc_normal_(self.registers, std=0.02)
        self.pair = PairwiseBias(config.num_heads, config.pair_hidden, config.num_registers) if config.pair_bias else None
        self.blocks = nn.ModuleList(
            Block(config.embed_dim, config.num_heads, config.mlp_ratio, config.attention, config.dropout) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.embed_dim)

    def forward(
        self,
        features: torch.Tensor,
        particle_mask: torch.Tensor,
        group_mask: torch.Tensor,
        centers: torch.Tensor,
        pair_features: torch.Tensor,
        keep: torch.Tensor | None = None,
        keep_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode a batch of tokenised jets.

        Args:
            features: (B, G, K, F) particle features.
            particle_mask: (B, G, K), 1 = real particle.
            group_mask: (B, G), 1 = real group.
            centers: (B, G, 2) group centres.
            pair_features: (B, G, G, 4) ParT pairwise features.
            keep: optional (B, M) long indices of the groups to encode (context encoder);
                the output then has R + M tokens in the order of ``keep``.
            keep_mask: optional (B, M), 1 = valid index in ``keep`` (padding of ragged keeps).

        Returns:
            (B, R + G, D) or (B, R + M, D) tokens, registers first. Padded tokens hold
            finite values that no real token depends on.
        """
        if features.dim() != 4 or features.shape[-1] != self.config.num_features:
            msg = f"features shape {tuple(features.shape)}: expected (B, G, K, {self.config.num_features})"
            raise UserInputError(msg)
        if keep is not None:
            features, particle_mask = gather_groups(features, keep), gather_groups(particle_mask, keep)  # (B, M, K, F), (B, M, K)
            centers = gather_groups(centers, keep)  # (B, M, 2)
            group_mask = gather_groups(group_mask, keep)  # (B, M)
            if keep_mask is not None:
                group_mask = group_mask * keep_mask.to(group_mask.dtype)
            pair_features = gather_groups(gather_groups(pair_features, keep).transpose(1, 2), keep).transpose(1, 2)  # (B, M, M, 4)
        B = features.shape[0]
        x = self.group_embed(features, particle_mask) + self.pos_embed(centers)  # (B, G, D)
        x = torch.cat([self.registers.expand(B, -1, -1), x], dim=1)  # (B, R+G, D)
        key_mask = torch.cat([group_mask.new_ones(B, self.num_registers), group_mask], dim=1)  # (B, R+G)
        bias = self.pair(pair_features, group_mask) if self.pair is not None else None  # (B, H, R+G, R+G)
        for blk in self.blocks:
            x = blk(x, key_mask, bias)  # (B, R+G, D)
        return self.norm(x)  # (B, R+G, D)
