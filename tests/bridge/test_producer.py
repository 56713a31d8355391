"""hepjepa.JetTagProducer: parity, batching, threads, parameters and errors."""

from __future__ import annotations

import threading

import numpy as np
import onnxruntime
import pytest
from _onnx_models import (
    MULTI_OUTPUTS,
    N_CLASSES,
    random_contract_inputs,
    random_inputs,
    write_contract_preprocess,
    write_contract_tagger,
    write_multi_output_preprocess,
    write_multi_output_tagger,
    write_preprocess,
    write_tagger,
)

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


def test_fewer_flav_names_refused(model):
    """Fewer flav_names than output columns used to drop the last columns silently (fuzz finding 2d)."""
    from hepjepa._core import ConfigError

    with pytest.raises(ConfigError, match=r"flav_names has only 2 name\(s\) \[prob0, prob1\].*'scores' has 5 columns"):
        JetTagProducer(model_path=model, flav_names=FLAV[:2])


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


# ---- hardening against hostile inputs (fuzz campaign findings) ---------------------------------------


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    """(model, preprocess.json) with hepjepa's five inputs, masks and axis names; sha256 recorded."""
    d = tmp_path_factory.mktemp("c")
    m = write_contract_tagger(d / "model.onnx")
    return str(m), str(write_contract_preprocess(d / "preprocess.json", model_path=m))


def _producer(contract, **kw):
    model, pre = contract
    return JetTagProducer(model_path=model, preprocess_json=pre, **kw)


def test_untagged_marker_and_status_codes_are_contract_numbers():
    """contract.py is the source; the C++ copies must agree."""
    from hepjepa import _core
    from hepjepa.contract import TAG_STATUS, UNTAGGED_SCORE

    assert _core.UNTAGGED_SCORE == UNTAGGED_SCORE
    assert _core.TAG_STATUS == TAG_STATUS


def test_produce_with_status(contract):
    p = _producer(contract, batch_size=3)
    x = random_contract_inputs(7, n_groups=5)
    scores, status = p.produce_with_status(x)
    assert scores.shape == (7, 3) and scores.dtype == np.float32 and status.shape == (7,) and status.dtype == np.int8
    assert (status == 0).all()
    np.testing.assert_array_equal(scores, p.produce(x))
    np.testing.assert_allclose(scores, _reference(contract[0], x), rtol=0, atol=1e-6)
    s0, st0 = p.produce_with_status(random_contract_inputs(0))
    assert s0.shape == (0, 3) and st0.shape == (0,)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", ["features", "centers", "pair_features"])
def test_nonfinite_input_refused_with_index(contract, bad, name):
    """NaN/inf inputs used to give NaN scores without a word (finding 2a)."""
    x = random_contract_inputs(4, n_groups=3)
    idx = (2, 1) + (0,) * (x[name].ndim - 2)
    x[name][idx] = bad
    with pytest.raises(ValueError, match=rf"input '{name}' holds {bad} at index \({', '.join(map(str, idx))}\)"):
        _producer(contract).produce(x)


def test_huge_finite_input_gives_untagged_row_not_nan(contract):
    """Finite values that overflow inside the model: that jet is -1 / nonfinite_score, the others unchanged."""
    p = _producer(contract, batch_size=2)
    x = random_contract_inputs(5, n_groups=3)
    want = p.produce(x)
    for v in (3.4e38, -3.4e38):
        y = {k: a.copy() for k, a in x.items()}
        y["pair_features"][3, 0, :, 0] = v  # their sum overflows to inf
        scores, status = p.produce_with_status(y)
        assert not np.isnan(scores).any()
        np.testing.assert_array_equal(status, [0, 0, 0, 4, 0])
        np.testing.assert_array_equal(scores[3], [-1.0] * 3)
        np.testing.assert_array_equal(np.delete(scores, 3, 0), np.delete(want, 3, 0))


