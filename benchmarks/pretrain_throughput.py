"""Pretraining throughput (jets/s) of a config on this machine (CPU, or the GPU when present).

Usage: python benchmarks/pretrain_throughput.py --data jets.root [--config pretrain_small] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile

import torch

from hepjepa._io import atomic_path
from hepjepa.train.pretrain import load_config, pretrain


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--config", default="pretrain_small")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--out", default="benchmarks/results/pretrain_throughput.json")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cfg = load_config(a.config, [f"data.train={a.data}", f"optim.total_steps={a.steps}", f"run.out_dir={d}", f"run.checkpoint_every={a.steps}"])
        pretrain(cfg)
        rows = json.load(open(f"{d}/log.json"))
    res = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU x{torch.get_num_threads()} threads",
           "torch": torch.__version__, "python": platform.python_version(), "config": a.config, "steps": a.steps,
           "batch_size": cfg.optim.batch_size, "jets_per_s_final": rows[-1]["jets_per_s"]}
    print(res)
    with atomic_path(a.out) as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
