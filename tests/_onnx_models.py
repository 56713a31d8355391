"""Small ONNX models built with onnx.helper for the bridge tests and benchmarks.

Not a conftest: imported explicitly (``from _onnx_models import write_tagger``) so that
each test file says what it uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["N_CLASSES", "N_FEAT", "N_PART_FEAT", "write_tagger", "write_preprocess", "random_inputs"]

N_FEAT = 4  # per-jet features of input "jet"
N_PART_FEAT = 3  # per-group features of input "groups" (N, G, 3), G dynamic
N_CLASSES = 5  # columns of output "scores"


def write_tagger(path: str | Path, seed: int = 0, hidden: int = 16) -> Path:
    """Write a two-input, two-output tagger with dynamic batch (and group) axes.

    inputs: ``jet`` float32 (N, 4), ``groups`` float32 (N, G, 3)
    outputs: ``scores`` float32 (N, 5) softmax, ``embedding`` float32 (N, hidden)

    Args:
        path: where to write the .onnx file.
        seed: seed of the random weights.
        hidden: embedding width.
    Returns:
        The path written.
    """
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.normal(size=(N_FEAT, hidden)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(size=(N_PART_FEAT, hidden)).astype(np.float32), "w2")
    w3 = numpy_helper.from_array(rng.normal(size=(hidden, N_CLASSES)).astype(np.float32), "w3")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("MatMul", ["jet", "w1"], ["h1"]),  # (N, H)
        helper.make_node("ReduceSum", ["groups", "axes"], ["gsum"], keepdims=0),  # (N, 3)
        helper.make_node("MatMul", ["gsum", "w2"], ["h2"]),  # (N, H)
        helper.make_node("Add", ["h1", "h2"], ["h"]),
        helper.make_node("Tanh", ["h"], ["embedding"]),  # (N, H)
        helper.make_node("MatMul", ["embedding", "w3"], ["logits"]),  # (N, C)
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "tagger",
        [
            helper.make_tensor_value_info("jet", TensorProto.FLOAT, ["N", N_FEAT]),
            helper.make_tensor_value_info("groups", TensorProto.FLOAT, ["N", "G", N_PART_FEAT]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", N_CLASSES]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", hidden]),
        ],
        initializer=[w1, w2, w3, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def write_preprocess(path: str | Path, flav_names: list[str] | None = None, **overrides) -> Path:
    """Write a preprocess.json matching write_tagger's model (fields can be overridden)."""
    d = {
        "input_names": ["jet", "groups"],
        "output_names": ["scores", "embedding"],
        "flav_names": flav_names or [f"prob{i}" for i in range(N_CLASSES)],
        "input_shapes": [[-1, N_FEAT], [-1, -1, N_PART_FEAT]],
    }
    d.update(overrides)
    path = Path(path)
    path.write_text(json.dumps(d))
    return path


def random_inputs(n_jets: int, n_groups: int = 7, seed: int = 1) -> dict[str, np.ndarray]:
    """Random float32 C-contiguous inputs for write_tagger's model."""
    rng = np.random.default_rng(seed)
    return {
        "jet": rng.normal(size=(n_jets, N_FEAT)).astype(np.float32),
        "groups": rng.normal(size=(n_jets, n_groups, N_PART_FEAT)).astype(np.float32),
    }


if __name__ == "__main__":  # used by .ci/cpp to write the C++ tests' models
    import sys

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write_tagger(out / "tagger.onnx")
    write_preprocess(out / "preprocess.json")
    (out / "corrupt.onnx").write_bytes(b"not an onnx model")
