"""JEPA: context encoder, EMA target encoder, predictor and the latent smooth-L1 loss."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from hepjepa.errors import UserInputError
from hepjepa.masks.apply import apply_masks
from hepjepa.model.config import JEPAConfig
from hepjepa.model.encoder import Backbone
from hepjepa.model.predictor import Predictor

__all__ = ["JEPA", "ema_momentum"]


def ema_momentum(step: int, total: int, start: float = 0.996, end: float = 1.0) -> float:
    """Linear EMA momentum schedule, a pure function of the step (I-JEPA).

    Args:
        step: current optimiser step (0-based).
        total: total steps of the run (> 0).
    Returns:
        momentum in [start, end].
    """
    if total <= 0:
        msg = f"total={total}: expected > 0"
        raise UserInputError(msg)
    frac = min(max(step / total, 0.0), 1.0)
    return start + (end - start) * frac


class JEPA(nn.Module):
    """Joint-embedding predictive architecture over jet groups.

    Args:
        config: JEPAConfig.
    """

    def __init__(self, config: JEPAConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or JEPAConfig()
        self.context_encoder = Backbone(config.backbone)
        self.target_encoder = copy.deepcopy(self.context_encoder)
        for p in self.target_encoder.parameters():
            p.requires_grad_(False)
        self.predictor = Predictor(config.backbone.embed_dim, config.predictor)

    @torch.no_grad()
    def update_target(self, momentum: float) -> None:
        """target <- m * target + (1 - m) * context."""
        for pt, pc in zip(self.target_encoder.parameters(), self.context_encoder.parameters(), strict=True):
            pt.mul_(momentum).add_(pc.detach(), alpha=1.0 - momentum)

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Compute the JEPA loss of one collated batch.

        Args:
            batch: dict with the five model inputs plus ``context_idx`` (B, C) long,
                ``context_mask`` (B, C), ``target_idx`` (B, T) long, ``target_mask`` (B, T)
                (from hepjepa.masks.JEPACollator; masks 1 = valid).
        Returns:
            (loss scalar, dict of detached monitors: ``target_std``, ``target_emb`` (n, D)).
        """
        inputs = [batch[k] for k in ("features", "particle_mask", "group_mask", "centers", "pair_features")]
        R = self.context_encoder.num_registers
        t_mask = batch["target_mask"].to(inputs[0].dtype)  # (B, T)
        with torch.no_grad():
            h = self.target_encoder(*inputs)  # (B, R+G, D)
            h = F.layer_norm(h[:, R:], h.shape[-1:])  # (B, G, D)
            target = apply_masks(h, batch["target_idx"])  # (B, T, D)
        ctx = self.context_encoder(*inputs, keep=batch["context_idx"], keep_mask=batch["context_mask"])  # (B, R+C, D)
        ctx_mask = torch.cat([t_mask.new_ones(ctx.shape[0], R), batch["context_mask"].to(t_mask.dtype)], dim=1)  # (B, R+C)
        target_centers = apply_masks(batch["centers"], batch["target_idx"])  # (B, T, 2)
        pred = self.predictor(ctx, ctx_mask, target_centers, t_mask)  # (B, T, D)
        per = F.smooth_l1_loss(pred, target, reduction="none").mean(-1)  # (B, T)
        loss = (per * t_mask).sum() / t_mask.sum().clamp_min(1.0)
        valid = target[t_mask > 0]  # (n, D)
        return loss, {"target_std": valid.std(0).mean().detach() if len(valid) > 1 else loss.new_zeros(()), "target_emb": valid.detach()}
