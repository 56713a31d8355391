"""Scaling with jet size (16 to 4096 particles): time and peak memory per jet of tokenisation and
of Backbone inference for each attention backend. Replaces the former attention_memory.py.

Backends: ``softmax_bias`` (exact softmax + the pairwise physics bias), ``softmax`` (exact, no bias),
``linear`` (ELU+1 linear attention). Model: BackboneConfig(embed_dim=128, depth=4, num_heads=4),
random weights (seed 0); tokeniser: group_size 16 with max_groups lifted so a jet of n particles
really gets ceil(2n/16) groups (G = 512 at 4096 particles). One jet per call (batch 1, 1 thread).

Peak memory, measured properly on CPU: every (stage, jet size) point runs in a FRESH Python
process that first warms everything up on a 16-particle jet (imports, Numba JIT, model build,
one forward of every module, allocator pools), records ``ru_maxrss`` (the process's resident
high-water mark) as the baseline, then runs only the measured stage on the big jet once and
reads ``ru_maxrss`` again. The difference is the peak extra resident memory the stage needed
(inputs it creates included; the model's weights are in the baseline). Resolution is a page;
allocations that the allocator serves from memory already resident at baseline are not seen,
so tiny jets read ~0. Time: median of repeated calls in the same child after the memory reading.
Slopes: least-squares d log(time) / d log(particles) over sizes >= 256 (1 = linear, 2 = quadratic).

Writes benchmarks/results/speed_scaling.json and .png.

    .venv/bin/python benchmarks/speed_scaling.py [--quick] [--sizes 16 64 ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

import _common

SIZES = [16, 64, 256, 1024, 2048, 4096]
QUICK_SIZES = [16, 256]
STAGES = ("tokenize", "softmax_bias", "softmax", "linear")
GROUP_SIZE = 16
MODEL = {"num_features": 13, "embed_dim": 128, "depth": 4, "num_heads": 4}


def synthetic_jet(n: int, seed: int = 0):
    """One jet of ``n`` massless particles around (eta, phi) = (0, 0): pT ~ Exp(10 GeV), spread 0.3.

    Returns:
        ``ak.Array`` of one jet record with jagged ``px, py, pz, energy`` (float32).
    """
    import awkward as ak

    rng = np.random.default_rng(seed)
    pt = rng.exponential(10.0, n) + 0.5
    eta, phi = rng.normal(0, 0.3, n), rng.normal(0, 0.3, n)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2)
    return ak.Array([{k: v.astype(np.float32) for k, v in zip(("px", "py", "pz", "energy"), (px, py, pz, e))}])


def _tokenizer():
    from hepjepa.features import TokenizerConfig

    return TokenizerConfig(group_size=GROUP_SIZE, max_groups=10**6)


def _child(stage: str, n: int, repeats: int) -> dict:
    """Run in a fresh process: warm up, read ru_maxrss, run ``stage`` on an n-particle jet, read it again."""
    import torch

    from hepjepa.deploy.export import example_inputs
    from hepjepa.features import tokenize
    from hepjepa.model import Backbone, BackboneConfig

    torch.set_num_threads(1)
    cfg = _tokenizer()
    if stage == "tokenize":
        small, big = synthetic_jet(16), synthetic_jet(n)
        tokenize(small, cfg, n_threads=1, allow_missing=True)  # JIT + first allocations; no particle ID: zeros

        def call():
            return tokenize(big, cfg, n_threads=1, allow_missing=True)
    else:
        torch.manual_seed(0)
        attention, bias = ("linear", False) if stage == "linear" else ("softmax", stage == "softmax_bias")
        model = Backbone(BackboneConfig(**MODEL, attention=attention, pair_bias=bias)).eval()
        G, K = cfg.n_groups(n), GROUP_SIZE
        x = {k: torch.from_numpy(v) for k, v in example_inputs(G, K, MODEL["num_features"], batch=1, seed=1).items()}
        x["group_mask"][:] = 1.0  # every group real (the tokeniser gives a full jet exactly G groups)
        warm = [torch.from_numpy(v) for v in example_inputs(cfg.n_groups(16), K, MODEL["num_features"], batch=1).values()]
        with torch.inference_mode():
            model(*warm)  # first forward: lazy init of kernels and allocator pools

        def call():
            with torch.inference_mode():
                return model(*x.values())  # (1, R+G, D)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t0 = time.perf_counter()
    out = call()
    first = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del out
    times = [first] + [_timed(call) for _ in range(repeats - 1)]
    return {"stage": stage, "particles": n, "groups": cfg.n_groups(n), "group_size": GROUP_SIZE,
            "peak_extra_bytes": 1024 * (peak - base), "baseline_rss_bytes": 1024 * base,
            "seconds": float(np.median(times)), "repeats": len(times)}


def _timed(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def slope(rows: list[dict], key: str, min_particles: int = 256) -> float | None:
    """Least-squares slope of log(key) against log(particles) over rows with >= min_particles."""
    pts = [(r["particles"], r[key]) for r in rows if r["particles"] >= min_particles and r[key] > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two sizes only (smoke run)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="jet sizes in particles")
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per point")
    ap.add_argument("--child", nargs=2, metavar=("STAGE", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]), args.repeats)))
        return 0
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    bad = [n for n in sizes if n < 1]
    if bad:
        raise ValueError(f"jet sizes {bad}: expected positive particle counts")
    repeats = 2 if args.quick else args.repeats
    rows, failures = [], []
    for stage in args.stages:
        for n in sizes:
            cmd = [sys.executable, __file__, "--child", stage, str(n), "--repeats", str(repeats)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(_common.ROOT / "benchmarks"))
            if proc.returncode != 0:
                # a size that does not run (e.g. out of memory) is a result, not a crash of the benchmark
                failures.append({"stage": stage, "particles": n, "returncode": proc.returncode, "stderr_tail": proc.stderr[-600:]})
                print(f"{stage:12s} {n:5d} particles: FAILED rc={proc.returncode}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"{stage:12s} {n:5d} particles (G={r['groups']:4d}): {1e3 * r['seconds']:9.2f} ms, "
                  f"peak +{r['peak_extra_bytes'] / 2**20:8.2f} MiB")
    summary = {}
    for stage in args.stages:
        sr = [r for r in rows if r["stage"] == stage]
        summary[f"{stage}_time_slope"] = slope(sr, "seconds")
        summary[f"{stage}_memory_slope"] = slope(sr, "peak_extra_bytes")
        summary[f"{stage}_max_particles_run"] = max((r["particles"] for r in sr), default=None)
    res = {
        "machine": _common.machine(),
        "model": {**MODEL, "seed": 0, "batch": 1, "threads": 1},
        "tokenizer": {"group_size": GROUP_SIZE, "max_groups": "unbounded", "groups_rule": "ceil(2 n / group_size)"},
        "memory_method": ("fresh subprocess per (stage, size); warm-up on a 16-particle jet; peak_extra_bytes = "
                          "ru_maxrss after one call on the big jet minus ru_maxrss before it (resident high-water mark, "
                          "page resolution; memory already resident at baseline is reused unseen, so small jets read ~0)"),
        "time_method": "median wall time of `repeats` calls, 1 thread, batch of one jet",
        "slope_method": "least-squares d log(y) / d log(particles) over sizes >= 256",
        "quick": args.quick, "rows": rows, "failures": failures, "summary": summary,
    }
    out = _common.write_json("speed_scaling", res)
    print(json.dumps(summary, indent=1), "->", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
