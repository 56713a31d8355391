"""Input side: tokenisation, the readers, and scaling with jet size.

``tokenize``: throughput of hepjepa.features tokenisation (incl. pairwise features) vs a vectorised
NumPy implementation (tests/_features_reference.py), and time/memory against jet size (16..4096
particles). Per-core numbers use one Numba thread (``n_threads=1``) and process CPU time; the
multi-thread numbers use wall time with ``n_threads`` = 1 .. the cores (on a shared, loaded machine
wall time is only indicative: ``load_average`` is recorded). Writes
benchmarks/results/features_throughput.json.

``readers``: reader throughput (jets/s, one process) for JetClass ROOT and EnergyFlow npz (stored
and compressed), written here, and the peak traced memory of a chunked read (tracemalloc: NumPy
buffers are traced), next to the size of the whole ``X`` array, to show it is bounded by the chunk.
Writes benchmarks/results/readers_throughput.json.

``scaling``: time and peak memory per jet, 16 to 4096 particles, of tokenisation and of Backbone
inference for each attention backend: ``softmax_bias`` (exact softmax + the pairwise physics bias),
``softmax`` (exact, no bias), ``linear`` (ELU+1 linear attention). Model:
BackboneConfig(embed_dim=128, depth=4, num_heads=4), random weights (seed 0); tokeniser: group_size
16 with max_groups lifted so a jet of n particles really gets ceil(2n/16) groups (G = 512 at 4096
particles). One jet per call (batch 1, 1 thread). Peak memory, measured properly on CPU: every
(stage, jet size) point runs in a FRESH Python process that first warms everything up on a
16-particle jet (imports, Numba JIT, model build, one forward of every module, allocator pools),
records ``ru_maxrss`` (the process's resident high-water mark) as the baseline, then runs only the
measured stage on the big jet once and reads ``ru_maxrss`` again. The difference is the peak extra
resident memory the stage needed (inputs it creates included; the model's weights are in the
baseline). Resolution is a page; allocations that the allocator serves from memory already
resident at baseline are not seen, so tiny jets read ~0. Time: median of repeated calls in the same
child after the memory reading. Slopes: least-squares d log(time) / d log(particles) over sizes >=
256 (1 = linear, 2 = quadratic). Writes benchmarks/results/speed_scaling.json.

    python -m benchmarks.features tokenize [--n-jets 2000]
    python -m benchmarks.features readers [--n-jets 20000 --step-size 5000]
    python -m benchmarks.features scaling [--quick] [--sizes 16 64 ...] [--stages ...] [--repeats 5]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from benchmarks._common import ROOT, cli, machine, tests_module, time_calls, write_json

SIZES = [16, 64, 256, 1024, 2048, 4096]
QUICK_SIZES = [16, 256]
STAGES = ("tokenize", "softmax_bias", "softmax", "linear")
GROUP_SIZE = 16
MODEL = {"num_features": 13, "embed_dim": 128, "depth": 4, "num_heads": 4}


def _best(fn, repeat: int = 5, wall: bool = False) -> float:
    """Best time over ``repeat`` calls: process CPU time (the per-core cost, robust to other
    processes sharing the cores) or, with ``wall``, wall time."""
    w, c = time_calls(fn, min_calls=repeat, warmup=0)
    return float((w if wall else c).min())


# ---- tokenize ----

def _jets(counts, seed=0):
    """Random jet-like particles (tests/features/test_tokenize.make_jets' draws): px, py, pz, e, offsets."""
    rng = np.random.default_rng(seed)
    P = int(sum(counts))
    pt = rng.exponential(20.0, P) + 0.5
    eta, phi = rng.normal(0.0, 0.3, P), rng.normal(0.0, 0.3, P)
    m = rng.uniform(0, 0.2, P)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    return px, py, pz, e, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def tokenize(args) -> int:
    """Tokenisation throughput vs NumPy, threads, and time/memory against jet size."""
    import numba

    from hepjepa.contract import FLAG_FIELDS
    from hepjepa.features import TokenizerConfig
    from hepjepa.features import tokenize_flat as _tokenize_flat

    ref = tests_module("_features_reference")
    cfg = TokenizerConfig()
    # the four-momenta only, charge and flags declared absent (zeros): the kernels' work does not depend on them
    tokenize_flat = functools.partial(_tokenize_flat, zero_fill=("charge", *FLAG_FIELDS))
    t0 = time.perf_counter()
    small = _jets([20, 40], seed=0)
    tokenize_flat(*small, cfg, n_threads=1)
    tokenize_flat(*small, cfg, n_threads=2 if numba.config.NUMBA_NUM_THREADS >= 2 else 1)
    first_call = time.perf_counter() - t0  # compile, or load from numba's cache

    counts = np.random.default_rng(1).poisson(75, args.n_jets)  # ~JetClass/our generator's mean size
    a = _jets(counts, seed=1)
    P = int(counts.sum())
    n_np = min(args.n_jets, 300)
    # interleaved, so that both see the same (shared, fluctuating) machine load
    t_nb, t_np = np.inf, np.inf
    for _ in range(5):
        t_nb = min(t_nb, _best(lambda: tokenize_flat(*a, cfg, n_threads=1), repeat=2))
        t_np = min(t_np, _best(lambda: ref.tokenize_numpy(*a[:4], a[4][: n_np + 1]), repeat=1))
    pps_nb, pps_np = P / t_nb, int(counts[:n_np].sum()) / t_np

    threads = []
    for nt in sorted({1, min(os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS)}):
        tw = _best(lambda: tokenize_flat(*a, cfg, n_threads=nt), repeat=10, wall=True)
        threads.append({"n_threads": nt, "wall_seconds": tw, "particles_per_s_wall": P / tw})

    scaling = []
    for n in (16, 64, 256, 1024, 4096):
        nj = max(4, 65536 // n)
        b = _jets(np.full(nj, n), seed=2)
        t = _best(lambda: tokenize_flat(*b, cfg, n_threads=1))
        tracemalloc.start()
        tokenize_flat(*b, cfg, n_threads=1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        scaling.append({"n_particles": n, "n_jets": nj, "us_per_jet": 1e6 * t / nj,
                        "ns_per_particle": 1e9 * t / (nj * n), "peak_python_bytes_per_jet": peak / nj})

    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"], capture_output=True, text=True).stdout.strip()
    m = machine(cpu=cpu, numba_threads=numba.get_num_threads(), numba_threading_layer_max_threads=numba.config.NUMBA_NUM_THREADS,
                load_average=list(os.getloadavg()))
    result = {"benchmark": "features_throughput", "machine": m, "config": cfg.to_dict(),
              "timing": "per core: best-of-10 process CPU seconds with n_threads=1 (NumPy: best of 5, interleaved with Numba); multi-thread: best-of-10 wall "
                        "seconds; taken on a shared 2-core machine loaded by other jobs (see machine.load_average)",
              "memory_note": "peak_python_bytes_per_jet counts NumPy allocations (the outputs); the Numba work "
                             "arrays are O(largest jet x largest group count) per chunk of jets, not traced",
              "load_average_1min": os.getloadavg()[0], "first_call_seconds": first_call, "n_jets": args.n_jets, "n_particles": P,
              "numba_particles_per_s_per_core": pps_nb, "numpy_particles_per_s": pps_np,
              "speedup_vs_numpy": pps_nb / pps_np, "goal_particles_per_s": 2e6, "goal_speedup": 50,
              "multi_thread": threads,
              "scaling_vs_jet_size": scaling}
    write_json("features_throughput", result, args.results)
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "machine")}, indent=2))
    return 0


