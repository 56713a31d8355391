"""Pretrain the variant backbones that physics_compare.py's ``--name`` variants fine-tune.

Each variant is fewshot.py's backbone (data/bench_runs/backbone_top: fewshot_pretrain.yaml + RECIPE,
6000 steps on ``fewshot.unlabelled_files()``) with one thing changed, so a variant's result says what
that one thing does:

* ``base``: nothing changed. With seed 0 (the default) it is data/bench_runs/backbone_top itself, the
  backbone of fewshot.py, physics_compare.py and the shipped model (benchmarks/train_shipped_model.sh
  builds it this way); with ``--seed N`` it is a replicate, to measure how much the pretraining seed
  alone moves the fine-tuned results (every other variant is one pretraining run);
* ``g24``:  24 groups of 8 instead of 12 (more of each jet's particles covered);
* ``long``: 18000 steps instead of 6000 (the same jets seen three times as often);
* ``pool``: a larger unlabelled pool (the same jets plus data/bench_pool's 60000 jets of the ten
  classes, disjoint seeds; see make_bench_data.sh) and 12000 steps, so each jet is seen about as
  often as in the 6000-step run on the smaller pool;
* ``pool2``: the next step of that scan: data/bench_pool2's 60000 more jets (SEED_BASE=30000) on top,
  the same 12000 steps (so only the number of distinct jets changes from ``pool``).

The main grid of physics_compare.py uses ``pool2``: of its pretraining seeds 0-4, the run with the
highest effective rank of its held-out embeddings (benchmarks/backbone_selection.py, ``hepjepa rank``),
which is seed 2:

    for s in 0 1 2 3 4; do python benchmarks/pretrain_variant_backbone.py pool2 --seed $s --threads 2; done
    hepjepa rank data/bench_runs/backbone_top_pool2*/checkpoint.pt --data 'data/bench/val_*.root' --max-groups 24

    python benchmarks/pretrain_variant_backbone.py pool   # -> data/bench_runs/backbone_top_pool/checkpoint.pt
    python benchmarks/pretrain_variant_backbone.py pool --seed 1   # -> data/bench_runs/backbone_top_pool_seed1/
    python benchmarks/physics_compare.py --name pool --backbone data/bench_runs/backbone_top_pool/checkpoint.pt --rerun ...

The pretraining runs in this process on one torch thread (fewshot.pretrain), resumes a partial run, and
returns at once when the checkpoint is complete. The checkpoint stores the config it ran with, and
physics_compare copies it into its JSON (``jepa.pretraining``); this script prints the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fewshot  # noqa: E402

ROOT = fewshot.ROOT
POOL = ROOT / "data" / "bench_pool"
POOL2 = ROOT / "data" / "bench_pool2"


def pool_files(root: Path | None = None) -> list[str]:
    """<root>/train_<class>.root (default data/bench_pool) for the ten classes; raise naming the generator command if missing."""
    return fewshot.bench_files("train", root=root or POOL)


#: variant -> (steps, overrides over fewshot.RECIPE); data.train defaults to fewshot.unlabelled_files().
VARIANTS = {
    "base": (fewshot.FULL_PRETRAIN_STEPS, lambda: []),
    "g24": (fewshot.FULL_PRETRAIN_STEPS, lambda: ["data.tokenizer.max_groups=24"]),
    "long": (3 * fewshot.FULL_PRETRAIN_STEPS, lambda: []),
    "pool": (2 * fewshot.FULL_PRETRAIN_STEPS, lambda: [f"data.train={json.dumps(fewshot.unlabelled_files() + pool_files())}"]),
    "pool2": (2 * fewshot.FULL_PRETRAIN_STEPS, lambda: [f"data.train={json.dumps(fewshot.unlabelled_files() + pool_files() + pool_files(POOL2))}"]),
}


def variant_config(variant: str) -> tuple[int, list[str]]:
    """(steps, ``--set`` overrides before fewshot.RECIPE) of a variant; data.train is fewshot.unlabelled_files() unless it changes it."""
    steps, extra = VARIANTS[variant]
    sets = list(extra())
    if not any(s.startswith("data.train=") for s in sets):
        sets.insert(0, f"data.train={json.dumps(fewshot.unlabelled_files())}")
    return steps, sets


def out_dir(variant: str, seed: int) -> Path:
    """Run folder of a variant: data/bench_runs/backbone_top[_<variant>][_seed<N>] (base with seed 0 is backbone_top)."""
    if variant == "base" and seed == 0:
        return ROOT / "data" / "bench_runs" / "backbone_top"
    return ROOT / "data" / "bench_runs" / (f"backbone_top_{variant}" + (f"_seed{seed}" if seed else ""))


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
    ck = fewshot.pretrain(out_dir(a.variant, a.seed), log, steps, [*sets, *fewshot.RECIPE, f"run.seed={a.seed}"], threads=a.threads)
    print(json.dumps({"variant": a.variant, "checkpoint": str(ck.relative_to(ROOT)), "commands": log}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
