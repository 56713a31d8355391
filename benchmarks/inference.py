"""Inference speed of the shipped model (python/hepjepa/models/default/): every runtime, and how
close to the machine it runs.

``runtimes``: jets/s and latency of the same exported model through

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

``flops``: the tagger's FLOPs per jet over the measured time, against single-core SGEMM. FLOPs are
counted analytically layer by layer (:func:`tagger_flops`: PointNet MLP, positional MLP,
pairwise-bias MLP, attention QKV / projection / scores / AV (or the linear backend's einsums),
block MLPs, class-attention head), 2 FLOPs per multiply-add, matrix products only (LayerNorm, GELU,
softmax, masking are elementwise and left out, as ``torch.utils.flop_counter.FlopCounterMode``
leaves them out); the count is the one the model code actually performs (the PointNet's second
stage applies its group half once per group) and is cross-checked against FlopCounterMode on the
eager model. The peak is the fastest single-thread 2048^3 float32 matmul among torch.mm (MKL), numpy
(OpenBLAS) and ONNX Runtime's MatMul (MLAS), best of 5 each, measured before, between and after the
model timings in the same process; the highest reading is used, so fractions are not inflated by a
slow library or reading. Models: the shipped tagger (embedding 64, 3 blocks) and, to show what wider
layers reach, a randomly initialised tagger with the default BackboneConfig (embedding 128, 6 blocks;
exported to ONNX in a temporary folder). Runtimes, one thread: eager PyTorch, Python onnxruntime,
torch.compile (shipped model only: compiling the wide one too costs another minute), and the C++
JetTagProducer (``cpp``) with its default ``batch_size`` (jets per ONNX Runtime call,
hepjepa.deploy.DEFAULT_BATCH_SIZE): the deployed path, which splits a large batch into cache-sized
calls where ``ort`` runs it as one. Every call is timed by wall clock and by process CPU time (both
in the JSON). Where the time goes: ONNX Runtime's own profiler on the shipped model at the C++
producer's call size gives the kernel time per operator type; the JSON keeps the shares, the GEMM
share (MatMul, Gemm, FusedMatMul), the FLOP rate of the GEMM kernels alone and the largest nodes,
which is what bounds the fraction of peak. Writes benchmarks/results/speed_flops.json.

    python -m benchmarks.inference runtimes [--quick] [--seconds 0.5] [--runtimes cpp ort ...] [--bench-data data/bench]
    python -m benchmarks.inference flops [--quick]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks._common import BENCH_DATA, MODEL_DIR, ROOT, bench_jets, cli, machine, ort_session, time_calls, write_json

PART_TRAINED = ROOT / "data" / "bench_runs" / "part_top" / "model.onnx"
PART_SPEED = ROOT / "data" / "bench_runs" / "part_speed" / "model.onnx"
BATCHES = [1, 2, 16, 128, 1024]
QUICK_BATCHES = [1, 64]
RUNTIMES = ("cpp", "ort", "eager", "compile", "part_cpp")
ROUNDS = 3  # interleaved rounds per (threads, batch) point
FLOPS_BATCHES = [1, 16, 128, 512, 2048]
#: Batches above this run only through ONNX Runtime (Python and the C++ producer): eager PyTorch at
#: 2048 jets of the wide model costs minutes and says nothing the 512 row does not.
TORCH_MAX_BATCH = 512
GEMM_OPS = ("MatMul", "Gemm", "FusedMatMul", "FusedGemm")
FLAVOURS = ["probQCD", "probTbqq"]


# ---- runtimes ----

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
        from benchmarks._peers import PEER_CONFIGS

        path, info = PART_SPEED, {"trained": False, "config": PEER_CONFIGS["part"],
                                  "note": "untrained weaver-core ParT of PEER_CONFIGS['part'] size (speed does not need weights)"}
        if not PART_SPEED.is_file():
            info["export_check"] = _export_untrained_part(jets)
    info["path"] = str(path.relative_to(ROOT))
    # the exporter drops inputs the graph does not use (ParT never reads pf_points)
    info["input_names"] = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    return path, info


def _export_untrained_part(jets) -> dict:
    """Export a randomly initialised ParT (weaver's for_inference variant) to PART_SPEED; check ORT vs torch."""
    import torch

    from benchmarks._peers import PEER_INPUTS, build_peer, peer_inputs
    from hepjepa.atomic import atomic_path

    net = build_peer("part", n_classes=2, seed=0, for_inference=True).eval()
    sample = peer_inputs(jets[:64])
    x = tuple(torch.from_numpy(sample[k][:2]) for k in PEER_INPUTS)  # batch 2: a batch of 1 freezes the axis
    axes = {k: {0: "batch", 2: "particles"} for k in PEER_INPUTS} | {"scores": {0: "batch"}}
    PART_SPEED.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(PART_SPEED) as tmp:
        torch.onnx.export(net, x, str(tmp), input_names=list(PEER_INPUTS), output_names=["scores"],
                          dynamic_axes=axes, opset_version=18, dynamo=False)
    sess = ort_session(PART_SPEED, threads=0)  # 0: ONNX Runtime's default
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(["scores"], {k: sample[k] for k in names})[0]
    with torch.no_grad():
        ref = net(*[torch.from_numpy(sample[k]) for k in PEER_INPUTS]).numpy()
    diff = float(np.abs(got - ref).max())
    if diff > 1e-4:
        raise RuntimeError(f"exported ParT differs from torch by {diff} (expected < 1e-4)")
    return {"max_abs_diff_ort_vs_torch": diff, "jets": len(got)}


def _torch_call(model, inputs):
    """A zero-argument callable: one ``model`` forward on ``inputs`` (tensors) under inference_mode."""
    import torch

    def call():
        with torch.inference_mode():
            return model(*inputs)

    return call


def _torch_models(compile_: bool) -> dict:
    """The eager tagger and, when asked, one torch.compile of it shared by all batch sizes (compiled lazily)."""
    import torch

    from hepjepa.downstream.tagger import load_tagger

    eager = load_tagger(MODEL_DIR / "tagger.pt", output="scores").eval()
    return {"eager": eager, **({"compile": torch.compile(eager, dynamic=True)} if compile_ else {})}


def _runner(name: str, threads: int, batch: int, inputs: dict, part_path: Path, torch_models: dict):
    """A zero-argument callable running one batch through runtime ``name``."""
    import torch

    if name in ("cpp", "part_cpp"):
        from hepjepa import JetTagProducer

        path = str(part_path) if name == "part_cpp" else str(MODEL_DIR / "model.onnx")
        prod = JetTagProducer(model_path=path, flav_names=FLAVOURS, input_names=list(inputs),
                              batch_size=batch, intra_op_threads=threads)
        return lambda: prod.produce(inputs)
    if name == "ort":
        sess = ort_session(MODEL_DIR / "model.onnx", threads)
        return lambda: sess.run(["scores"], inputs)
    torch.set_num_threads(threads)
    return _torch_call(torch_models[name], [torch.from_numpy(v) for v in inputs.values()])


def runtimes(args) -> int:
    """Jets/s and latency of the shipped model through every runtime, and of ParT through the C++ producer."""
    import torch

    from benchmarks._peers import peer_inputs
    from hepjepa.features import TokenizerConfig, tokenize

    seconds = args.seconds if args.seconds is not None else (0.15 if args.quick else 0.5)
    batches = QUICK_BATCHES if args.quick else BATCHES
    jets = bench_jets((max(batches) + 1) // 2, data=args.bench_data)
    pre = json.loads((MODEL_DIR / "preprocess.json").read_text())
    tok = tokenize(jets, TokenizerConfig.from_dict(pre["tokenizer"])).model_inputs()  # (N, G, K, F) ...
    part_path, part_info = part_model(jets) if "part_cpp" in args.runtimes else (None, None)
    part = peer_inputs(jets, max_particles=128)  # (N, C, P)
    if part_info:
        part = {k: part[k] for k in part_info["input_names"]}
    torch_models = _torch_models("compile" in args.runtimes) if {"eager", "compile"} & set(args.runtimes) else {}

    rows, compile_s = [], None
    load_before = list(os.getloadavg())
    if "compile" in args.runtimes:
        # compile once (dynamic batch); its cost is reported, not mixed into the timings
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        _torch_call(torch_models["compile"], [torch.from_numpy(v[:3]) for v in tok.values()])()
        compile_s = time.perf_counter() - t0
    # the machine is shared: the runtimes of one (threads, batch) point take turns over ROUNDS rounds,
    # so a burst of load elsewhere hits all of them rather than whichever happened to run then
    for threads in (1, 2):
        for b in batches:
            runners = {}
            for name in args.runtimes:
                src = part if name == "part_cpp" else tok
                runners[name] = _runner(name, threads, b, {k: np.ascontiguousarray(v[:b]) for k, v in src.items()},
                                        part_path, torch_models)
            wall = {name: [] for name in runners}
            cpu = {name: [] for name in runners}
            min_calls = -(-(10 if b <= 16 else 3) // ROUNDS)  # per round, rounded up
            for rnd in range(ROUNDS):
                for name, call in runners.items():
                    if name in ("eager", "compile"):
                        torch.set_num_threads(threads)
                    t, c = time_calls(call, seconds / ROUNDS, min_calls=min_calls, warmup=2 if rnd == 0 else 0)
                    wall[name] += list(t)
                    cpu[name] += list(c)
            for name in runners:
                t = np.asarray(wall[name])
                med, p99 = float(np.median(t)), float(np.quantile(t, 0.99))
                rows.append({"runtime": name, "threads": threads, "batch": b, "calls": len(t), "jets_per_s": b / med,
                             "latency_p50_us": 1e6 * med, "latency_p99_us": 1e6 * p99,
                             "cpu_us_per_call_p50": 1e6 * float(np.median(cpu[name]))})
                print(f"{name:8s} threads {threads} batch {b:5d}: {b / med:9.0f} jets/s  p50 {1e6 * med:9.1f} us  p99 {1e6 * p99:9.1f} us")
            del runners
    torch.set_num_threads(1)
    load_after = list(os.getloadavg())

    one_thread = {(r["runtime"], r["batch"]): r for r in rows if r["threads"] == 1}
    summary = {f"{rt}_jets_per_s_batch{b}_1thread": one_thread[rt, b]["jets_per_s"]
               for b in batches for rt in args.runtimes if (rt, b) in one_thread}
    r1 = {rt: one_thread[rt, 1] for rt in args.runtimes if (rt, 1) in one_thread}
    summary.update({f"{rt}_batch1_p50_us": r["latency_p50_us"] for rt, r in r1.items()})
    summary.update({f"{rt}_batch1_p99_us": r["latency_p99_us"] for rt, r in r1.items()})
    res = {
        "machine": machine(),
        "model": str(MODEL_DIR.relative_to(ROOT)),
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
    out = write_json("speed_inference", res, args.results)
    print(json.dumps(summary, indent=1), "->", out)
    print("->", _draw(res, out.with_suffix(".png")))
    return 0


def _draw(res: dict, path: Path) -> Path:
    """speed_inference.png: jets/s vs batch per runtime, 1 and 2 threads (make_report's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.make_report import _plot_inference
    from hepjepa.atomic import atomic_path

    fig = _plot_inference(res, plt)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# ---- flops ----

def tagger_flops(backbone: dict, head: dict, n_classes: int, G: int, K: int) -> dict[str, int]:
    """Matrix-product FLOPs of one jet through a Tagger (Backbone + ClassAttentionHead), per part.

    Args:
        backbone: ``BackboneConfig`` as a dict.
        head: ``HeadConfig`` as a dict (kind ``class_attention``).
        n_classes: outputs.
        G: groups (all real: padding costs the same FLOPs).
        K: particles per group.

    Returns:
        dict part -> FLOPs (2 per multiply-add), plus ``total``.

    Raises:
        ValueError: a head kind other than ``class_attention`` (names it).
    """
    if head["kind"] != "class_attention":
        raise ValueError(f"head kind {head['kind']!r}: only 'class_attention' is counted")
    F, Hp, D = backbone["num_features"], backbone["pointnet_hidden"], backbone["embed_dim"]
    H, depth = backbone["num_heads"], backbone["depth"]
    hid, T, Dh = int(D * backbone["mlp_ratio"]), backbone["num_registers"] + G, D // backbone["num_heads"]

    def lin(n, i, o):  # n rows through Linear(i, o)
        return 2 * n * i * o

    f = {}
    # second stage: Linear(2H) of [h, pooled g] computed as W_h h (per particle) + W_g g (per group)
    f["pointnet"] = lin(G * K, F, Hp) + lin(G * K, Hp, Hp) + lin(G * K, Hp, Hp) + lin(G, Hp, Hp) + lin(G * K, Hp, D)
    f["pos_embed"] = lin(G, 2, 64) + lin(G, 64, D)  # PositionalEmbedding's hidden width is 64
    f["pair_bias"] = lin(G * G, 4, backbone["pair_hidden"]) + lin(G * G, backbone["pair_hidden"], H) if backbone["pair_bias"] else 0
    f["attn_qkv_proj"] = depth * (lin(T, D, 3 * D) + lin(T, D, D))
    if backbone["attention"] == "softmax":
        f["attn_scores_av"] = depth * 2 * (2 * T * T * D)  # QK^T and AV, summed over heads
    else:
        f["attn_scores_av"] = depth * (2 * T * D * Dh + 2 * T * D + 2 * T * D * Dh)  # K^T V, q.sum(k), q (K^T V)
    f["block_mlp"] = depth * (lin(T, D, hid) + lin(T, hid, D))
    hh, nb = int(D * head["mlp_ratio"]), head["num_blocks"]
    f["head"] = nb * (lin(1, D, D) + lin(1 + T, D, 2 * D) + 2 * 2 * (1 + T) * D + lin(1, D, D) + lin(1, D, hh) + lin(1, hh, D))
    f["head"] += lin(1, D, head["hidden"]) + lin(1, head["hidden"], n_classes)
    f["total"] = sum(f.values())
    return f


def counted_flops(model, inputs: dict) -> int:
    """FLOPs of one forward as torch.utils.flop_counter.FlopCounterMode counts them.

    Attention runs on SDPA's math backend here: FlopCounterMode sees no FLOPs in the fused CPU
    kernel that scaled_dot_product_attention otherwise picks when the mask is a (B, 1, 1, T) key mask.
    """
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as fc:  # grad on: its module tracker hooks need autograd nodes
        model(*[torch.from_numpy(v) for v in inputs.values()])
    return int(fc.get_total_flops())


def _matmul_calls(n: int) -> dict:
    """One single-thread n x n x n float32 matmul per library that could run the model's GEMMs.

    The libraries pick different kernels on the same core: on an AMD Zen 5 (AVX-512) MKL, behind
    torch.mm, falls back to its AVX2 path (~100 GFLOP/s) and numpy's OpenBLAS to its Haswell kernel,
    while ONNX Runtime's MLAS runs AVX-512 (~210 GFLOP/s). A peak from one library alone can be
    half the machine's and give fractions above 1, so every library is timed and the best one is
    the peak.
    """
    import torch
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    io = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [n, n]) for k in "ABC"]
    model = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "sgemm", io[:2], io[2:]),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    sess = ort_session(model.SerializeToString(), threads=1)
    return {"torch_mm": lambda: torch.mm(ta, tb), "numpy_openblas": lambda: np.matmul(a, b),
            "onnxruntime_mlas": lambda: sess.run(None, {"A": a, "B": b})}


def sgemm_peak(n: int = 2048, repeats: int = 5) -> dict:
    """Best single-thread float32 n^3 matmul rate (FLOP/s), by wall clock and CPU time, over torch / numpy / ORT."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    libs = {}
    # numpy's OpenBLAS on one thread too; limited once here, not per timed call (the limit inspects the loaded libraries)
    with threadpool_limits(1):
        timed = {lib: time_calls(call, 0.0, min_calls=repeats, warmup=1) for lib, call in _matmul_calls(n).items()}
    for lib, (wall, cpu) in timed.items():
        libs[lib] = {"seconds": float(wall.min()), "flop_per_s": 2 * n**3 / float(wall.min()),
                     "cpu_seconds": float(cpu.min()), "flop_per_cpu_s": 2 * n**3 / float(cpu.min())}
    best = max(libs, key=lambda k: libs[k]["flop_per_s"])
    best_cpu = max(libs, key=lambda k: libs[k]["flop_per_cpu_s"])
    return {"n": n, "library": best, "flop_per_s": libs[best]["flop_per_s"], "flop_per_cpu_s": libs[best_cpu]["flop_per_cpu_s"],
            "libraries": libs, "threads": 1, "repeats": repeats, "statistic": "best"}


def ort_profile(model_path, inputs: dict, flops_per_call: float, calls: int = 5, top: int = 15) -> dict:
    """Kernel time per operator type of one-thread ONNX Runtime runs, from ORT's own profiler.

    Args:
        model_path: model.onnx.
        inputs: one batch of model inputs.
        flops_per_call: matrix-product FLOPs of one call (for the GEMM kernels' own FLOP rate).
        calls: profiled calls (after 2 unprofiled warm-up calls are discarded from the counts).
        top: how many of the largest nodes to list.

    Returns:
        dict with ``per_op`` (op type -> kernel µs per call, share, nodes), ``gemm_share``,
        ``gemm_flop_per_s``, ``kernel_us_per_call`` and ``top_nodes``.
    """
    import collections
    import tempfile

    import onnxruntime

    with tempfile.TemporaryDirectory() as tmp:
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.enable_profiling, so.profile_file_prefix = True, os.path.join(tmp, "ort")
        sess = onnxruntime.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        for _ in range(2 + calls):
            sess.run(None, inputs)
        events = json.loads(Path(sess.end_profiling()).read_text())
    kernel = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    # the first 2 runs are warm-up: keep the last `calls` occurrences of every node
    per_node: dict[str, list] = collections.defaultdict(list)
    for e in kernel:
        per_node[e["name"][: -len("_kernel_time")]].append(e)
    op_us, op_nodes, node_us = collections.Counter(), collections.Counter(), {}
    for name, evs in per_node.items():
        evs = evs[-calls:]
        us = sum(e["dur"] for e in evs) / len(evs)
        op = evs[0]["args"]["op_name"]
        op_us[op] += us
        op_nodes[op] += 1
        node_us[name] = (us, op, [list(d.values())[0] for d in evs[0]["args"].get("output_type_shape", [])])
    total = sum(op_us.values())
    gemm_us = sum(v for k, v in op_us.items() if k in GEMM_OPS)
    return {
        "kernel_us_per_call": total,
        "per_op": {k: {"us_per_call": v, "share": v / total, "nodes": op_nodes[k]} for k, v in op_us.most_common()},
        "gemm_ops": list(GEMM_OPS),
        "gemm_share": gemm_us / total,
        "gemm_flop_per_s": flops_per_call / (gemm_us * 1e-6),
        "top_nodes": [{"node": n, "op": op, "share": us / total, "output_shapes": shp}
                      for n, (us, op, shp) in sorted(node_us.items(), key=lambda kv: -kv[1][0])[:top]],
    }


def _models():
    """(name, tagger, backbone dict, head dict, n_classes, G, K, onnx path) of the shipped and the wide model."""
    import tempfile

    from hepjepa.deploy.export import export_onnx
    from hepjepa.downstream.heads import HeadConfig
    from hepjepa.downstream.tagger import build_tagger, load_tagger
    from hepjepa.model import BackboneConfig

    shipped = load_tagger(MODEL_DIR / "tagger.pt", output="scores").eval()
    pre = json.loads((MODEL_DIR / "preprocess.json").read_text())
    K, G = pre["tokenizer"]["group_size"], pre["tokenizer"]["max_groups"]
    yield "shipped", shipped, shipped.backbone_config, shipped.head_config, shipped.n_classes, G, K, MODEL_DIR / "model.onnx"
    bb, hc = BackboneConfig().to_dict(), HeadConfig(dropout=0.0).to_dict()
    tok = {**pre["tokenizer"], "group_size": 16, "max_groups": 32}  # the wide model's G=32 groups of K=16 (export checks them)
    wide = build_tagger(bb, hc, ["label_QCD", "label_Tbqq"], tok, mode="scratch", output="scores", seed=0).eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(wide, tmp, tokenizer_config=tok, flav_names=FLAVOURS, group_size=16, n_features=bb["num_features"])
        yield "default_config_random", wide, bb, hc, 2, 32, 16, Path(tmp) / "model.onnx"


def _all_real(G, K, F, batch, seed=0):
    """Model inputs of ``batch`` jets with every group real (the analytic count has no padding)."""
    from hepjepa.deploy.export import example_inputs

    x = {k: v.copy() for k, v in example_inputs(G, K, F, batch=batch, seed=seed).items()}
    x["group_mask"][:] = 1.0
    return x


def flops(args) -> int:
    """The tagger's FLOPs per jet over the measured time, against single-core SGEMM."""
    import torch

    from hepjepa.deploy import DEFAULT_BATCH_SIZE

    torch.set_num_threads(1)
    seconds = 0.2 if args.quick else 1.0
    batches = QUICK_BATCHES if args.quick else FLOPS_BATCHES
    n_peak = 1024 if args.quick else 2048
    peaks = {"before": sgemm_peak(n_peak)}
    rows, models, compile_s, profile = [], {}, {}, None
    for name, model, bb, hc, nc, G, K, onnx_path in _models():
        fl = tagger_flops(bb, hc, nc, G, K)
        x1 = _all_real(G, K, bb["num_features"], batch=2)
        counted = counted_flops(model, x1) / 2
        models[name] = {"backbone": bb, "head": hc, "G": G, "K": K, "flops_per_jet": fl,
                        "flop_counter_per_jet": counted, "analytic_over_counter": fl["total"] / counted}
        print(f"{name}: analytic {fl['total'] / 1e6:.3f} MFLOP/jet, FlopCounterMode {counted / 1e6:.3f} (ratio {fl['total'] / counted:.3f})")
        sess = ort_session(onnx_path, threads=1)
        compiled = producer = None
        try:
            from hepjepa import JetTagProducer

            producer = JetTagProducer(model_path=str(onnx_path), flav_names=FLAVOURS, input_names=list(x1), intra_op_threads=1)
        except ImportError as err:  # the C++ bridge is an optional build
            print(f"  no C++ producer ({err}): cpp rows skipped")
        if name == "shipped" and not args.quick:
            compiled = torch.compile(model, dynamic=True)
            t0 = time.perf_counter()
            _torch_call(compiled, [torch.from_numpy(v) for v in x1.values()])()
            compile_s[name] = time.perf_counter() - t0
        for b in batches:
            x = _all_real(G, K, bb["num_features"], batch=b, seed=1)
            args_t = [torch.from_numpy(v) for v in x.values()]
            torch_ok = b <= TORCH_MAX_BATCH
            for rt, call in (("eager", _torch_call(model, args_t) if torch_ok else None),
                             ("compile", _torch_call(compiled, args_t) if compiled is not None and torch_ok else None),
                             ("ort", lambda: sess.run(["scores"], x)),
                             ("cpp", (lambda: producer.produce(x)) if producer is not None else None)):
                if call is None:
                    continue
                wall, cpu = time_calls(call, seconds, min_calls=3)
                t, tc = float(np.median(wall)), float(np.median(cpu))
                rows.append({"model": name, "runtime": rt, "batch": b, "calls": len(wall),
                             "onnx_call_batch": min(b, producer.batch_size) if rt == "cpp" else b, "seconds_per_call": t,
                             "cpu_seconds_per_call": tc, "best_seconds_per_call": float(wall.min()),
                             "jets_per_s": b / t, "jets_per_cpu_s": b / tc,
                             "flop_per_s": fl["total"] * b / t, "flop_per_cpu_s": fl["total"] * b / tc})
                print(f"  {rt:7s} batch {b:4d}: {b / t:9.0f} jets/s ({b / tc:9.0f} per CPU s), "
                      f"{fl['total'] * b / t / 1e9:6.2f} GFLOP/s = {100 * fl['total'] * b / t / peaks['before']['flop_per_s']:.1f}% "
                      "of the before-run SGEMM peak")
        if name == "shipped":
            b = min(DEFAULT_BATCH_SIZE, max(batches))  # the size of the deployed producer's ONNX Runtime calls
            x = _all_real(G, K, bb["num_features"], batch=b, seed=1)
            profile = {"model": name, "batch": b, **ort_profile(onnx_path, x, fl["total"] * b, calls=2 if args.quick else 5)}
            print(f"  ORT profile at batch {b}: GEMM kernels {100 * profile['gemm_share']:.1f}% of kernel time, "
                  f"{profile['gemm_flop_per_s'] / 1e9:.1f} GFLOP/s within them; top ops: "
                  + ", ".join(f"{k} {100 * v['share']:.1f}%" for k, v in list(profile["per_op"].items())[:6]))
        peaks[f"after_{name}"] = sgemm_peak(n_peak)
    # the machine is shared: use the highest peak reading, so fractions are not inflated by a slow one
    peak = max(p["flop_per_s"] for p in peaks.values())
    peak_cpu = max(p["flop_per_cpu_s"] for p in peaks.values())
    for r in rows:
        r["fraction_of_sgemm_peak"] = r["flop_per_s"] / peak
        r["fraction_of_sgemm_peak_cpu_time"] = r["flop_per_cpu_s"] / peak_cpu
    profile["gemm_fraction_of_sgemm_peak"] = profile["gemm_flop_per_s"] / peak
    best = {m: max(r["fraction_of_sgemm_peak"] for r in rows if r["model"] == m) for m in models}
    best_cpu = {m: max(r["fraction_of_sgemm_peak_cpu_time"] for r in rows if r["model"] == m) for m in models}
    largest = {f"{m}_{rt}_fraction_of_peak_batch{max(batches)}": r["fraction_of_sgemm_peak"]
               for m in models for rt in ("eager", "compile", "ort", "cpp")
               for r in rows if r["model"] == m and r["runtime"] == rt and r["batch"] == max(batches)}
    res = {
        "machine": machine(),
        "method": ("analytic matrix-product FLOPs per jet as the model code performs them (2 per multiply-add; elementwise "
                   "ops not counted), all groups real, cross-checked with FlopCounterMode; time = median call time on 1 "
                   "thread, by wall clock (fraction_of_sgemm_peak) and by process CPU time (..._cpu_time); peak = best "
                   "of 5 single-thread float32 2048^3 matmuls of the fastest library (torch.mm, numpy, onnxruntime), measured before, between and after the model timings in "
                   "the same process, highest reading used"),
        "sgemm_peaks": peaks, "peak_used": {"flop_per_s": peak, "flop_per_cpu_s": peak_cpu, "rule": "max over readings"},
        "models": models, "rows": rows, "compile_seconds": compile_s, "ort_profile": profile,
        "summary": {"sgemm_gflop_per_s": peak / 1e9,
                    "sgemm_library": max(peaks.values(), key=lambda p: p["flop_per_s"])["library"],
                    **{f"sgemm_{lib}_gflop_per_s": max(p["libraries"][lib]["flop_per_s"] for p in peaks.values()) / 1e9
                       for lib in peaks["before"]["libraries"]}, "sgemm_gflop_per_cpu_s": peak_cpu / 1e9,
                    **{f"{m}_mflop_per_jet": models[m]["flops_per_jet"]["total"] / 1e6 for m in models},
                    **{f"{m}_best_fraction_of_peak": v for m, v in best.items()},
                    **{f"{m}_best_fraction_of_peak_cpu_time": v for m, v in best_cpu.items()},
                    **largest,
                    "shipped_ort_gemm_share_of_kernel_time": profile["gemm_share"],
                    "shipped_ort_gemm_kernels_fraction_of_peak": profile["gemm_fraction_of_sgemm_peak"]},
        "quick": args.quick,
    }
    out = write_json("speed_flops", res, args.results)
    print(json.dumps(res["summary"], indent=1), "->", out)
    return 0


def _runtimes_args(p):
    p.add_argument("--quick", action="store_true", help="two batch sizes, short rounds (smoke run)")
    p.add_argument("--seconds", type=float, default=None, help="timed seconds per (runtime, batch, threads)")
    p.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    p.add_argument("--bench-data", type=Path, default=BENCH_DATA, help="folder of test_{tbqq,qcd}.root (default data/bench)")


PARTS = {
    "runtimes": (_runtimes_args, runtimes),
    "flops": (lambda p: p.add_argument("--quick", action="store_true", help="two batch sizes, short rounds, no torch.compile"), flops),
}

if __name__ == "__main__":
    raise SystemExit(cli(__doc__, PARTS))
