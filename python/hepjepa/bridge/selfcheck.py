"""Check the C++ ONNX Runtime bridge: ORT version and parity with Python onnxruntime."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["add_arguments", "run", "build_check_model"]


def build_check_model(path: Path) -> Path:
    """Write a tiny two-input, two-output model with a dynamic batch axis (onnx.helper).

    Args:
        path: output .onnx file.
    Returns:
        The path written.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(6, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),  # (N, 6)
        helper.make_node("MatMul", ["ab", "w"], ["logits"]),  # (N, 3)
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),
        helper.make_node("Tanh", ["ab"], ["hidden"]),  # (N, 6)
    ]
    graph = helper.make_graph(
        nodes,
        "selfcheck",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["N", 6]),
        ],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the selfcheck command's arguments (none besides --seed)."""
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")


def run(args: argparse.Namespace) -> int:
    """Run the self-check; return 0 on exact parity, 1 otherwise."""
    import onnxruntime

    from hepjepa.bridge import JetTagProducer, ONNXRuntime, ort_version

    print(f"ONNX Runtime (C++ bridge): {ort_version()}; Python onnxruntime: {onnxruntime.__version__}")
    rng = np.random.default_rng(args.seed)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = build_check_model(Path(tmp) / "selfcheck.onnx")
        ref = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        rt = ONNXRuntime(str(path))
        prod = JetTagProducer(model_path=str(path), flav_names=["p0", "p1", "p2"], batch_size=3)
        for n in (1, 2, 4, 37):
            a = rng.normal(size=(n, 4)).astype(np.float32)
            b = rng.normal(size=(n, 2)).astype(np.float32)
            want = ref.run(None, {"a": a, "b": b})
            got = rt.run(["a", "b"], [a, b], [list(a.shape), list(b.shape)])
            scores = prod.produce({"a": a, "b": b})
            diff = max(float(np.max(np.abs(w - g))) for w, g in zip(want, got, strict=True))
            diff = max(diff, float(np.max(np.abs(want[0] - scores))))
            same = diff == 0.0
            ok &= same
            print(f"batch {n:3d}: max |C++ - Python| = {diff:.3g} -> {'identical' if same else 'MISMATCH'}")
    print("parity: OK" if ok else "parity: FAILED")
    return 0 if ok else 1
