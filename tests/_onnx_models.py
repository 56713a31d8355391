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

__all__ = ["N_CLASSES", "N_FEAT", "N_PART_FEAT", "CONTRACT_INPUTS", "CONTRACT_CLASSES", "MULTI_OUTPUTS", "write_tagger",
           "write_preprocess", "random_inputs", "write_contract_tagger", "write_contract_preprocess", "random_contract_inputs",
           "write_multi_output_tagger", "multi_output_declarations", "write_multi_output_preprocess", "file_sha256"]

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


def _write_preprocess_json(path: str | Path, d: dict, model_path: str | Path | None, overrides: dict) -> Path:
    """Write ``d`` updated by ``overrides``; with ``model_path``, its sha256 as ``sha256.onnx`` (the producer then checks it)."""
    if model_path is not None:
        d["sha256"] = {"onnx": file_sha256(model_path)}
    d.update(overrides)
    path = Path(path)
    path.write_text(json.dumps(d))
    return path


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
    return _write_preprocess_json(path, d, model_path, overrides)


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
    return _write_preprocess_json(path, d, model_path, overrides)


# ---- the contract inputs and every output kind: what preprocess.json's "inputs"/"outputs" declare
CONTRACT_SHAPES = {"features": [-1, -1, CONTRACT_K, CONTRACT_F], "particle_mask": [-1, -1, CONTRACT_K], "group_mask": [-1, -1],
                   "centers": [-1, -1, 2], "pair_features": [-1, -1, -1, 4]}
MULTI_EMBED = 6  # width of output "embedding"
MULTI_MASS = ["jet_mass", "jet_sdmass"]  # columns of output "mass"
#: outputs of write_multi_output_tagger's model, in graph order
MULTI_OUTPUTS = ("scores", "embedding", "mass", "group_embedding")


