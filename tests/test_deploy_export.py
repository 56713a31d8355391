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
    pre = export_onnx(m, d, tokenizer_config={"group_size": K, "n_features": F}, flav_names=[flav_name(i) for i in (0, 8, 7)],
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
        export_onnx(TinyTagger(), tmp_path, tokenizer_config={}, flav_names=["probQCD"], group_size=K, n_features=F)


def test_shipped_model_missing():
    with pytest.raises(FileNotFoundError, match="no shipped model 'nope'"):
        shipped_model_dir("nope")
