"""Train the regression head (jet mass, soft-drop mass, tau21, tau32) on a frozen, fine-tuned or scratch backbone.

Examples:
    hepjepa regress --backbone runs/pretrain/checkpoint.pt --mode frozen \\
        --train data/bench/train_*.root --val data/bench/val_*.root --test data/bench/test_*.root -o out/regress
    hepjepa regress --scratch --train train.root --val val.root --test test.root -o out/

Writes ``DIR/regressor.pt`` (a Tagger with a RegressionHead; its ``extra`` holds the target
names and standardisation), ``DIR/metrics.json`` (per target on the test set: bias, std and
IQR/1.349 of (pred - true) / true) and ``DIR/pred_vs_true.png``.
"""

from __future__ import annotations

import argparse
import json

from hepjepa.errors import UserInputError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hepjepa.downstream.backbone import add_backbone_arguments, add_training_arguments
    from hepjepa.downstream.heads import REGRESSION_TARGETS

    add_backbone_arguments(parser, default_mode="frozen")
    parser.add_argument("--train", nargs="+", required=True, help="training files (need jet_sdmass and jet_tau1..3 for those targets)")
    parser.add_argument("--val", nargs="+", required=True)
    parser.add_argument("--test", nargs="+", required=True)
    parser.add_argument("--targets", nargs="+", default=list(REGRESSION_TARGETS), choices=list(REGRESSION_TARGETS))
    add_training_arguments(parser, epochs=10)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hepjepa.atomic import atomic_path
    from hepjepa.downstream.backbone import resolve_backbone
    from hepjepa.downstream.regress import load_regression_data, plot_pred_vs_true, predict_targets, resolution_metrics, train_regressor
    from hepjepa.downstream.tagger import build_tagger, save_tagger

    mode, bb_cfg, state, tok_cfg = resolve_backbone(args.backbone, args.scratch, args.backbone_config, args.mode, "frozen",
                                                    args.max_groups)
    targets = tuple(args.targets)
    if len(targets) < 2:
        msg = f"--targets {list(targets)}: give at least two (the head shares one Tagger with >= 2 outputs)"
        raise UserInputError(msg)

    data = {split: load_regression_data(paths, tok_cfg, targets, args.max_jets) for split, paths in (("train", args.train), ("val", args.val), ("test", args.test))}
    model = build_tagger(bb_cfg, {"kind": "regression"}, list(targets), tok_cfg.to_dict(), mode=mode, backbone_state=state, output="logits", seed=args.seed)
    print(f"regress: {mode} backbone, targets {list(targets)}, {len(data['train'][1])} train / {len(data['val'][1])} val / {len(data['test'][1])} test jets", flush=True)
    hist = train_regressor(model, *data["train"], *data["val"], epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           backbone_lr_scale=args.backbone_lr_scale, seed=args.seed)
    pred = predict_targets(model, data["test"][0])
    metrics = resolution_metrics(pred, data["test"][1], targets)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    save_tagger(model, out / "regressor.pt", extra={"targets": list(targets), "target_mean": model.target_mean, "target_std": model.target_std,
                                                    "backbone": args.backbone, "history": hist})
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps({"mode": mode, "backbone": args.backbone, "targets": list(targets), "n_test": int(len(pred)),
                                   "resolution": metrics, "history": hist, "seed": args.seed}, indent=2))
    plot_pred_vs_true(pred, data["test"][1], out / "pred_vs_true.png", targets)
    for name, m in metrics.items():
        print(f"  {name:>10}: bias {m['bias_median']:+.3f}  IQR/1.349 {m['iqr_over_1.349']:.3f}  std {m['std']:.3f}")
    return 0
