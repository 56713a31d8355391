"""Load ``preprocess.json`` and check it against its ``model.onnx``.

A ``preprocess.json`` from another model, or a model whose inputs differ from it,
is refused with a :class:`PreprocessMismatchError` that lists every difference.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hepjepa.errors import UserInputError

__all__ = ["OUTPUT_KINDS", "PreprocessMismatchError", "declared_outputs", "input_shapes", "load_preprocess", "particle_fields",
           "validate_preprocess"]

#: what an exported model's outputs can be (preprocess.json "outputs"[i]["kind"])
OUTPUT_KINDS = ("scores", "embedding", "regression")

_REQUIRED = ("input_names", "input_shapes", "output_names", "flav_names", "tokenizer", "sha256")


class PreprocessMismatchError(UserInputError):
    """``preprocess.json`` does not describe the model it sits beside."""


def load_preprocess(path: str | Path) -> dict:
    """Read a ``preprocess.json`` (a file or the directory holding it).

    Raises:
        FileNotFoundError: no such file.
        PreprocessMismatchError: a required key is missing.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "preprocess.json"
    if not p.is_file():
        msg = f"preprocess.json not found: {p}"
        raise FileNotFoundError(msg)
    try:
        pre = json.loads(p.read_text())
    except (ValueError, RecursionError) as e:  # JSONDecodeError / bad UTF-8, or nesting past Python's recursion limit
        what = "is nested too deeply" if isinstance(e, RecursionError) else f"is not valid JSON ({e})"
        msg = f"{p} {what}; expected the object `hepjepa export` writes"
        raise PreprocessMismatchError(msg) from None
    if not isinstance(pre, dict):
        msg = f"{p} holds a JSON {type(pre).__name__}; expected the object `hepjepa export` writes"
        raise PreprocessMismatchError(msg)
    missing = [k for k in _REQUIRED if k not in pre]
    if missing:
        msg = f"{p} lacks keys {missing}; expected all of {list(_REQUIRED)}"
        raise PreprocessMismatchError(msg)
    return pre


def input_shapes(pre: dict) -> dict[str, list[int]]:
    """``input_shapes`` as name -> shape (stored as a list in ``input_names`` order).

    Raises:
        PreprocessMismatchError: ``input_shapes`` is not a list of integer lists, one per
            input name (a dict is refused too: the C++ producer reads a list, so both
            readers must agree on one layout).
    """
    s, names = pre["input_shapes"], pre["input_names"]
    ok = isinstance(s, list) and all(isinstance(x, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in x) for x in s)
    if not ok:
        msg = (
            f"preprocess.json key 'input_shapes' must be a list of integer lists in input_names order {list(names)}, "
            f"got {type(s).__name__}: {str(s)[:120]}"
        )
        raise PreprocessMismatchError(
            msg)
    if len(s) != len(names):
        msg = f"preprocess.json key 'input_shapes' has {len(s)} shapes for {len(names)} input_names {list(names)}"
        raise PreprocessMismatchError(msg)
    return dict(zip(names, s, strict=True))


