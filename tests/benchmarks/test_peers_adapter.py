"""benchmarks/_peers.py: our jets -> weaver ParT / ParticleNet inputs, the wrapped models, training, ONNX."""

from __future__ import annotations

import importlib.util

import awkward as ak
import numpy as np
import pytest

from benchmarks import _peers
from hepjepa.features import DEFAULT_FEATURES, TokenizerConfig, tokenize

HAS_WEAVER = importlib.util.find_spec("weaver") is not None
needs_weaver = pytest.mark.skipif(not HAS_WEAVER, reason="weaver-core not installed (pip install --no-deps weaver-core==0.5.3)")


def _jets(counts=(5, 40, 1, 150, 17), seed=0) -> ak.Array:
    """Massless particles around a random jet axis, with charges and one-hot type flags."""
    rng = np.random.default_rng(seed)
    recs = []
    for n in counts:
        eta0, phi0 = rng.uniform(-1.5, 1.5), rng.uniform(-np.pi, np.pi)
        pt = rng.exponential(20.0, n) + 0.5
        eta = eta0 + rng.normal(0, 0.3, n)
        phi = phi0 + rng.normal(0, 0.3, n)
        kind = rng.integers(0, 5, n)
        flags = {f: (kind == i).astype(np.float32) for i, f in enumerate(("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"))}
        recs.append({"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta), "energy": pt * np.cosh(eta),
                     "charge": rng.choice([-1.0, 0.0, 1.0], n), **flags, "label": 0})
    arr = ak.Array(recs)
    return ak.zip({f: ak.values_astype(arr[f], np.float32) if f != "label" else arr[f] for f in arr.fields}, depth_limit=1)


def test_shapes_masks_padding_and_pt_order():
    jets = _jets()
    x = _peers.peer_inputs(jets, max_particles=128)
    n = len(jets)
    assert tuple(x) == _peers.PEER_INPUTS
    assert x["pf_points"].shape == (n, 2, 128) and x["pf_features"].shape == (n, len(_peers.PF_FEATURES), 128)
    assert x["pf_vectors"].shape == (n, 4, 128) and x["pf_mask"].shape == (n, 1, 128)
    assert all(v.dtype == np.float32 for v in x.values())
    counts = ak.to_numpy(ak.num(jets.px))
    np.testing.assert_array_equal(x["pf_mask"].sum(axis=(1, 2)), np.minimum(counts, 128))
    pad = x["pf_mask"] == 0  # (N, 1, P)
    for k in _peers.PEER_INPUTS:
        assert np.all(np.where(pad, x[k], 0) == 0), f"{k} not zero on padding"
    pt = np.hypot(x["pf_vectors"][:, 0], x["pf_vectors"][:, 1])  # (N, P)
    for j, c in enumerate(np.minimum(counts, 128)):
        assert np.all(np.diff(pt[j, :c]) <= 1e-4), f"jet {j} not pT-ordered"
    # the 150-particle jet keeps its 128 hardest particles
    full = np.sort(ak.to_numpy(np.hypot(jets.px[3], jets.py[3])))[::-1][:128]
    np.testing.assert_allclose(pt[3, :128], full, rtol=1e-5)


