"""Shared helpers of the benchmarks: the machine/load record, atomic JSON output, one timing helper,
one command-line pattern, the shipped model and the bench data, the tests' tiny-model helpers."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MODEL_DIR = ROOT / "python" / "hepjepa" / "models" / "default"
BENCH_DATA = ROOT / "data" / "bench"

#: Said in every speed JSON: the numbers are from a shared, busy machine.
LOAD_NOTE = ("taken on a shared 2-core CPU machine (no GPU) while other engineers ran training; "
             "numbers are noisy, see loadavg_1_5_15")

#: The command that writes each speed/throughput results file (benchmarks/results/<name>.json).
COMMANDS = {
    "bridge_throughput": "python -m benchmarks.bridge throughput", "bridge_memory": "python -m benchmarks.bridge memory",
    "speed_inference": "python -m benchmarks.inference runtimes", "speed_flops": "python -m benchmarks.inference flops",
    "deploy_latency": "python -m benchmarks.analysis event", "speed_coffea": "python -m benchmarks.analysis runner",
    "features_throughput": "python -m benchmarks.features tokenize", "readers_throughput": "python -m benchmarks.features readers",
    "speed_scaling": "python -m benchmarks.features scaling", "generator_throughput": "python -m benchmarks.generator",
    "pretrain_throughput": "python -m benchmarks.training", "fuzz_campaign": "python -m benchmarks.fuzz_campaign",
    "fuzz_campaign_before": "python -m benchmarks.fuzz_campaign --pythonpath OLD_CHECKOUT/python --name fuzz_campaign_before",
}

_VERSIONED = ("torch", "awkward", "uproot", "coffea", "numba", "dask", "distributed", "weaver-core", "hepjepa")


def machine(**extra) -> dict:
    """Machine description, load average, memory and package versions for the JSON results.

    Versions come from package metadata, so no heavy import (torch) is paid here.

    Args:
        extra: script-specific entries (load before/after a run, thread settings, ...); they
            are added to, or replace, the shared ones.
    """
    from importlib import metadata

    import numpy

    try:
        import onnxruntime

        from hepjepa.bridge import ort_version

        ort, bridge_ort = onnxruntime.__version__, ort_version()
    except ImportError:  # the C++ bridge is an optional build
        ort = bridge_ort = None
    versions = {}
    for pkg in _VERSIONED:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not every platform exposes these
        mem = None
    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": numpy.__version__, "onnxruntime": ort, "bridge_ort": bridge_ort,
            "loadavg_1_5_15": list(os.getloadavg()), "memory_bytes": mem, "versions": versions, "note": LOAD_NOTE, **extra}


def write_json(name: str, data: dict, results: Path | str = RESULTS) -> Path:
    """Write ``<results>/<name>.json`` atomically (default folder: benchmarks/results)."""
    from hepjepa.atomic import atomic_path

    out = Path(results) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2))
    return out


def time_calls(call, seconds: float = 0.0, min_calls: int = 3, warmup: int = 2):
    """Wall and process CPU time of each of repeated ``call()``s, after ``warmup`` untimed calls.

    Args:
        call: zero-argument callable.
        seconds: keep calling until this much time has passed ...
        min_calls: ... and at least this many calls were timed.
        warmup: untimed calls first (lazy initialisation, allocator warm-up).

    Returns:
        (wall, cpu): float64 arrays of per-call seconds. The median gives throughput, quantiles
        latency, the minimum a best-of; on a shared machine the CPU time is the less disturbed
        figure (a descheduled process accrues none).
    """
    import numpy as np

    for _ in range(warmup):
        call()
    wall, cpu = [], []
    stop = time.perf_counter() + seconds
    while len(wall) < min_calls or time.perf_counter() < stop:
        w0, c0 = time.perf_counter(), time.process_time()
        call()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return np.asarray(wall), np.asarray(cpu)


def cli(doc: str, parts: dict, argv=None) -> int:
    """The benchmarks' one command line: ``python -m benchmarks.X [PART] [options] [--results DIR]``.

    Args:
        doc: the script's docstring (the help text).
        parts: part name -> (add_arguments(parser), run(args) -> exit code). With one part there
            is no part argument.
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        the exit code of the part that ran.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--results", type=Path, default=RESULTS, help="folder of the results JSON (default benchmarks/results)")
    fmt = argparse.RawDescriptionHelpFormatter
    if len(parts) == 1:
        (add, run), = parts.values()
        ap = argparse.ArgumentParser(description=doc, formatter_class=fmt, parents=[common])
        add(ap)
        ap.set_defaults(run=run)
    else:
        ap = argparse.ArgumentParser(description=doc, formatter_class=fmt)
        sub = ap.add_subparsers(dest="part", required=True)
        for name, (add, run) in parts.items():
            p = sub.add_parser(name, help=(run.__doc__ or "").strip().splitlines()[0], description=run.__doc__,
                               formatter_class=fmt, parents=[common])
            add(p)
            p.set_defaults(run=run)
    args = ap.parse_args(argv)
    return args.run(args)


def tests_module(name: str):
    """The test suite's helper module ``tests/<name>.py`` (e.g. ``_onnx_models``), imported by file path."""
    spec = importlib.util.spec_from_file_location(f"_hepjepa_tests_{name}", ROOT / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ort_session(model, threads: int = 1):
    """A CPU ``onnxruntime.InferenceSession`` of ``model`` (path or bytes), ``threads`` intra-op, 1 inter-op."""
    import onnxruntime

    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    return onnxruntime.InferenceSession(model if isinstance(model, bytes) else str(model), so, providers=["CPUExecutionProvider"])


def bench_jets(n_per_class: int, classes=("tbqq", "qcd"), split: str = "test", data: Path | str = BENCH_DATA):
    """The first ``n_per_class`` jets of each class of the shared bench data set, concatenated.

    Args:
        n_per_class: jets per class.
        classes: file class names (``<data>/<split>_<class>.root``).
        split: ``train``, ``val`` or ``test``.
        data: the bench data folder (default data/bench).

    Returns:
        ``ak.Array`` of jet records (``hepjepa.data.read_jets``).

    Raises:
        FileNotFoundError: a file is missing (names it and how to make it).
    """
    import awkward as ak

    from hepjepa.data import read_jets

    parts = []
    for c in classes:
        path = Path(data) / f"{split}_{c}.root"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; make the bench data with `bash benchmarks/make_bench_data.sh`")
        parts.append(read_jets(str(path), max_jets=n_per_class))
    return ak.concatenate(parts)
