"""Reader throughput (jets/s, one process) for JetClass ROOT and EnergyFlow npz, written here.

Writes benchmarks/results/readers_throughput.json with the machine and package versions.
Usage: python benchmarks/readers_throughput.py [--n-jets 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepjepa._io import atomic_path
from hepjepa.data import iter_jets


def _write_jetclass(path, n, rng):
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


def _write_npz(path, n, rng):
    X = np.zeros((n, 100, 4))
    c = rng.poisson(50, n).clip(1, 100)
    m = np.arange(100)[None, :] < c[:, None]
    X[..., 0][m] = rng.uniform(1, 50, m.sum())
    X[..., 1][m] = rng.normal(0, 1, m.sum())
    X[..., 3][m] = 211
    np.savez(path, X=X, y=rng.integers(0, 2, n))
    return int(c.sum())


def _time(path, fmt, step):
    t = time.perf_counter()
    n = sum(len(ch) for ch in iter_jets(path, format=fmt, step_size=step))
    return n, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-jets", type=int, default=20000)
    ap.add_argument("--step-size", type=int, default=5000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version()},
           "versions": {"uproot": uproot.__version__, "awkward": ak.__version__, "numpy": np.__version__}, "results": {}}
    with tempfile.TemporaryDirectory() as d:
        for fmt, writer, name in (("jetclass", _write_jetclass, "j.root"), ("quarkgluon", _write_npz, "q.npz")):
            p = Path(d) / name
            n_part = writer(p, args.n_jets, rng)
            n, dt = _time(p, fmt, args.step_size)
            out["results"][fmt] = {"jets": n, "particles": n_part, "seconds": dt, "jets_per_s": n / dt, "particles_per_s": n_part / dt}
            print(fmt, f"{n / dt:.0f} jets/s", f"{n_part / dt / 1e6:.2f} M particles/s")
    res = Path(__file__).parent / "results" / "readers_throughput.json"
    with atomic_path(res) as tmp:
        tmp.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
