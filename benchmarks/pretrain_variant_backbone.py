"""Pretrain the backbones that the physics variants fine-tune (benchmarks/variants/*.yaml name them).

Each is the few-shot backbone (data/bench_runs/backbone_top: fewshot_pretrain.yaml + ``_grid.RECIPE``,
6000 steps on ``_grid.unlabelled_files()``) with one thing changed, so a variant's result says what
that one thing does:

* ``base``: nothing changed. With seed 0 (the default) it is data/bench_runs/backbone_top itself;
  with ``--seed N`` a replicate, to measure how much the pretraining seed alone moves the results;
* ``g24``:  24 groups of 8 instead of 12 (more of each jet's particles covered);
* ``long``: 18000 steps instead of 6000 (the same jets seen three times as often);
* ``pool``: a larger unlabelled pool (plus data/bench_pool's 60000 jets of the ten classes, disjoint
  seeds; see make_bench_data.sh) and 12000 steps, so each jet is seen about as often as before;
* ``pool2``: data/bench_pool2's 60000 more jets on top, the same 12000 steps (only the number of
  distinct jets changes from ``pool``).

The main grid (variants/main.yaml) uses ``pool2``: of its pretraining seeds 0-4, the run with the
highest effective rank of its held-out embeddings (variants/backbone_selection.yaml), seed 2:

    for s in 0 1 2 3 4; do python -m benchmarks.pretrain_variant_backbone pool2 --seed $s --threads 2; done
    hepjepa rank data/bench_runs/backbone_top_pool2*/checkpoint.pt --data 'data/bench/val_*.root' --max-groups 24

The pretraining runs in this process, resumes a partial run and returns at once when the checkpoint
is complete; the checkpoint stores the config it ran with (the physics JSON copies it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import _grid
from benchmarks._common import ROOT

POOL = ROOT / "data" / "bench_pool"
POOL2 = ROOT / "data" / "bench_pool2"


def pool_files(root: Path | None = None) -> list[str]:
    """<root>/train_<class>.root (default data/bench_pool) for the ten classes; raise naming the generator command if missing."""
    return _grid.bench_files("train", root=root or POOL)


#: variant -> (steps, overrides before _grid.RECIPE); data.train defaults to _grid.unlabelled_files().
VARIANTS = {
    "base": (_grid.FULL_PRETRAIN_STEPS, lambda: []),
    "g24": (_grid.FULL_PRETRAIN_STEPS, lambda: ["data.tokenizer.max_groups=24"]),
    "long": (3 * _grid.FULL_PRETRAIN_STEPS, lambda: []),
    "pool": (2 * _grid.FULL_PRETRAIN_STEPS, lambda: [f"data.train={json.dumps(_grid.unlabelled_files() + pool_files())}"]),
    "pool2": (2 * _grid.FULL_PRETRAIN_STEPS, lambda: [f"data.train={json.dumps(_grid.unlabelled_files() + pool_files() + pool_files(POOL2))}"]),
}


def variant_config(variant: str) -> tuple[int, list[str]]:
    """(steps, ``--set`` overrides before _grid.RECIPE) of a variant; data.train is _grid.unlabelled_files() unless it changes it."""
    steps, extra = VARIANTS[variant]
    sets = list(extra())
    if not any(s.startswith("data.train=") for s in sets):
        sets.insert(0, f"data.train={json.dumps(_grid.unlabelled_files())}")
    return steps, sets


def out_dir(variant: str, seed: int) -> Path:
    """Run folder of a variant: data/bench_runs/backbone_top[_<variant>][_seed<N>] (base with seed 0 is backbone_top)."""
    if variant == "base" and seed == 0:
        return _grid.RUNS / "backbone_top"
    return _grid.RUNS / (f"backbone_top_{variant}" + (f"_seed{seed}" if seed else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variant", choices=sorted(VARIANTS))
    ap.add_argument("--seed", type=int, default=0, help="pretraining seed (run.seed; default 0, the seed of every backbone in the results)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the backbones in the results were made)")
    a = ap.parse_args()
    if a.seed < 0:
        ap.error(f"--seed must be a non-negative integer, got {a.seed}")
    steps, sets = variant_config(a.variant)
    log: list[str] = []
    ck = _grid.pretrain(out_dir(a.variant, a.seed), log, steps, [*sets, *_grid.RECIPE, f"run.seed={a.seed}"], threads=a.threads)
    print(json.dumps({"variant": a.variant, "checkpoint": str(ck.relative_to(ROOT)), "commands": log}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
