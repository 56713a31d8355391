"""hepjepa.ONNXRuntime (C++) vs Python onnxruntime, and its errors."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from _onnx_models import random_inputs, write_tagger

from hepjepa.bridge import ONNXRuntime, ort_version


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(write_tagger(tmp_path_factory.mktemp("m") / "tagger.onnx"))


def test_ort_version_matches_python():
    assert ort_version() == onnxruntime.__version__


def test_metadata(model):
    rt = ONNXRuntime(model)
    assert rt.input_names == ["jet", "groups"]
    assert rt.output_names == ["scores", "embedding"]
    assert rt.output_shape("scores") == [-1, 5]
    with pytest.raises(ValueError, match="nope"):
        rt.output_shape("nope")


@pytest.mark.parametrize("n", [1, 2, 4, 37])
def test_parity_with_python_onnxruntime(model, n):
    ref = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = random_inputs(n, n_groups=5, seed=n)
    want = ref.run(None, x)
    got = ONNXRuntime(model).run(["jet", "groups"], [x["jet"], x["groups"]], [list(v.shape) for v in x.values()])
    assert len(got) == 2
    for w, g in zip(want, got):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_batch_size_fills_dynamic_axes(model):
    x = random_inputs(3, n_groups=3)
    (scores,) = ONNXRuntime(model).run(["jet", "groups"], [x["jet"], x["groups"]], output_names=["scores"], batch_size=3)
    ref = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]).run(["scores"], x)[0]
    np.testing.assert_array_equal(scores, ref)


def test_bad_inputs(model):
    rt = ONNXRuntime(model)
    x = random_inputs(2, n_groups=3)
    shapes = [[2, 4], [2, 3, 3]]
    with pytest.raises(ValueError, match="'grups'"):
        rt.run(["jet", "grups"], [x["jet"], x["groups"]], shapes)
    with pytest.raises(ValueError, match=r"input 'groups' has 18 values, expected 24"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], [[2, 4], [2, 4, 3]])
    with pytest.raises(ValueError, match="rank"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], [[2, 4], [6, 3]])
    with pytest.raises(ValueError, match="float32"):
        rt.run(["jet", "groups"], [x["jet"].astype(np.float64), x["groups"]], shapes)
    with pytest.raises(ValueError, match="C-contiguous"):
        rt.run(["jet", "groups"], [np.asfortranarray(x["jet"]), x["groups"]], shapes)


def test_missing_and_corrupt_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        ONNXRuntime(str(tmp_path / "missing.onnx"))
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(RuntimeError, match="corrupt.onnx"):
        ONNXRuntime(str(bad))