def particle_fields(pre: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, zero_filled) particle fields of an exported model.

    ``required``: what inference must be given (the model was trained with them);
    ``zero_filled``: what its training data lacked and the tokeniser set to 0, which inference
    does too. A ``preprocess.json`` written before export recorded them (no
    ``particle_fields`` key) requires every field its features read: refusing an input is
    safe, zero-filling a field the model was trained with is not.

    Raises:
        PreprocessMismatchError: a malformed record, or one that disagrees with the tokeniser.
    """
    from hepjepa.features import TokenizerConfig

    try:
        need = TokenizerConfig.from_dict(pre["tokenizer"]).particle_fields
    except (KeyError, TypeError, ValueError) as e:
        msg = f"preprocess.json key 'tokenizer' is not a valid TokenizerConfig: {e}"
        raise PreprocessMismatchError(msg) from None
    rec = pre.get("particle_fields")
    if rec is None:
        return need, ()
    ok = (isinstance(rec, dict) and set(rec) == {"required", "zero_filled"}
          and all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in rec.values()))
    if not ok:
        msg = (
            f"preprocess.json key 'particle_fields' must be {{'required': [names], 'zero_filled': [names]}}, "
            f"got {str(rec)[:120]}"
        )
        raise PreprocessMismatchError(msg)
    req, zero = tuple(rec["required"]), tuple(rec["zero_filled"])
    if sorted(req + zero) != sorted(need) or set(req) & set(zero):
        msg = (
            f"preprocess.json 'particle_fields' (required {list(req)}, zero_filled {list(zero)}) do not "
            f"split the fields its tokeniser reads, {list(need)}"
        )
        raise PreprocessMismatchError(msg)
    return req, zero


def declared_outputs(pre: dict) -> list[dict]:
    """Every output the model declares: ``[{"name", "shape", "dtype", "kind", "columns"?}]``.

    A ``preprocess.json`` from before models declared their outputs has one: ``scores``
    (its first output), its columns the ``flav_names``.

    Raises:
        PreprocessMismatchError: a malformed ``outputs`` record (names the entry).
    """
    outs = pre.get("outputs")
    if outs is None:
        return [{"name": pre["output_names"][0], "shape": [-1, len(pre["flav_names"])], "dtype": "float32", "kind": "scores",
                 "columns": list(pre["flav_names"])}]
    if not isinstance(outs, list) or not outs:
        msg = f"preprocess.json key 'outputs' must be a non-empty list, got {str(outs)[:120]}"
        raise PreprocessMismatchError(msg)
    for i, o in enumerate(outs):
        ok = (isinstance(o, dict) and isinstance(o.get("name"), str) and o.get("kind") in OUTPUT_KINDS
              and isinstance(o.get("shape"), list) and all(isinstance(d, int) for d in o["shape"]))
        if not ok:
            msg = (
                f"preprocess.json 'outputs'[{i}] must be {{name, shape, dtype, kind in {OUTPUT_KINDS}, "
                f"columns?}}, got {str(o)[:120]}"
            )
            raise PreprocessMismatchError(msg)
        cols = o.get("columns")
        if o["kind"] != "embedding" and (not isinstance(cols, list) or (o["shape"][-1] >= 0 and len(cols) != o["shape"][-1])):
            msg = f"preprocess.json 'outputs'[{i}] ({o['name']}): 'columns' must name its {o['shape'][-1]} columns"
            raise PreprocessMismatchError(msg)
    return outs


def validate_preprocess(model_path: str | Path, preprocess: dict | str | Path, verify_sha256: bool = True) -> dict:
    """Check that ``preprocess`` describes ``model_path``: names, ranks, fixed dims, hash.

    Args:
        model_path: ``model.onnx``.
        preprocess: the dict, or a path to ``preprocess.json``.
        verify_sha256: compare the model file's sha256 with the one recorded at export (the
            explicit opt-out, for a model deliberately edited after export).

    Returns:
        the preprocess dict.

    Raises:
        PreprocessMismatchError: listing each difference (input/output names, rank or
            dimension of an input, output width vs flav_names, class_labels vs flav_names,
            ONNX sha256).
    """
    import onnx

    pre = preprocess if isinstance(preprocess, dict) else load_preprocess(preprocess)
    model_path = Path(model_path)
    graph = onnx.load(str(model_path), load_external_data=False).graph
    init = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init]
    diffs: list[str] = []
    names = [i.name for i in inputs]
    if names != list(pre["input_names"]):
        diffs.append(f"input names: model has {names}, preprocess.json has {pre['input_names']}")
    try:
        shapes = input_shapes(pre)
    except PreprocessMismatchError as e:  # reported with the other differences
        diffs.append(str(e))
        shapes = {}
    for i in inputs:
        want = shapes.get(i.name)
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in i.type.tensor_type.shape.dim]
        if want is None:
            continue
        if len(dims) != len(want):
            diffs.append(f"input {i.name!r}: model rank {len(dims)} {dims}, preprocess.json rank {len(want)} {want}")
            continue
        for ax, (a, b) in enumerate(zip(dims, want, strict=True)):
            if a != b:
                diffs.append(f"input {i.name!r} axis {ax}: model {a}, preprocess.json {b} (-1 = dynamic)")
    if isinstance(pre.get("inputs"), list):
        got = [(d.get("name"), d.get("shape")) for d in pre["inputs"] if isinstance(d, dict)]
        expected = list(zip(pre["input_names"], [shapes.get(n) for n in pre["input_names"]], strict=True))
        if got != expected:
            diffs.append(f"'inputs' {got} disagree with input_names/input_shapes {expected}")
    try:
        declared = declared_outputs(pre)
    except PreprocessMismatchError as e:
        diffs.append(str(e))
        declared = []
    if declared and pre.get("outputs") is not None and [o["name"] for o in declared] != list(pre["output_names"]):
        diffs.append(f"'outputs' {[o['name'] for o in declared]} disagree with output_names {pre['output_names']}")
    outs = [o.name for o in graph.output]
    if outs != list(pre["output_names"]):
        diffs.append(f"output names: model has {outs}, preprocess.json has {pre['output_names']}")
    elif graph.output:
        d = graph.output[0].type.tensor_type.shape.dim
        if len(d) == 2 and d[1].HasField("dim_value") and d[1].dim_value != len(pre["flav_names"]):
            diffs.append(f"output width {d[1].dim_value} != {len(pre['flav_names'])} flav_names {pre['flav_names']}")
    tok = pre.get("tokenizer")
    if isinstance(tok, dict) and "features" in shapes and len(shapes["features"]) == 4:
        k, f = shapes["features"][2], shapes["features"][3]
        n_feat = len(tok.get("features", ())) if "features" in tok else None
        if tok.get("group_size") not in (None, k) or (n_feat is not None and n_feat != f):
            diffs.append(f"tokenizer makes groups of {tok.get('group_size')} particles with {n_feat} features, "
                         f"but input 'features' is (.., {k}, {f})")
    labels = pre.get("class_labels")
    if labels is not None:
        from hepjepa.deploy.export import class_labels

        try:
            want_labels = class_labels(pre["flav_names"])
        except KeyError as e:
            diffs.append(f"flav_names: {e}")
        else:
            if list(labels) != want_labels:
                diffs.append(f"class_labels {list(labels)} do not match flav_names {pre['flav_names']} (expected {want_labels})")
    want_sha = pre["sha256"].get("onnx") if isinstance(pre["sha256"], dict) else None
    if want_sha is not None and verify_sha256:
        have = hashlib.sha256(model_path.read_bytes()).hexdigest()
        if have != want_sha:
            diffs.append(f"onnx sha256: model file {have[:16]}..., preprocess.json {want_sha[:16]}... (preprocess.json of another model?)")
    if diffs:
        raise PreprocessMismatchError(f"{model_path} does not match its preprocess.json:\n  " + "\n  ".join(diffs))
    return pre
