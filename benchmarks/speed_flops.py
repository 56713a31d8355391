"""How close to the machine: the tagger's FLOPs per jet over the measured time, against single-core SGEMM.

FLOPs are counted analytically layer by layer (:func:`tagger_flops`: PointNet MLP, positional
MLP, pairwise-bias MLP, attention QKV / projection / scores / AV (or the linear backend's
einsums), block MLPs, class-attention head), 2 FLOPs per multiply-add, matrix products only
(LayerNorm, GELU, softmax, masking are elementwise and left out, as
``torch.utils.flop_counter.FlopCounterMode`` leaves them out); the count is the one the model
code actually performs (the PointNet's second stage applies its group half once per group) and
is cross-checked against FlopCounterMode on the eager model. The peak is the fastest
single-thread 2048^3 float32 matmul among torch.mm (MKL), numpy (OpenBLAS) and ONNX Runtime's
MatMul (MLAS), best of 5 each, measured before, between and after the model timings in the same
process; the highest reading is used, so fractions are not inflated by a slow library or reading.

Models: the shipped tagger (python/hepjepa/models/default, embedding 64, 3 blocks) and, to show what
wider layers reach, a randomly initialised tagger with the default BackboneConfig (embedding
128, 6 blocks; exported to ONNX in a temporary folder). Runtimes, one thread: eager PyTorch,
Python onnxruntime, torch.compile (shipped model only: compiling the wide one too costs
another minute), and the C++ JetTagProducer (``cpp``) with its default ``batch_size`` (jets per ONNX
Runtime call, hepjepa.deploy.DEFAULT_BATCH_SIZE): the deployed path, which splits a large batch into
cache-sized calls where ``ort`` runs it as one. Every call is timed twice, by wall clock and by this process's CPU time; on a
shared machine the CPU-time figures are the less disturbed ones (a descheduled process does not
accrue CPU time), the wall-clock ones are the conservative ones. Both are in the JSON.

Where the time goes: ONNX Runtime's own profiler (``SessionOptions.enable_profiling``) on the
shipped model at the C++ producer's call size (DEFAULT_BATCH_SIZE jets) gives the kernel time per operator type; the JSON keeps the
shares, the GEMM share (MatMul, Gemm, FusedMatMul), the FLOP rate of the GEMM kernels alone and
the largest nodes, which is what bounds the fraction of peak.

Writes benchmarks/results/speed_flops.json.

    .venv/bin/python benchmarks/speed_flops.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import _common

MODEL_DIR = _common.ROOT / "python" / "hepjepa" / "models" / "default"
BATCHES = [1, 16, 128, 512, 2048]
#: Batches above this run only through ONNX Runtime (Python and the C++ producer): eager PyTorch at
#: 2048 jets of the wide model costs minutes and says nothing the 512 row does not.
TORCH_MAX_BATCH = 512
QUICK_BATCHES = [1, 64]


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
    import onnxruntime
    import torch
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)

    io = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [n, n]) for k in "ABC"]
    model = helper.make_model(helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "sgemm", io[:2], io[2:]),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
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
        timed = {lib: time_both(call, 0.0, min_calls=repeats, warmup=1) for lib, call in _matmul_calls(n).items()}
    for lib, (wall, cpu) in timed.items():
        libs[lib] = {"seconds": float(wall.min()), "flop_per_s": 2 * n**3 / float(wall.min()),
                     "cpu_seconds": float(cpu.min()), "flop_per_cpu_s": 2 * n**3 / float(cpu.min())}
    best = max(libs, key=lambda k: libs[k]["flop_per_s"])
    best_cpu = max(libs, key=lambda k: libs[k]["flop_per_cpu_s"])
    return {"n": n, "library": best, "flop_per_s": libs[best]["flop_per_s"], "flop_per_cpu_s": libs[best_cpu]["flop_per_cpu_s"],
            "libraries": libs, "threads": 1, "repeats": repeats, "statistic": "best"}


def time_both(call, seconds: float, min_calls: int = 3, warmup: int = 2):
    """(wall seconds, process CPU seconds) arrays of repeated ``call()``s after ``warmup`` untimed ones."""
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


GEMM_OPS = ("MatMul", "Gemm", "FusedMatMul", "FusedGemm")


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
    import os
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
    """(name, tagger, backbone dict, head dict, n_classes, G, K, onnx path or None) of the shipped and the wide model."""
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
    wide = build_tagger(bb, hc, ["label_QCD", "label_Tbqq"], pre["tokenizer"], mode="scratch", output="scores", seed=0).eval()
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(wide, tmp, tokenizer_config=pre["tokenizer"], flav_names=["probQCD", "probTbqq"],
                    group_size=16, n_features=bb["num_features"])
        yield "default_config_random", wide, bb, hc, 2, 32, 16, Path(tmp) / "model.onnx"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two batch sizes, short rounds, no torch.compile")
    args = ap.parse_args(argv)
    import onnxruntime
    import torch

    from hepjepa.deploy import DEFAULT_BATCH_SIZE
    from hepjepa.deploy.export import example_inputs

    torch.set_num_threads(1)
    seconds = 0.2 if args.quick else 1.0
    batches = QUICK_BATCHES if args.quick else BATCHES
    n_peak = 1024 if args.quick else 2048
    peaks = {"before": sgemm_peak(n_peak)}
    rows, models, compile_s, profile = [], {}, {}, None
    for name, model, bb, hc, nc, G, K, onnx_path in _models():
        fl = tagger_flops(bb, hc, nc, G, K)
        x1 = example_inputs(G, K, bb["num_features"], batch=2)
        x1 = {k: v.copy() for k, v in x1.items()}
        x1["group_mask"][:] = 1.0  # all groups real: the analytic count has no padding
        counted = counted_flops(model, x1) / 2
        models[name] = {"backbone": bb, "head": hc, "G": G, "K": K, "flops_per_jet": fl,
                        "flop_counter_per_jet": counted, "analytic_over_counter": fl["total"] / counted}
        print(f"{name}: analytic {fl['total'] / 1e6:.3f} MFLOP/jet, FlopCounterMode {counted / 1e6:.3f} (ratio {fl['total'] / counted:.3f})")
        so = onnxruntime.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        sess = onnxruntime.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        compiled = None
        producer = None
        try:
            from hepjepa import JetTagProducer

            producer = JetTagProducer(model_path=str(onnx_path), flav_names=["probQCD", "probTbqq"], input_names=list(x1),
                                      intra_op_threads=1)
        except ImportError as err:  # the C++ bridge is an optional build
            print(f"  no C++ producer ({err}): cpp rows skipped")
        if name == "shipped" and not args.quick:
            compiled = torch.compile(model, dynamic=True)
            t0 = time.perf_counter()
            with torch.inference_mode():
                compiled(*[torch.from_numpy(v) for v in x1.values()])
            compile_s[name] = time.perf_counter() - t0
        for b in batches:
            x = example_inputs(G, K, bb["num_features"], batch=b, seed=1)
            x["group_mask"][:] = 1.0
            args_t = [torch.from_numpy(v) for v in x.values()]

            def torch_call(m):
                def call():
                    with torch.inference_mode():
                        m(*args_t)
                return call

            torch_ok = b <= TORCH_MAX_BATCH
            for rt, call in (("eager", torch_call(model) if torch_ok else None),
                             ("compile", torch_call(compiled) if compiled is not None and torch_ok else None),
                             ("ort", lambda: sess.run(["scores"], x)),
                             ("cpp", (lambda: producer.produce(x)) if producer is not None else None)):
                if call is None:
                    continue
                wall, cpu = time_both(call, seconds, min_calls=3)
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
            x = example_inputs(G, K, bb["num_features"], batch=b, seed=1)
            x["group_mask"][:] = 1.0
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
        "machine": _common.machine(),
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
    out = _common.write_json("speed_flops", res)
    print(json.dumps(res["summary"], indent=1), "->", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
