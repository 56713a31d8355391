"""Small ONNX models built with onnx.helper for the bridge tests and benchmarks.

Not a conftest: imported explicitly (``from _onnx_models import write_tagger``) so that
each test file says what it uses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["N_CLASSES", "N_FEAT", "N_PART_FEAT", "CONTRACT_INPUTS", "CONTRACT_CLASSES", "write_tagger", "write_preprocess",
           "random_inputs", "write_contract_tagger", "write_contract_preprocess", "random_contract_inputs", "file_sha256"]

N_FEAT = 4  # per-jet features of input "jet"
N_PART_FEAT = 3  # per-group features of input "groups" (N, G, 3), G dynamic
N_CLASSES = 5  # columns of output "scores"
# The axis names of hepjepa's exporter (deploy/export.py DYNAMIC_AXES): the C++ producer compares
# axes by these names and treats "groups" as the group axis.
BATCH, GROUPS = "batch", "groups"


def write_tagger(path: str | Path, seed: int = 0, hidden: int = 16, group_axis: str = GROUPS) -> Path:
    """Write a two-input, two-output tagger with dynamic batch (and group) axes.

    inputs: ``jet`` float32 (batch, 4), ``groups`` float32 (batch, groups, 3)
    outputs: ``scores`` float32 (batch, 5) softmax, ``embedding`` float32 (batch, hidden)

    Args:
        path: where to write the .onnx file.
        seed: seed of the random weights.
        hidden: embedding width.
        group_axis: symbolic name of the group axis of ``groups`` (another name than "groups"
            makes it an ordinary dynamic axis for the C++ producer).
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
            helper.make_tensor_value_info("jet", TensorProto.FLOAT, [BATCH, N_FEAT]),
            helper.make_tensor_value_info("groups", TensorProto.FLOAT, [BATCH, group_axis, N_PART_FEAT]),
        ],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [BATCH, N_CLASSES]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [BATCH, hidden]),
        ],
        initializer=[w1, w2, w3, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, as hepjepa's exporter writes to preprocess.json's ``sha256.onnx``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_preprocess(path: str | Path, flav_names: list[str] | None = None, model_path: str | Path | None = None,
                     **overrides) -> Path:
    """Write a preprocess.json matching write_tagger's model (fields can be overridden).

    model_path: when given, its sha256 goes to ``sha256.onnx`` (the producer then checks it).
    """
    d = {
        "input_names": ["jet", "groups"],
        "output_names": ["scores", "embedding"],
        "flav_names": flav_names or [f"prob{i}" for i in range(N_CLASSES)],
        "input_shapes": [[-1, N_FEAT], [-1, -1, N_PART_FEAT]],
    }
    if model_path is not None:
        d["sha256"] = {"onnx": file_sha256(model_path)}
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


# ---- a model with hepjepa's five contract inputs (hepjepa.contract.MODEL_INPUTS), tiny sizes
CONTRACT_INPUTS = ("features", "particle_mask", "group_mask", "centers", "pair_features")
CONTRACT_K, CONTRACT_F = 2, 3  # particles per group, features per particle
CONTRACT_CLASSES = 3


def write_contract_tagger(path: str | Path, seed: int = 0) -> Path:
    """Write a tagger with the exporter's five inputs, axis names and masks.

    inputs: ``features`` (batch, groups, 2, 3), ``particle_mask`` (batch, groups, 2),
    ``group_mask`` (batch, groups), ``centers`` (batch, groups, 2), ``pair_features``
    (batch, groups, groups, 4); output ``scores`` (batch, 3) softmax of a linear map of the
    masked sums and the number of real groups. Like a trained model it gives a jet with no
    real group a confident score (softmax of the bias, ~0.99 for class 0), and like ONNX
    Runtime's kernels it broadcasts a size-1 group axis silently.
    """
    rng = np.random.default_rng(seed)
    n_in = CONTRACT_F + 2 + 4 + 1
    w = numpy_helper.from_array(rng.normal(scale=0.5, size=(n_in, CONTRACT_CLASSES)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.array([6.0, 0.0, 0.0], dtype=np.float32), "b")
    last = numpy_helper.from_array(np.array([-1], dtype=np.int64), "last")
    ax1 = numpy_helper.from_array(np.array([1], dtype=np.int64), "ax1")
    ax12 = numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "ax12")
    nodes = [
        helper.make_node("Unsqueeze", ["particle_mask", "last"], ["pm_u"]),  # (B, G, K, 1)
        helper.make_node("Mul", ["features", "pm_u"], ["fm"]),
        helper.make_node("ReduceSum", ["fm", "ax12"], ["fsum"], keepdims=0),  # (B, F)
        helper.make_node("Unsqueeze", ["group_mask", "last"], ["gm_u"]),  # (B, G, 1)
        helper.make_node("Mul", ["centers", "gm_u"], ["cm"]),  # broadcasts a 1-group centers
        helper.make_node("ReduceSum", ["cm", "ax1"], ["csum"], keepdims=0),  # (B, 2)
        helper.make_node("ReduceSum", ["pair_features", "ax12"], ["psum"], keepdims=0),  # (B, 4)
        helper.make_node("ReduceSum", ["group_mask", "ax1"], ["ng"], keepdims=1),  # (B, 1)
        helper.make_node("Concat", ["fsum", "csum", "psum", "ng"], ["x"], axis=1),
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "contract_tagger",
        [
            helper.make_tensor_value_info("features", f, [BATCH, GROUPS, CONTRACT_K, CONTRACT_F]),
            helper.make_tensor_value_info("particle_mask", f, [BATCH, GROUPS, CONTRACT_K]),
            helper.make_tensor_value_info("group_mask", f, [BATCH, GROUPS]),
            helper.make_tensor_value_info("centers", f, [BATCH, GROUPS, 2]),
            helper.make_tensor_value_info("pair_features", f, [BATCH, GROUPS, GROUPS, 4]),
        ],
        [helper.make_tensor_value_info("scores", f, [BATCH, CONTRACT_CLASSES])],
        initializer=[w, b, last, ax1, ax12],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def write_contract_preprocess(path: str | Path, model_path: str | Path | None = None, **overrides) -> Path:
    """preprocess.json of write_contract_tagger's model, with ``sha256.onnx`` of model_path if given."""
    d = {
        "input_names": list(CONTRACT_INPUTS),
        "input_shapes": [[-1, -1, CONTRACT_K, CONTRACT_F], [-1, -1, CONTRACT_K], [-1, -1], [-1, -1, 2], [-1, -1, -1, 4]],
        "output_names": ["scores"],
        "flav_names": ["probQCD", "probTbqq", "probWqq"],
    }
    if model_path is not None:
        d["sha256"] = {"onnx": file_sha256(model_path)}
    d.update(overrides)
    path = Path(path)
    path.write_text(json.dumps(d))
    return path


def random_contract_inputs(n_jets: int, n_groups: int = 4, seed: int = 1) -> dict[str, np.ndarray]:
    """Valid inputs of write_contract_tagger's model: masks of 0/1, 1..n_groups real groups per jet."""
    rng = np.random.default_rng(seed)
    g, k = n_groups, CONTRACT_K
    n_real = rng.integers(1, g + 1, size=n_jets) if g else np.zeros(n_jets, int)
    gm = (np.arange(g)[None, :] < n_real[:, None]).astype(np.float32)
    pm = (rng.random((n_jets, g, k)) < 0.7).astype(np.float32)
    pm[..., 0] = 1.0
    pm *= gm[..., None]
    return {
        "features": (rng.normal(size=(n_jets, g, k, CONTRACT_F)) * pm[..., None]).astype(np.float32),
        "particle_mask": pm,
        "group_mask": gm,
        "centers": (rng.normal(scale=0.3, size=(n_jets, g, 2)) * gm[..., None]).astype(np.float32),
        "pair_features": (rng.normal(size=(n_jets, g, g, 4)) * (gm[:, :, None] * gm[:, None, :])[..., None]).astype(np.float32),
    }


if __name__ == "__main__":  # used by .ci/cpp to write the C++ tests' models
    import sys

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write_tagger(out / "tagger.onnx")
    write_preprocess(out / "preprocess.json", model_path=out / "tagger.onnx")
    (out / "corrupt.onnx").write_bytes(b"not an onnx model")
    write_contract_tagger(out / "contract.onnx")
    write_contract_preprocess(out / "contract_preprocess.json", model_path=out / "contract.onnx")
