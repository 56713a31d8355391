"""``Tagger``: a backbone + a head, in one of three modes, rebuildable from its checkpoint alone.

Modes (so comparisons are fair, the architecture is the same in all three):

- ``frozen``: the backbone's parameters have ``requires_grad=False``, it stays in eval mode
  (no dropout, no running statistics change) and runs under ``no_grad``; only the head learns.
- ``finetune``: backbone and head learn together.
- ``scratch``: as ``finetune`` but the backbone starts from random initialisation.

The tagger's ``output`` is a constructor flag (weaver style, not a second class): ``"logits"``
for training, ``"scores"`` (softmax) for evaluation and ONNX export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hepjepa.downstream.heads import HeadConfig, build_head, masked_pool
from hepjepa.errors import UserInputError

__all__ = ["MODES", "Tagger", "build_tagger", "load_tagger", "save_tagger"]

MODES: tuple[str, ...] = ("frozen", "finetune", "scratch")
_OUTPUTS = ("logits", "scores")


class Tagger(nn.Module):
    """Backbone tokens -> head -> (B, C) logits or softmax scores.

    Args:
        backbone: a module with ``forward(features, particle_mask, group_mask, centers,
            pair_features) -> (B, R+G, D)`` and attributes ``embed_dim``, ``num_registers``.
        head: a head taking ``(tokens (B, T, D), mask (B, T))``.
        n_classes: C.
        mode: one of ``MODES``.
        output: "logits" or "scores".
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, n_classes: int, mode: str = "finetune", output: str = "logits") -> None:
        super().__init__()
        if mode not in MODES:
            msg = f"mode must be one of {MODES}, got {mode!r}"
            raise UserInputError(msg)
        if output not in _OUTPUTS:
            msg = f"output must be one of {_OUTPUTS}, got {output!r}"
            raise UserInputError(msg)
        if n_classes < 2:
            msg = f"n_classes must be >= 2, got {n_classes}"
            raise UserInputError(msg)
        self.backbone, self.head = backbone, head
        self.n_classes, self.mode, self.output = n_classes, mode, output
        # Filled by build_tagger / load_tagger so a checkpoint is self-describing.
        self.backbone_config: dict[str, Any] = {}
        self.head_config: dict[str, Any] = {}
        self.tokenizer_config: dict[str, Any] = {}
        self.classes: list[str] = []
        # particle fields the training data lacked and the tokeniser set to 0 (Tokens.zero_filled):
        # export records them so that inference fills the same zeros (preprocess.json)
        self.zero_filled_fields: list[str] = []
        if mode == "frozen":
            for p in self.backbone.parameters():
                p.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> Tagger:
        # A frozen backbone never leaves eval mode, whatever the caller does.
        super().train(mode)
        if self.mode == "frozen":
            self.backbone.eval()
        return self

    @property
    def n_features(self) -> int:
        """F, per-particle features the backbone expects."""
        return int(self.backbone_config.get("num_features", 0))

    def config_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this tagger (weights aside)."""
        return {
            "backbone": dict(self.backbone_config),
            "head": dict(self.head_config),
            "tokenizer": dict(self.tokenizer_config),
            "classes": list(self.classes),
            "n_classes": self.n_classes,
            "mode": self.mode,
            "zero_filled_fields": list(self.zero_filled_fields),
        }

    def tokens(self, features, particle_mask, group_mask, centers, pair_features) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone tokens (B, R+G, D) and their mask (B, R+G), registers counted as real."""
        if self.mode == "frozen":
            with torch.no_grad():
                x = self.backbone(features, particle_mask, group_mask, centers, pair_features)  # (B, R+G, D)
            x = x.detach()
        else:
            x = self.backbone(features, particle_mask, group_mask, centers, pair_features)  # (B, R+G, D)
        R = int(getattr(self.backbone, "num_registers", 0))
        mask = torch.cat([group_mask.new_ones(group_mask.shape[0], R), group_mask], dim=1)  # (B, R+G)
        return x, mask

    def embed(self, features, particle_mask, group_mask, centers, pair_features) -> torch.Tensor:
        """Pooled (mean + max over real tokens) embedding (B, 2D), for probes and t-SNE."""
        x, mask = self.tokens(features, particle_mask, group_mask, centers, pair_features)
        return masked_pool(x, mask)  # (B, 2D)

    def forward(self, features, particle_mask, group_mask, centers, pair_features) -> torch.Tensor:
        # features (B, G, K, F); particle_mask (B, G, K); group_mask (B, G) 1 = real;
        # centers (B, G, 2); pair_features (B, G, G, 4)
        x, mask = self.tokens(features, particle_mask, group_mask, centers, pair_features)  # (B, T, D), (B, T)
        logits = self.head(x, mask)  # (B, C)
        return logits.softmax(-1) if self.output == "scores" else logits

    def scores(self, features, particle_mask, group_mask, centers, pair_features) -> torch.Tensor:
        """Softmax probabilities (B, C) whatever ``output`` is."""
        return self.forward(features, particle_mask, group_mask, centers, pair_features).softmax(-1) if self.output == "logits" else self.forward(
            features, particle_mask, group_mask, centers, pair_features
        )


