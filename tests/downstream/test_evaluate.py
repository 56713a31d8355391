"""hepjepa.downstream.evaluate: metrics.json keyed like preprocess.json (probXxx), strict JSON, plots."""

import json

import numpy as np
import pytest

from hepjepa.downstream.evaluate import evaluate_scores
from hepjepa.labels import flav_name


def _toy(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    s = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
    return np.exp(s) / np.exp(s).sum(1, keepdims=True), y


def test_metrics_json_keys_are_flav_names_and_plots_written(tmp_path):
    p, y = _toy()
    emb = np.random.default_rng(0).normal(size=(90, 4)) + y[:, None]
    classes = ["label_QCD", "label_Wqq", "label_Tbqq"]
    rep = evaluate_scores(p, y, classes, tmp_path, embeddings=emb)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["accuracy"] == pytest.approx(rep["accuracy"])
    assert m["flav_names"] == ["probQCD", "probWqq", "probTbqq"] == [flav_name(c) for c in classes]
    assert m["class_labels"] == classes
    assert set(m["auc"]) == {"probQCD", "probWqq", "probTbqq"}
    assert set(m["rejection"]) == {"probWqq", "probTbqq"}  # each class vs QCD
    assert not any(k.startswith("label_") for k in (*m["auc"], *m["rejection"]))
    for f in ("roc.png", "confusion.png", "tsne.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"


def test_short_and_prob_names_give_the_same_keys(tmp_path):
    p, y = _toy()
    a = evaluate_scores(p, y, ["QCD", "wqq", "probTbqq"], tmp_path / "a")
    b = evaluate_scores(p, y, ["label_QCD", "label_Wqq", "label_Tbqq"], tmp_path / "b")
    assert a["auc"] == b["auc"] and a["flav_names"] == b["flav_names"]


def test_infinite_rejection_written_as_null(tmp_path):
    # perfectly separated: no QCD jet passes at eS = 30 %, so 1/eB is infinite
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    s = np.r_[np.linspace(0.05, 0.4, 20), np.linspace(0.6, 0.95, 20)]
    rep = evaluate_scores(np.c_[1 - s, s], y, ["label_QCD", "label_Tbqq"], tmp_path)
    assert rep["rejection"]["probTbqq"]["eS=0.3"] == float("inf")
    text = (tmp_path / "metrics.json").read_text()
    assert "Infinity" not in text
    assert json.loads(text)["rejection"]["probTbqq"]["eS=0.3"] is None


def test_unknown_class_name_raises_naming_it(tmp_path):
    p, y = _toy()
    with pytest.raises(KeyError, match="label_Foo"):
        evaluate_scores(p, y, ["label_QCD", "label_Foo", "label_Tbqq"], tmp_path)
