"""Tokenise jets from a file and print group-count / group-size statistics.

Example: ``hepjepa features jets.root --group-size 16 --max-groups 32``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``hepjepa features`` options."""
    parser.add_argument("path", help="jet file or glob (any format hepjepa.data.read_jets reads)")
    parser.add_argument("--format", default=None, help="input format (guessed when omitted)")
    parser.add_argument("--group-size", type=int, default=16, help="k, particles per group")
    parser.add_argument("--min-groups", type=int, default=1)
    parser.add_argument("--max-groups", type=int, default=32)
    parser.add_argument("--max-jets", type=int, default=None, help="use only the first N jets")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")


def run(args: argparse.Namespace) -> int:
    """Read, tokenise, print statistics. Returns the exit code."""
    from hepjepa.data import read_jets
    from hepjepa.features import TokenizerConfig, tokenize

    cfg = TokenizerConfig(group_size=args.group_size, min_groups=args.min_groups, max_groups=args.max_groups)
    jets = read_jets(args.path, format=args.format)
    if args.max_jets is not None:
        jets = jets[: args.max_jets]
    t0 = time.perf_counter()
    tok = tokenize(jets, cfg, allow_missing=True)
    dt = time.perf_counter() - t0
    n_groups = tok.group_mask.sum(1)
    sizes = tok.particle_mask.sum(2)[tok.group_mask > 0]
    n_part = int(sum(len(x) for x in jets.px)) if len(jets) else 0

    def q(a):
        a = np.asarray(a, float)
        return {"mean": float(a.mean()), "min": float(a.min()), "median": float(np.median(a)),
                "max": float(a.max())} if a.size else {}

    stats = {"n_jets": len(tok), "n_particles": n_part, "padded_groups": tok.n_groups,
             "groups_per_jet": q(n_groups), "particles_per_group": q(sizes),
             "tokenize_seconds": dt, "config_fingerprint": cfg.fingerprint()}
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, val in stats.items():
            print(f"{key:>20}: {val}")
    return 0