# ---- readers ----

def _write_jetclass(path, n, rng):
    import awkward as ak
    import uproot

    counts = rng.poisson(50, n).clip(1)
    tot = counts.sum()
    data = {b: ak.unflatten(rng.normal(0, 10, tot).astype(np.float32), counts) for b in ("part_px", "part_py", "part_pz")}
    data["part_energy"] = ak.unflatten(rng.uniform(1, 50, tot).astype(np.float32), counts)
    data["jet_pt"] = rng.uniform(500, 1000, n).astype(np.float32)
    data["label_QCD"] = np.ones(n, bool)
    with uproot.recreate(path) as f:
        f.mktree("tree", {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()})
        f["tree"].extend(data)
    return int(tot)


def _write_npz(path, n, rng, save=np.savez):
    X = np.zeros((n, 100, 4))
    c = rng.poisson(50, n).clip(1, 100)
    m = np.arange(100)[None, :] < c[:, None]
    X[..., 0][m] = rng.uniform(1, 50, m.sum())
    X[..., 1][m] = rng.normal(0, 1, m.sum())
    X[..., 3][m] = 211
    save(path, X=X, y=rng.integers(0, 2, n))
    return int(c.sum())


def _peak_bytes(path, fmt, step):
    from hepjepa.data import iter_jets

    tracemalloc.start()
    for _ in iter_jets(path, format=fmt, step_size=step):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def readers(args) -> int:
    """Reader throughput (jets/s) of JetClass ROOT and EnergyFlow npz, and the peak memory of a chunked read."""
    import awkward as ak
    import uproot

    from hepjepa.data import iter_jets

    rng = np.random.default_rng(0)
    out = {"machine": machine(load_average_before=list(os.getloadavg())),
           "note": "shared 2-core machine loaded by other jobs: throughputs are indicative; step_size "
                   f"{args.step_size} jets per chunk",
           "versions": {"uproot": uproot.__version__, "awkward": ak.__version__, "numpy": np.__version__}, "results": {}}
    with tempfile.TemporaryDirectory() as d:
        for key, fmt, writer, name in (("jetclass", "jetclass", _write_jetclass, "j.root"),
                                       ("quarkgluon", "quarkgluon", _write_npz, "q.npz"),
                                       ("quarkgluon_compressed", "quarkgluon", functools.partial(_write_npz, save=np.savez_compressed), "qc.npz")):
            p = Path(d) / name
            n_part = writer(p, args.n_jets, rng)
            t = time.perf_counter()
            n = sum(len(ch) for ch in iter_jets(p, format=fmt, step_size=args.step_size))
            dt = time.perf_counter() - t
            r = out["results"][key] = {"jets": n, "particles": n_part, "seconds": dt, "jets_per_s": n / dt,
                                       "particles_per_s": n_part / dt, "file_bytes": p.stat().st_size}
            if fmt == "quarkgluon":
                r["peak_traced_bytes"] = _peak_bytes(p, fmt, args.step_size)
                r["peak_traced_bytes_step_div_5"] = _peak_bytes(p, fmt, max(args.step_size // 5, 1))
                r["whole_X_bytes"] = args.n_jets * 100 * 4 * 8
            print(key, f"{n / dt:.0f} jets/s", f"{n_part / dt / 1e6:.2f} M particles/s", r.get("peak_traced_bytes", ""))
    out["machine"]["load_average_after"] = list(os.getloadavg())
    write_json("readers_throughput", out, args.results)
    return 0


# ---- scaling ----

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


def _child(stage: str, n: int, repeats: int) -> dict:
    """Run in a fresh process: warm up, read ru_maxrss, run ``stage`` on an n-particle jet, read it again."""
    import torch

    from hepjepa.deploy.export import example_inputs
    from hepjepa.features import TokenizerConfig
    from hepjepa.features import tokenize as tok
    from hepjepa.model import Backbone, BackboneConfig

    torch.set_num_threads(1)
    cfg = TokenizerConfig(group_size=GROUP_SIZE, max_groups=10**6)
    if stage == "tokenize":
        small, big = synthetic_jet(16), synthetic_jet(n)
        tok(small, cfg, n_threads=1, allow_missing=True)  # JIT + first allocations; no particle ID: zeros

        def call():
            return tok(big, cfg, n_threads=1, allow_missing=True)
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
    times = [first, *time_calls(call, min_calls=repeats - 1, warmup=0)[0]]
    return {"stage": stage, "particles": n, "groups": cfg.n_groups(n), "group_size": GROUP_SIZE,
            "peak_extra_bytes": 1024 * (peak - base), "baseline_rss_bytes": 1024 * base,
            "seconds": float(np.median(times)), "repeats": len(times)}


def slope(rows: list[dict], key: str, min_particles: int = 256) -> float | None:
    """Least-squares slope of log(key) against log(particles) over rows with >= min_particles."""
    pts = [(r["particles"], r[key]) for r in rows if r["particles"] >= min_particles and r[key] > 0]
    if len(pts) < 2:
        return None
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def scaling(args) -> int:
    """Time and peak memory per jet against jet size, tokenisation and each attention backend."""
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
            cmd = [sys.executable, "-m", "benchmarks.features", "scaling", "--child", stage, str(n), "--repeats", str(repeats)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
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
        "machine": machine(),
        "model": {**MODEL, "seed": 0, "batch": 1, "threads": 1},
        "tokenizer": {"group_size": GROUP_SIZE, "max_groups": "unbounded", "groups_rule": "ceil(2 n / group_size)"},
        "memory_method": ("fresh subprocess per (stage, size); warm-up on a 16-particle jet; peak_extra_bytes = "
                          "ru_maxrss after one call on the big jet minus ru_maxrss before it (resident high-water mark, "
                          "page resolution; memory already resident at baseline is reused unseen, so small jets read ~0)"),
        "time_method": "median wall time of `repeats` calls, 1 thread, batch of one jet",
        "slope_method": "least-squares d log(y) / d log(particles) over sizes >= 256",
        "quick": args.quick, "rows": rows, "failures": failures, "summary": summary,
    }
    out = write_json("speed_scaling", res, args.results)
    print(json.dumps(summary, indent=1), "->", out)
    return 0


def _scaling_args(p):
    p.add_argument("--quick", action="store_true", help="two sizes only (smoke run)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="jet sizes in particles")
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    p.add_argument("--repeats", type=int, default=5, help="timed calls per point")
    p.add_argument("--child", nargs=2, metavar=("STAGE", "N"), help=argparse.SUPPRESS)  # one point, in this process


PARTS = {
    "tokenize": (lambda p: p.add_argument("--n-jets", type=int, default=2000), tokenize),
    "readers": (lambda p: (p.add_argument("--n-jets", type=int, default=20000), p.add_argument("--step-size", type=int, default=5000)), readers),
    "scaling": (_scaling_args, scaling),
}

if __name__ == "__main__":
    raise SystemExit(cli(__doc__, PARTS))
