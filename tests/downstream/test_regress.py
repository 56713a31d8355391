"""Regression head training: targets from JetClass branches, resolution metrics, the `hepjepa regress` CLI."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from hepjepa.downstream.regress import regression_targets, resolution_metrics


def _write_jets(path, n=80, seed=0):
    """JetClass-format file whose jet mass varies (two prongs at a random opening) with tau branches."""
    import uproot

    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("part_px", "part_py", "part_pz", "part_energy")}
    for _ in range(n):
        c, open_ = rng.integers(12, 24), rng.uniform(0.05, 0.4)
        prong = rng.integers(0, 2, c)
        pt = rng.uniform(400, 600) * rng.dirichlet(np.ones(c))
        eta = rng.normal(0, 0.02, c) + np.where(prong, open_, 0.0)
        phi = 1.0 + rng.normal(0, 0.02, c)
        for k, v in zip(cols, (pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta))):
            cols[k].append(v.astype(np.float32))
    tau1 = rng.uniform(0.1, 0.5, n).astype(np.float32)
    tau1[0] = 0.0  # tau21 undefined: the jet must be dropped, not crash
    scal = {"jet_sdmass": rng.uniform(20, 200, n).astype(np.float32), "jet_tau1": tau1,
            "jet_tau2": (tau1 * rng.uniform(0.2, 0.9, n)).astype(np.float32) + 0.01,
            "jet_tau3": rng.uniform(0.01, 0.05, n).astype(np.float32), "jet_tau4": rng.uniform(0.005, 0.01, n).astype(np.float32)}
    with uproot.recreate(path) as f:
        f.mktree("tree", {**{k: "var * float32" for k in cols}, **{k: "float32" for k in scal}})
        f["tree"].extend({**{k: ak.Array(v) for k, v in cols.items()}, **scal})
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("reg")
    return [_write_jets(d / f"{s}.root", seed=k) for k, s in enumerate(("train", "val", "test"))], d


def test_targets_match_hand_computation():
    jets = ak.Array({"px": [[3.0, 0.0]], "py": [[0.0, 4.0]], "pz": [[0.0, 0.0]], "energy": [[5.0, 5.0]],
                     "jet_sdmass": [7.0], "jet_tau1": [0.5], "jet_tau2": [0.25], "jet_tau3": [0.05]})
    y = regression_targets(jets)
    # m^2 = 10^2 - 3^2 - 4^2 = 75
    np.testing.assert_allclose(y[0], [np.sqrt(75.0), 7.0, 0.5, 0.2])
    jets0 = ak.Array({"px": [[1.0]], "py": [[0.0]], "pz": [[0.0]], "energy": [[1.0]], "jet_sdmass": [1.0],
                      "jet_tau1": [0.0], "jet_tau2": [0.0], "jet_tau3": [0.1]})
    assert np.isnan(regression_targets(jets0)[0, 2:]).all()
    with pytest.raises(KeyError, match="jet_tau1"):
        regression_targets(ak.Array({"px": [[1.0]], "py": [[0.0]], "pz": [[0.0]], "energy": [[1.0]]}), ("tau21",))
    with pytest.raises(KeyError, match="nsub"):
        regression_targets(jets, ("nsub",))


def test_resolution_metrics_known_values():
    true = np.ones((1000, 4))
    r = np.linspace(-1, 1, 1000)
    pred = true * (1.1 + 0.2 * r)[:, None]
    m = resolution_metrics(pred, true)
    assert m["tau21"]["bias_median"] == pytest.approx(0.1, abs=1e-3)
    assert m["jet_mass"]["iqr_over_1.349"] == pytest.approx(0.2 / 1.349, rel=1e-2)  # IQR of 0.2*U(-1,1) is 0.2
    assert m["jet_sdmass"]["std"] == pytest.approx(0.2 / np.sqrt(3), rel=1e-2)
    with pytest.raises(ValueError, match="true > 0"):
        resolution_metrics(pred, true * 0)


def test_regress_cli_scratch_learns_jet_mass(files, tmp_path):
    from hepjepa.cli import main

    (train, val, test), d = files
    cfg = tmp_path / "bb.yaml"
    cfg.write_text("num_features: 13\npointnet_hidden: 16\nembed_dim: 16\ndepth: 1\nnum_heads: 2\nnum_registers: 2\npair_hidden: 8\n")
    out = tmp_path / "out"
    assert main(["regress", "--scratch", "--backbone-config", str(cfg), "--train", train, "--val", val, "--test", test,
                 "--epochs", "15", "--batch-size", "16", "--lr", "3e-3", "-o", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["resolution"]) == {"jet_mass", "jet_sdmass", "tau21", "tau32"}
    assert m["n_test"] == 79  # the jet with tau1 = 0 is dropped
    assert (out / "pred_vs_true.png").stat().st_size > 0 and (out / "regressor.pt").exists()
    # jet mass is a function of the constituents: the model beats predicting the mean (val MSE 1 in std units)
    assert m["history"]["best_val_loss"] < 0.9, m["history"]["val_loss"]
    jm = m["resolution"]["jet_mass"]
    assert abs(jm["bias_median"]) < 0.3 and jm["iqr_over_1.349"] < 0.5, jm