def test_group_counts_must_agree(contract):
    """A 1-group ``centers`` against 4 groups used to broadcast and score (finding 2b)."""
    p = _producer(contract)
    x = random_contract_inputs(3, n_groups=4)
    y = dict(x, centers=np.ascontiguousarray(x["centers"][:, :1]))
    with pytest.raises(ValueError, match=r"input 'centers' axis 1 has size 1, but input 'features' axis 1 has size 4.*'groups'"):
        p.produce(y)
    y = dict(x, pair_features=np.ascontiguousarray(x["pair_features"][:, :, :3]))
    with pytest.raises(ValueError, match=r"input 'pair_features' axis 2 has size 3.*axis 1 has size 4"):
        p.produce(y)
    y = dict(x, group_mask=np.ascontiguousarray(x["group_mask"][:2]))
    with pytest.raises(ValueError, match=r"input 'group_mask' has 2 jets, input 'features' has 3"):
        p.produce(y)
    y = dict(x, features=np.zeros((3, 4, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"input 'features' has shape \(3, 4, 2, 4\).*axis 3 must be 3"):
        p.produce(y)


def test_jets_without_real_groups_are_untagged(contract):
    """An empty jet used to get a confident score (probQCD 0.998) (finding 2c)."""
    p = _producer(contract, batch_size=2)
    x = random_contract_inputs(6, n_groups=4, seed=5)
    empty = [1, 2, 5]
    y = {k: v.copy() for k, v in x.items()}
    for k in y:
        y[k][empty] = 0
    scores, status = p.produce_with_status(y)
    np.testing.assert_array_equal(status, [0, 1, 1, 0, 0, 1])
    assert (scores[empty] == -1.0).all()
    kept = [0, 3, 4]
    # not run at all: the real jets are what a call without the empty ones gives, bit for bit
    np.testing.assert_array_equal(scores[kept], p.produce({k: np.ascontiguousarray(v[kept]) for k, v in y.items()}))
    np.testing.assert_allclose(scores[kept], _reference(contract[0], x)[kept], rtol=0, atol=1e-6)
    y["group_mask"][:] = 0
    scores, status = p.produce_with_status(y)
    assert (status == 1).all() and (scores == -1.0).all()


@pytest.mark.parametrize("value", [0.5, 2.0, -1.0])
@pytest.mark.parametrize("name", ["group_mask", "particle_mask"])
def test_masks_hold_only_0_and_1(contract, name, value):
    x = random_contract_inputs(3, n_groups=3)
    x[name][(1, 2) + (0,) * (x[name].ndim - 2)] = value
    with pytest.raises(ValueError, match=rf"mask input '{name}' holds {value:g} at index \(1, 2"):
        _producer(contract).produce(x)


def test_zero_groups_untag_every_jet(contract, model, tmp_path):
    """0 groups used to fail inside ONNX Runtime naming a Gemm node (finding 2f)."""
    scores, status = _producer(contract).produce_with_status(random_contract_inputs(3, n_groups=0))
    assert scores.shape == (3, 3) and (scores == -1.0).all() and (status == 1).all()
    p = JetTagProducer(model_path=model, flav_names=FLAV)  # no group_mask: the axis named "groups"
    scores, status = p.produce_with_status(random_inputs(2, n_groups=0))
    assert (scores == -1.0).all() and (status == 1).all()
    # any other empty axis is a caller's bug
    other = str(write_tagger(tmp_path / "g.onnx", group_axis="G"))
    with pytest.raises(ValueError, match=r"input 'groups' has shape \(2, 0, 3\): axis 1 is empty"):
        JetTagProducer(model_path=other, flav_names=FLAV).produce(random_inputs(2, n_groups=0))


@pytest.mark.parametrize("key, value, match", [
    ("intra_op_threads", 2**32 + 1, r"'intra_op_threads' must be in 1..1024, got 4294967297"),
    ("intra_op_threads", 0, r"'intra_op_threads' must be in 1..1024, got 0"),
    ("batch_size", 2**31, r"'batch_size' must be in 1..1048576, got 2147483648"),
    ("batch_size", -1, r"'batch_size' must be in 1..1048576, got -1"),
    ("batch_size", 2**64, r"'batch_size' is 18446744073709551616, which does not fit in a 64-bit integer"),
])
def test_integer_parameters_range_checked(model, key, value, match):
    """2**32 + 1 threads used to become 1; batch_size 2**31 wrapped a size check (finding 2e)."""
    from hepjepa._core import ConfigError

    with pytest.raises(ConfigError, match=match):
        JetTagProducer(model_path=model, flav_names=FLAV, **{key: value})


def test_list_parameters_must_hold_strings(model):
    from hepjepa._core import ConfigError

    with pytest.raises(ConfigError, match=r"parameter 'flav_names' must be a list of strings; item 1 is 3 \(int\)"):
        JetTagProducer(model_path=model, flav_names=["a", 3, "c", "d", "e"])


def test_deeply_nested_preprocess_json_refused(model, tmp_path):
    """100,000 levels used to segfault the JSON conversion (finding 1); the limit is 64."""
    import json

    from hepjepa._core import ConfigError

    pre = write_preprocess(tmp_path / "p.json")
    d = json.loads(pre.read_text())
    text = json.dumps(d)
    deep_flav = json.dumps(dict(d, flav_names="@")).replace('"@"', "[" * 100_000 + '"a"' + "]" * 100_000)
    for deep in (deep_flav, text[:-1] + ', "x": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"):
        pre.write_text(deep)
        with pytest.raises(ConfigError, match=rf"{pre}: nested deeper than 64 levels"):
            JetTagProducer(model_path=model, preprocess_json=str(pre))
    pre.write_text(text[:-1] + ', "x": ' + "[" * 63 + "]" * 63 + ', "y": "' + "[" * 1000 + '"}')  # 64 levels; [ in a string
    assert JetTagProducer(model_path=model, preprocess_json=str(pre)).flav_names == FLAV


def test_model_sha256_checked(model, tmp_path):
    """196 of 200 models with 64 zeroed weight bytes used to load and score (finding 3)."""
    import json

    from hepjepa._core import ConfigError

    pre = write_preprocess(tmp_path / "p.json", model_path=model)
    assert JetTagProducer(model_path=model, preprocess_json=str(pre)).sha256_verified
    assert not JetTagProducer(model_path=model, flav_names=FLAV).sha256_verified  # nothing to check against
    assert "verify_sha256" in JetTagProducer.valid_keys()
    b = bytearray(open(model, "rb").read())
    b[len(b) // 2:len(b) // 2 + 64] = bytes(64)
    bad = tmp_path / "tampered.onnx"
    bad.write_bytes(bytes(b))
    with pytest.raises(RuntimeError, match=r"tampered.onnx has sha256 [0-9a-f]{64}.*is not the one preprocess.json describes"
                                           r".*verify_sha256=false"):
        JetTagProducer(model_path=str(bad), preprocess_json=str(pre))
    p = JetTagProducer(model_path=str(bad), preprocess_json=str(pre), verify_sha256=False)  # the explicit opt-out
    assert not p.sha256_verified
    d = json.loads(pre.read_text())
    for v in ("abc", 5, None, "g" * 64):
        d["sha256"] = {"onnx": v}
        pre.write_text(json.dumps(d))
        with pytest.raises(ConfigError, match=r"key 'sha256 -> onnx' must be the model file's sha256"):
            JetTagProducer(model_path=model, preprocess_json=str(pre))
    d["sha256"] = "abc"
    pre.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match=r"key 'sha256' must be an object"):
        JetTagProducer(model_path=model, preprocess_json=str(pre))


@pytest.mark.parametrize("bad", [[[-1, 4.0], [-1, -1, 3]], [[-1, 1e30], [-1, -1, 3]], [[-1, 4], [-1, -2, 3]]])
def test_input_shapes_in_preprocess_json_are_integers(model, tmp_path, bad):
    from hepjepa._core import ConfigError

    pre = write_preprocess(tmp_path / "p.json", input_shapes=bad)
    with pytest.raises(ConfigError, match=r"key 'input_shapes' must be a list of integer lists"):
        JetTagProducer(model_path=model, preprocess_json=str(pre))


def test_odd_arrays_refused_not_read(contract):
    p = _producer(contract)
    x = random_contract_inputs(2, n_groups=2)
    buf = np.zeros(x["centers"].size * 4 + 1, np.uint8)[1:].view(np.float32).reshape(x["centers"].shape)
    with pytest.raises(ValueError, match=r"'centers' is not aligned"):
        p.produce(dict(x, centers=buf))
    with pytest.raises(ValueError, match="rank 0"):
        p.produce(dict(x, centers=np.array(1.0, np.float32)))
    with pytest.raises(ValueError, match="input names must be strings"):
        p.produce({**x, 3: x["centers"]})


# ---- every declared output (preprocess.json "inputs" / "outputs") ------------------------------------


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """(model, preprocess.json) with the contract inputs and outputs scores, embedding, mass, group_embedding."""
    d = tmp_path_factory.mktemp("multi")
    m = write_multi_output_tagger(d / "model.onnx")
    return str(m), str(write_multi_output_preprocess(d / "preprocess.json", model_path=m))


def _multi_reference(model, x):
    sess = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return dict(zip(MULTI_OUTPUTS, sess.run(list(MULTI_OUTPUTS), x)))


def _declared(tmp_path, model, edit):
    """preprocess.json of the multi-output model after edit(d) changed its dict d."""
    import json

    pre = write_multi_output_preprocess(tmp_path / "preprocess.json", model_path=model)
    d = json.loads(pre.read_text())
    edit(d)
    pre.write_text(json.dumps(d))
    return str(pre)


def test_declared_outputs_are_the_producers_outputs(multi):
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre)
    assert p.output_names == list(MULTI_OUTPUTS)
    assert p.output_kinds == ["scores", "embedding", "regression", "embedding"]
    assert p.scores_output == "scores"
    assert p.flav_names == ["probQCD", "probTbqq", "probWqq"]  # the columns of the scores output
    assert p.output_columns == {"scores": ["probQCD", "probTbqq", "probWqq"], "mass": ["jet_mass", "jet_sdmass"]}


@pytest.mark.parametrize("n, batch_size", [(1, 128), (7, 3), (37, 128)])
def test_produce_outputs_matches_onnxruntime_for_every_output(multi, n, batch_size):
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre, batch_size=batch_size)
    x = random_contract_inputs(n, n_groups=4, seed=n)
    outs, status = p.produce_outputs(x)
    want = _multi_reference(model, x)
    assert list(outs) == list(MULTI_OUTPUTS) and status.dtype == np.int8 and status.shape == (n,) and (status == 0).all()
    for name in MULTI_OUTPUTS:
        assert outs[name].dtype == np.float32 and outs[name].shape == want[name].shape, name
        np.testing.assert_allclose(outs[name], want[name], rtol=1e-6, atol=1e-6, err_msg=name)
        if batch_size >= n:  # one ORT call with the same shapes: bitwise identical
            np.testing.assert_array_equal(outs[name], want[name], err_msg=name)
    np.testing.assert_array_equal(p.produce(x), outs["scores"])  # produce() keeps returning the scores output
    s, st = p.produce_with_status(x)
    np.testing.assert_array_equal(s, outs["scores"])
    np.testing.assert_array_equal(st, status)


def test_untagged_jets_are_marked_in_every_output(multi):
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre, batch_size=2)
    x = random_contract_inputs(6, n_groups=3, seed=2)
    empty = [0, 3, 4]
    for k in x:
        x[k][empty] = 0
    outs, status = p.produce_outputs(x)
    np.testing.assert_array_equal(status, [1, 0, 0, 1, 1, 0])
    want = _multi_reference(model, x)
    for name, v in outs.items():
        assert (v[empty] == -1.0).all(), name  # every value of the row, whatever its shape
        np.testing.assert_allclose(v[[1, 2, 5]], want[name][[1, 2, 5]], rtol=1e-6, atol=1e-6, err_msg=name)
    # zero groups: nothing runs, and the per-group output still has its (n_jets, 0, 2) shape
    outs, status = p.produce_outputs(random_contract_inputs(2, n_groups=0))
    assert (status == 1).all()
    assert {k: v.shape for k, v in outs.items()} == {"scores": (2, 3), "embedding": (2, 6), "mass": (2, 2),
                                                     "group_embedding": (2, 0, 2)}
    assert all((v == -1.0).all() for v in outs.values())
    outs, status = p.produce_outputs(random_contract_inputs(0, n_groups=3))
    assert status.shape == (0,) and outs["group_embedding"].shape == (0, 3, 2) and outs["mass"].shape == (0, 2)


