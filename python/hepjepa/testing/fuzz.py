"""A bounded fuzz campaign over hepjepa's boundaries: the C++ producer, the tokeniser, the readers, the jobs.

Each *target* draws seeded cases: a valid input, or one made hostile in a known way (NaN, huge
values, inconsistent shapes, wrong types, mangled files, ...). Every case says what must happen:

* a valid case returns, and its output is sane (finite probabilities; the untagged marker -1
  for a jet with nothing to tag, never a probability);
* an invalid case raises one of the documented error types, and the message names the input
  (the array, the parameter or the file).

A case that does something else is classified: ``crash`` (the worker process died: a
segfault, an abort, an out-of-memory kill), ``silent`` (an invalid case returned, or a valid one
returned garbage such as NaN or a probability for an empty jet), ``untyped`` (an error of
another type), ``unnamed`` (the documented type, without naming the input), ``refused`` (a
valid case raised). Bit flips in a file format that carries no checksum may change values
without any possible detection; those are ``undetectable`` (counted, documented, not failures).

Cases run in one worker process per target (``python fuzz.py --worker TARGET ...``), restarted
after a crash, never a process per case. The module needs only the public APIs that hepjepa has
had since its first release (``hepjepa.JetTagProducer``, ``hepjepa.features.tokenize_flat``,
``hepjepa.data.read_jets``, ``hepjepa-run``'s ``main``), so the same campaign measures an older
checkout (run this file as a script with that checkout on ``PYTHONPATH``).

Usage::

    python -m hepjepa.testing.fuzz --cases 300 [--targets producer tokenizer readers jobs] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

TARGETS = ("producer", "tokenizer", "readers", "jobs")
KINDS = ("ok", "crash", "silent", "untyped", "unnamed", "refused", "undetectable")
#: what each target's documented errors are (by name, so that an older checkout can be measured)
_DOCUMENTED = {
    "producer": ("ValueError", "KeyError", "FileNotFoundError", "RuntimeError"),
    "tokenizer": ("ValueError", "KeyError"),
    "readers": ("FormatError",),
    "jobs": (),  # judged by exit code and stderr instead
}


# ---------------------------------------------------------------------------------------- cases
class Case:
    """One fuzz case: ``run()`` does it; ``valid`` says whether it must succeed; ``names``: what an error must name."""

    # set only on the cases of some targets: readers (fmt; unchecked on ROOT files), jobs (path, out)
    fmt: str
    unchecked: bool
    path: Path
    out: Path

    def __init__(self, label: str, valid: bool, run, names=(), check=None, undetectable_ok: bool = False):
        self.label, self.valid, self.run, self.names, self.check = label, valid, run, tuple(names), check
        self.undetectable_ok = undetectable_ok  # a silent change here is a format without a checksum


def judge(case: Case, target: str) -> tuple[str, str]:
    """(kind, detail) of one case (see the module docstring)."""
    try:
        out = case.run()
    except MemoryError as e:
        return ("refused" if case.valid else "untyped"), f"MemoryError {e}"[:300]
    except Exception as e:  # the point of the campaign: every exception is classified, none escapes
        msg = f"{type(e).__name__}: {e}"
        if case.valid:
            return "refused", msg[:300]
        if not _is_documented(e, target):
            return "untyped", msg[:300]
        if case.names and not any(n in str(e) for n in case.names):
            return "unnamed", msg[:300]
        return "ok", ""
    if not case.valid:
        if case.undetectable_ok:
            return "undetectable", case.label
        return "silent", f"returned for an invalid input ({case.label})"
    if case.check is not None:
        problem = case.check(out)
        if problem:
            return "silent", problem[:300]
    return "ok", ""


def _is_documented(e: BaseException, target: str) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & set(_DOCUMENTED[target]))


# ------------------------------------------------------------------------------------- producer
def _tiny_model(d: Path, k: int = 4, f: int = 5, n_cls: int = 2) -> tuple[Path, Path]:
    """A five-input tagger of the project's contract built with onnx.helper (no torch), and its preprocess.json.

    scores = softmax(W [sum_gk(features * particle_mask), sum_g(centers * group_mask), sum(pair_features)]):
    a jet with no real group gets the uniform (real-looking) probability the producer must not report.
    """
    import hashlib

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(f + 6, n_cls)).astype(np.float32), "w")
    ax12 = numpy_helper.from_array(np.array([1, 2], np.int64), "ax12")
    ax1 = numpy_helper.from_array(np.array([1], np.int64), "ax1")
    axm1 = numpy_helper.from_array(np.array([-1], np.int64), "axm1")
    nodes = [
        helper.make_node("Unsqueeze", ["particle_mask", "axm1"], ["pm"]),
        helper.make_node("Mul", ["features", "pm"], ["fm"]),
        helper.make_node("ReduceSum", ["fm", "ax12"], ["h"], keepdims=0),  # (N, F)
        helper.make_node("Unsqueeze", ["group_mask", "axm1"], ["gm"]),
        helper.make_node("Mul", ["centers", "gm"], ["cm"]),
        helper.make_node("ReduceSum", ["cm", "ax1"], ["c"], keepdims=0),  # (N, 2)
        helper.make_node("ReduceSum", ["pair_features", "ax12"], ["p"], keepdims=0),  # (N, 4)
        helper.make_node("Concat", ["h", "c", "p"], ["z"], axis=1),
        helper.make_node("MatMul", ["z", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=-1),
    ]
    inputs = [
        helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "groups", k, f]),
        helper.make_tensor_value_info("particle_mask", TensorProto.FLOAT, ["batch", "groups", k]),
        helper.make_tensor_value_info("group_mask", TensorProto.FLOAT, ["batch", "groups"]),
        helper.make_tensor_value_info("centers", TensorProto.FLOAT, ["batch", "groups", 2]),
        helper.make_tensor_value_info("pair_features", TensorProto.FLOAT, ["batch", "groups", "groups", 4]),
    ]
    graph = helper.make_graph(nodes, "tiny", inputs, [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", n_cls])],
                              initializer=[w, ax12, ax1, axm1])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = d / "model.onnx"
    onnx.save(model, str(path))
    pre = {"input_names": [i.name for i in inputs],
           "input_shapes": [[-1, -1, k, f], [-1, -1, k], [-1, -1], [-1, -1, 2], [-1, -1, -1, 4]],
           "output_names": ["scores"], "flav_names": ["probQCD", "probTbqq"][:n_cls],
           "tokenizer": {"group_size": k}, "sha256": {"onnx": hashlib.sha256(path.read_bytes()).hexdigest()}}
    (d / "preprocess.json").write_text(json.dumps(pre))
    return path, d / "preprocess.json"


def _tokens(rng, n: int, g: int, k: int = 4, f: int = 5, empty=()) -> dict:
    """Valid token inputs of n jets and g groups (jets in ``empty`` have no real group)."""
    n_real = rng.integers(1, g + 1, size=n) if g else np.zeros(n, int)
    n_real[list(empty)] = 0
    gm = (np.arange(g)[None, :] < n_real[:, None]).astype(np.float32)
    pm = (rng.random((n, g, k)) < 0.8).astype(np.float32)
    if g:
        pm[..., 0] = 1.0
    pm *= gm[..., None]
    return {"features": (rng.normal(size=(n, g, k, f)) * pm[..., None]).astype(np.float32), "particle_mask": pm,
            "group_mask": gm, "centers": (rng.normal(scale=0.3, size=(n, g, 2)) * gm[..., None]).astype(np.float32),
            "pair_features": (rng.normal(size=(n, g, g, 4)) * (gm[:, :, None] * gm[:, None, :])[..., None]).astype(np.float32)}


def _scores_check(n_jets: int, empty=()):
    empty = set(empty)

    def check(out) -> str:
        out = np.asarray(out)
        if out.shape != (n_jets, 2):
            return f"scores of shape {out.shape}, expected ({n_jets}, 2)"
        if not np.isfinite(out).all():
            return "NaN/inf scores"
        for j in range(n_jets):
            marked = bool(np.all(out[j] == -1.0))
            if j in empty and not marked:
                return f"jet {j} has no real group but got the probability {out[j].tolist()}"
            if j not in empty and (marked or abs(out[j].sum() - 1) > 1e-4 or (out[j] < 0).any()):
                return f"jet {j}: {out[j].tolist()} is not a probability"
        return ""
    return check


def producer_cases(rng, work: Path):
    """Cases for ``hepjepa.JetTagProducer`` (and ``hepjepa.ONNXRuntime``)."""
    import hepjepa

    model, pre = _tiny_model(work)
    base = dict(model_path=str(model), preprocess_json=str(pre))
    prod = hepjepa.JetTagProducer(**base, batch_size=3)
    choice = rng.integers(0, 14)
    n, g = int(rng.integers(1, 7)), int(rng.integers(1, 6))
    x = _tokens(rng, n, g)
    name = str(rng.choice(list(x)))
    if choice == 0:
        return Case("valid", True, lambda: prod.produce(x), check=_scores_check(n))
    if choice == 1:  # NaN / inf / huge in one input
        bad = {**x, name: x[name].copy()}
        val = rng.choice([np.nan, np.inf, -np.inf, 3.4e38, -3.4e38])
        if bad[name].size == 0:
            return Case("valid", True, lambda: prod.produce(x), check=_scores_check(n))
        bad[name].reshape(-1)[rng.integers(0, bad[name].size)] = val
        if np.isfinite(val):  # finite but huge: an error, or the marker; never NaN or a garbage probability
            def check(out, j=None):
                out = np.asarray(out)
                return "" if np.isfinite(out).all() else f"NaN/inf scores for {val:g} in {name!r}"
            if name.endswith("mask"):
                return Case(f"huge in {name}", False, lambda: prod.produce(bad), names=(name,))
            return Case(f"huge in {name}", True, lambda: prod.produce(bad), check=check)
        return Case(f"non-finite in {name}", False, lambda: prod.produce(bad), names=(name,))
    if choice == 2:  # one input with another group count
        bad = dict(x)
        other = _tokens(rng, n, g + 1 + int(rng.integers(0, 3)))
        bad[name] = other[name]
        return Case(f"group count of {name}", False, lambda: prod.produce(bad), names=(name,))
    if choice == 3:  # one input with another jet count
        bad = dict(x)
        bad[name] = _tokens(rng, n + 1, g)[name]
        return Case(f"jet count of {name}", False, lambda: prod.produce(bad), names=(name,))
    if choice == 4:  # empty jets mixed with real ones
        empty = sorted(set(rng.integers(0, n, size=int(rng.integers(1, n + 1))).tolist()))
        y = _tokens(rng, n, g, empty=empty)
        return Case("empty jets", True, lambda: prod.produce(y), check=_scores_check(n, empty))
    if choice == 5:  # non-binary mask
        bad = dict(x)
        m = str(rng.choice(["group_mask", "particle_mask"]))
        bad[m] = x[m] * np.float32(rng.choice([0.5, 2.0, -1.0]))
        return Case(f"non-binary {m}", False, lambda: prod.produce(bad), names=(m,))
    if choice == 6:  # zero groups
        y = _tokens(rng, n, 0)
        return Case("zero groups", True, lambda: prod.produce(y), check=_scores_check(n, range(n)))
    if choice == 7:  # wrong dtype / layout / rank / container
        bad = dict(x)
        how = rng.integers(0, 4)
        bad[name] = (x[name].astype(np.float64) if how == 0 else np.asfortranarray(x[name]) if how == 1 and x[name].ndim > 1
                     else x[name][..., None] if how == 2 else x[name].tolist())
        valid = how == 1 and bad[name].flags.c_contiguous  # an F-ordered array with one non-trivial axis is C-contiguous too
        return Case(f"layout {how} of {name}", valid, lambda: prod.produce(bad), names=(name,), check=_scores_check(n))
    if choice == 8:  # missing / extra input names
        bad = dict(x)
        if rng.random() < 0.5:
            bad.pop(name)
        else:
            bad["jet_pt"] = x["group_mask"]
            name = "jet_pt"
        return Case(f"names ({name})", False, lambda: prod.produce(bad), names=(name,))
    if choice == 9:  # integer parameters out of range
        key = str(rng.choice(["batch_size", "intra_op_threads"]))
        val = int(rng.choice([0, -1, 2**31, 2**32 + 1, 2**63 - 1]))
        return Case(f"{key}={val}", False, lambda: hepjepa.JetTagProducer(**base, **{key: val}), names=(key,))
    if choice == 10:  # flav_names of the wrong length
        names = ["probQCD"] if rng.random() < 0.5 else ["probQCD", "probTbqq", "probHbb"]
        return Case(f"flav_names {names}", False, lambda: hepjepa.JetTagProducer(model_path=str(model), flav_names=names),
                    names=("flav_names",))
    if choice == 11:  # hostile preprocess.json
        p = work / "hostile.json"
        how = int(rng.integers(0, 4))
        depth = int(rng.choice([100, 10_000, 100_000]))
        p.write_text(["[" * depth + "]" * depth, '{"input_names": ' * depth + "1" + "}" * depth,
                      "\x00\xff garbage", json.dumps({"input_shapes": "nope"})][how])
        return Case(f"preprocess.json {how}", False, lambda: hepjepa.JetTagProducer(model_path=str(model), preprocess_json=str(p)),
                    names=(str(p), "preprocess_json", "input_shapes"))
    if choice == 12:  # a model whose weights changed after export: preprocess.json's sha256 no longer matches
        raw = bytearray(model.read_bytes())
        start = int(rng.integers(len(raw) // 4, len(raw) - 64))
        raw[start:start + 64] = bytes(64)
        bad_model = work / "damaged.onnx"
        bad_model.write_bytes(bytes(raw))
        return Case("damaged model", False, lambda: hepjepa.JetTagProducer(model_path=str(bad_model), preprocess_json=str(pre)).produce(x),
                    names=("sha256", "damaged.onnx"))
    # 13: ONNXRuntime.run with absurd shapes
    rt = hepjepa.ONNXRuntime(str(model))
    shapes = [list(x[k].shape) for k in x]
    shapes[int(rng.integers(0, 5))][0] = float(rng.choice([1e30, -5.0, 2.0**62]))
    return Case("runtime shapes", False, lambda: rt.run(list(x), list(x.values()), shapes), names=("shape", "input"))


# ------------------------------------------------------------------------------------ tokenizer
def tokenizer_cases(rng, work: Path):
    """Cases for ``hepjepa.features.tokenize_flat``."""
    from hepjepa.features import TokenizerConfig, tokenize_flat

    cfg = TokenizerConfig(group_size=4, max_groups=6)
    counts = rng.integers(0, 30, size=int(rng.integers(1, 6)))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    P = int(offsets[-1])
    pt, eta, phi = rng.exponential(20, P) + 0.5, rng.normal(0, 0.3, P), rng.normal(0, 0.3, P)
    f = {"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta), "energy": pt * np.cosh(eta) + 0.01,
         "charge": rng.integers(-1, 2, P).astype(float)}
    for k in ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"):
        f[k] = rng.integers(0, 2, P).astype(float)

    def call(fields=f, offs=offsets):
        t = tokenize_flat(fields["px"], fields["py"], fields["pz"], fields["energy"], offs, cfg,
                          **{k: v for k, v in fields.items() if k not in ("px", "py", "pz", "energy")})
        return t

    def finite(t) -> str:
        for name in ("features", "particle_mask", "group_mask", "centers", "pair_features"):
            if not np.isfinite(getattr(t, name)).all():
                return f"NaN/inf in tokens.{name}"
        return ""

    choice = rng.integers(0, 9)
    name = str(rng.choice(list(f)))
    if choice == 0 or P == 0:
        return Case("valid", True, call, check=finite)
    if choice == 1:
        g = dict(f)
        g[name] = f[name].copy()
        g[name][rng.integers(0, P)] = rng.choice([np.nan, np.inf, -np.inf])
        return Case(f"non-finite {name}", False, lambda: call(g), names=(name,))
    if choice == 2:  # finite but enormous momenta: overflow inside the kernels
        g = {k: (v * 1e160 if k in ("px", "py", "pz", "energy") else v) for k, v in f.items()}
        return Case("1e160 momenta", False, lambda: call(g), names=("jet",))
    if choice == 3:  # complex, string, object, scalar fields
        g = dict(f)
        g[name] = [f[name].astype(complex), f[name].astype(str), {"a": 1}, 3.0][int(rng.integers(0, 4))]
        return Case(f"type of {name}", False, lambda: call(g), names=(name,))
    if choice == 4:  # offsets: floats, decreasing, past the arrays, huge
        how = int(rng.integers(0, 4))
        offs = [offsets.astype(float) + 0.5, offsets[::-1].copy(), np.append(offsets, P + 5), np.array([0, 5, 2**40])][how]
        return Case(f"offsets {how}", False, lambda: call(offs=offs), names=("offsets", "px", "shape"))
    if choice == 5:  # wrong length
        g = dict(f)
        g[name] = f[name][:-1]
        return Case(f"length of {name}", False, lambda: call(g), names=(name,))
    if choice == 6:  # a particle-identification field the features use is missing
        g = {k: v for k, v in f.items() if k != name}
        if name in ("px", "py", "pz", "energy"):
            return Case(f"missing {name}", False, lambda: call({**g, name: None}), names=(name,))
        return Case(f"missing {name}", False, lambda: call(g), names=(name,))
    if choice == 7:  # dict or 2-d field
        g = dict(f)
        g[name] = np.stack([f[name], f[name]])
        return Case(f"2-d {name}", False, lambda: call(g), names=(name,))
    return Case("valid", True, call, check=finite)


# -------------------------------------------------------------------------------------- readers
_BASES: dict = {}


def _base_files(work: Path) -> dict[str, tuple[Path, object]]:
    """One small valid file per format (written once per worker) and its jets as read back."""
    if _BASES:
        return _BASES
    import awkward as ak
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import uproot

    from hepjepa.data import read_jets

    rng = np.random.default_rng(1)
    out = {}
    # JetClass ROOT
    counts = rng.integers(1, 20, 12)
    P = int(counts.sum())
    pt, eta, phi = rng.uniform(1, 50, P), rng.uniform(-1, 1, P), rng.uniform(-0.5, 0.5, P)
    parts = {"part_px": pt * np.cos(phi), "part_py": pt * np.sin(phi), "part_pz": pt * np.sinh(eta), "part_energy": pt * np.cosh(eta)}
    for b in ("part_deta", "part_dphi", "part_d0val", "part_d0err", "part_dzval", "part_dzerr", "part_charge",
              "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon"):
        parts[b] = rng.integers(0, 2, P).astype(float)
    data = {k: ak.unflatten(v.astype(np.float32), counts) for k, v in parts.items()}
    for b in ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_nparticles", "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4"):
        data[b] = rng.uniform(1, 100, 12).astype(np.float32)
    from hepjepa.labels import JETCLASS_LABELS

    cls = rng.integers(0, 10, 12)
    for i, lab in enumerate(JETCLASS_LABELS):
        data[lab] = cls == i
    p = work / "base_jetclass.root"
    with uproot.recreate(p) as fh:
        fh.mktree("tree", {k: v.type.content if isinstance(v, ak.Array) else np.asarray(v).dtype for k, v in data.items()})
        fh["tree"].extend(data)
    out["jetclass"] = p
    # NanoAOD (PFNano layout)
    n_ev = 8
    njet = rng.integers(0, 3, n_ev)
    npf = rng.integers(3, 25, n_ev)
    jidx, pidx = [], []
    for nj, npp in zip(njet, npf, strict=True):
        owner = rng.integers(-1, nj, npp) if nj else np.full(npp, -1)
        sel = np.flatnonzero(owner >= 0)
        jidx.append(owner[sel].astype(np.int32))
        pidx.append(sel.astype(np.int32))
    pf = {v: ak.unflatten(rng.uniform(0.5, 50, npf.sum()).astype(np.float32), npf) for v in ("pt", "eta", "phi", "mass")}
    pf["pdgId"] = ak.unflatten(rng.choice([211, -211, 22, 130, 11], npf.sum()).astype(np.int32), npf)
    nano = {"run": np.ones(n_ev, np.uint32), "luminosityBlock": np.ones(n_ev, np.uint32), "event": np.arange(n_ev, dtype=np.uint64),
            "FatJet": ak.zip({k: ak.unflatten(v.astype(np.float32), njet) for k, v in {
                "pt": rng.uniform(300, 900, njet.sum()), "eta": rng.uniform(-2, 2, njet.sum()), "phi": rng.uniform(-3, 3, njet.sum()),
                "mass": rng.uniform(10, 200, njet.sum()), "msoftdrop": rng.uniform(0, 200, njet.sum())}.items()}),
            "PFCands": ak.zip(pf), "FatJetPFCands": ak.zip({"jetIdx": ak.Array(jidx), "pFCandsIdx": ak.Array(pidx)})}
    p = work / "base_nano.root"
    with uproot.recreate(p) as fh:
        fh.mktree("Events", {k: getattr(v, "dtype", None) or v.type for k, v in nano.items()},
                  counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
        fh["Events"].extend(nano)
    out["nanoaod"] = p
    # Top Tagging HDF5
    n, nmax = 10, 200
    cols: dict[str, np.ndarray] = {}
    for i in range(nmax):
        on = np.float32(i < 25)  # 25 real constituents, then the format's zero padding
        e = rng.uniform(1, 50, n).astype(np.float32) * on
        cols |= {f"E_{i}": e, f"PX_{i}": e * 0.6, f"PY_{i}": e * 0.0, f"PZ_{i}": e * 0.8}
    cols["is_signal_new"] = rng.integers(0, 2, n)
    p = work / "base_top.h5"
    pd.DataFrame(cols).to_hdf(p, key="table", mode="w")
    out["toptagging"] = p
    # quark/gluon npz, uncompressed and compressed
    X = np.zeros((10, 20, 4))
    for j in range(10):
        c = int(rng.integers(1, 20))
        X[j, :c] = np.stack([rng.uniform(0.5, 100, c), rng.uniform(-2, 2, c), rng.uniform(0, 6, c), rng.choice([211, 22, 11], c)], 1)
    y = rng.integers(0, 2, 10).astype(float)
    np.savez(work / "base_qg.npz", X=X, y=y)
    np.savez_compressed(work / "base_qgc.npz", X=X, y=y)
    out["quarkgluon"], out["quarkgluon_compressed"] = work / "base_qg.npz", work / "base_qgc.npz"
    # E2E parquet (page checksums written, as pyarrow allows)
    img = np.zeros((5, 3, 125, 125), np.float32)
    m = rng.random(img.shape) < 0.002
    img[m] = rng.uniform(0.1, 20, m.sum())
    table = pa.table({"X_jets": pa.array([[[list(r) for r in ch] for ch in jet] for jet in img], type=pa.list_(pa.list_(pa.list_(pa.float32())))),
                      "pt": rng.uniform(70, 200, 5), "m0": rng.uniform(5, 30, 5), "y": rng.integers(0, 2, 5).astype(float)})
    p = work / "base_e2e.parquet"
    pq.write_table(table, p, row_group_size=2, write_page_checksum=True)
    out["e2e"] = p
    for fmt, p in out.items():
        _BASES[fmt] = (p, read_jets(str(p), format=fmt.replace("_compressed", "")))
    return _BASES


#: formats whose files carry no checksum over the values (a flipped bit can change a value undetectably)
NO_CHECKSUM = ("toptagging",)


def _same_jets(a, b) -> bool:
    import awkward as ak

    if len(a) != len(b) or set(ak.fields(a)) != set(ak.fields(b)):
        return False
    for fld in ak.fields(a):
        x, y = ak.to_numpy(ak.flatten(a[fld], axis=None)), ak.to_numpy(ak.flatten(b[fld], axis=None))
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True


def reader_cases(rng, work: Path):
    """Cases for ``hepjepa.data.read_jets``: truncated, bit-flipped or zeroed files of every format."""
    from hepjepa.data import read_jets

    bases = _base_files(work)
    fmt = str(rng.choice(sorted(bases)))
    src, ref = bases[fmt]
    raw = bytearray(src.read_bytes())
    how = int(rng.integers(0, 3))
    if how == 0:  # truncated
        raw = raw[: int(rng.integers(0, len(raw)))]
    elif how == 1:  # bit flips
        for _ in range(int(rng.integers(1, 17))):
            i = int(rng.integers(0, len(raw)))
            raw[i] ^= 1 << int(rng.integers(0, 8))
    else:  # a zeroed range
        i = int(rng.integers(0, len(raw)))
        raw[i:i + int(rng.integers(1, 257))] = bytes(min(256, len(raw) - i))
    path = work / f"mangled_{fmt}{src.suffix}"
    path.write_bytes(bytes(raw))
    read_fmt = fmt.replace("_compressed", "")
    orig = src.read_bytes()
    changed = [i for i in range(min(len(raw), len(orig))) if raw[i] != orig[i]] if how else []

    def run():
        jets = read_jets(str(path), format=read_fmt)
        if not _same_jets(jets, ref):
            raise _Changed()
        return jets

    class _Probe(Case):
        pass

    case = _Probe(f"{fmt} mangled {how}", True, run, names=(str(path),))
    case.fmt = fmt
    # ROOT checksums only compressed baskets (zlib's adler32, LZ4's xxhash); a basket kept uncompressed
    # because compression did not shrink it (random floats), and the uncompressed keys and metadata, have none
    if src.suffix == ".root":
        zipped = _compressed_baskets(src)
        case.unchecked = any(not any(lo <= i < hi for lo, hi in zipped) for i in changed)
    return case


def _compressed_baskets(path: Path) -> list[tuple[int, int]]:
    """Byte ranges of a ROOT file's compressed baskets (the only bytes a checksum covers)."""
    import uproot

    out = []
    with uproot.open(path) as f:
        for tree in (f[k] for k, c in f.classnames().items() if c == "TTree"):
            for br in tree.itervalues(recursive=True):
                seeks = br.member("fBasketSeek")
                for i in range(br.num_baskets):
                    b = br.basket(i)
                    if b.compressed_bytes < b.uncompressed_bytes:
                        out.append((int(seeks[i]), int(seeks[i]) + int(b.member("fNbytes"))))
    return out


