"""The shipped default model: files present, preprocess.json matches the ONNX graph, and it
tags freshly generated top vs QCD jets (seeds disjoint from its training data) better than chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from hepjepa.deploy import shipped_model_dir, validate_preprocess
from hepjepa.deploy.preprocess import input_shapes, load_preprocess
from hepjepa.labels import flav_name

N_EACH = 40
# training used seeds 101/102, validation 301/302, the model card's test set 201/202
SEED_TOP, SEED_QCD = 9101, 9102
# 0.5 is chance; with 40+40 jets the AUC of a random scorer has a spread of ~0.065
MIN_AUC = 0.75


@pytest.fixture(scope="module")
def model_dir():
    return shipped_model_dir()


@pytest.fixture(scope="module")
def pre(model_dir):
    return load_preprocess(model_dir)


@pytest.fixture(scope="module")
def fresh_tokens(tmp_path_factory, pre):
    """Generate, write, read back (the same path a user takes) and tokenise 40 top + 40 QCD jets."""
    from hepjepa.data import read_jets
    from hepjepa.features import TokenizerConfig, tokenize
    from hepjepa.generate import write_jets

    d = tmp_path_factory.mktemp("fresh")
    write_jets("tbqq", N_EACH, SEED_TOP, d / "top.root", format="jetclass")
    write_jets("qcd", N_EACH, SEED_QCD, d / "qcd.root", format="jetclass")
    jets = read_jets([str(d / "top.root"), str(d / "qcd.root")])
    labels = np.asarray(jets.label)
    tokens = tokenize(jets, TokenizerConfig.from_dict(pre["tokenizer"]))
    return tokens.model_inputs(), labels


def _auc(scores: np.ndarray, is_signal: np.ndarray) -> float:
    """Mann-Whitney AUC (independent of the package's metrics code)."""
    s, b = scores[is_signal], scores[~is_signal]
    return float(((s[:, None] > b[None, :]).sum() + 0.5 * (s[:, None] == b[None, :]).sum()) / (len(s) * len(b)))


def test_shipped_files_and_size(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    assert {"model.onnx", "preprocess.json", "backbone.pt", "tagger.pt", "MODEL_CARD.md", "metrics.json"} <= names
    total = sum(p.stat().st_size for p in model_dir.iterdir() if p.is_file())
    assert total < 20 * 2**20, f"shipped model folder is {total / 2**20:.1f} MiB; the budget is 20 MiB"


def test_preprocess_matches_onnx(model_dir, pre):
    validate_preprocess(model_dir / "model.onnx", pre)
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == pre["input_names"] == [
        "features", "particle_mask", "group_mask", "centers", "pair_features"]
    assert [o.name for o in sess.get_outputs()] == pre["output_names"]
    shapes = input_shapes(pre)
    for i in sess.get_inputs():
        assert len(i.shape) == len(shapes[i.name])
    # feature width and group size in the graph are the tokeniser's
    k, f = shapes["features"][2], shapes["features"][3]
    assert k == pre["tokenizer"]["group_size"]
    assert f == len(pre["tokenizer"]["features"])
    assert pre["flav_names"] == [flav_name(0), flav_name(8)] == ["probQCD", "probTbqq"]


def test_metrics_in_card_match_metrics_json(model_dir):
    card = (model_dir / "MODEL_CARD.md").read_text()
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert f"{metrics['accuracy']:.3f}" in card


def test_onnxruntime_separates_fresh_top_from_qcd(model_dir, pre, fresh_tokens):
    inputs, labels = fresh_tokens
    assert set(labels) == {0, 8}
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    scores = sess.run(pre["output_names"], {k: inputs[k] for k in pre["input_names"]})[0]
    assert scores.shape == (len(labels), 2)
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-5)
    p_top = scores[:, pre["flav_names"].index("probTbqq")]
    auc = _auc(p_top, labels == 8)
    assert auc > MIN_AUC, f"AUC {auc:.3f} on fresh jets; expected > {MIN_AUC}"


def test_onnx_matches_torch_tagger(model_dir, pre, fresh_tokens):
    torch = pytest.importorskip("torch")
    from hepjepa.downstream.tagger import load_tagger

    inputs, _ = fresh_tokens
    tagger = load_tagger(model_dir / "tagger.pt")
    with torch.no_grad():
        want = tagger(*(torch.from_numpy(inputs[k]) for k in pre["input_names"])).numpy()
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(pre["output_names"], {k: inputs[k] for k in pre["input_names"]})[0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_jet_tag_producer_runs_shipped_model(model_dir, pre, fresh_tokens):
    try:
        import hepjepa
        producer_cls = hepjepa.JetTagProducer
    except ImportError as err:  # the C++ bridge is an optional build
        pytest.skip(f"C++ bridge not built: {err}")
    inputs, labels = fresh_tokens
    p = producer_cls(model_path=str(model_dir / "model.onnx"), preprocess_json=str(model_dir / "preprocess.json"))
    assert list(p.flav_names) == pre["flav_names"]
    got = p.produce({k: inputs[k] for k in pre["input_names"]})
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    want = sess.run(pre["output_names"], {k: inputs[k] for k in pre["input_names"]})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
