"""Train a tagger head on labelled jets: frozen or fine-tuned pretrained backbone, or from scratch.

Examples:
    hepjepa finetune --backbone pretrain/ckpt.pt --train train.root --val val.root \\
        --mode finetune --label-fraction 0.01 --head class_attention --epochs 20 --seed 0 -o out/
    hepjepa finetune --scratch --train train.root --val val.root -o out/

Writes ``DIR/tagger.pt`` (weights + backbone, head, tokenizer configs and class names, so
``hepjepa evaluate`` / ``hepjepa export`` rebuild it alone) and ``DIR/history.json``.
"""

from __future__ import annotations

import argparse
import json

from hepjepa.errors import UserInputError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hepjepa.downstream.backbone import add_backbone_arguments, add_training_arguments

    add_backbone_arguments(parser, default_mode="finetune")
    parser.add_argument("--train", nargs="+", required=True, help="training files (any supported format)")
    parser.add_argument("--val", nargs="+", required=True, help="validation files")
    parser.add_argument("--label-fraction", type=float, default=1.0, help="stratified fraction of training labels (5e-4 .. 1)")
    parser.add_argument("--head", choices=("class_attention", "linear"), default="class_attention")
    add_training_arguments(parser, epochs=20)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--layer-decay", type=float, default=1.0, help="finetune mode: layer-wise lr decay per block below the top (1 = none)")
    parser.add_argument("--head-warmup-epochs", type=int, default=0, help="finetune mode: train only the head for this many epochs first (LP-FT)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from hepjepa.atomic import atomic_path
    from hepjepa.downstream.backbone import resolve_backbone
    from hepjepa.downstream.finetune import FinetuneConfig, finetune, load_labelled_tokens, remap_labels
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.downstream.tagger import build_tagger
    from hepjepa.labels import JETCLASS_LABELS

    mode, bb_cfg, state, tok_cfg = resolve_backbone(args.backbone, args.scratch, args.backbone_config, args.mode, "finetune",
                                                    args.max_groups)

    train_tok, train_lab = load_labelled_tokens(args.train, tok_cfg, args.max_jets)
    val_tok, val_lab = load_labelled_tokens(args.val, tok_cfg, args.max_jets)
    class_idx = sorted(set(np.unique(train_lab).tolist()))
    if len(class_idx) < 2:
        msg = f"training files hold only classes {class_idx}; a tagger needs >= 2"
        raise UserInputError(msg)
    keep_val = np.isin(val_lab, class_idx)
    val_tok, val_lab = val_tok[np.flatnonzero(keep_val)], val_lab[keep_val]
    ytr, yva = remap_labels(train_lab, class_idx), remap_labels(val_lab, class_idx)
    sel = stratified_fraction(ytr, args.label_fraction, seed=args.seed)
    cfg = FinetuneConfig(mode=mode, head=args.head, label_fraction=args.label_fraction, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed,
                         backbone_lr_scale=args.backbone_lr_scale, layer_decay=args.layer_decay, head_warmup_epochs=args.head_warmup_epochs)
    tagger = build_tagger(bb_cfg, {"kind": args.head}, [JETCLASS_LABELS[c] for c in class_idx], tok_cfg.to_dict(),
                          mode=mode, backbone_state=state, seed=args.seed)
    tagger.zero_filled_fields = list(train_tok.zero_filled)
    out = Path(args.output)
    print(f"finetune: {mode}, head {args.head}, {len(sel)} of {len(ytr)} training jets ({args.label_fraction:g}), "
          f"{len(yva)} val jets, classes {tagger.classes}")
    hist = finetune(tagger, train_tok[sel], ytr[sel], val_tok, yva, cfg, out_path=out / "tagger.pt",
                    extra={"train": list(args.train), "val": list(args.val), "backbone": args.backbone, "n_train": int(len(sel))})
    with atomic_path(out / "history.json") as tmp:
        tmp.write_text(json.dumps({"config": cfg.to_dict(), "n_train": int(len(sel)), **hist}, indent=2))
    print(f"best val loss {hist['best_val_loss']:.4f} at epoch {hist['best_epoch']}; wrote {out / 'tagger.pt'}")
    return 0