class _Changed(Exception):
    """read_jets returned values that differ from the intact file's."""


def judge_reader(case: Case) -> tuple[str, str]:
    """Readers: intact values or a FormatError naming the file; changed values are silent (or undetectable)."""
    try:
        case.run()
    except _Changed:
        undetectable = case.fmt in NO_CHECKSUM or getattr(case, "unchecked", False)
        return ("undetectable" if undetectable else "silent"), f"{case.label}: values changed without an error"
    except MemoryError as e:
        return "untyped", f"MemoryError {e}"[:300]
    except Exception as e:  # classified, never escapes
        if not _is_documented(e, "readers"):
            return "untyped", f"{type(e).__name__}: {e}"[:300]
        if not any(n in str(e) for n in case.names):
            return "unnamed", f"{type(e).__name__}: {e}"[:300]
    return "ok", ""


# ----------------------------------------------------------------------------------------- jobs
def jobs_cases(rng, work: Path):
    """Cases for ``hepjepa-run`` on mangled NanoAOD: exit 0 with a valid output, or exit != 0 with one line naming the file."""
    import hepjepa

    bases = _base_files(work)
    src, _ = bases["nanoaod"]
    raw = bytearray(src.read_bytes())
    how = int(rng.integers(0, 4))
    if how == 0:
        raw = raw[: int(rng.integers(0, len(raw)))]
    elif how == 1:
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(raw)))
            raw[i] ^= 1 << int(rng.integers(0, 8))
    path = work / "job_in.root"
    path.write_bytes(bytes(raw) if how < 2 else src.read_bytes())
    out = work / "job_out.root"
    out.unlink(missing_ok=True)
    extra = ["maxEvents=0"] if how == 3 else []
    cfg = Path(hepjepa.__file__).resolve().parents[2] / "reco" / "inference_cfg.py"
    if not cfg.is_file():
        cfg = Path(hepjepa.__file__).resolve().parent / "reco" / "configs" / "inference_cfg.py"

    use_tag = how < 3 and rng.random() < 0.25  # hepjepa tag too (coffea: slower per case)
    tag_out = work / "tag_out"

    def run():
        import shutil

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                if use_tag:
                    from hepjepa.cli import main as cli

                    shutil.rmtree(tag_out, ignore_errors=True)
                    rc = cli(["tag", str(path), "-o", str(tag_out), "--no-progress"])
                else:
                    from hepjepa.reco.run import main

                    rc = main([str(cfg), f"inputFiles={path}", f"outputFile={out}", *extra])
            except SystemExit as e:
                rc = e.code
        return rc, err.getvalue()

    case = Case(f"{'hepjepa tag' if use_tag else 'hepjepa-run'} {how}", True, run)
    case.path, case.out = path, (tag_out / "hists.root" if use_tag else out)
    return case


