"""Rank pretraining runs without labels: effective rank (RankMe) of their held-out embeddings.

Pretrain a few seeds of one recipe, then keep the run whose embeddings span the most
directions: a partly collapsed run (often the one with the *lowest* JEPA loss) fine-tunes worse,
most of all with few labels (see hepjepa.train.rank and benchmarks/variants/backbone_selection.yaml).

Example:
    hepjepa rank runs/seed*/checkpoint.pt --data val_*.root --max-groups 24 -o ranks.json
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoints", nargs="+", help="pretraining checkpoints (hepjepa pretrain's checkpoint.pt)")
    parser.add_argument("--data", nargs="+", required=True, help="held-out jet files (any supported format; labels are not used)")
    parser.add_argument("--jets-per-file", type=int, default=200, help="jets read from each file (default 200)")
    parser.add_argument("--max-groups", type=int, default=None, help="tokenise into at most G groups (default: each run's own)")
    parser.add_argument("-o", "--output", default=None, help="write the ranking as JSON here")


def run(args: argparse.Namespace) -> int:
    from hepjepa.atomic import atomic_path
    from hepjepa.data.streaming import expand_paths
    from hepjepa.train.rank import rank_checkpoints

    res = rank_checkpoints(args.checkpoints, expand_paths(args.data), args.jets_per_file, args.max_groups)
    width = max(len(r.checkpoint) for r in res)
    print(f"{'checkpoint':<{width}}  eff. rank  (of dim)  final JEPA loss  steps")
    for r in res:
        loss = "-" if r.final_loss is None else f"{r.final_loss:.4f}"
        steps = f"{r.step}/{r.total_steps}" + ("" if r.complete else "  UNFINISHED: not comparable")
        print(f"{r.checkpoint:<{width}}  {r.effective_rank:9.2f}  ({r.dim:6d})  {loss:>15}  {steps}")
    done = [r for r in res if r.complete]
    if not done:
        print("no finished run among the checkpoints: nothing selected")
        return 1
    print(f"highest effective rank among finished runs: {done[0].checkpoint} ({done[0].n_jets} jets, at most {done[0].max_groups} groups)")
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps({"selected": done[0].checkpoint, "ranking": [r.to_dict() for r in res]}, indent=2))
        print(f"wrote {args.output}")
    return 0
