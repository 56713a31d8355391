"""Inference speed of the shipped model through every runtime, and of ParT through the C++ producer.

Runtimes (the same exported model, python/hepjepa/models/default/):

* ``cpp``: ``hepjepa.JetTagProducer`` (C++ bridge) on model.onnx;
* ``ort``: Python ``onnxruntime.InferenceSession`` on model.onnx;
* ``eager``: the PyTorch tagger (tagger.pt) under ``torch.inference_mode``;
* ``compile``: the same tagger through ``torch.compile`` (dynamic shapes, compiled once);
* ``part_cpp``: weaver-core's ParticleTransformer exported to ONNX, through the same C++ producer
  (``data/bench_runs/part_top/model.onnx`` when another engineer's trained ParT is there,
  otherwise an UNTRAINED ParT of the same size exported to ``data/bench_runs/part_speed/model.onnx``:
  speed does not depend on the weights).

Inputs are real generated jets (``data/bench/test_{tbqq,qcd}.root``), tokenised with the model's
own preprocess.json (ParT: weaver-style inputs, hardest 128 particles). For each runtime, batch size
and thread count (ONNX Runtime intra-op threads / ``torch.set_num_threads``) the per-call wall
times are recorded: jets/s = batch / median call time, latency p50/p99 per call (batch 1 = one jet,
batch 2 ~ one event's two AK8 jets), plus the median process CPU time per call (on a shared machine
the less disturbed figure at 1 thread; at 2 threads it sums both threads' CPU time). The full grid
(5 runtimes x threads 1, 2 x batches 1, 2, 16, 128, 1024, 0.5 s per point) takes about 10 minutes on
one core, most of it ParT at batch 1024. The runtimes of one (threads, batch) point are timed in 3
interleaved rounds (``seconds`` split over them), so load from other processes is shared fairly.
Writes benchmarks/results/speed_inference.json and draws speed_inference.png with make_report's
figure (the same one docs/benchmarks.md links).

    .venv/bin/python benchmarks/speed_inference.py [--quick] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import _common
from speed_flops import time_both

MODEL_DIR = _common.ROOT / "python" / "hepjepa" / "models" / "default"
PART_TRAINED = _common.ROOT / "data" / "bench_runs" / "part_top" / "model.onnx"
PART_SPEED = _common.ROOT / "data" / "bench_runs" / "part_speed" / "model.onnx"
BATCHES = [1, 2, 16, 128, 1024]
QUICK_BATCHES = [1, 64]
RUNTIMES = ("cpp", "ort", "eager", "compile", "part_cpp")
ROUNDS = 3  # interleaved rounds per (threads, batch) point


def part_model(jets) -> tuple[Path, dict]:
    """The ParT ONNX model to time and where it came from.

    Args:
        jets: a few jets for the export trace and its parity check (untrained case).

    Returns:
        (path to model.onnx, provenance dict with the graph's input names).
    """
    import onnx

    if PART_TRAINED.is_file():
        path, info = PART_TRAINED, {"trained": True}
    else:
        from _peers import PEER_CONFIGS

        path, info = PART_SPEED, {"trained": False, "config": PEER_CONFIGS["part"],
                                  "note": "untrained weaver-core ParT of PEER_CONFIGS['part'] size (speed does not need weights)"}
        if not PART_SPEED.is_file():
            info["export_check"] = _export_untrained_part(jets)
    info["path"] = str(path.relative_to(_common.ROOT))
    # the exporter drops inputs the graph does not use (ParT never reads pf_points)
    info["input_names"] = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    return path, info


def _export_untrained_part(jets) -> dict:
    """Export a randomly initialised ParT (weaver's for_inference variant) to PART_SPEED; check ORT vs torch."""
    import onnxruntime
    import torch

    from _peers import PEER_INPUTS, build_peer, peer_inputs
    from hepjepa.atomic import atomic_path

    net = build_peer("part", n_classes=2, seed=0, for_inference=True).eval()
    sample = peer_inputs(jets[:64])
    x = tuple(torch.from_numpy(sample[k][:2]) for k in PEER_INPUTS)  # batch 2: a batch of 1 freezes the axis
    axes = {k: {0: "batch", 2: "particles"} for k in PEER_INPUTS} | {"scores": {0: "batch"}}
    PART_SPEED.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(PART_SPEED) as tmp:
        torch.onnx.export(net, x, str(tmp), input_names=list(PEER_INPUTS), output_names=["scores"],
                          dynamic_axes=axes, opset_version=18, dynamo=False)
    sess = onnxruntime.InferenceSession(str(PART_SPEED), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(["scores"], {k: sample[k] for k in names})[0]
    with torch.no_grad():
        ref = net(*[torch.from_numpy(sample[k]) for k in PEER_INPUTS]).numpy()
    diff = float(np.abs(got - ref).max())
    if diff > 1e-4:
        raise RuntimeError(f"exported ParT differs from torch by {diff} (expected < 1e-4)")
    return {"max_abs_diff_ort_vs_torch": diff, "jets": len(got)}


def _runner(name: str, threads: int, batch: int, inputs: dict, part_path: Path):
    """A zero-argument callable running one batch through runtime ``name``."""
    import torch

    if name in ("cpp", "part_cpp"):
        from hepjepa import JetTagProducer

        path = str(part_path) if name == "part_cpp" else str(MODEL_DIR / "model.onnx")
        prod = JetTagProducer(model_path=path, flav_names=["probQCD", "probTbqq"], input_names=list(inputs),
                              batch_size=batch, intra_op_threads=threads)
        return lambda: prod.produce(inputs)
    if name == "ort":
        import onnxruntime

        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = onnxruntime.InferenceSession(str(MODEL_DIR / "model.onnx"), so, providers=["CPUExecutionProvider"])
        return lambda: sess.run(["scores"], inputs)
    torch.set_num_threads(threads)
    model = _torch_model(name)
    args = [torch.from_numpy(v) for v in inputs.values()]

    def call():
        with torch.inference_mode():
            return model(*args)

    return call


_TORCH_MODELS: dict = {}


def _torch_model(name: str):
    """The eager tagger, or one torch.compile of it shared by all batch sizes (compiled lazily)."""
    import torch

    from hepjepa.downstream.tagger import load_tagger

    if name not in _TORCH_MODELS:
        eager = _TORCH_MODELS.setdefault("eager", load_tagger(MODEL_DIR / "tagger.pt", output="scores").eval())
        if name == "compile":
            _TORCH_MODELS["compile"] = torch.compile(eager, dynamic=True)
    return _TORCH_MODELS[name]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two batch sizes, short rounds (smoke run)")
    ap.add_argument("--seconds", type=float, default=None, help="timed seconds per (runtime, batch, threads)")
    ap.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    args = ap.parse_args(argv)
    import torch

    from _peers import peer_inputs
    from hepjepa.features import TokenizerConfig, tokenize

    seconds = args.seconds if args.seconds is not None else (0.15 if args.quick else 0.5)
    batches = QUICK_BATCHES if args.quick else BATCHES
    nmax = max(batches)
    jets = _common.bench_jets((nmax + 1) // 2)
    pre = json.loads((MODEL_DIR / "preprocess.json").read_text())
    tok = tokenize(jets, TokenizerConfig.from_dict(pre["tokenizer"])).model_inputs()  # (N, G, K, F) ...
    part_path, part_info = part_model(jets) if "part_cpp" in args.runtimes else (None, None)
    part = peer_inputs(jets, max_particles=128)  # (N, C, P)
    if part_info:
        part = {k: part[k] for k in part_info["input_names"]}

    rows, compile_s = [], None
    load_before = list(os.getloadavg())
    if "compile" in args.runtimes:
        # compile once (dynamic batch); its cost is reported, not mixed into the timings
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        with torch.inference_mode():
            _torch_model("compile")(*[torch.from_numpy(v[:3]) for v in tok.values()])
        compile_s = time.perf_counter() - t0
    # the machine is shared: the runtimes of one (threads, batch) point take turns over ROUNDS rounds,
    # so a burst of load elsewhere hits all of them rather than whichever happened to run then
    for threads in (1, 2):
        for b in batches:
            runners = {}
            for name in args.runtimes:
                src = part if name == "part_cpp" else tok
                runners[name] = _runner(name, threads, b, {k: np.ascontiguousarray(v[:b]) for k, v in src.items()}, part_path)
            wall = {name: [] for name in runners}
            cpu = {name: [] for name in runners}
            min_calls = -(-(10 if b <= 16 else 3) // ROUNDS)  # per round, rounded up
            for rnd in range(ROUNDS):
                for name, call in runners.items():
                    if name in ("eager", "compile"):
                        torch.set_num_threads(threads)
                    t, c = time_both(call, seconds / ROUNDS, min_calls=min_calls, warmup=2 if rnd == 0 else 0)
                    wall[name] += list(t)
                    cpu[name] += list(c)
            for name in runners:
                t = np.asarray(wall[name])
                med = float(np.median(t))
                rows.append({"runtime": name, "threads": threads, "batch": b, "calls": len(t), "jets_per_s": b / med,
                             "latency_p50_us": 1e6 * med, "latency_p99_us": 1e6 * float(np.quantile(t, 0.99)),
                             "cpu_us_per_call_p50": 1e6 * float(np.median(cpu[name]))})
                print(f"{name:8s} threads {threads} batch {b:5d}: {b / med:9.0f} jets/s  p50 {1e6 * med:9.1f} us  "
                      f"p99 {1e6 * np.quantile(t, 0.99):9.1f} us")
            del runners
    torch.set_num_threads(1)
    load_after = list(os.getloadavg())

    def pick(rt, b, th=1):
        return next((r for r in rows if r["runtime"] == rt and r["batch"] == b and r["threads"] == th), None)

    summary = {}
    for b in batches:
        for rt in args.runtimes:
            r = pick(rt, b)
            if r:
                summary[f"{rt}_jets_per_s_batch{b}_1thread"] = r["jets_per_s"]
    r1 = {rt: pick(rt, 1) for rt in args.runtimes}
    summary.update({f"{rt}_batch1_p50_us": r["latency_p50_us"] for rt, r in r1.items() if r})
    summary.update({f"{rt}_batch1_p99_us": r["latency_p99_us"] for rt, r in r1.items() if r})
    res = {
        "machine": _common.machine(),
        "model": str(MODEL_DIR.relative_to(_common.ROOT)),
        "tokens_shape": {k: list(v.shape[1:]) for k, v in tok.items()},
        "part_model": part_info,
        "part_max_particles": 128,
        "threads_meaning": "ONNX Runtime intra_op_num_threads (C++ and Python) / torch.set_num_threads (eager, compile)",
        "threads_note": ("2 threads on a 2-core machine whose cores also run other jobs: a thread that is not scheduled "
                         "stalls the other at every barrier (PyTorch's OpenMP pool suffers most), so 2-thread rows "
                         "say little about an idle machine; see loadavg_before/after"),
        "seconds_per_point": seconds,
        "compile_seconds": compile_s,
        "quick": args.quick,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "rounds": ROUNDS,
        "rows": rows,
        "summary": summary,
    }
    out = _common.write_json("speed_inference", res)
    print(json.dumps(summary, indent=1), "->", out)
    print("->", _draw(res, out.with_suffix(".png")))
    return 0


def _draw(res: dict, path: Path) -> Path:
    """speed_inference.png: jets/s vs batch per runtime, 1 and 2 threads (make_report's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepjepa.atomic import atomic_path
    from make_report import _plot_inference

    fig = _plot_inference(res, plt)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
