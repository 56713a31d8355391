"""The JEPA predictor: a narrower transformer that predicts target-group embeddings."""

from __future__ import annotations

import torch
from torch import nn

from hepjepa.model.config import PredictorConfig
from hepjepa.model.encoder import Block, PositionalEmbedding

__all__ = ["Predictor"]


class Predictor(nn.Module):
    """Context embeddings + one shared mask token (+ target positions) -> target embeddings.

    Args:
        encoder_dim: D of the backbone.
        config: PredictorConfig (embed_dim Dp < D usually).
    """

    def __init__(self, encoder_dim: int, config: PredictorConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or PredictorConfig()
        self.embed = nn.Linear(encoder_dim, config.embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.embed_dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.pos_embed = PositionalEmbedding(config.embed_dim)
        self.blocks = nn.ModuleList(Block(config.embed_dim, config.num_heads, config.mlp_ratio, "softmax") for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.embed_dim)
        self.out = nn.Linear(config.embed_dim, encoder_dim)

    def forward(self, context: torch.Tensor, context_mask: torch.Tensor, target_centers: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
        """Args:
            context: (B, C, D) context-encoder tokens (registers included).
            context_mask: (B, C), 1 = real.
            target_centers: (B, T, 2) centres of the target groups.
            target_mask: (B, T), 1 = real target.
        Returns:
            (B, T, D) predicted target embeddings.
        """
        B, C, _ = context.shape
        x = self.embed(context)  # (B, C, Dp)
        t = self.mask_token.expand(B, target_centers.shape[1], -1) + self.pos_embed(target_centers)  # (B, T, Dp)
        x = torch.cat([x, t], dim=1)  # (B, C+T, Dp)
        key_mask = torch.cat([context_mask, target_mask], dim=1).to(x.dtype)  # (B, C+T)
        for blk in self.blocks:
            x = blk(x, key_mask)  # (B, C+T, Dp)
        return self.out(self.norm(x[:, C:]))  # (B, T, D)
