"""Pretraining throughput (jets/s) on CPU: tiny and small configs, 1 and 2 threads, and torchrun with 2 ranks.

"steady" counts only the steps after the first ``--skip``: when the run is shorter than one
shuffle buffer (pretrain_small: 2048 jets) those steps never read or tokenise, so it is the
model's training rate; ``jets_per_s_incl_startup`` includes reading, tokenising the first
buffer, the Numba cache load and torch start-up.

Each case is a separate `hepjepa pretrain` process (fresh thread settings, as a user runs it);
its log.json gives the wall time after every step. The steady rate counts the jets of the
steps after the first ``--skip`` (those pay the Numba cache load and the first buffer fill)
and divides by their wall time. A GPU, when present, is used by the same command (the JSON
says which device ran). Writes benchmarks/results/pretrain_throughput.json.

    python -m benchmarks.training [--data F.root ...] [--steps-tiny 20] [--steps-small 8] [--skip 2] [--configs pretrain_tiny pretrain_small]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import cli, machine, write_json


def _case(config: str, data: list[str], steps: int, threads: int, ranks: int, skip: int) -> dict:
    """One `hepjepa pretrain` process: its steady and start-up-included jets/s."""
    import yaml

    with tempfile.TemporaryDirectory() as d:
        sets = [f"data.train=[{','.join(data)}]", f"optim.total_steps={steps}", f"run.out_dir={d}", f"run.checkpoint_every={steps}",
                "run.progress=false", f"run.log_every={steps}"]
        if ranks == 1:
            launch = [sys.executable]
        else:
            launch = [shutil.which("torchrun", path=str(Path(sys.executable).parent)), "--standalone", f"--nproc_per_node={ranks}"]
        cmd = [*launch, "-m", "hepjepa.cli", "pretrain", "--config", config, "--set", *sets]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
        rows = json.loads((Path(d) / "log.json").read_text())
        cfg = yaml.safe_load((Path(d) / "config.yaml").read_text())
    batch = cfg["optim"]["batch_size"] * ranks
    steady = (len(rows) - skip) * batch / (rows[-1]["time_s"] - rows[skip - 1]["time_s"])
    return {"config": config, "ranks": ranks, "threads_per_rank": threads, "steps": len(rows), "global_batch": batch,
            "jets_per_s_steady": steady, "s_per_step_steady": batch / steady, "jets_per_s_incl_startup": rows[-1]["jets_per_s"],
            "process_wall_s": wall, "final_loss": rows[-1]["loss"], "loadavg_after": list(os.getloadavg())}


def run(args) -> int:
    """Every (config, threads, ranks) case, then the JSON."""
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (no GPU)"
    cases = []
    for config in args.configs:
        steps = args.steps_tiny if config == "pretrain_tiny" else args.steps_small
        for threads, ranks in ((1, 1), (2, 1), (1, 2)):
            r = _case(config, args.data, steps, threads, ranks, args.skip)
            print(json.dumps(r), flush=True)
            cases.append(r)
    out = write_json("pretrain_throughput", {"device": device, "data": args.data, "cases": cases, "machine": machine(),
                                             "torch_threads_note": "threads = OMP_NUM_THREADS/NUMBA_NUM_THREADS per process; 2 ranks x 1 thread uses both cores"},
                     args.results)
    print(f"wrote {out}")
    return 0


def _args(p):
    p.add_argument("--data", nargs="+", default=["data/bench/train_qcd.root", "data/bench/train_tbqq.root"])
    p.add_argument("--steps-tiny", type=int, default=20)
    p.add_argument("--steps-small", type=int, default=8)
    p.add_argument("--skip", type=int, default=2, help="first steps left out of the steady rate")
    p.add_argument("--configs", nargs="+", default=["pretrain_tiny", "pretrain_small"])


if __name__ == "__main__":
    raise SystemExit(cli(__doc__, {"training": (_args, run)}))
