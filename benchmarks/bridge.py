"""The C++ bridge, hepjepa.JetTagProducer, on the tests' tiny tagger (tests/_onnx_models.write_tagger).

``throughput``: calls/s, jets/s and per-call latency of the producer against Python's
``onnxruntime.InferenceSession`` on the same model (G=8 groups), batch 1..1024, 1 and 2 Python
threads, best of 3 rounds of ``--seconds`` each. Writes benchmarks/results/bridge_throughput.json.

``memory``: resident-memory growth of ``produce`` over ``--runs`` calls after ``--warmup`` ones
(leak check). Writes benchmarks/results/bridge_memory.json; exit code 1 if growth >= 1%.

    python -m benchmarks.bridge throughput [--seconds 0.3]
    python -m benchmarks.bridge memory [--runs 100000 --warmup 2000]
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import cli, machine, ort_session, tests_module, write_json

BATCHES = [1, 4, 16, 64, 256, 1024]
FLAVOURS = [f"p{i}" for i in range(5)]


def _rate(call, seconds: float, n_threads: int) -> float:
    """Calls per second of call() from n_threads threads (best of 3 rounds)."""
    best = 0.0
    for _ in range(3):
        counts = [0] * n_threads
        stop = time.perf_counter() + seconds

        def work(i):
            while time.perf_counter() < stop:
                call()
                counts[i] += 1

        ts = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        best = max(best, sum(counts) / (time.perf_counter() - t0))
    return best


def throughput(args) -> int:
    """Producer vs Python onnxruntime: throughput and latency, batch 1..1024, 1 and 2 threads."""
    from hepjepa.bridge import JetTagProducer

    m = tests_module("_onnx_models")
    with tempfile.TemporaryDirectory() as tmp:
        model = str(m.write_tagger(Path(tmp) / "tagger.onnx"))
        ref = ort_session(model, threads=1)
        rows = []
        for n in BATCHES:
            x = m.random_inputs(n, n_groups=8)
            prod = JetTagProducer(model_path=model, flav_names=FLAVOURS, batch_size=max(n, 1))
            for threads in (1, 2):
                r_py = _rate(lambda: ref.run(["scores"], x), args.seconds, threads)
                r_cc = _rate(lambda: prod.produce(x), args.seconds, threads)
                rows.append({
                    "batch": n, "threads": threads,
                    "python_ort_calls_per_s": r_py, "bridge_calls_per_s": r_cc,
                    "python_ort_jets_per_s": r_py * n, "bridge_jets_per_s": r_cc * n,
                    "python_ort_latency_us": 1e6 * threads / r_py, "bridge_latency_us": 1e6 * threads / r_cc,
                    "ratio_bridge_over_python": r_cc / r_py,
                })
                print(f"batch {n:5d} threads {threads}: bridge {1e6 * threads / r_cc:8.1f} us/call, "
                      f"python ORT {1e6 * threads / r_py:8.1f} us/call, throughput ratio {r_cc / r_py:.2f}")
    # overhead of the bridge itself: latency difference at batch 1, one thread
    b1 = next(r for r in rows if r["batch"] == 1 and r["threads"] == 1)
    summary = {
        "bridge_minus_python_latency_us_batch1": b1["bridge_latency_us"] - b1["python_ort_latency_us"],
        "min_throughput_ratio": min(r["ratio_bridge_over_python"] for r in rows),
    }
    out = write_json("bridge_throughput", {"machine": machine(), "rows": rows, "summary": summary}, args.results)
    print(summary, "->", out)
    return 0


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("VmRSS not found in /proc/self/status")


def memory(args) -> int:
    """Resident-memory growth of JetTagProducer.produce over many calls (leak check)."""
    from hepjepa.bridge import JetTagProducer

    m = tests_module("_onnx_models")
    with tempfile.TemporaryDirectory() as tmp:
        model = str(m.write_tagger(Path(tmp) / "tagger.onnx"))
        prod = JetTagProducer(model_path=model, flav_names=FLAVOURS, batch_size=4)
        x = m.random_inputs(8, n_groups=6)
        for _ in range(args.warmup):  # let ORT's arena and our per-thread buffers settle
            prod.produce(x)
        before = _rss_kib()
        for _ in range(args.runs):
            prod.produce(x)
        after = _rss_kib()
    growth = (after - before) / before
    result = {"machine": machine(), "runs": args.runs, "warmup": args.warmup,
              "rss_before_kib": before, "rss_after_kib": after, "growth_fraction": growth, "ok": growth < 0.01}
    out = write_json("bridge_memory", result, args.results)
    print(f"RSS {before} -> {after} KiB over {args.runs} runs: growth {100 * growth:.3f}% -> {out}")
    return 0 if growth < 0.01 else 1


PARTS = {
    "throughput": (lambda p: p.add_argument("--seconds", type=float, default=0.3, help="time per measurement round"), throughput),
    "memory": (lambda p: (p.add_argument("--runs", type=int, default=100_000), p.add_argument("--warmup", type=int, default=2_000)), memory),
}

if __name__ == "__main__":
    raise SystemExit(cli(__doc__, PARTS))
