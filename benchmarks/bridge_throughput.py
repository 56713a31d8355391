"""Throughput and per-call latency: hepjepa.JetTagProducer vs onnxruntime.InferenceSession.

Same model (tests/_onnx_models.write_tagger, G=8 groups), batch 1..1024, 1 and 2 Python
threads. Writes benchmarks/results/bridge_throughput.json.

    .venv/bin/python benchmarks/bridge_throughput.py [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import onnxruntime

import _common
from _onnx_models import random_inputs, write_tagger
from hepjepa.bridge import JetTagProducer

BATCHES = [1, 4, 16, 64, 256, 1024]


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=0.3, help="time per measurement round")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = str(write_tagger(Path(tmp) / "tagger.onnx"))
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        ref = onnxruntime.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        rows = []
        for n in BATCHES:
            x = random_inputs(n, n_groups=8)
            prod = JetTagProducer(model_path=model, flav_names=[f"p{i}" for i in range(5)], batch_size=max(n, 1))
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
        out = _common.write_json("bridge_throughput", {"machine": _common.machine(), "rows": rows, "summary": summary})
        print(summary, "->", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
