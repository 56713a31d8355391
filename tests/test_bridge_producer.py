"""hepjepa.JetTagProducer: parity, batching, threads, parameters and errors."""

from __future__ import annotations

import threading

import numpy as np
import onnxruntime
import pytest

from _onnx_models import N_CLASSES, random_inputs, write_preprocess, write_tagger

from hepjepa.bridge import JetTagProducer

FLAV = [f"prob{i}" for i in range(N_CLASSES)]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(write_tagger(tmp_path_factory.mktemp("m") / "tagger.onnx"))


def _reference(model, x):
    return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]).run(["scores"], x)[0]


@pytest.mark.parametrize("n", [1, 2, 4, 37])
@pytest.mark.parametrize("batch_size", [1, 4, 256])
def test_parity_any_batching(model, n, batch_size):
    x = random_inputs(n, n_groups=6, seed=n)
    p = JetTagProducer(model_path=model, flav_names=FLAV, batch_size=batch_size)
    got = p.produce(x)
    assert got.shape == (n, N_CLASSES) and got.dtype == np.float32
    np.testing.assert_allclose(got, _reference(model, x), rtol=0, atol=1e-6)
    if batch_size >= n:  # one ORT call with the same shapes: bitwise identical
        np.testing.assert_array_equal(got, _reference(model, x))


def test_fewer_flav_names_take_first_columns(model):
    x = random_inputs(5)
    got = JetTagProducer(model_path=model, flav_names=FLAV[:2]).produce(x)
    np.testing.assert_array_equal(got, _reference(model, x)[:, :2])


def test_preprocess_json_and_from_pset(model, tmp_path):
    pre = write_preprocess(tmp_path / "preprocess.json", flav_names=list("abcde"))
    p = JetTagProducer.from_pset({"model_path": model, "preprocess_json": str(pre)})
    assert p.flav_names == list("abcde") and p.input_names == ["jet", "groups"]
    x = random_inputs(3, n_groups=2)
    np.testing.assert_array_equal(p.produce(x), _reference(model, x))
    bad = write_preprocess(tmp_path / "bad.json", input_shapes=[[-1, 4], [-1, -1, 7]])
    with pytest.raises(ValueError, match="groups"):
        JetTagProducer(model_path=model, preprocess_json=str(bad))


def test_threads_share_one_producer(model):
    p = JetTagProducer(model_path=model, flav_names=FLAV, batch_size=8)
    inputs = [random_inputs(n, n_groups=3 + n % 4, seed=n) for n in range(1, 20)]
    serial = [p.produce(x) for x in inputs]
    errors = []

    def work():
        for _ in range(10):
            for x, want in zip(inputs, serial):
                if not np.array_equal(p.produce(x), want):
                    errors.append(x["jet"].shape[0])

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []


def test_empty_batch(model):
    p = JetTagProducer(model_path=model, flav_names=FLAV)
    out = p.produce(random_inputs(0))
    assert out.shape == (0, N_CLASSES)


def test_bad_inputs(model):
    p = JetTagProducer(model_path=model, flav_names=FLAV)
    x = random_inputs(3)
    with pytest.raises(ValueError, match="'jets'"):
        p.produce({"jets": x["jet"], "groups": x["groups"]})
    with pytest.raises(ValueError, match="float32"):
        p.produce({"jet": x["jet"].astype(np.float64), "groups": x["groups"]})
    with pytest.raises(ValueError, match="C-contiguous"):
        p.produce({"jet": x["jet"], "groups": x["groups"][:, ::2]})
    with pytest.raises(ValueError, match="rank"):
        p.produce({"jet": x["jet"], "groups": x["groups"].reshape(3, -1)})
    with pytest.raises(ValueError, match="jets"):
        p.produce({"jet": x["jet"][:2], "groups": x["groups"]})


def test_parameters(model, tmp_path):
    with pytest.raises(KeyError, match="modl_path.*model_path"):
        JetTagProducer(modl_path=model, flav_names=FLAV)
    with pytest.raises(KeyError, match="model_path"):
        JetTagProducer(flav_names=FLAV)
    with pytest.raises(ValueError, match="flav_names has 6 names.*only 5"):
        JetTagProducer(model_path=model, flav_names=FLAV + ["extra"])
    with pytest.raises(ValueError, match="batch_size"):
        JetTagProducer(model_path=model, flav_names=FLAV, batch_size=0)
    with pytest.raises(FileNotFoundError, match="nothere.onnx"):
        JetTagProducer(model_path=str(tmp_path / "nothere.onnx"), flav_names=FLAV)
    assert "preprocess_json" in JetTagProducer.valid_keys()


@pytest.mark.parametrize("bad", [{"jet": [-1, 4], "groups": [-1, -1, 3]}, "abc", [[-1, "x"], [-1, -1, 3]], 5, None])
def test_wrong_type_input_shapes_in_preprocess_json_refused(model, tmp_path, bad):
    """A dict (or any non list-of-int-lists) ``input_shapes`` is a typed ConfigError naming the key, never a crash."""
    import json

    from hepjepa._core import ConfigError

    pre = write_preprocess(tmp_path / "preprocess.json")
    d = json.loads(pre.read_text())
    d["input_shapes"] = bad
    pre.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match=r"key 'input_shapes' must be a list of integer lists") as e:
        JetTagProducer(model_path=model, preprocess_json=str(pre))
    assert str(pre) in str(e.value)
    # the same dict handed as a parameter is refused by name too
    with pytest.raises(ConfigError, match="parameter 'input_shapes'"):
        JetTagProducer(model_path=model, flav_names=FLAV, input_shapes={"jet": [-1, 4]})
    with pytest.raises(ConfigError, match="parameter 'input_shapes'"):
        JetTagProducer.from_pset({"model_path": model, "flav_names": FLAV, "input_shapes": {"jet": [-1, 4]}})


def test_preprocess_json_not_an_object_refused(model, tmp_path):
    from hepjepa._core import ConfigError

    pre = tmp_path / "preprocess.json"
    pre.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object, got array"):
        JetTagProducer(model_path=model, preprocess_json=str(pre))
    d = write_preprocess(tmp_path / "p2.json")
    import json

    j = json.loads(d.read_text())
    j["flav_names"] = {"a": 1}
    d.write_text(json.dumps(j))
    with pytest.raises(ConfigError, match="key 'flav_names' must be a list of strings, got object"):
        JetTagProducer(model_path=model, preprocess_json=str(d))


def test_default_batch_size_is_one_number_everywhere(model):
    """The C++ default, the job-config schema and the one inference path all use hepjepa.contract.DEFAULT_BATCH_SIZE."""
    import inspect

    from hepjepa.contract import DEFAULT_BATCH_SIZE
    from hepjepa.deploy import JetTagger
    from hepjepa.reco.config import MODULE_SCHEMAS

    assert JetTagProducer(model_path=model, flav_names=FLAV).batch_size == DEFAULT_BATCH_SIZE
    assert MODULE_SCHEMAS["JetTagProducer"]["batch_size"].value == DEFAULT_BATCH_SIZE
    assert inspect.signature(JetTagger).parameters["batch_size"].default == DEFAULT_BATCH_SIZE