def test_nonfinite_value_in_one_output_untags_the_jet_in_all(multi):
    """A features sum of 100 overflows only exp() of output 'mass'; the jet is -1 / nonfinite_score everywhere."""
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre, batch_size=4)
    x = random_contract_inputs(5, n_groups=3, seed=3)
    clean, _ = p.produce_outputs(x)
    x["features"][2, 0, 0, 0] = 100.0  # particle 0 of group 0 is always real
    want = _multi_reference(model, x)
    assert np.isinf(want["mass"][2]).any() and np.isfinite(want["scores"][2]).all()
    outs, status = p.produce_outputs(x)
    np.testing.assert_array_equal(status, [0, 0, 4, 0, 0])
    for name, v in outs.items():
        assert (v[2] == -1.0).all(), name
        np.testing.assert_array_equal(np.delete(v, 2, 0), np.delete(clean[name], 2, 0), err_msg=name)
    np.testing.assert_array_equal(p.produce(x)[2], [-1.0] * 3)


def test_output_names_parameter_overrides_the_declaration(multi):
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre, output_names=["mass", "scores"])
    assert p.output_names == ["mass", "scores"] and p.output_kinds == ["regression", "scores"] and p.scores_output == "scores"
    x = random_contract_inputs(3, n_groups=2)
    outs, _ = p.produce_outputs(x)
    assert list(outs) == ["mass", "scores"]
    np.testing.assert_array_equal(p.produce(x), outs["scores"])
    assert JetTagProducer(model_path=model, preprocess_json=pre, flav_names=list("abc")).flav_names == list("abc")