def judge_job(case: Case) -> tuple[str, str]:
    try:
        rc, err = case.run()
    except Exception as e:  # a traceback escaping main() is what the campaign looks for
        return "untyped", f"{type(e).__name__}: {e}"[:300]
    if rc == 0:
        import uproot

        try:
            with uproot.open(case.out) as f:
                if case.out.name == "hists.root":
                    assert f.keys(), "no histogram"
                else:
                    f["Events"].arrays()
        except Exception as e:  # exit 0 must mean a readable output with its tree
            return "silent", f"exit 0 but the output is not readable: {type(e).__name__}: {e}"[:300]
        return "ok", ""
    lines = [line for line in err.splitlines() if line.strip()]
    if "Traceback" in err or len(lines) != 1:
        return "untyped", f"{len(lines)} lines on stderr: {err[-300:]}"
    if case.out.exists():
        return "silent", "failed but left an output file"
    if str(case.path) not in err and "job_in.root" not in err:
        return "unnamed", err[:300]
    return "ok", ""


# ------------------------------------------------------------------------------------- runner
_MAKERS = {"producer": producer_cases, "tokenizer": tokenizer_cases, "readers": reader_cases, "jobs": jobs_cases}


def _worker(target: str, seed: int, start: int, count: int) -> None:
    """Run cases ``start .. start+count`` of ``target``; one JSON line per case on stdout (after a 'start' line)."""
    import warnings

    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix=f"hepjepa_fuzz_{target}_"))
    real_stdout = sys.stdout
    for i in range(start, start + count):
        print(json.dumps({"case": i, "start": True}), file=real_stdout, flush=True)
        rng = np.random.default_rng([seed, _TARGET_ID[target], i])
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                case = _MAKERS[target](rng, work)
                if target == "readers":
                    kind, detail = judge_reader(case)
                elif target == "jobs":
                    kind, detail = judge_job(case)
                else:
                    kind, detail = judge(case, target)
            label = case.label
        except Exception:  # a bug in the harness itself is reported, not hidden
            kind, detail, label = "untyped", "harness: " + traceback.format_exc()[-300:], "harness"
        print(json.dumps({"case": i, "kind": kind, "label": label, "detail": detail}), file=real_stdout, flush=True)


