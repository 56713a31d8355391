"""examples/top_tagging and examples/quark_gluon, run small: real generator events, real outputs.

Uses the shipped model when present, else a tiny exported model (the numbers then say
nothing about physics; the test checks the outputs exist, are finite and consistent).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("coffea")
pytest.importorskip("pythia8mc")
torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / name / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from hepjepa.deploy import ShippedModelMissingError, shipped_model_dir

    try:
        return shipped_model_dir()
    except ShippedModelMissingError:
        from _synthetic import export_tiny

        return export_tiny(tmp_path_factory.mktemp("ex") / "model")[0]


def _finite(x):
    return x is not None and math.isfinite(x)


def test_top_tagging(model, tmp_path):
    res = _load("top_tagging").main(["--events", "20", "-o", str(tmp_path), "--model", str(model), "--no-progress"])
    assert json.loads((tmp_path / "results.json").read_text()) == res
    assert res["events"] > 0 and res["fatjets_tagged"] >= 20
    assert 0 <= res["auc_top_vs_qcd"] <= 1 and 0 < res["top_efficiency"] <= 1
    s = json.loads((tmp_path / "summary.json").read_text())
    if sum(s["msd_background_after"]) > 0:  # a good model on 20 jets may leave no QCD jet after the cut
        assert _finite(res["qcd_msd_js_distance"]) and 0 <= res["qcd_msd_js_distance"] <= 1
        assert 0 <= res["qcd_msd_ks_distance"] <= 1
    else:
        assert res["qcd_msd_js_distance"] is None and res["qcd_efficiency"] == 0
    assert sum(s["msd_background_before"]) > 0 and res["auc_top_vs_qcd"] == s["auc"]
    assert res["qcd_total"] == pytest.approx(s["working_point"]["bkg_total"]) and res["qcd_total"] > 20  # 10 x the top jets
    if res["qcd_rejection"] is not None:  # enough QCD jets pass for a value
        assert res["qcd_passing"] >= 10 and res["qcd_rejection"] == pytest.approx(1 / res["qcd_efficiency"])
        lo, hi = res["qcd_rejection_interval_68"]
        assert lo <= res["qcd_rejection"] <= hi
    else:  # too few: a lower limit, never a value from a handful of jets
        assert res["qcd_passing"] < 10 and res["qcd_rejection_lower_limit_95"] >= 1
    for f in ("roc.png", "msd.png", "scores.png", "hists.coffea", "hists.root"):
        assert (tmp_path / f).stat().st_size > 0


def test_quark_gluon(model, tmp_path):
    res = _load("quark_gluon").main(["--events", "20", "-o", str(tmp_path), "--model", str(model), "--no-progress"])
    s = json.loads((tmp_path / "summary.json").read_text())
    from coffea.util import load

    h = load(str(tmp_path / "hists.coffea"))["hist"]
    assert set(h.axes["truth"]) <= {-1, 0, 1} and {0, 1} <= set(h.axes["truth"])  # q/g truth, not JetClass labels
    assert res["score"] == "probQCD" and 0 <= res["auc_quark_vs_gluon"] <= 1 and res["auc_quark_vs_gluon"] == s["auc"]
    assert s["events"] == res["events"] and h[{"flavour": "probQCD"}].sum().value == s["fatjets_tagged"]
    assert 0 < res["quark_efficiency"] <= 1
    if res["gluon_rejection"] is not None:
        assert res["gluon_passing"] >= 10 and res["gluon_rejection"] >= 1
    else:
        assert res["gluon_passing"] < 10 and res["gluon_rejection_lower_limit_95"] >= 1
