"""Tests for hepjepa.features: kernels vs pure-Python references, edge cases, contract."""

from __future__ import annotations

import math

import _features_reference as ref
import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepjepa.features import MODEL_INPUTS, FeatureSpec, TokenizerConfig, Tokens, _kernels, tokenize, tokenize_flat


def make_jets(counts, seed=0, phi0=0.0, eta0=0.0):
    """Random jet-like particles: pT exponential, (eta, phi) spread 0.3 around the axis."""
    rng = np.random.default_rng(seed)
    P = int(sum(counts))
    pt = rng.exponential(20.0, P) + 0.5
    eta = rng.normal(eta0, 0.3, P)
    phi = phi0 + rng.normal(0.0, 0.3, P)
    m = rng.uniform(0, 0.2, P)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    charge = rng.integers(-1, 2, P).astype(float)
    flags = np.zeros((5, P))
    flags[rng.integers(0, 5, P), np.arange(P)] = 1.0
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return px, py, pz, e, charge, flags, offsets


def flat_kwargs(charge, flags):
    return dict(charge=charge, **{n: flags[i] for i, n in enumerate(
        ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"))})


def to_ak(px, py, pz, e, charge, flags, offsets):
    counts = np.diff(offsets)
    fields = dict(px=px, py=py, pz=pz, energy=e, **flat_kwargs(charge, flags))
    return ak.zip({k: ak.unflatten(v.astype(np.float32), counts) for k, v in fields.items()})


CFG = TokenizerConfig(group_size=8, min_groups=2, max_groups=6)
#: the particle-identification fields, declared absent (zeros) where a test passes only four-momenta
ZERO = ("charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")


def check_against_reference(counts, seed, cfg=CFG, phi0=0.0):
    px, py, pz, e, charge, flags, off = make_jets(counts, seed, phi0=phi0)
    tok = tokenize_flat(px, py, pz, e, off, cfg, **flat_kwargs(charge, flags))
    for j in range(len(counts)):
        s, t = off[j], off[j + 1]
        r = ref.tokenize_jet(list(px[s:t]), list(py[s:t]), list(pz[s:t]), list(e[s:t]), list(charge[s:t]),
                             [list(f[s:t]) for f in flags], cfg)
        c = len(r["centres"])
        assert tok.group_mask[j].sum() == c
        assert np.all(tok.group_mask[j, c:] == 0)
        for g in range(c):
            m = len(r["members"][g])
            assert np.all(tok.particle_mask[j, g, :m] == 1) and np.all(tok.particle_mask[j, g, m:] == 0)
            np.testing.assert_allclose(tok.features[j, g, :m], np.array(r["features"][g]), rtol=1e-5, atol=1e-5)
        if c:
            np.testing.assert_allclose(tok.centers[j, :c], np.array(r["centers"]), rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(tok.group_p4[j, :c], np.array(r["group_p4"]), rtol=1e-5, atol=1e-3)
            np.testing.assert_allclose(tok.pair_features[j, :c, :c], np.array(r["pair"]), rtol=1e-4, atol=1e-4)
        assert np.all(tok.pair_features[j, c:] == 0) and np.all(tok.pair_features[j, :, c:] == 0)
    return tok


# --- kernels vs references -------------------------------------------------

def test_particle_features_kernel_matches_reference():
    px, py, pz, e, charge, flags, off = make_jets([37], seed=1)
    out = np.empty((37, _kernels.N_RAW))
    _kernels.particle_features(px, py, pz, e, charge, flags, 1e-8, out)
    np.testing.assert_allclose(out, np.array(ref.particle_features(px, py, pz, e, charge, flags)), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), c=st.integers(1, 10), seed=st.integers(0, 10_000))
def test_fps_and_knn_match_reference(n, c, seed):
    rng = np.random.default_rng(seed)
    eta = rng.normal(0, 0.4, n)
    phi = rng.uniform(-math.pi, math.pi, n)  # wide: exercises the wrap-around
    pt = rng.exponential(10, n)
    c = min(c, n)
    cen = _kernels.fps(eta, phi, pt, c)
    assert list(cen) == ref.fps(list(eta), list(phi), list(pt), c)
    nb = _kernels.knn(eta, phi, cen, 8)
    assert nb.tolist() == ref.knn(list(eta), list(phi), list(cen), 8)


def test_knn_ties_broken_by_index():
    eta = np.array([0.0, 1.0, -1.0, 0.0, 0.0])
    phi = np.array([0.0, 0.0, 0.0, 1.0, -1.0])  # four particles at distance 1
    nb = _kernels.knn(eta, phi, np.array([0]), 3)
    assert nb.tolist() == [[0, 1, 2]]


def test_knn_many_ties_and_large_jets_match_reference():
    """Quantised coordinates make many equal distances (bisection cannot split them)."""
    rng = np.random.default_rng(17)
    for n, k in ((200, 16), (40, 16), (16, 16), (5, 16), (300, 3)):
        eta = np.round(rng.normal(0, 0.3, n), 1)
        phi = np.round(rng.normal(0, 0.3, n), 1)
        cen = np.array(sorted(rng.choice(n, min(n, 6), replace=False)))
        nb = _kernels.knn(eta, phi, cen, k)
        assert nb.tolist() == ref.knn(list(eta), list(phi), list(cen), k), (n, k)


def test_pair_features_kernel_matches_reference_and_masks_padding():
    rng = np.random.default_rng(3)
    p4 = np.zeros((6, 4))
    p4[:4, :3] = rng.normal(0, 50, (4, 3))
    p4[:4, 3] = np.linalg.norm(p4[:4, :3], axis=1) + rng.uniform(0, 10, 4)
    out = np.zeros((6, 6, 4))
    _kernels.pair_features(p4, 4, 1e-8, out)
    np.testing.assert_allclose(out[:4, :4], np.array(ref.pair_features(p4[:4].tolist())), rtol=1e-12)
    assert np.all(out[4:] == 0) and np.all(out[:, 4:] == 0)
    assert np.all(out[np.arange(6), np.arange(6)] == 0)  # diagonal defined as 0


@settings(max_examples=10, deadline=None)
@given(counts=st.lists(st.integers(0, 70), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_tokenize_matches_reference(counts, seed):
    check_against_reference(counts, seed)


# --- edge cases ----------------------------------------------------------------

def test_tiny_jets_defined_and_masked():
    k = CFG.group_size
    tok = check_against_reference([0, 1, k - 1, k], seed=5)
    assert np.isfinite(tok.features).all() and np.isfinite(tok.pair_features).all()
    assert tok.group_mask[0].sum() == 0 and np.all(tok.features[0] == 0) and np.all(tok.group_p4[0] == 0)
    assert tok.group_mask[1].sum() == 1 and tok.particle_mask[1, 0].sum() == 1
    assert tok.particle_mask[2, 0].sum() == k - 1
    # a single-particle group: its centre-relative coordinates are exactly 0
    assert tok.features[1, 0, 0, 0] == 0 and tok.features[1, 0, 0, 1] == 0


def test_phi_wraparound_same_features():
    """A jet straddling phi = +-pi tokenises like the same jet rotated to phi = 0."""
    cfg = TokenizerConfig(group_size=8, max_groups=6)
    a = make_jets([40, 25], seed=7, phi0=math.pi)
    b = make_jets([40, 25], seed=7, phi0=0.0)
    ta = tokenize_flat(*a[:4], a[6], cfg, **flat_kwargs(a[4], a[5]))
    tb = tokenize_flat(*b[:4], b[6], cfg, **flat_kwargs(b[4], b[5]))
    for name in MODEL_INPUTS:
        np.testing.assert_allclose(getattr(ta, name), getattr(tb, name), atol=2e-4, rtol=1e-4, err_msg=name)
    check_against_reference([40, 25], seed=7, cfg=cfg, phi0=math.pi)


def test_padding_invariance():
    cfg = TokenizerConfig(group_size=8, max_groups=10)
    px, py, pz, e, charge, flags, off = make_jets([12, 200, 3], seed=9)
    batch = tokenize_flat(px, py, pz, e, off, cfg, **flat_kwargs(charge, flags))
    s, t = off[0], off[1]
    alone = tokenize_flat(px[s:t], py[s:t], pz[s:t], e[s:t], [0, t - s], cfg,
                          **flat_kwargs(charge[s:t], flags[:, s:t]))
    G = alone.n_groups
    assert batch.n_groups > G
    for name in MODEL_INPUTS:
        a, b = getattr(alone, name)[0], getattr(batch, name)[0]
        sl = (slice(0, G), slice(0, G)) if name == "pair_features" else (slice(0, G),)
        np.testing.assert_array_equal(a, b[sl])
        rest = b.copy(); rest[sl] = 0
        assert np.all(rest == 0), name


def test_nan_and_inf_raise_naming_jet_and_field():
    px, py, pz, e, charge, flags, off = make_jets([5, 6, 7], seed=2)
    bad = e.copy(); bad[off[2] + 1] = np.nan
    with pytest.raises(ValueError, match=r"'energy'.*jet index 2"):
        tokenize_flat(px, py, pz, bad, off, CFG, zero_fill=ZERO)
    bad = py.copy(); bad[off[1]] = np.inf
    with pytest.raises(ValueError, match=r"'py'.*jet index 1"):
        tokenize_flat(px, bad, pz, e, off, CFG, zero_fill=ZERO)


def test_bad_offsets_and_lengths_raise():
    px, py, pz, e, *_ , off = make_jets([5, 6], seed=2)
    with pytest.raises(ValueError, match="offsets"):
        tokenize_flat(px, py, pz, e, off[::-1], CFG, zero_fill=ZERO)
    with pytest.raises(ValueError, match="'pz' has shape"):
        tokenize_flat(px, py, pz[:-1], e, off, CFG, zero_fill=ZERO)


def test_deterministic_and_awkward_equals_flat():
    arrs = make_jets([30, 0, 17, 90], seed=11)
    jets = to_ak(*arrs)
    t1, t2 = tokenize(jets, CFG), tokenize(jets, CFG)
    f32 = [a.astype(np.float32).astype(np.float64) for a in arrs[:4]]
    t3 = tokenize_flat(*f32, arrs[6], CFG, **flat_kwargs(arrs[4], arrs[5]))
    for name in ("features", "particle_mask", "group_mask", "centers", "group_p4", "pair_features"):
        assert getattr(t1, name).dtype == np.float32
        np.testing.assert_array_equal(getattr(t1, name), getattr(t2, name))
        np.testing.assert_array_equal(getattr(t1, name), getattr(t3, name))


def test_threads_bit_identical_to_serial_and_reference():
    """prange over chunks of jets: every thread count gives the serial output bit for bit."""
    import numba

    counts = [0, 3, 70, 17, 1, 150, 33, 8, 64, 90, 2, 45]
    px, py, pz, e, charge, flags, off = make_jets(counts, seed=13)
    cfg = TokenizerConfig(group_size=8, max_groups=12)
    serial = tokenize_flat(px, py, pz, e, off, cfg, n_threads=1, **flat_kwargs(charge, flags))
    for n_threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS), numba.config.NUMBA_NUM_THREADS}):
        par = tokenize_flat(px, py, pz, e, off, cfg, n_threads=n_threads, **flat_kwargs(charge, flags))
        for name in ("features", "particle_mask", "group_mask", "centers", "group_p4", "pair_features"):
            np.testing.assert_array_equal(getattr(serial, name), getattr(par, name), err_msg=f"{name} {n_threads}")
    # the default thread count (numba.get_num_threads()) also matches the pure-Python reference
    check_against_reference(counts, seed=13, cfg=cfg)


def test_default_is_one_thread_unless_numba_num_threads_set(monkeypatch):
    import importlib

    import numba

    tokmod = importlib.import_module("hepjepa.features.tokenize")  # the module, not the function
    calls = []
    monkeypatch.setattr(tokmod._kernels, "tokenize_kernel_parallel", lambda *a: calls.append("par"))
    monkeypatch.setattr(tokmod._kernels, "tokenize_kernel", lambda *a: calls.append("serial"))
    px, py, pz, e, *_, off = make_jets([5, 6, 7], seed=2)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    tokenize_flat(px, py, pz, e, off, CFG, zero_fill=ZERO)
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    tokenize_flat(px, py, pz, e, off, CFG, zero_fill=ZERO)
    assert calls == ["serial", "par" if numba.config.NUMBA_NUM_THREADS > 1 else "serial"]


def test_concurrent_calls_from_threads_agree():
    """Python threads calling with n_threads > 1 at once: serialised or serial, same output."""
    import threading

    import numba

    px, py, pz, e, *_, off = make_jets(list(range(1, 80)), seed=23)
    want = tokenize_flat(px, py, pz, e, off, CFG, n_threads=1, zero_fill=ZERO)
    nt = min(2, numba.config.NUMBA_NUM_THREADS)
    bad = []

    def work():
        for _ in range(5):
            got = tokenize_flat(px, py, pz, e, off, CFG, n_threads=nt, zero_fill=ZERO)
            bad.extend(n for n in MODEL_INPUTS if not np.array_equal(getattr(got, n), getattr(want, n)))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_bad_thread_count_raises():
    import numba

    px, py, pz, e, *_, off = make_jets([5, 6], seed=2)
    for bad in (0, -1, numba.config.NUMBA_NUM_THREADS + 1, 1.5):
        with pytest.raises(ValueError, match="n_threads"):
            tokenize_flat(px, py, pz, e, off, CFG, n_threads=bad, zero_fill=ZERO)


def test_pair_features_symmetric():
    px, py, pz, e, *_, off = make_jets([60, 90], seed=21)
    tok = tokenize_flat(px, py, pz, e, off, TokenizerConfig(group_size=8, max_groups=12), zero_fill=ZERO)
    np.testing.assert_array_equal(tok.pair_features, tok.pair_features.transpose(0, 2, 1, 3))
    assert np.all(tok.pair_features[:, np.arange(12), np.arange(12)] == 0)


def test_missing_fields_raise_unless_declared_zero():
    """A field the features need is never silently zero: refused by name, or zero only when declared."""
    from hepjepa.errors import MissingParticleFieldsError

    px, py, pz, e, charge, flags, off = make_jets([20], seed=4)
    jets = ak.zip({k: ak.unflatten(v, np.diff(off)) for k, v in dict(px=px, py=py, pz=pz, energy=e).items()})
    with pytest.raises(MissingParticleFieldsError, match=r"lack particle fields \['charge', 'isChargedHadron'.*allow_missing=True"):
        tokenize(jets, CFG)
    with pytest.raises(MissingParticleFieldsError, match=r"\['isMuon'\]"):
        tokenize_flat(px, py, pz, e, off, CFG, **{k: v for k, v in flat_kwargs(charge, flags).items() if k != "isMuon"})
    tok = tokenize(jets, CFG, allow_missing=True)  # training on a format without particle identification
    assert tok.zero_filled == ZERO
    idx = [CFG.feature_names.index(n) for n in ("charge", "isPhoton")]
    assert np.all(tok.features[..., idx] == 0)
    np.testing.assert_array_equal(tok.features, tokenize_flat(px, py, pz, e, off, CFG, zero_fill=ZERO).features)
    with pytest.raises(MissingParticleFieldsError, match="energy"):
        tokenize(ak.zip({"px": jets.px, "py": jets.py, "pz": jets.pz}), CFG, allow_missing=True)
    # a tokeniser without particle-identification features needs only the four-momentum
    kin = TokenizerConfig(group_size=8, features=[f for f in CFG.features if f.name not in ZERO])
    assert kin.particle_fields == ("px", "py", "pz", "energy") and tokenize(jets, kin).zero_filled == ()


def test_bad_field_types_and_offsets_are_typed_errors():
    from hepjepa.errors import UserInputError

    px, py, pz, e, charge, flags, off = make_jets([5, 6], seed=2)
    with pytest.raises(UserInputError, match="'energy' has dtype complex128"):
        tokenize_flat(px, py, pz, e.astype(complex), off, CFG, zero_fill=ZERO)
    with pytest.raises(UserInputError, match="'energy' has dtype <U"):
        tokenize_flat(px, py, pz, e.astype(str), off, CFG, zero_fill=ZERO)
    with pytest.raises(UserInputError, match="'px' has dtype object"):
        tokenize_flat({"a": 1}, py, pz, e, off, CFG, zero_fill=ZERO)
    with pytest.raises(UserInputError, match="offsets must be a 1-d array of integers.*float64"):
        tokenize_flat(px, py, pz, e, off.astype(float), CFG, zero_fill=ZERO)
    with pytest.raises(UserInputError, match=r"'px' has shape \(11,\); expected \(1099511627776,\)"):
        tokenize_flat(px, py, pz, e, np.array([0, 5, 2**40]), CFG, zero_fill=ZERO)  # refused before allocating
    with pytest.raises(UserInputError, match="zero_fill"):
        tokenize_flat(px, py, pz, e, off, CFG, zero_fill=("px",))
    with pytest.raises(UserInputError, match="jet records"):
        tokenize(np.zeros(3), CFG)


def test_overflowing_momenta_raise_naming_every_jet():
    """Finite float64 momenta near 1e160 overflow inside the kernels: an error listing the jets, never NaN tokens."""
    from hepjepa.features import NonFiniteFeaturesError

    px, py, pz, e, charge, flags, off = make_jets([5, 6, 7], seed=2)
    big = [a.copy() for a in (px, py, pz, e)]
    for a in big:
        a[off[1]:off[2]] *= 1e160
    with pytest.raises(NonFiniteFeaturesError) as err:
        tokenize_flat(*big, off, CFG, **flat_kwargs(charge, flags))
    assert err.value.jets.tolist() == [1]


def test_jets_as_lists_of_particle_records():
    """Jets as N * var * {px, ...} (a list of particle records per jet) equal jets as records of lists."""
    arrs = make_jets([12, 0, 30], seed=9)
    jets = to_ak(*arrs)  # N * var * {px, ...}
    as_records = ak.zip({f: jets[f] for f in jets.fields}, depth_limit=1)  # N * {px: var * ..., ...}
    np.testing.assert_array_equal(tokenize(jets, CFG).features, tokenize(as_records, CFG).features)


# --- Tokens helpers --------------------------------------------------------------

def test_tokens_shapes_slicing_concat():
    cfg = TokenizerConfig(group_size=8, max_groups=10)
    a = make_jets([5, 40], seed=1)
    b = make_jets([100], seed=2)
    ta = tokenize_flat(*a[:4], a[6], cfg, zero_fill=ZERO)
    tb = tokenize_flat(*b[:4], b[6], cfg, zero_fill=ZERO)
    assert len(ta) == 2 and ta.features.shape == (2, ta.n_groups, 8, len(cfg.features))
    assert list(ta.model_inputs()) == list(MODEL_INPUTS)
    both = Tokens.concat([ta, tb])
    assert len(both) == 3 and both.n_groups == max(ta.n_groups, tb.n_groups)
    whole = tokenize_flat(*(np.concatenate([x, y]) for x, y in zip(a[:4], b[:4])),
                          np.concatenate([a[6], b[6][1:] + a[6][-1]]), cfg, zero_fill=ZERO)
    for name in MODEL_INPUTS:
        np.testing.assert_array_equal(getattr(both, name), getattr(whole, name))
    np.testing.assert_array_equal(both[1].features, whole.features[1:2])
    with pytest.raises(ValueError, match="pad_to_groups"):
        Tokens.concat([ta, tb], pad_to_groups=1)


def test_pad_to_groups_fixes_G():
    cfg = TokenizerConfig(group_size=8, max_groups=4, pad_to_groups=7)
    a = make_jets([3, 50], seed=1)
    assert tokenize_flat(*a[:4], a[6], cfg, zero_fill=ZERO).pair_features.shape == (2, 7, 7, 4)


# --- config ------------------------------------------------------------------------

def test_group_count_rule():
    cfg = TokenizerConfig(group_size=16, min_groups=4, max_groups=32)
    assert [cfg.n_groups(n) for n in (0, 1, 3, 10, 40, 100, 1000)] == [0, 1, 3, 4, 5, 13, 32]


def test_config_roundtrip_fingerprint_and_unknown_keys():
    cfg = TokenizerConfig(group_size=12, features=(FeatureSpec("deta", 0, 2.0, 3.0), FeatureSpec("log_pt")))
    d = cfg.to_dict()
    assert TokenizerConfig.from_dict(d) == cfg
    assert TokenizerConfig.from_dict(d).fingerprint() == cfg.fingerprint()
    assert cfg.fingerprint() != TokenizerConfig().fingerprint()
    with pytest.raises(KeyError, match="colour"):
        TokenizerConfig.from_dict({**d, "colour": 1})
    with pytest.raises(KeyError, match="offset"):
        TokenizerConfig.from_dict({**d, "features": [{"name": "dR", "offset": 1}]})
    with pytest.raises(ValueError, match="unknown feature 'etaa'"):
        FeatureSpec("etaa")
    with pytest.raises(ValueError, match="max_groups"):
        TokenizerConfig(min_groups=5, max_groups=2)


# --- CLI ----------------------------------------------------------------------------

def test_cli_prints_group_statistics(tmp_path, capsys):
    """Writes a small JetClass-layout file and runs ``hepjepa features`` on it."""
    data = pytest.importorskip("hepjepa.data", reason="hepjepa.data (read_jets) not available yet")
    if not hasattr(data, "read_jets"):
        pytest.skip("hepjepa.data.read_jets not available yet")
    uproot = pytest.importorskip("uproot")
    import argparse
    import json

    from hepjepa.features import cli

    px, py, pz, e, charge, flags, off = make_jets([30, 5, 64], seed=3)
    counts = np.diff(off)
    jag = lambda a: ak.unflatten(a.astype(np.float32), counts)  # noqa: E731
    names = ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")
    branches = {"part_px": jag(px), "part_py": jag(py), "part_pz": jag(pz), "part_energy": jag(e),
                "part_charge": jag(charge), **{f"part_{n}": jag(flags[i]) for i, n in enumerate(names)}}
    for b in ("part_deta", "part_dphi", "part_d0val", "part_d0err", "part_dzval", "part_dzerr"):
        branches[b] = jag(np.zeros_like(px))
    for b in ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_nparticles", "jet_sdmass",
              "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4"):
        branches[b] = np.ones(3, np.float32)
    for lab in ("QCD", "Hbb", "Hcc", "Hgg", "H4q", "Hqql", "Zqq", "Wqq", "Tbqq", "Tbl"):
        branches[f"label_{lab}"] = np.array([lab == "QCD"] * 3)
    path = tmp_path / "jets.root"
    with uproot.recreate(path) as f:
        f.mktree("tree", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in branches.items()})
        f["tree"].extend(branches)
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([str(path), "--group-size", "8", "--max-groups", "6", "--json"])
    assert cli.run(args) == 0
    stats = json.loads(capsys.readouterr().out)
    cfg = TokenizerConfig(group_size=8, max_groups=6)
    assert stats["n_jets"] == 3 and stats["n_particles"] == 99
    assert stats["groups_per_jet"]["max"] == cfg.n_groups(64)
    assert stats["groups_per_jet"]["min"] == cfg.n_groups(5)
    assert stats["particles_per_group"]["min"] == 5
