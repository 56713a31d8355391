"""Linear probe (logistic regression) on frozen pooled embeddings of a pretrained backbone.

Example:
    hepjepa probe --backbone pretrain/ckpt.pt --train train.root --test test.root -o probe.json
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hepjepa.downstream.backbone import add_backbone_arguments

    add_backbone_arguments(parser, default_mode="frozen", scratch=False)
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--test", nargs="+", required=True)
    parser.add_argument("--max-jets", type=int, default=None)
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 regularisation strength")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="output JSON")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from hepjepa.atomic import atomic_path
    from hepjepa.downstream.backbone import resolve_backbone
    from hepjepa.downstream.finetune import load_labelled_tokens, predict, remap_labels
    from hepjepa.downstream.probe import linear_probe
    from hepjepa.downstream.tagger import build_tagger

    _, bb_cfg, state, tok_cfg = resolve_backbone(args.backbone, False, None, "frozen", "frozen", args.max_groups)
    tr, ytr = load_labelled_tokens(args.train, tok_cfg, args.max_jets)
    te, yte = load_labelled_tokens(args.test, tok_cfg, args.max_jets)
    classes = sorted(set(np.unique(ytr).tolist()))
    keep = np.isin(yte, classes)
    te, yte = te[np.flatnonzero(keep)], yte[keep]
    # A frozen tagger gives the pooled embeddings through the one masked_pool implementation.
    tagger = build_tagger(bb_cfg, {"kind": "linear"}, [str(c) for c in classes], tok_cfg.to_dict(),
                          mode="frozen", backbone_state=state, seed=args.seed)
    res = linear_probe(predict(tagger, tr, embeddings=True), remap_labels(ytr, classes),
                       predict(tagger, te, embeddings=True), remap_labels(yte, classes), C=args.C, seed=args.seed)
    res["classes"] = classes
    with atomic_path(args.output) as tmp:
        tmp.write_text(json.dumps(res, indent=2))
    print(f"probe accuracy {res['accuracy']:.4f} ({res['n_train']} train, {res['n_test']} test); wrote {args.output}")
    return 0
