"""Reader throughput (jets/s, one process) for JetClass ROOT and EnergyFlow npz (stored and
compressed), written here, and the peak traced memory of a chunked read (tracemalloc: NumPy
buffers are traced), next to the size of the whole ``X`` array, to show it is bounded by the chunk.

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

from hepjepa.atomic import atomic_path
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


def _write_npz_compressed(path, n, rng):
    return _write_npz(path, n, rng, np.savez_compressed)


def _write_npz(path, n, rng, save=np.savez):
    X = np.zeros((n, 100, 4))
    c = rng.poisson(50, n).clip(1, 100)
    m = np.arange(100)[None, :] < c[:, None]
    X[..., 0][m] = rng.uniform(1, 50, m.sum())
    X[..., 1][m] = rng.normal(0, 1, m.sum())
    X[..., 3][m] = 211
    save(path, X=X, y=rng.integers(0, 2, n))
    return int(c.sum())


def _time(path, fmt, step):
    t = time.perf_counter()
    n = sum(len(ch) for ch in iter_jets(path, format=fmt, step_size=step))
    return n, time.perf_counter() - t


def _peak_bytes(path, fmt, step):
    import tracemalloc

    tracemalloc.start()
    for _ in iter_jets(path, format=fmt, step_size=step):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-jets", type=int, default=20000)
    ap.add_argument("--step-size", type=int, default=5000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out = {"machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                       "load_average_before": list(os.getloadavg())},
           "note": "shared 2-core machine loaded by other jobs: throughputs are indicative; step_size "
                   f"{args.step_size} jets per chunk",
           "versions": {"uproot": uproot.__version__, "awkward": ak.__version__, "numpy": np.__version__}, "results": {}}
    with tempfile.TemporaryDirectory() as d:
        for key, fmt, writer, name in (("jetclass", "jetclass", _write_jetclass, "j.root"),
                                       ("quarkgluon", "quarkgluon", _write_npz, "q.npz"),
                                       ("quarkgluon_compressed", "quarkgluon", _write_npz_compressed, "qc.npz")):
            p = Path(d) / name
            n_part = writer(p, args.n_jets, rng)
            n, dt = _time(p, fmt, args.step_size)
            out["results"][key] = {"jets": n, "particles": n_part, "seconds": dt, "jets_per_s": n / dt,
                                   "particles_per_s": n_part / dt, "file_bytes": p.stat().st_size}
            if fmt == "quarkgluon":
                out["results"][key]["peak_traced_bytes"] = _peak_bytes(p, fmt, args.step_size)
                out["results"][key]["peak_traced_bytes_step_div_5"] = _peak_bytes(p, fmt, max(args.step_size // 5, 1))
                out["results"][key]["whole_X_bytes"] = args.n_jets * 100 * 4 * 8
            print(key, f"{n / dt:.0f} jets/s", f"{n_part / dt / 1e6:.2f} M particles/s",
                  out["results"][key].get("peak_traced_bytes", ""))
    out["machine"]["load_average_after"] = list(os.getloadavg())
    res = Path(__file__).parent / "results" / "readers_throughput.json"
    with atomic_path(res) as tmp:
        tmp.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
