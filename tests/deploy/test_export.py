"""Export a tiny tagger with the contract's five inputs; PyTorch vs onnxruntime (vs C++ when built)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from hepjepa.deploy import PreprocessMismatchError, export_onnx, load_preprocess, shipped_model_dir, validate_preprocess
from hepjepa.deploy.export import example_inputs
from hepjepa.labels import flav_name

K, F, NCLS = 4, 5, 3
from hepjepa.features import DEFAULT_FEATURES, TokenizerConfig  # noqa: E402

#: a valid tokeniser of K-particle groups and F features (the kinematic ones: no particle identification needed)
TOK = TokenizerConfig(group_size=K, features=DEFAULT_FEATURES[:F]).to_dict()


class TinyTagger(torch.nn.Module):
    """Masked group pooling + pairwise term + linear head: exercises every input and the dynamic G axis."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Linear(F, 8)
        self.center = torch.nn.Linear(2, 8)
        self.pair = torch.nn.Linear(4, 1)
        self.head = torch.nn.Linear(8, NCLS)

    def forward(self, features, particle_mask, group_mask, centers, pair_features):
        h = torch.relu(self.embed(features)) * particle_mask.unsqueeze(-1)  # (B, G, K, 8)
        g = h.sum(2) / particle_mask.sum(2, keepdim=True).clamp(min=1.0)  # (B, G, 8)
        bias = self.pair(pair_features).squeeze(-1)  # (B, G, G)
        attn = torch.softmax(bias + (group_mask.unsqueeze(1) - 1.0) * 1e4, dim=-1)  # (B, G, G), padding -> 0
        g = attn @ (g + self.center(centers))  # (B, G, 8)
        pooled = (g * group_mask.unsqueeze(-1)).sum(1) / group_mask.sum(1, keepdim=True)  # (B, 8)
        return torch.softmax(self.head(pooled), dim=-1)  # (B, NCLS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    m = TinyTagger()
    pre = export_onnx(m, d, tokenizer_config=TOK, flav_names=[flav_name(i) for i in (0, 8, 7)],
                      group_size=K, n_features=F)
    return m, d, pre


def test_preprocess_json_content(exported):
    _, d, pre = exported
    assert pre == load_preprocess(d)
    assert pre["flav_names"] == ["probQCD", "probTbqq", "probWqq"]
    assert pre["input_names"] == ["features", "particle_mask", "group_mask", "centers", "pair_features"]
    assert pre["input_shapes"][0] == [-1, -1, K, F]
    assert pre["output_names"] == ["scores"]
    assert len(pre["sha256"]["weights"]) == 64
    validate_preprocess(d / "model.onnx", d / "preprocess.json")


@pytest.mark.parametrize("batch", [1, 2, 4])
@pytest.mark.parametrize("groups", [1, 3, 8, 13])
def test_parity_torch_onnxruntime(exported, batch, groups):
    m, d, _ = exported
    x = example_inputs(groups, K, F, batch=batch, seed=batch * 100 + groups)
    with torch.no_grad():
        ref = m(*(torch.from_numpy(x[n]) for n in x)).numpy()
    sess = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(["scores"], x)[0]
    assert got.shape == (batch, NCLS)
    assert np.max(np.abs(got - ref)) <= 1e-4


@pytest.mark.parametrize("batch", [1, 4])
def test_parity_cpp_producer(exported, batch):
    import hepjepa

    try:
        producer_cls = hepjepa.JetTagProducer
    except (ImportError, AttributeError) as exc:  # the bridge layer is built separately
        pytest.skip(f"C++ bridge not available: {exc}")
    m, d, pre = exported
    prod = producer_cls(model_path=str(d / "model.onnx"), preprocess_json=str(d / "preprocess.json"),
                        input_names=pre["input_names"], output_names=pre["output_names"], flav_names=pre["flav_names"])
    x = example_inputs(5, K, F, batch=batch, seed=7)
    with torch.no_grad():
        ref = m(*(torch.from_numpy(x[n]) for n in x)).numpy()
    assert np.max(np.abs(prod.produce(x) - ref)) <= 1e-4


