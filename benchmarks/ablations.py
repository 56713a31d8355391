"""Ablations: contiguous vs random masking, physics pairwise bias on/off, registers on/off.

Each variant is pretrained with ``hepjepa pretrain`` (one ``--set`` override from the
baseline), then fine-tuned (frozen and finetune modes) and evaluated over several seeds at
one label fraction; same data (``hepjepa generate``) and structure as benchmarks/fewshot.py.
Writes benchmarks/results/ablations[_quick].json (with every command run).

    python benchmarks/ablations.py --quick
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_json  # noqa: E402
from fewshot import SETTINGS, finetune_eval, generate, pretrain, summarise  # noqa: E402

VARIANTS: dict[str, list[str]] = {
    "baseline_contiguous_bias_registers": [],
    "random_masking": ["masks.strategy=random"],
    "no_pair_bias": ["model.backbone.pair_bias=false"],
    "no_registers": ["model.backbone.num_registers=0"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fraction", type=float, default=None, help="label fraction (default: the smallest of the mode)")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    name = "quick" if a.quick else "full"
    s = SETTINGS[name]
    frac = a.fraction or min(s["fractions"])
    work = Path(a.work or Path(__file__).parent / "work" / f"ablations_{name}")
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    files = generate(work, s, log)
    rows = []
    for variant, overrides in VARIANTS.items():
        ck = pretrain(work, variant, s, files["train"], log, overrides)
        for seed in s["seeds"]:
            for mode in ("frozen", "finetune"):
                m = finetune_eval(work, variant, ck, mode, frac, seed, s, files, log)
                rows.append({"variant": variant, "mode": mode, "fraction": frac, "seed": seed, "accuracy": m["accuracy"], "auc": m["auc"]})
    summary = summarise(rows, ("variant", "mode"))
    write_json(f"ablations{'_quick' if a.quick else ''}", {"mode": name, "settings": s, "fraction": frac, "variants": VARIANTS,
                                                             "commands": log, "runs": rows, "summary": summary, "machine": machine()})
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
