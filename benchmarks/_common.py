"""Shared helpers of the bridge benchmarks: machine description and atomic JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for _onnx_models


def machine() -> dict:
    """Machine description and package versions for the JSON results."""
    import numpy
    import onnxruntime

    from hepjepa.bridge import ort_version

    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "bridge_ort": ort_version(),
        **_loaded_machine(),
    }


def write_json(name: str, data: dict) -> Path:
    """Write benchmarks/results/<name>.json atomically."""
    from hepjepa.atomic import atomic_path

    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2))
    return out


# ---- additions for the speed benchmarks (speed_*.py, make_report.py) ----

#: Said in every speed JSON: the numbers are from a shared, busy machine.
LOAD_NOTE = ("taken on a shared 2-core CPU machine (no GPU) while other engineers ran training; "
             "numbers are noisy, see loadavg_1_5_15")


def _loaded_machine() -> dict:
    """Load average, memory and the versions of the packages the speed benchmarks use.

    Versions come from package metadata so that no heavy import (torch) is paid here.
    """
    from importlib import metadata

    versions = {}
    for pkg in ("torch", "awkward", "uproot", "coffea", "numba", "dask", "distributed", "weaver-core", "hepjepa"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    mem = None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not every platform exposes these
        pass
    return {"loadavg_1_5_15": list(os.getloadavg()), "memory_bytes": mem, "versions": versions, "note": LOAD_NOTE}


def time_calls(call, seconds: float, min_calls: int = 5, warmup: int = 2):
    """Wall time of each of repeated ``call()``s, after ``warmup`` untimed calls.

    Args:
        call: zero-argument callable.
        seconds: keep calling until this much time has passed ...
        min_calls: ... and at least this many calls were timed.
        warmup: untimed calls first (lazy initialisation, allocator warm-up).

    Returns:
        float64 array of per-call seconds (use the median for throughput, quantiles for latency).
    """
    import time

    import numpy as np

    for _ in range(warmup):
        call()
    times = []
    stop = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < stop:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


BENCH_DATA = ROOT / "data" / "bench"


def bench_jets(n_per_class: int, classes=("tbqq", "qcd"), split: str = "test"):
    """The first ``n_per_class`` jets of each class of the shared bench data set, concatenated.

    Args:
        n_per_class: jets per class.
        classes: file class names (``data/bench/<split>_<class>.root``).
        split: ``train``, ``val`` or ``test``.

    Returns:
        ``ak.Array`` of jet records (``hepjepa.data.read_jets``).

    Raises:
        FileNotFoundError: a file is missing (names it and how to make it).
    """
    import awkward as ak

    from hepjepa.data import read_jets

    parts = []
    for c in classes:
        path = BENCH_DATA / f"{split}_{c}.root"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; make the bench data with `bash benchmarks/make_bench_data.sh`")
        parts.append(read_jets(str(path), max_jets=n_per_class))
    return ak.concatenate(parts)
