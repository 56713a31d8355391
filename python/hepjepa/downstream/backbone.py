"""The backbone a downstream command starts from: a pretraining checkpoint or a random init.

``hepjepa finetune``, ``regress`` and ``probe`` take the same options for it
(:func:`add_backbone_arguments`) and read them the same way (:func:`resolve_backbone`).
"""

from __future__ import annotations

from typing import Any

from hepjepa.errors import UserInputError

__all__ = ["add_backbone_arguments", "add_training_arguments", "resolve_backbone"]


def add_backbone_arguments(parser, default_mode: str, scratch: bool = True) -> None:
    """``--backbone`` (and, when ``scratch``, ``--scratch`` / ``--backbone-config`` / ``--mode``) and ``--max-groups``.

    Args:
        parser: the command's ``argparse.ArgumentParser``.
        default_mode: the mode with a checkpoint when ``--mode`` is not given.
        scratch: offer a random-init backbone and the mode choice (a probe needs a checkpoint).
    """
    if scratch:
        src = parser.add_mutually_exclusive_group(required=True)
        src.add_argument("--backbone", help="pretraining checkpoint (hepjepa pretrain)")
        src.add_argument("--scratch", action="store_true", help="random-init backbone (default BackboneConfig or --backbone-config)")
        parser.add_argument("--backbone-config", help="YAML BackboneConfig for --scratch (default: BackboneConfig())")
        parser.add_argument("--mode", choices=("frozen", "finetune", "scratch"), default=None,
                            help=f"default: {default_mode}, or scratch with --scratch")
    else:
        parser.add_argument("--backbone", required=True, help="pretraining checkpoint (hepjepa pretrain)")
    parser.add_argument("--max-groups", type=int, default=None, metavar="G",
                        help="tokenise into at most G groups instead of the backbone's pretraining value (the backbone runs on any count)")


def add_training_arguments(parser, epochs: int) -> None:
    """The options every training downstream command shares (``finetune``, ``regress``): budget,
    learning rates, jets read, seed and output directory.

    Args:
        parser: the command's ``argparse.ArgumentParser``.
        epochs: the command's default number of epochs.
    """
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--backbone-lr-scale", type=float, default=0.1,
                        help="finetune mode: backbone lr = lr x this (top block)")
    parser.add_argument("--max-jets", type=int, default=None, help="read at most this many jets per split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="output directory")


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
        msg = f"--scratch needs --mode scratch (or none), got --mode {mode}"
        raise UserInputError(msg)
    state, tok_cfg = None, TokenizerConfig()
    if backbone:
        from hepjepa.model.checkpoint import load_backbone, load_checkpoint

        bb = load_backbone(backbone)
        if not hasattr(bb, "config"):
            msg = f"backbone from {backbone} carries no .config; cannot save a rebuildable model"
            raise UserInputError(msg)
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
        msg = f"backbone expects num_features={bb_cfg['num_features']}, tokenizer gives {len(tok_cfg.feature_names)}"
        raise UserInputError(msg)
    return mode, bb_cfg, state, tok_cfg
