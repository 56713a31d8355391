"""Self-supervised JEPA pretraining on jets streamed from ROOT files.

Examples:
    hepjepa pretrain --config pretrain_small --set data.train='[jets.root]'
    torchrun --nproc_per_node 4 -m hepjepa.cli pretrain --config pretrain_base.yaml
    torchrun --standalone --nproc_per_node 2 -m hepjepa.cli pretrain --config pretrain_tiny --set data.train='[jets.root]'
    hepjepa pretrain --config runs/x/config.yaml --resume

Under torchrun every rank reads a disjoint shard (whole files when there are at least as many
files as ranks, else every world-th jet of each file); gradients are all-reduced, the logged
loss is the mean over ranks, rank 0 writes checkpoint.pt, config.yaml, log.csv/json and
loss.png, and each rank writes its own stream position (state_rank<r>.pt) for exact resume,
which needs the same files and number of ranks.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML file or packaged name (pretrain_tiny, pretrain_small, pretrain_base)")
    parser.add_argument("--resume", action="store_true", help="continue exactly from <run.out_dir>/checkpoint.pt")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config keys, e.g. optim.lr=3e-4")


def run(args: argparse.Namespace) -> int:
    from hepjepa.train.pretrain import load_config, pretrain

    summary = pretrain(load_config(args.config, args.set), resume=args.resume)
    print(json.dumps(summary))
    return 0