def test_mismatched_preprocess_refused(exported, tmp_path):
    _, d, pre = exported
    bad = json.loads(json.dumps(pre))
    bad["input_shapes"][0] = [-1, -1, K + 1, F]
    bad["flav_names"] = ["probQCD"]
    bad["sha256"]["onnx"] = "0" * 64
    with pytest.raises(PreprocessMismatchError, match=r"(?s)features.*axis 2.*sha256") as e:
        validate_preprocess(d / "model.onnx", bad)
    assert "output width 3 != 1" in str(e.value)
    bad2 = json.loads(json.dumps(pre))
    bad2["input_names"] = ["features", "mask"]
    with pytest.raises(PreprocessMismatchError, match="input names"):
        validate_preprocess(d / "model.onnx", bad2)


def test_wrong_output_width_refused(tmp_path):
    with pytest.raises(ValueError, match="flav_names"):
        export_onnx(TinyTagger(), tmp_path, tokenizer_config=TOK, flav_names=["probQCD"], group_size=K, n_features=F)


def test_shipped_model_missing():
    with pytest.raises(FileNotFoundError, match="no shipped model 'nope'"):
        shipped_model_dir("nope")


# ---- parity on real generated jets: PyTorch vs onnxruntime vs C++ JetTagProducer --------------------------


@pytest.fixture(scope="module")
def real_jets(tmp_path_factory):
    """A few Pythia jets (top and QCD), written in the JetClass layout and read back by hepjepa.data."""
    pytest.importorskip("pythia8mc")
    from hepjepa.data import read_jets
    from hepjepa.generate import write_jets

    d = tmp_path_factory.mktemp("jets")
    write_jets("tbqq", 3, 4242, d / "top.root", format="jetclass")
    write_jets("qcd", 3, 4343, d / "qcd.root", format="jetclass")
    import awkward as ak

    return ak.concatenate([read_jets(str(d / "top.root")), read_jets(str(d / "qcd.root"))])


@pytest.fixture(scope="module")
def shipped_and_fresh(tmp_path_factory):
    """(name, torch tagger, model dir) for the shipped ONNX model and a fresh export of the same checkpoint."""
    import argparse

    from hepjepa.deploy import export_cli
    from hepjepa.downstream.tagger import load_tagger

    ship = shipped_model_dir()
    ckpt = ship / "tagger.pt"
    if not ckpt.is_file():
        pytest.skip(f"shipped model has no checkpoint {ckpt}")
    fresh = tmp_path_factory.mktemp("fresh")
    assert export_cli.run(argparse.Namespace(checkpoint=str(ckpt), output=str(fresh), trace_groups=8)) == 0
    return load_tagger(ckpt), {"shipped": ship, "fresh": fresh}


def _truncate(jets, n):
    import awkward as ak

    return ak.zip({f: (jets[f][:, :n] if jets[f].ndim == 2 else jets[f]) for f in jets.fields}, depth_limit=1)


@pytest.mark.parametrize("which", ["shipped", "fresh"])
def test_parity_real_jets_batches_and_group_counts(real_jets, shipped_and_fresh, which):
    """max |PyTorch - ORT| and |PyTorch - C++| <= 1e-4 at batch 1, 2, 4 and G = 1, small, max and padded."""
    import dataclasses

    import hepjepa
    from hepjepa.features import TokenizerConfig, tokenize

    model, dirs = shipped_and_fresh
    d = dirs[which]
    pre = validate_preprocess(d / "model.onnx", d / "preprocess.json")
    tok = TokenizerConfig.from_dict(pre["tokenizer"])
    sess = ort.InferenceSession(str(d / "model.onnx"), providers=["CPUExecutionProvider"])
    prod = hepjepa.JetTagProducer(model_path=str(d / "model.onnx"), preprocess_json=str(d / "preprocess.json"))
    assert prod.flav_names == pre["flav_names"]
    variants = {  # jets cut to their first n constituents -> controlled group counts
        "G=1": (_truncate(real_jets, 2), tok),
        "G small": (_truncate(real_jets, 12), tok),
        "G max": (real_jets, tok),
        "G padded": (real_jets, dataclasses.replace(tok, pad_to_groups=tok.max_groups + 3)),
    }
    seen_g = {}
    for name, (jets, cfg) in variants.items():
        for batch in (1, 2, 4):
            # mix top and QCD jets in a batch (jets 0-2 top, 3-5 QCD)
            sub = jets[[0, 3, 1, 4][:batch]]
            x = tokenize(sub, cfg).model_inputs()
            seen_g[name] = x["group_mask"].shape[1]
            with torch.no_grad():
                ref = model(*(torch.from_numpy(x[n]) for n in pre["input_names"])).numpy()  # (B, n_flav)
            got_ort = sess.run(["scores"], x)[0]
            got_cpp = prod.produce(x)
            assert ref.shape == got_ort.shape == got_cpp.shape == (batch, len(pre["flav_names"]))
            assert np.isfinite(ref).all()
            assert np.max(np.abs(got_ort - ref)) <= 1e-4, (name, batch)
            assert np.max(np.abs(got_cpp - ref)) <= 1e-4, (name, batch)
    assert seen_g["G=1"] == 1 and 1 < seen_g["G small"] < seen_g["G max"] <= tok.max_groups
    assert seen_g["G padded"] == tok.max_groups + 3


