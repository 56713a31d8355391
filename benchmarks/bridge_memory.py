"""Resident-memory growth of JetTagProducer.produce over many runs (leak check).

Writes benchmarks/results/bridge_memory.json; exit code 1 if growth >= 1%.

    .venv/bin/python benchmarks/bridge_memory.py [--runs 100000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _common
from _onnx_models import random_inputs, write_tagger
from hepjepa.bridge import JetTagProducer


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--warmup", type=int, default=2_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = str(write_tagger(Path(tmp) / "tagger.onnx"))
        prod = JetTagProducer(model_path=model, flav_names=[f"p{i}" for i in range(5)], batch_size=4)
        x = random_inputs(8, n_groups=6)
        for _ in range(args.warmup):  # let ORT's arena and our per-thread buffers settle
            prod.produce(x)
        before = _rss_kib()
        for _ in range(args.runs):
            prod.produce(x)
        after = _rss_kib()
    growth = (after - before) / before
    result = {"machine": _common.machine(), "runs": args.runs, "warmup": args.warmup,
              "rss_before_kib": before, "rss_after_kib": after, "growth_fraction": growth, "ok": growth < 0.01}
    out = _common.write_json("bridge_memory", result)
    print(f"RSS {before} -> {after} KiB over {args.runs} runs: growth {100 * growth:.3f}% -> {out}")
    return 0 if growth < 0.01 else 1


if __name__ == "__main__":
    raise SystemExit(main())
