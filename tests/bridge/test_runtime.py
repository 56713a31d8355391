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


# ---- hardening against hostile inputs (fuzz campaign findings) ---------------------------------------


@pytest.mark.parametrize("bad, shown", [(1e30, r"1e\+30 \(float\)"), (True, r"True \(bool\)"), (2.0, r"2.0 \(float\)"),
                                        (2**62, "4611686018427387904"), (-1, "-1"), ("2", r"'2' \(str\)")])
def test_input_shapes_entries_are_ints(model, bad, shown):
    """1e30 in input_shapes used to come out as -9223372036854775808; 2**62 wrapped the size check to 0 (finding 2g)."""
    rt = ONNXRuntime(model)
    x = random_inputs(2, n_groups=3)
    shapes = [[2, 4], [2, 3, 3]]
    shapes[1][1] = bad
    with pytest.raises(ValueError, match=rf"input_shapes\[1\] \(input 'groups'\) axis 1 is {shown}.*expected an int in 0\.\.1099511627776"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], shapes)
    # NumPy integers are integers
    got = rt.run(["jet", "groups"], [x["jet"], x["groups"]], [[np.int64(2), 4], list(np.array([2, 3, 3]))])
    assert got[0].shape == (2, 5)
    with pytest.raises(ValueError, match="input_shapes must be a list"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], "23")
    with pytest.raises(ValueError, match=r"batch_size is 1e\+30 \(float\)"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], batch_size=1e30)


def test_axes_sharing_a_name_must_agree(model):
    rt = ONNXRuntime(model)
    x = random_inputs(3, n_groups=3)
    with pytest.raises(ValueError, match=r"input 'groups' axis 0 has size 2, but input 'jet' axis 0 has size 3.*'batch'"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"][:2]], [[3, 4], [2, 3, 3]])


def test_call_limits(model):
    """One call of 1e6 jets used to be OOM-killed (~24 GB); the runtime refuses past max_batch / max_elements (finding 4)."""
    from hepjepa._core import ConfigError

    rt = ONNXRuntime(model)
    assert (rt.max_batch, rt.max_elements) == (16384, 2**27)
    n = rt.max_batch + 1
    x = random_inputs(n, n_groups=1)
    with pytest.raises(ValueError, match=r"has 16385 jets \(axis 0\).*max_batch = 16384.*JetTagProducer"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], [list(v.shape) for v in x.values()])
    with pytest.raises(ValueError, match=r"batch_size is 16385; expected an int in 1\.\.16384"):
        rt.run(["jet", "groups"], [x["jet"], x["groups"]], batch_size=n)
    small = ONNXRuntime(model, max_batch=4, max_elements=30)
    x = random_inputs(4, n_groups=2)
    with pytest.raises(ValueError, match=r"40 values in all.*max_elements = 30.*JetTagProducer"):
        small.run(["jet", "groups"], [x["jet"], x["groups"]], [[4, 4], [4, 2, 3]])
    big = ONNXRuntime(model, max_batch=n)
    x = random_inputs(n, n_groups=1)
    assert big.run(["jet", "groups"], [x["jet"], x["groups"]], [list(v.shape) for v in x.values()])[0].shape == (n, 5)
    for kw, match in [({"intra_op_threads": 2**32 + 1}, "intra_op_threads is 4294967297"), ({"max_batch": 0}, "max_batch is 0"),
                      ({"max_elements": 2**41}, "max_elements is 2199023255552"), ({"intra_op_threads": 1.5}, r"1.5 \(float\)")]:
        with pytest.raises(ConfigError, match=match):
            ONNXRuntime(model, **kw)
