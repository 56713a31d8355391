"""Export a tagger to ``model.onnx`` + ``preprocess.json`` (CMSSW / weaver style).

The ONNX graph takes the five token inputs of the architecture contract and returns
``scores`` (B, n_classes) softmax probabilities. Dynamic axes: batch (every input)
and groups (``features``, ``particle_mask``, ``group_mask``, ``centers``,
``pair_features``). Torch >= 2.9 defaults to the dynamo exporter, which fails on
attention with an additive pairwise bias, so the TorchScript exporter is used, and
the trace uses a batch of 2 so the batch axis is not frozen (see environment notes).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hepjepa.atomic import atomic_dir
from hepjepa.contract import MODEL_INPUTS
from hepjepa.errors import UserInputError

__all__ = ["INPUT_NAMES", "OUTPUT_NAMES", "OPSET", "DYNAMIC_AXES", "export_onnx", "config_sha256", "example_inputs", "class_labels",
           "particle_fields_record"]

#: ONNX input names, in order (= ``Tokens.model_inputs()`` keys): the contract's model inputs.
INPUT_NAMES: tuple[str, ...] = MODEL_INPUTS
OUTPUT_NAMES: tuple[str, ...] = ("scores",)
OPSET = 18
#: axis index -> name; -1 in preprocess.json shapes.
DYNAMIC_AXES: dict[str, dict[int, str]] = {
    "features": {0: "batch", 1: "groups"},
    "particle_mask": {0: "batch", 1: "groups"},
    "group_mask": {0: "batch", 1: "groups"},
    "centers": {0: "batch", 1: "groups"},
    "pair_features": {0: "batch", 1: "groups", 2: "groups"},
    "scores": {0: "batch"},
}


def config_sha256(config: Mapping) -> str:
    """sha256 of a config dict in canonical JSON (sorted keys, no spaces)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _weights_sha256(module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def example_inputs(n_groups: int, group_size: int, n_features: int, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """Random, valid token inputs (some padded groups/particles) for tracing and tests.

    Args:
        n_groups, group_size, n_features: G, K, F of the token layout.
        batch: B.
        seed: RNG seed.

    Returns:
        dict of the five inputs, float32, shapes (B,G,K,F), (B,G,K), (B,G), (B,G,2), (B,G,G,4).
    """
    rng = np.random.default_rng(seed)
    b, g, k, f = batch, n_groups, group_size, n_features
    n_real = rng.integers(1, g + 1, size=b)
    n_real[0] = g  # at least one jet uses every group
    gm = (np.arange(g)[None, :] < n_real[:, None]).astype(np.float32)  # (B, G), 1 = real
    pm = (rng.random((b, g, k)) < 0.8).astype(np.float32)
    pm[..., 0] = 1.0
    pm *= gm[..., None]
    feats = rng.normal(size=(b, g, k, f)).astype(np.float32) * pm[..., None]
    centers = rng.normal(scale=0.3, size=(b, g, 2)).astype(np.float32) * gm[..., None]
    pair_mask = gm[:, :, None] * gm[:, None, :]
    pairs = rng.normal(size=(b, g, g, 4)).astype(np.float32) * pair_mask[..., None]
    return {"features": feats, "particle_mask": pm, "group_mask": gm, "centers": centers, "pair_features": pairs}


def _keep_all_inputs(model):
    """Wrap a tagger so that every one of the five inputs appears in the ONNX graph.

    The TorchScript exporter records only what the forward pass touches, so a model that
    ignores an input (e.g. ``pair_features`` with the pair bias off) would be exported with
    four inputs, breaking the five-input contract the C++ producer and ``preprocess.json``
    rely on. Each input contributes the sum of an empty slice: exactly 0 even for NaN/inf
    values (0 * x would turn a NaN input into a NaN score), and not constant-foldable.
    """

    import torch

    class KeepAllInputs(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, features, particle_mask, group_mask, centers, pair_features):
            out = self.inner(features, particle_mask, group_mask, centers, pair_features)  # (B, C)
            zero = (features[:, :0].sum((1, 2, 3)) + particle_mask[:, :0].sum((1, 2)) + group_mask[:, :0].sum(1)
                    + centers[:, :0].sum((1, 2)) + pair_features[:, :0].sum((1, 2, 3)))  # (B,), exactly 0
            return out + zero.unsqueeze(-1)  # (B, C)

    return KeepAllInputs(model).eval()


def class_labels(flav_names: Sequence[str]) -> list[str]:
    """JetClass label of each flavour name (``probTbqq`` -> ``label_Tbqq``), via :mod:`hepjepa.labels`.

    ``hepjepa evaluate`` keys its metrics by these labels; ``preprocess.json`` stores both
    lists so scores and evaluation results join without string surgery.

    Raises:
        KeyError: a flavour name that is not ``prob`` + a JetClass class (names the value).
    """
    from hepjepa.labels import JETCLASS_LABELS, label_index

    bad = [f for f in flav_names if not f.startswith("prob")]
    if bad:
        msg = f"flav_names {bad} do not start with 'prob'; expected 'prob' + a JetClass label such as 'probTbqq'"
        raise KeyError(msg)
    return [JETCLASS_LABELS[label_index(f)] for f in flav_names]


def _check_tokenizer(tokenizer_config: Mapping, group_size: int, n_features: int) -> None:
    """The tokeniser written to ``preprocess.json`` must make the inputs the graph is traced for."""
    from hepjepa.features import TokenizerConfig

    try:
        tok = TokenizerConfig.from_dict(dict(tokenizer_config))
    except (KeyError, TypeError, ValueError) as e:
        msg = f"tokenizer_config is not a valid TokenizerConfig ({e}); pass TokenizerConfig.to_dict()"
        raise UserInputError(msg) from None
    if tok.group_size != group_size or len(tok.features) != n_features:
        msg = (
            f"tokenizer_config makes groups of {tok.group_size} particles with {len(tok.features)} features, "
            f"but the model is exported for group_size={group_size}, n_features={n_features}"
        )
        raise UserInputError(msg)


def particle_fields_record(tokenizer_config: Mapping, zero_filled_fields: Sequence[str] = ()) -> dict[str, list[str]]:
    """``preprocess.json``'s ``particle_fields``: what inference must be given, and what it fills with 0.

    Args:
        tokenizer_config: ``TokenizerConfig.to_dict()``.
        zero_filled_fields: fields the training data lacked (set to 0 by the tokeniser).

    Returns:
        ``{"required": [...], "zero_filled": [...]}``, both in ``hepjepa.contract.PARTICLE_FIELDS`` order.

    Raises:
        ValueError: a zero-filled field that the features do not read.
    """
    from hepjepa.features import TokenizerConfig

    need = TokenizerConfig.from_dict(dict(tokenizer_config)).particle_fields
    stray = [f for f in zero_filled_fields if f not in need]
    if stray:
        msg = f"zero_filled_fields {stray} are not read by the tokeniser's features (it reads {list(need)})"
        raise UserInputError(msg)
    return {"required": [f for f in need if f not in zero_filled_fields], "zero_filled": [f for f in need if f in zero_filled_fields]}


def export_onnx(
    model,
    out_dir: str | Path,
    *,
    tokenizer_config: Mapping,
    flav_names: Sequence[str],
    group_size: int,
    n_features: int,
    n_groups: int = 8,
    model_config: Mapping | None = None,
    zero_filled_fields: Sequence[str] = (),
) -> dict:
    """Export ``model`` (forward(5 inputs) -> (B, n_classes) probabilities) to ``out_dir``.

    Args:
        model: a torch module taking the five inputs of ``INPUT_NAMES`` positionally.
        out_dir: target directory; ``model.onnx`` and ``preprocess.json`` land together
            (``hepjepa.atomic.atomic_dir``), other files there are kept.
        tokenizer_config: ``TokenizerConfig.to_dict()`` (feature definitions + normalisation).
        flav_names: one ``probXxx`` name per output column.
        group_size: K, members per group.
        n_features: F, features per particle.
        n_groups: G used for the trace (dynamic in the graph).
        model_config: the model's own config, stored for provenance.
        zero_filled_fields: particle fields the training data lacked, which the tokeniser set
            to 0 (``Tokens.zero_filled``); inference fills the same zeros. Every other field the
            features read is required at inference (``preprocess.json``'s ``particle_fields``).

    Returns:
        the preprocess dict that was written.

    Raises:
        ValueError: when the model's output width differs from ``len(flav_names)``, or the
            tokeniser does not make ``group_size`` x ``n_features`` inputs.
        KeyError: a flavour name that is not ``prob`` + a JetClass class.
        RuntimeError: the exported graph does not have the five contract inputs in order.

    Every one of the five inputs is kept in the graph, used or not (see ``_keep_all_inputs``).
    """
    import onnx
    import torch

    from hepjepa import __version__

    out_dir = Path(out_dir)
    model = model.eval()
    ex = example_inputs(n_groups, group_size, n_features, batch=2)
    args = tuple(torch.from_numpy(ex[n]) for n in INPUT_NAMES)
    with torch.no_grad():
        out = model(*args)  # (B, n_classes)
    if out.ndim != 2 or out.shape[1] != len(flav_names):
        msg = f"model output shape {tuple(out.shape)} does not match {len(flav_names)} flav_names {list(flav_names)}"
        raise UserInputError(msg)
    labels = class_labels(flav_names)
    _check_tokenizer(tokenizer_config, group_size, n_features)
    particle_fields = particle_fields_record(tokenizer_config, zero_filled_fields)
    # both files are written into a temporary directory and land together: an export killed
    # halfway never leaves a model.onnx beside the preprocess.json of another model
    with atomic_dir(out_dir, own=("model.onnx", "preprocess.json")) as tmp_dir:
        onnx_path = tmp_dir / "model.onnx"
        with warnings.catch_warnings():
            # the TorchScript exporter on purpose: torch's dynamo exporter fails on attention with an
            # additive pairwise bias; torch warns about the choice on every export
            warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export",
                                    category=DeprecationWarning)
            # forward()'s checks of its input shapes (eager callers' mistakes) are constants of the
            # trace, as they should be: the exported graph's shapes are checked by ONNX Runtime
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(
                _keep_all_inputs(model), args, str(onnx_path), input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                dynamic_axes=DYNAMIC_AXES, opset_version=OPSET, dynamo=False, do_constant_folding=True,
            )
        graph_model = onnx.load(str(onnx_path))
        onnx.checker.check_model(graph_model, full_check=True)
        got = [i.name for i in graph_model.graph.input]
        if got != list(INPUT_NAMES):  # the wrapper guarantees this; a failure here is an exporter change
            msg = f"exported graph inputs {got} differ from the contract's {list(INPUT_NAMES)}"
            raise RuntimeError(msg)
        shapes = {
            "features": [-1, -1, group_size, n_features],
            "particle_mask": [-1, -1, group_size],
            "group_mask": [-1, -1],
            "centers": [-1, -1, 2],
            "pair_features": [-1, -1, -1, 4],
        }
        declared_inputs = [{"name": n, "shape": shapes[n], "dtype": "float32",
                            "axes": [DYNAMIC_AXES[n].get(ax) for ax in range(len(shapes[n]))]} for n in INPUT_NAMES]
        declared_outputs = [{"name": "scores", "shape": [-1, len(flav_names)], "dtype": "float32", "kind": "scores",
                             "columns": list(flav_names)}]
        pre = {
            "inputs": declared_inputs,  # what the model takes: names, shapes (-1 dynamic), dynamic axes' names, dtypes
            "outputs": declared_outputs,  # what it returns: every output, its kind and its columns
            "input_names": list(INPUT_NAMES),
            "input_shapes": [shapes[n] for n in INPUT_NAMES],  # list in input_names order (the C++ producer reads it so)
            "output_names": list(OUTPUT_NAMES),
            "output_shapes": {"scores": [-1, len(flav_names)]},
            "flav_names": list(flav_names),
            "class_labels": labels,  # JetClass label per score column (`hepjepa evaluate`'s metrics carry the same list)
            "tokenizer": dict(tokenizer_config),
            "particle_fields": particle_fields,
            "model_config": dict(model_config or {}),
            "opset": OPSET,
            "sha256": {
                "tokenizer": config_sha256(tokenizer_config),
                "weights": _weights_sha256(model),
                "onnx": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            },
            "hepjepa_version": __version__,
        }
        (tmp_dir / "preprocess.json").write_text(json.dumps(pre, indent=2, sort_keys=False))
    return pre