def test_features_match_tokenizer_and_reference():
    """With group_size 1 every particle is its own group: the tokeniser's (jet-relative) features and
    centres must equal the adapter's per-particle features and (deta, dphi), particle by particle."""
    jets = _jets(counts=(5, 40, 1, 17))
    x = _peers.peer_inputs(jets)
    names = [n for n in _peers.PF_FEATURES if n not in ("deta", "dphi")]
    specs = [f for f in DEFAULT_FEATURES if f.name in names]
    cfg = TokenizerConfig(group_size=1, max_groups=64, features=tuple(specs))
    tok = tokenize(jets, cfg)
    order = [cfg.feature_names.index(n) for n in names]
    cols = [_peers.PF_FEATURES.index(n) for n in names]
    for j, n in enumerate(ak.to_numpy(ak.num(jets.px))):
        assert tok.group_mask[j].sum() == n
        t = tok.features[j, :n, 0][:, order]  # (n, F') one particle per group
        p = x["pf_features"][j, cols, :n].T  # (n, F')
        key_t, key_p = np.lexsort(t.T[::-1]), np.lexsort(p.T[::-1])
        np.testing.assert_allclose(t[key_t], p[key_p], atol=1e-5)
        np.testing.assert_allclose(tok.centers[j, :n][key_t], x["pf_points"][j, :, :n].T[key_p], atol=1e-5)
    # independent reference for the hardest particle of jet 1: log pT, dR to the four-vector sum axis
    j = 1
    px, py, pz, e = (ak.to_numpy(jets[f][j]).astype(np.float64) for f in ("px", "py", "pz", "energy"))
    pt = np.hypot(px, py)
    i = np.argmax(pt)
    jpt = np.hypot(px.sum(), py.sum())
    jeta, jphi = np.arcsinh(pz.sum() / jpt), np.arctan2(py.sum(), px.sum())
    deta = np.arcsinh(pz[i] / pt[i]) - jeta
    dphi = (np.arctan2(py[i], px[i]) - jphi + np.pi) % (2 * np.pi) - np.pi
    spec = {f.name: f for f in DEFAULT_FEATURES}
    lp = (np.log(pt[i]) - spec["log_pt"].centre) * spec["log_pt"].scale
    dr = (np.hypot(deta, dphi) - spec["dR"].centre) * spec["dR"].scale
    f = x["pf_features"][j, :, 0]
    assert f[_peers.PF_FEATURES.index("log_pt")] == pytest.approx(lp, abs=1e-4)
    assert f[_peers.PF_FEATURES.index("dR")] == pytest.approx(dr, abs=1e-4)
    assert x["pf_points"][j, :, 0] == pytest.approx([deta, dphi], abs=1e-5)
    np.testing.assert_allclose(x["pf_vectors"][j, :, 0], [px[i], py[i], pz[i], e[i]], rtol=1e-6)


def test_missing_flags_are_zero_and_bad_input_raises():
    jets = _jets(counts=(3, 4))
    bare = ak.zip({f: jets[f] for f in ("px", "py", "pz", "energy")}, depth_limit=1)
    x = _peers.peer_inputs(bare, max_particles=8)
    for f in ("charge", "isChargedHadron", "isMuon"):
        assert np.all(x["pf_features"][:, _peers.PF_FEATURES.index(f)] == 0)
    with pytest.raises(ValueError, match="max_particles=0"):
        _peers.peer_inputs(jets, max_particles=0)
    with pytest.raises(KeyError, match="energy"):
        _peers.peer_inputs(ak.zip({f: jets[f] for f in ("px", "py", "pz")}, depth_limit=1))
    px = ak.to_list(jets.px)
    px[1][2] = float("nan")
    bad = ak.zip({"px": ak.Array(px), "py": jets.py, "pz": jets.pz, "energy": jets.energy}, depth_limit=1)
    with pytest.raises(ValueError, match="'px' of jet index 1"):
        _peers.peer_inputs(bad)


@needs_weaver
@pytest.mark.parametrize("kind", ["part", "particlenet"])
def test_models_ignore_padding(kind):
    import torch

    torch.set_num_threads(1)
    jets = _jets(counts=(30, 12, 25, 8))
    model = _peers.build_peer(kind, 3, seed=0)
    assert type(model.net).__module__.startswith("weaver.nn.model")
    a = _peers.predict_peer(model, _peers.peer_inputs(jets, max_particles=32))
    b = _peers.predict_peer(model, _peers.peer_inputs(jets, max_particles=64))
    assert a.shape == (4, 3)
    np.testing.assert_allclose(a.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="unknown peer 'pnet'"):
        _peers.build_peer("pnet", 2)


@needs_weaver
def test_train_keeps_best_val_weights_and_onnx_parity(tmp_path):
    import torch

    torch.set_num_threads(1)
    jets = _jets(counts=tuple(range(6, 30)), seed=1)
    x = _peers.peer_inputs(jets, max_particles=32)
    y = np.arange(len(jets)) % 2
    model = _peers.build_peer("part", 2, seed=0)
    hist = _peers.train_peer(model, x, y, x, y, epochs=3, batch_size=8, patience=2, seed=0)
    assert 1 <= len(hist["val_loss"]) <= 3
    p = _peers.predict_peer(model, x)
    assert -np.mean(np.log(p[np.arange(len(y)), y])) == pytest.approx(hist["best_val_loss"], rel=1e-5)
    info = _peers.export_peer_onnx(model, tmp_path / "model.onnx", 2, x)
    assert info["input_names"] == ["pf_features", "pf_vectors", "pf_mask"]  # ParT does not read pf_points
    assert info["max_abs_diff"] < 1e-4