def build_tagger(
    backbone_config: dict[str, Any],
    head_config: HeadConfig | dict[str, Any],
    classes: list[str],
    tokenizer_config: dict[str, Any],
    mode: str = "finetune",
    backbone_state: dict[str, torch.Tensor] | None = None,
    output: str = "logits",
    seed: int | None = None,
) -> Tagger:
    """Build a Tagger from configs; load ``backbone_state`` unless mode is ``scratch``.

    Args:
        backbone_config: ``BackboneConfig.to_dict()``.
        head_config: HeadConfig or its dict.
        classes: class names (``label_QCD``, ...), one per output.
        tokenizer_config: ``TokenizerConfig.to_dict()``.
        mode: one of ``MODES``.
        backbone_state: pretrained backbone weights (required for frozen / finetune).
        output: "logits" or "scores".
        seed: seeds torch before random initialisation, for reproducible heads.

    Returns:
        The Tagger.
    """
    from hepjepa.model import Backbone, BackboneConfig
    from hepjepa.model.config import from_dict

    if mode not in MODES:
        msg = f"mode must be one of {MODES}, got {mode!r}"
        raise UserInputError(msg)
    if mode != "scratch" and backbone_state is None:
        msg = f"mode {mode!r} needs pretrained backbone weights; use mode='scratch' for random init"
        raise UserInputError(msg)
    if seed is not None:
        torch.manual_seed(seed)
    hc = head_config if isinstance(head_config, HeadConfig) else HeadConfig.from_dict(head_config)
    bb = Backbone(from_dict(BackboneConfig, backbone_config))
    if mode != "scratch" and backbone_state is not None:  # not None: checked above for every other mode
        bb.load_state_dict(backbone_state)
    head = build_head(hc, bb.embed_dim, len(classes))
    tagger = Tagger(bb, head, len(classes), mode=mode, output=output)
    tagger.backbone_config = dict(backbone_config)
    tagger.head_config = hc.to_dict()
    tagger.tokenizer_config = dict(tokenizer_config)
    tagger.classes = list(classes)
    return tagger


def save_tagger(tagger: Tagger, path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write the tagger's weights and configs to ``path`` atomically.

    Args:
        tagger: the Tagger (its configs must be filled, as ``build_tagger`` does).
        path: output ``.pt``.
        extra: more JSON-like metadata (training history, data files, seed).
    """
    from hepjepa.atomic import atomic_path

    if not tagger.backbone_config or not tagger.classes:
        msg = "tagger has no backbone_config/classes: build it with build_tagger so the checkpoint is rebuildable"
        raise UserInputError(msg)
    blob = {"kind": "hepjepa-tagger", "version": 1, "config": tagger.config_dict(), "state_dict": tagger.state_dict(), "extra": dict(extra or {})}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


def load_tagger(path: str | Path, output: str = "scores", mode: str | None = None) -> Tagger:
    """Rebuild a tagger from its checkpoint alone.

    Args:
        path: file written by ``save_tagger``.
        output: "scores" (default: loaded taggers are for evaluation and export) or "logits".
        mode: override the saved mode (e.g. continue training); default the saved one.

    Returns:
        The Tagger in eval mode.
    """
    blob = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(blob, dict) or blob.get("kind") != "hepjepa-tagger":
        msg = f"{path} is not a hepjepa tagger checkpoint (kind={blob.get('kind') if isinstance(blob, dict) else type(blob).__name__!r})"
        raise UserInputError(msg)
    cfg = blob["config"]
    # Build as scratch (no pretrained weights needed), then load the full state.
    tagger = build_tagger(cfg["backbone"], cfg["head"], cfg["classes"], cfg["tokenizer"], mode="scratch", output=output)
    tagger.load_state_dict(blob["state_dict"])
    tagger.zero_filled_fields = list(cfg.get("zero_filled_fields", []))  # absent in checkpoints before it was recorded
    final_mode = mode or cfg["mode"]
    if final_mode == "frozen":
        for p in tagger.backbone.parameters():
            p.requires_grad_(False)
    tagger.mode = final_mode
    return tagger.eval()