def test_model_without_scores_output_needs_no_flav_names(multi, tmp_path):
    model, _ = multi

    def regression_only(d):
        d["outputs"] = d["outputs"][1:3]  # embedding, mass
        d["output_names"] = ["embedding", "mass"]
        del d["flav_names"]

    p = JetTagProducer(model_path=model, preprocess_json=_declared(tmp_path, model, regression_only))
    assert p.output_names == ["embedding", "mass"] and p.flav_names == [] and p.scores_output == "embedding"
    x = random_contract_inputs(4, n_groups=2)
    outs, status = p.produce_outputs(x)
    assert list(outs) == ["embedding", "mass"] and (status == 0).all()
    np.testing.assert_array_equal(p.produce(x), outs["embedding"])  # no scores output: the first output


def test_preprocess_json_without_declarations_is_read_as_before(model, tmp_path):
    """The older format (no "inputs"/"outputs"): output 0 is the scores output; now every output runs."""
    pre = write_preprocess(tmp_path / "preprocess.json", model_path=model)
    p = JetTagProducer(model_path=model, preprocess_json=str(pre))
    assert p.output_names == ["scores", "embedding"] and p.output_kinds == ["scores", "undeclared"]
    assert p.flav_names == FLAV and p.scores_output == "scores" and p.output_columns == {"scores": FLAV}
    x = random_inputs(5, n_groups=3)
    outs, status = p.produce_outputs(x)
    ref = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]).run(["scores", "embedding"], x)
    np.testing.assert_array_equal(outs["scores"], ref[0])
    np.testing.assert_array_equal(outs["embedding"], ref[1])
    np.testing.assert_array_equal(p.produce(x), ref[0])
    with pytest.raises(KeyError, match="missing required parameter 'flav_names'"):
        JetTagProducer(model_path=model)  # no preprocess_json: flav_names is still required


