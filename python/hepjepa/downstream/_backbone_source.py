"""The backbone a downstream command starts from: a pretraining checkpoint or a random init.

Shared by ``hepjepa finetune`` and ``hepjepa regress`` so both read ``--backbone`` /
``--scratch`` / ``--backbone-config`` / ``--mode`` the same way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["resolve_backbone"]


def resolve_backbone(backbone: str | None, scratch: bool, backbone_config: str | None, mode: str | None,
                     default_mode: str, max_groups: int | None = None) -> tuple[str, dict[str, Any], dict | None, Any]:
    """Backbone config, weights and tokenizer for a downstream run.

    Args:
        backbone: pretraining checkpoint path, or None with ``scratch``.
        scratch: random-init backbone (``BackboneConfig()`` or ``backbone_config``).
        backbone_config: YAML ``BackboneConfig`` used without ``backbone``.
        mode: "frozen", "finetune", "scratch" or None (then ``default_mode``, or scratch with ``scratch``).
        default_mode: the command's default mode with a checkpoint.
        max_groups: tokenise into at most this many groups instead of the pretraining's (the
            backbone runs on any group count: covering more of each jet at fine-tuning time helps,
            see the README's benchmarks); None keeps the checkpoint's.

    Returns:
        (mode, backbone config dict, state dict or None for random init, TokenizerConfig).

    Raises:
        ValueError: ``scratch`` with a non-scratch mode, a checkpoint without a config, a
            backbone whose ``num_features`` does not match the tokenizer, or an invalid ``max_groups``.
    """
    from hepjepa.features import TokenizerConfig
    from hepjepa.model.config import BackboneConfig, load_yaml, to_dict

    mode = mode or ("scratch" if scratch else default_mode)
    if scratch and mode != "scratch":
        raise ValueError(f"--scratch needs --mode scratch (or none), got --mode {mode}")
    state, tok_cfg = None, TokenizerConfig()
    if backbone:
        from hepjepa.model.checkpoint import load_backbone, load_checkpoint

        bb = load_backbone(backbone)
        if not hasattr(bb, "config"):
            raise ValueError(f"backbone from {backbone} carries no .config; cannot save a rebuildable model")
        bb_cfg = to_dict(bb.config)
        # --mode scratch with --backbone: same architecture and tokenizer, random weights (a fair baseline)
        state = None if mode == "scratch" else bb.state_dict()
        cfg = load_checkpoint(backbone).get("config", {})
        tok = cfg.get("data", {}).get("tokenizer") or cfg.get("tokenizer")
        if tok:
            tok_cfg = TokenizerConfig.from_dict(tok)
    else:
        bb_cfg = to_dict(load_yaml(BackboneConfig, backbone_config) if backbone_config else BackboneConfig())
    if max_groups is not None:
        import dataclasses

        # TokenizerConfig validates it (an int >= min_groups) and names the value if not
        tok_cfg = dataclasses.replace(tok_cfg, max_groups=max_groups)
    if bb_cfg["num_features"] != len(tok_cfg.feature_names):
        raise ValueError(f"backbone expects num_features={bb_cfg['num_features']}, tokenizer gives {len(tok_cfg.feature_names)}")
    return mode, bb_cfg, state, tok_cfg