def test_fresh_export_of_shipped_checkpoint_matches_shipped(shipped_and_fresh):
    """Re-exporting the shipped checkpoint reproduces its preprocess.json (weights hash, flavours, inputs)."""
    _, dirs = shipped_and_fresh
    a, b = load_preprocess(dirs["shipped"]), load_preprocess(dirs["fresh"])
    for k in ("input_names", "input_shapes", "output_names", "flav_names", "tokenizer"):
        assert a[k] == b[k], k
    assert a["sha256"]["weights"] == b["sha256"]["weights"]
    assert b["class_labels"] == ["label_QCD", "label_Tbqq"]


class NoPairTagger(TinyTagger):
    """Pair bias off: ``pair_features`` is not used by the forward pass."""

    def forward(self, features, particle_mask, group_mask, centers, pair_features):
        h = torch.relu(self.embed(features)) * particle_mask.unsqueeze(-1)  # (B, G, K, 8)
        g = h.sum(2) / particle_mask.sum(2, keepdim=True).clamp(min=1.0) + self.center(centers)  # (B, G, 8)
        pooled = (g * group_mask.unsqueeze(-1)).sum(1) / group_mask.sum(1, keepdim=True)  # (B, 8)
        return torch.softmax(self.head(pooled), dim=-1)  # (B, NCLS)


def test_unused_input_kept_in_graph(tmp_path):
    """An input the model ignores is still one of the five graph inputs, in contract order, and harmless."""
    import onnx

    m = NoPairTagger()
    pre = export_onnx(m, tmp_path, tokenizer_config=TOK, flav_names=["probQCD", "probTbqq", "probWqq"],
                      group_size=K, n_features=F)
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["features", "particle_mask", "group_mask", "centers", "pair_features"]
    assert pre["input_names"] == [i.name for i in graph.input] and len(pre["input_shapes"]) == 5
    x = example_inputs(6, K, F, batch=3, seed=1)
    with torch.no_grad():
        ref = m(*(torch.from_numpy(x[n]) for n in x)).numpy()
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(["scores"], x)[0], ref, atol=1e-6)
    # the unused input really is unused: NaN there changes nothing (a 0 * x keep-alive would give NaN)
    x_nan = {**x, "pair_features": np.full_like(x["pair_features"], np.nan)}
    np.testing.assert_allclose(sess.run(["scores"], x_nan)[0], ref, atol=1e-6)


def test_class_labels_consistent_with_evaluate_names(exported):
    """preprocess.json's class_labels are hepjepa.labels' label names (`hepjepa evaluate`'s metrics carry the same list)."""
    from hepjepa.deploy.export import class_labels
    from hepjepa.labels import JETCLASS_LABELS

    _, d, pre = exported
    assert pre["class_labels"] == ["label_QCD", "label_Tbqq", "label_Wqq"]
    assert all(lab in JETCLASS_LABELS for lab in pre["class_labels"])
    assert class_labels(["probHbb"]) == ["label_Hbb"]
    with pytest.raises(KeyError, match="'scoreX'"):
        class_labels(["scoreX"])
    bad = json.loads(json.dumps(pre))
    bad["class_labels"] = ["label_QCD", "label_Wqq", "label_Tbqq"]
    with pytest.raises(PreprocessMismatchError, match="class_labels"):
        validate_preprocess(d / "model.onnx", bad)
    bad["input_shapes"] = dict(zip(pre["input_names"], pre["input_shapes"]))
    with pytest.raises(PreprocessMismatchError, match="'input_shapes' must be a list"):
        validate_preprocess(d / "model.onnx", bad)