_TARGET_ID = {t: k for k, t in enumerate(TARGETS)}


def run_target(target: str, cases: int, seed: int = 0, timeout_s: float = 600.0, progress: bool = False) -> dict:
    """All ``cases`` of one target in a worker process, restarted after a crash.

    Returns:
        ``{"target", "cases", "counts": {kind: n}, "examples": {kind: [first details]}, "seconds"}``.
    """
    t0 = time.perf_counter()
    counts: Counter = Counter()
    examples: dict[str, list] = {}
    nxt = 0
    script = str(Path(__file__).resolve())
    while nxt < cases:
        cmd = [sys.executable, script, "--worker", target, "--seed", str(seed), "--start", str(nxt), "--count", str(cases - nxt)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        assert proc.stdout is not None and proc.stderr is not None  # both are PIPEs
        in_flight = None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("start"):
                in_flight = msg["case"]
                continue
            counts[msg["kind"]] += 1
            if msg["kind"] != "ok":
                examples.setdefault(msg["kind"], [])
                if len(examples[msg["kind"]]) < 5:
                    examples[msg["kind"]].append(f"case {msg['case']} ({msg['label']}): {msg['detail']}")
            in_flight = None
            nxt = msg["case"] + 1
            if progress and nxt % 50 == 0:
                print(f"  {target}: {nxt}/{cases}", file=sys.stderr, flush=True)
            if time.perf_counter() - t0 > timeout_s:
                proc.kill()
                break
        rc = proc.wait()
        stderr = proc.stderr.read()
        if time.perf_counter() - t0 > timeout_s:  # our own kill at the time limit is not a crash
            break
        if in_flight is not None:  # the worker died inside a case: a crash
            counts["crash"] += 1
            examples.setdefault("crash", [])
            if len(examples["crash"]) < 5:
                examples["crash"].append(f"case {in_flight}: exit {rc}: {stderr.strip()[-300:]}")
            nxt = in_flight + 1
        elif rc != 0 and nxt < cases:
            counts["crash"] += 1
            examples.setdefault("crash", []).append(f"worker exit {rc} between cases: {stderr.strip()[-300:]}")
            nxt += 1
    return {"target": target, "cases": int(sum(counts.values())), "counts": {k: int(counts.get(k, 0)) for k in KINDS},
            "examples": examples, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--targets", nargs="+", default=list(TARGETS), choices=TARGETS)
    p.add_argument("--cases", type=int, default=300, help="cases per target")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the counts here")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per target")
    p.add_argument("--worker", choices=TARGETS, help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        _worker(a.worker, a.seed, a.start, a.count)
        return 0
    results = [run_target(t, a.cases, a.seed, timeout_s=a.timeout, progress=True) for t in a.targets]
    for r in results:
        bad = {k: v for k, v in r["counts"].items() if k != "ok" and v}
        print(f"{r['target']:<10} {r['cases']:>6} cases in {r['seconds']:.0f} s: {r['counts']['ok']} ok; " + (", ".join(f"{v} {k}" for k, v in bad.items()) or "no finding"))
        for kind, ex in r["examples"].items():
            for e in ex[:3]:
                print(f"    {kind}: " + " ".join(e.split())[:240])
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