def write_multi_output_tagger(path: str | Path, seed: int = 0) -> Path:
    """Write write_contract_tagger's model with three more outputs, one per kind and a per-group one.

    outputs: ``scores`` (batch, 3) as write_contract_tagger's; ``embedding`` (batch, 6) tanh of
    a linear map of the same masked sums; ``mass`` (batch, 2) = exp of the first two feature
    sums, reshaped by a shape computed in the graph so that the model declares it (batch, ?), an
    unnamed dynamic width as exported graphs can have: only preprocess.json's [-1, 2] fixes it;
    a features sum above ~88 overflows it to inf while scores and embedding stay finite;
    ``group_embedding`` (batch, groups, 2) = centers times group_mask, per group.
    """
    rng = np.random.default_rng(seed)
    n_in = CONTRACT_F + 2 + 4 + 1
    w = numpy_helper.from_array(rng.normal(scale=0.5, size=(n_in, CONTRACT_CLASSES)).astype(np.float32), "w")
    we = numpy_helper.from_array(rng.normal(scale=0.5, size=(n_in, MULTI_EMBED)).astype(np.float32), "we")
    wm = numpy_helper.from_array(np.eye(CONTRACT_F, len(MULTI_MASS), dtype=np.float32), "wm")
    b = numpy_helper.from_array(np.array([6.0, 0.0, 0.0], dtype=np.float32), "b")
    last = numpy_helper.from_array(np.array([-1], dtype=np.int64), "last")
    ax1 = numpy_helper.from_array(np.array([1], dtype=np.int64), "ax1")
    ax12 = numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "ax12")
    nodes = [
        helper.make_node("Unsqueeze", ["particle_mask", "last"], ["pm_u"]),  # (B, G, K, 1)
        helper.make_node("Mul", ["features", "pm_u"], ["fm"]),
        helper.make_node("ReduceSum", ["fm", "ax12"], ["fsum"], keepdims=0),  # (B, F)
        helper.make_node("Unsqueeze", ["group_mask", "last"], ["gm_u"]),  # (B, G, 1)
        helper.make_node("Mul", ["centers", "gm_u"], ["group_embedding"]),  # (B, G, 2)
        helper.make_node("ReduceSum", ["group_embedding", "ax1"], ["csum"], keepdims=0),  # (B, 2)
        helper.make_node("ReduceSum", ["pair_features", "ax12"], ["psum"], keepdims=0),  # (B, 4)
        helper.make_node("ReduceSum", ["group_mask", "ax1"], ["ng"], keepdims=1),  # (B, 1)
        helper.make_node("Concat", ["fsum", "csum", "psum", "ng"], ["x"], axis=1),  # (B, 10)
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),  # (B, 3)
        helper.make_node("MatMul", ["x", "we"], ["xe"]),
        helper.make_node("Tanh", ["xe"], ["embedding"]),  # (B, 6)
        helper.make_node("MatMul", ["fsum", "wm"], ["fm2"]),  # (B, 2): the first two feature sums
        helper.make_node("Exp", ["fm2"], ["em"]),
        # reshaped to (B, -1) by a shape computed in the graph: shape inference loses the width
        helper.make_node("Shape", ["em"], ["em_shape"], start=0, end=1),
        helper.make_node("Concat", ["em_shape", "last"], ["mass_shape"], axis=0),
        helper.make_node("Reshape", ["em", "mass_shape"], ["mass"]),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "multi_output_tagger",
        [helper.make_tensor_value_info(n, f, [BATCH if d == 0 else GROUPS if s == -1 else s for d, s in enumerate(shape)])
         for n, shape in CONTRACT_SHAPES.items()],
        [
            helper.make_tensor_value_info("scores", f, [BATCH, CONTRACT_CLASSES]),
            helper.make_tensor_value_info("embedding", f, [BATCH, MULTI_EMBED]),
            helper.make_tensor_value_info("mass", f, [BATCH, None]),
            helper.make_tensor_value_info("group_embedding", f, [BATCH, GROUPS, 2]),
        ],
        initializer=[w, we, wm, b, last, ax1, ax12],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def multi_output_declarations() -> tuple[list[dict], list[dict]]:
    """preprocess.json's ``inputs`` and ``outputs`` for write_multi_output_tagger's model, as hepjepa's exporter writes them."""
    inputs = [{"name": n, "shape": s, "dtype": "float32", "axes": [BATCH if d == 0 else GROUPS if v == -1 else None for d, v in enumerate(s)]}
              for n, s in CONTRACT_SHAPES.items()]
    outputs = [
        {"name": "scores", "shape": [-1, CONTRACT_CLASSES], "dtype": "float32", "kind": "scores",
         "columns": ["probQCD", "probTbqq", "probWqq"]},
        {"name": "embedding", "shape": [-1, MULTI_EMBED], "dtype": "float32", "kind": "embedding"},
        {"name": "mass", "shape": [-1, len(MULTI_MASS)], "dtype": "float32", "kind": "regression", "columns": list(MULTI_MASS)},
        {"name": "group_embedding", "shape": [-1, -1, 2], "dtype": "float32", "kind": "embedding"},
    ]
    return inputs, outputs


def write_multi_output_preprocess(path: str | Path, model_path: str | Path | None = None, **overrides) -> Path:
    """preprocess.json of write_multi_output_tagger's model: the declarations next to the older keys."""
    inputs, outputs = multi_output_declarations()
    d = {
        "inputs": inputs,
        "outputs": outputs,
        "input_names": list(CONTRACT_INPUTS),
        "input_shapes": [CONTRACT_SHAPES[n] for n in CONTRACT_INPUTS],
        "output_names": list(MULTI_OUTPUTS),
        "flav_names": list(outputs[0]["columns"]),
    }
    return _write_preprocess_json(path, d, model_path, overrides)


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
    write_multi_output_tagger(out / "multi.onnx")
    write_multi_output_preprocess(out / "multi_preprocess.json", model_path=out / "multi.onnx")