def test_shipped_preprocess_json_reads_the_same_with_and_without_declarations(tmp_path):
    import json
    from pathlib import Path

    import hepjepa

    d = Path(hepjepa.__file__).parent / "models" / "default"
    pre = json.loads((d / "preprocess.json").read_text())
    old = {k: v for k, v in pre.items() if k not in ("inputs", "outputs")}
    (tmp_path / "old.json").write_text(json.dumps(old))
    a = JetTagProducer(model_path=str(d / "model.onnx"), preprocess_json=str(d / "preprocess.json"))
    b = JetTagProducer(model_path=str(d / "model.onnx"), preprocess_json=str(tmp_path / "old.json"))
    for attr in ("input_names", "output_names", "flav_names", "scores_output", "output_columns"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert b.output_kinds == ["scores"] and a.output_kinds[0] == "scores"


def _drop(key, i, field):
    def edit(d):
        del d[key][i][field]
    return edit


def _set(key, i, field, value):
    def edit(d):
        d[key][i][field] = value
    return edit


@pytest.mark.parametrize("edit, match", [
    (_set("outputs", 1, "name", "embeding"), r"key 'outputs\[1\]' declares output 'embeding', which the model does not have; "
                                             r"the model's outputs: \[scores, embedding, mass, group_embedding\]"),
    (_set("outputs", 1, "shape", [-1, 7]), r"'outputs\[1\]' \('embedding'\) declares shape \(-1, 7\), but the model's output "
                                           r"has \(-1, 6\) \(-1 = dynamic\): axis 1 differs"),
    (_set("outputs", 1, "shape", [-1, 6, 1]), r"declares shape \(-1, 6, 1\) of rank 3, but the model's output 'embedding' has rank 2"),
    (_set("outputs", 2, "shape", [4, 2]), r"'outputs\[2\]' \('mass'\) declares shape \(4, 2\): axis 0 is the jet axis and must be -1"),
    (_set("outputs", 0, "dtype", "float64"), r"'outputs\[0\]' \('scores'\): \"dtype\" is \"float64\", expected \"float32\""),
    (_set("outputs", 0, "kind", "logits"), r"\"kind\" is \"logits\", expected one of scores, embedding, regression"),
    (_set("outputs", 2, "columns", ["jet_mass"]), r"'outputs\[2\]' \('mass'\) has 1 columns \[jet_mass\], but its shape \(-1, 2\) gives 2"),
    (_drop("outputs", 2, "columns"), r"'outputs\[2\]' \('mass'\) of kind 'regression' lacks \"columns\""),
    (_set("outputs", 3, "kind", "regression"), r"'outputs\[3\]' \('group_embedding'\) of kind 'regression' lacks \"columns\""),
    (_set("outputs", 1, "colums", ["a"]), r"'outputs\[1\]' \('embedding'\) has unknown key 'colums'; did you mean 'columns'\?"),
    (_drop("outputs", 0, "shape"), r"'outputs\[0\]' \('scores'\) lacks \"shape\""),
    (_set("outputs", 0, "shape", [-1, 3.0]), r"'outputs\[0\]' \('scores'\): \"shape\" must be a list of integers"),
    (_set("outputs", 3, "axes", ["batch", "group", None]), r"'outputs\[3\]' \('group_embedding'\) names axis 1 'group', but the "
                                                          r"model names it 'groups'"),
    (_set("inputs", 0, "shape", [-1, -1, 2, 4]), r"'inputs\[0\]' \('features'\) declares shape \(-1, -1, 2, 4\), but the model's "
                                                 r"input has \(-1, -1, 2, 3\) \(-1 = dynamic\): axis 3 differs"),
    (_set("inputs", 0, "shape", [-1, 12, 2, 3]), r"'inputs\[0\]' \('features'\) .*axis 1 differs"),
    (_set("inputs", 2, "axes", ["batch", None]), r"'inputs\[2\]' \('group_mask'\) names axis 1 null, but the model names it 'groups'"),
    (_set("inputs", 1, "axes", ["batch", "groups", "k"]), r"names axis 2 'k', but the model fixes that axis to 2 \(expected null\)"),
    (_set("inputs", 3, "name", "centres"), r"key 'inputs' \[.*centres.*\] lacks the model's input 'centers'"),
    (_set("inputs", 3, "dtype", "float16"), r"'inputs\[3\]' \('centers'\): \"dtype\" is \"float16\""),
    (lambda d: d["inputs"].append(dict(d["inputs"][0])), r"key 'inputs' declares input 'features' twice"),
    (lambda d: d["outputs"].append(dict(d["outputs"][0], name="extra")), r"declares output 'extra', which the model does not have"),
    (lambda d: d.update(outputs=[]), r"key 'outputs' must be a non-empty list with one object per model output"),
    (lambda d: d.update(outputs={"scores": {}}), r"key 'outputs' must be a non-empty list"),
    (lambda d: d.update(inputs=[5]), r"key 'inputs\[0\]' must be an object"),
    (lambda d: d.update(output_names=["scores"]), r"key 'output_names' \[scores\] differs from the names in key 'outputs' "
                                                  r"\[scores, embedding, mass, group_embedding\]"),
    (lambda d: d.update(input_names=d["input_names"][::-1]), r"key 'input_names' \[pair_features, .*\] differs from the names in key 'inputs'"),
    (lambda d: d.update(flav_names=["a", "b", "c"]), r"key 'flav_names' \[a, b, c\] differs from the columns of output 'scores' in key "
                                                     r"'outputs' \[probQCD, probTbqq, probWqq\]"),
])
def test_declarations_checked_against_the_model(multi, tmp_path, edit, match):
    from hepjepa._core import ConfigError

    model, _ = multi
    pre = _declared(tmp_path, model, edit)
    with pytest.raises(ConfigError, match=match) as e:
        JetTagProducer(model_path=model, preprocess_json=pre)
    assert pre in str(e.value)  # names the file


def test_undeclared_output_of_unknown_width_refused(multi, tmp_path):
    """'mass' has an unnamed dynamic width in the graph: without its declaration the producer cannot size an untagged row."""
    from hepjepa._core import ConfigError

    model, _ = multi
    legacy = write_contract_preprocess(tmp_path / "old.json", model_path=model, output_names=list(MULTI_OUTPUTS))
    with pytest.raises(ConfigError, match=r"output 'mass' has shape \(-1, -1\): the size of axis 1 \(unnamed\) is fixed by neither "
                                          r"the model nor preprocess_json.*declare it in preprocess_json's \"outputs\""):
        JetTagProducer(model_path=model, preprocess_json=str(legacy))
    # the other outputs are sized by the model (fixed, or the input axis 'groups')
    p = JetTagProducer(model_path=model, preprocess_json=str(legacy), output_names=["scores", "embedding", "group_embedding"])
    assert p.output_kinds == ["scores", "undeclared", "undeclared"]
    outs, _ = p.produce_outputs(random_contract_inputs(2, n_groups=3))
    assert outs["group_embedding"].shape == (2, 3, 2)


def test_output_names_must_be_model_outputs(multi):
    from hepjepa._core import ConfigError

    model, pre = multi
    with pytest.raises(ConfigError, match=r"output 'embeding' \(output_names\) is not an output of the model; the model has \[scores, "):
        JetTagProducer(model_path=model, preprocess_json=pre, output_names=["scores", "embeding"])
    with pytest.raises(ConfigError, match=r"output_names \[scores, scores\] name 'scores' twice"):
        JetTagProducer(model_path=model, preprocess_json=pre, output_names=["scores", "scores"])


def test_output_kinds_are_the_exporters():
    from hepjepa import _core
    from hepjepa.deploy.preprocess import OUTPUT_KINDS

    assert _core.OUTPUT_KINDS == OUTPUT_KINDS


def test_threads_share_one_producer_for_every_output(multi):
    model, pre = multi
    p = JetTagProducer(model_path=model, preprocess_json=pre, batch_size=4)
    inputs = [random_contract_inputs(n, n_groups=1 + n % 4, seed=n) for n in range(1, 12)]
    serial = [p.produce_outputs(x) for x in inputs]
    errors = []

    def work():
        for _ in range(10):
            for x, (want, want_status) in zip(inputs, serial):
                got, status = p.produce_outputs(x)
                if not (all(np.array_equal(got[k], want[k]) for k in want) and np.array_equal(status, want_status)):
                    errors.append(x["features"].shape)

    ts = [threading.Thread(target=work) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []


def test_parameter_errors_are_typed():
    """Unknown / missing parameters are UnknownParameter / MissingParameter: KeyErrors (as before) and ConfigErrors."""
    from hepjepa.bridge import ConfigError, MissingParameter, UnknownParameter

    for cls in (UnknownParameter, MissingParameter):
        assert issubclass(cls, ConfigError) and issubclass(cls, KeyError) and issubclass(cls, ValueError)
    with pytest.raises(UnknownParameter, match=r"unknown parameter 'batch_sise'; did you mean 'batch_size'\?"):
        JetTagProducer(model_path="m.onnx", batch_sise=3)
    with pytest.raises(MissingParameter, match=r"missing required parameter 'model_path'"):
        JetTagProducer(flav_names=FLAV)
    with pytest.raises(ConfigError) as e:  # neither of the two: a plain ConfigError, not a KeyError
        JetTagProducer(model_path="m.onnx", batch_size="3")
    assert not isinstance(e.value, KeyError)


def test_declared_width_the_model_leaves_open_is_checked_per_call(multi, tmp_path):
    """'mass' is (batch, ?) in the graph: preprocess.json's width is trusted at construction, then held to each call."""
    model, _ = multi

    def width(n):
        def edit(d):
            d["outputs"][2] = {"name": "mass", "shape": [-1, n], "dtype": "float32", "kind": "embedding"}
        return edit

    x = random_contract_inputs(4, n_groups=2)
    p = JetTagProducer(model_path=model, preprocess_json=_declared(tmp_path, model, width(3)))
    with pytest.raises(RuntimeError, match=r"output 'mass' came back with shape \(4, 2\) for 4 jets, expected \(4, 3\)"):
        p.produce(x)
    # a width no batch can hold is refused before anything is allocated
    p = JetTagProducer(model_path=model, preprocess_json=_declared(tmp_path, model, width(2**30)))
    with pytest.raises(ValueError, match=r"output 'mass' has shape \(4, 1073741824\) for a batch of 4 jets: more than ONNX "
                                         r"Runtime returns in one call \(max_elements = 134217728\); lower batch_size"):
        p.produce_outputs(x)
