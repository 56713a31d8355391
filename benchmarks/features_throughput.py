"""Throughput of hepjepa.features tokenisation (incl. pairwise features) vs a vectorised
NumPy implementation, and time/memory against jet size (16..4096 particles).

Per-core numbers use one Numba thread (``n_threads=1``) and process CPU time; the
multi-thread numbers use wall time with ``n_threads`` = 1 .. the cores (on a shared,
loaded machine wall time is only indicative: ``load_average`` is recorded).

Writes benchmarks/results/features_throughput.json. Run:
``python benchmarks/features_throughput.py [--n-jets 2000]``
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import _features_reference as ref  # noqa: E402
from hepjepa.atomic import atomic_path  # noqa: E402
from test_features import make_jets  # noqa: E402


def machine():
    import awkward
    import numba

    return {"python": platform.python_version(), "platform": platform.platform(), "cpu": platform.processor()
            or subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"], capture_output=True, text=True).stdout.strip(),
            "n_cpus": os.cpu_count(), "numpy": np.__version__, "numba": numba.__version__, "awkward": awkward.__version__,
            "numba_threads": numba.get_num_threads(), "numba_threading_layer_max_threads": numba.config.NUMBA_NUM_THREADS,
            "load_average": list(os.getloadavg())}


def best_of(fn, repeat=5, clock=time.process_time):
    """Best time over ``repeat`` calls. With the default process CPU time it is the
    per-core cost, robust to other processes sharing the cores (wall time on a loaded
    2-core machine is not)."""
    ts = []
    for _ in range(repeat):
        t = clock(); fn(); ts.append(clock() - t)
    return min(ts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-jets", type=int, default=2000)
    ap.add_argument("--out", default=str(HERE / "results" / "features_throughput.json"))
    args = ap.parse_args()
    import numba

    from hepjepa.contract import FLAG_FIELDS
    from hepjepa.features import TokenizerConfig
    from hepjepa.features import tokenize_flat as _tokenize_flat

    cfg = TokenizerConfig()
    # the four-momenta only, charge and flags declared absent (zeros): the kernels' work does not depend on them
    tokenize_flat = functools.partial(_tokenize_flat, zero_fill=("charge", *FLAG_FIELDS))
    t0 = time.perf_counter()
    small = make_jets([20, 40], seed=0)
    tokenize_flat(*small[:4], small[6], cfg, n_threads=1)
    tokenize_flat(*small[:4], small[6], cfg, n_threads=2 if numba.config.NUMBA_NUM_THREADS >= 2 else 1)
    first_call = time.perf_counter() - t0  # compile, or load from numba's cache

    counts = np.random.default_rng(1).poisson(75, args.n_jets)  # ~JetClass/our generator's mean size
    a = make_jets(counts, seed=1)
    P = int(counts.sum())
    n_np = min(args.n_jets, 300)
    # interleaved, so that both see the same (shared, fluctuating) machine load
    t_nb, t_np = np.inf, np.inf
    for _ in range(5):
        t_nb = min(t_nb, best_of(lambda: tokenize_flat(*a[:4], a[6], cfg, n_threads=1), repeat=2))
        t_np = min(t_np, best_of(lambda: ref.tokenize_numpy(*a[:4], a[6][: n_np + 1]), repeat=1))
    pps_nb = P / t_nb
    pps_np = int(counts[:n_np].sum()) / t_np

    threads = []
    for nt in sorted({1, min(os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS)}):
        tw = best_of(lambda: tokenize_flat(*a[:4], a[6], cfg, n_threads=nt), repeat=10, clock=time.perf_counter)
        threads.append({"n_threads": nt, "wall_seconds": tw, "particles_per_s_wall": P / tw})

    scaling = []
    for n in (16, 64, 256, 1024, 4096):
        nj = max(4, 65536 // n)
        b = make_jets(np.full(nj, n), seed=2)
        t = best_of(lambda: tokenize_flat(*b[:4], b[6], cfg, n_threads=1))
        tracemalloc.start()
        tokenize_flat(*b[:4], b[6], cfg, n_threads=1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        scaling.append({"n_particles": n, "n_jets": nj, "us_per_jet": 1e6 * t / nj,
                        "ns_per_particle": 1e9 * t / (nj * n), "peak_python_bytes_per_jet": peak / nj})

    result = {"benchmark": "features_throughput", "machine": machine(), "config": cfg.to_dict(),
              "timing": "per core: best-of-10 process CPU seconds with n_threads=1 (NumPy: best of 5, interleaved with Numba); multi-thread: best-of-10 wall "
                        "seconds; taken on a shared 2-core machine loaded by other jobs (see machine.load_average)",
              "memory_note": "peak_python_bytes_per_jet counts NumPy allocations (the outputs); the Numba work "
                             "arrays are O(largest jet x largest group count) per chunk of jets, not traced",
              "load_average_1min": os.getloadavg()[0], "first_call_seconds": first_call, "n_jets": args.n_jets, "n_particles": P,
              "numba_particles_per_s_per_core": pps_nb, "numpy_particles_per_s": pps_np,
              "speedup_vs_numpy": pps_nb / pps_np, "goal_particles_per_s": 2e6, "goal_speedup": 50,
              "multi_thread": threads,
              "scaling_vs_jet_size": scaling}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k not in ("config", "machine")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
