"""benchmarks/_plots.py: ROC and few-shot plots drawn from tiny summaries, bad input refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import _plots

GRID = np.linspace(0, 1, 11)


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


def _rows(models=("a", "b"), fractions=(0.01, 1.0)):
    return [{"model": m, "fraction": f, "accuracy_mean": 0.7 + 0.1 * f, "accuracy_std": 0.01, "auc_mean": 0.8 + 0.1 * f, "auc_std": 0.02}
            for m in models for f in fractions]


def test_plot_roc_writes_png_with_seed_band(tmp_path):
    eb = [list(GRID ** 2), list(GRID ** 2.2)]  # two seeds -> a band
    out = _plots.plot_roc({"ParT": eb, "scratch": [list(GRID ** 1.5)]}, GRID, tmp_path / "roc.png", title="t", note="omitted: x")
    assert out == tmp_path / "roc.png" and _png(out)


@pytest.mark.parametrize("curves, grid, match", [
    ({}, GRID, "no curves"),
    ({"ParT": []}, GRID, "'ParT' has no curves"),
    ({"ParT": [list(GRID[:-1])]}, GRID, r"'ParT'.*lengths \[10\]; expected 11"),
    ({"ParT": [list(GRID), list(GRID[:5])]}, GRID, r"lengths \[5, 11\]"),
    ({"ParT": [list(GRID * 2)]}, GRID, r"'ParT'.*expected efficiencies in \[0, 1\]"),
    ({"ParT": [list(GRID)]}, GRID[::-1], "non-decreasing"),
    ({"ParT": [[0.5]]}, [0.5], "at least 2 points"),
])
def test_plot_roc_refuses_bad_input(tmp_path, curves, grid, match):
    with pytest.raises(_plots.PlotInputError, match=match):
        _plots.plot_roc(curves, grid, tmp_path / "roc.png")
    assert not (tmp_path / "roc.png").exists()


def test_plot_fewshot_writes_png_for_both_callers(tmp_path):
    # physics_compare's rows ("model") and fewshot.py's rows ("mode")
    out = _plots.plot_fewshot(_rows(), tmp_path / "a.png", xlabel="label fraction of the 3000 training jets", labels={"a": "A"}, order=["b", "a"])
    assert _png(out)
    rows = [{**{k: v for k, v in r.items() if k != "model"}, "mode": r["model"]} for r in _rows()]
    out = _plots.plot_fewshot(rows, tmp_path / "b.png", group_key="mode", metrics=("auc",), xlabel="x")
    assert _png(out)


@pytest.mark.parametrize("rows, kw, match", [
    ([], {}, "no rows"),
    (_rows(), {"metrics": ()}, "no metrics"),
    ([{"model": "a", "fraction": 0.1, "accuracy_mean": 0.5}], {"metrics": ("accuracy",)}, r"row 0 lacks \['accuracy_std'\]"),
    (_rows(), {"group_key": "mode"}, r"row 0 lacks \['mode'\]"),
    (_rows(fractions=(0.0, 1.0)), {}, "fraction 0.0; expected a label fraction in"),
    (_rows(fractions=(1.5,)), {}, "fraction 1.5"),
    (_rows() + _rows(models=("a",), fractions=(1.0,)), {}, "two rows for model='a' at fraction 1"),
])
def test_plot_fewshot_refuses_bad_input(tmp_path, rows, kw, match):
    with pytest.raises(_plots.PlotInputError, match=match):
        _plots.plot_fewshot(rows, tmp_path / "f.png", xlabel="x", **kw)
    assert not (tmp_path / "f.png").exists()


def _physics_json(n_seeds_with_curve=2):
    runs = []
    for m in ("part", "scratch"):
        for sd in range(3):
            r = {"task": "top", "model": m, "fraction": 1.0, "seed": sd, "accuracy": 0.9, "auc": 0.95}
            if sd < n_seeds_with_curve:
                r["roc"] = {"signal": "label_Tbqq", "background": "label_QCD", "eff_b": list(GRID ** (2 + 0.1 * sd))}
            runs.append(r)
    runs.append({"task": "qg", "model": "part", "fraction": 1.0, "seed": 0, "roc": {"signal": "quark", "background": "gluon", "eff_b": list(GRID)}})
    return {"runs": runs, "roc_eff_s": list(GRID), "models": {"part": "ParT", "scratch": "scratch"}, "tasks": {"top": "top vs QCD"},
            "summary": [{**r, "task": "top"} for r in _rows(("part", "scratch"))], "n_jets": {"top": {"train": 3000}}}


def test_roc_curves_from_runs_groups_by_model_and_lists_missing():
    curves, have, lacking = _plots.roc_curves_from_runs(_physics_json()["runs"], task="top", fraction=1.0, order=["scratch"])
    assert list(curves) == ["scratch", "part"]
    assert [len(v) for v in curves.values()] == [2, 2]
    np.testing.assert_allclose(curves["part"][1], GRID ** 2.1)  # seeds in order
    assert sorted(have) == [("part", 0), ("part", 1), ("scratch", 0), ("scratch", 1)]
    assert sorted(lacking) == [("part", 2), ("scratch", 2)]


def test_physics_roc_and_fewshot_from_json(tmp_path):
    d = _physics_json()
    assert _png(_plots.physics_roc(d, tmp_path / "roc.png"))
    assert _png(_plots.physics_fewshot(d, tmp_path / "fs.png"))
    assert _plots.physics_roc(_physics_json(n_seeds_with_curve=0), tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
    assert _plots.physics_fewshot(d, tmp_path / "ten.png", task="ten") is None
    del d["roc_eff_s"]
    with pytest.raises(_plots.PlotInputError, match="roc_eff_s"):
        _plots.physics_roc(d, tmp_path / "x.png")


def test_physics_compare_stores_curves_the_plots_read(tmp_path):
    """physics_compare.roc_curve: the pair of each task on the 101-point grid; cached runs get a curve
    from their saved scores only when those scores reproduce the run's AUC."""
    from benchmarks import physics_compare as pc
    from hepjepa.downstream.metrics import roc_on_grid

    rng = np.random.default_rng(0)
    p10, y10 = rng.dirichlet(np.ones(10), 300), rng.integers(0, 10, 300)
    r = pc.roc_curve(p10, y10, "ten")
    assert (r["signal"], r["background"]) == ("label_Tbqq", "label_QCD")
    np.testing.assert_allclose(r["eff_b"], roc_on_grid(p10, y10, 8, 0, pc.ROC_EFF_S), atol=1e-6)
    p, y = rng.dirichlet(np.ones(2), 200), rng.integers(0, 2, 200)
    assert (pc.roc_curve(p, y, "qg")["signal"], pc.roc_curve(p, y, "top")["signal"]) == ("quark", "label_Tbqq")
    assert len(pc.roc_curve(p, y, "top")["eff_b"]) == len(pc.ROC_EFF_S) == 101

    row = {"task": "top", "model": "part", "fraction": 1.0, "seed": 0, **pc.metrics(p, y, "top")}
    assert "no saved test scores" in pc._curve_from_scores(row, tmp_path)["roc_missing"]
    (tmp_path / "scores").mkdir()
    np.savez(tmp_path / "scores" / "top_part_f1_s0.npz", scores=p, labels=y)
    got = pc._curve_from_scores(row, tmp_path)
    assert got["roc"] == pc.roc_curve(p, y, "top") and "top_part_f1_s0.npz" in got["roc_from"]
    assert "not the same run" in pc._curve_from_scores({**row, "auc": row["auc"] - 0.01}, tmp_path)["roc_missing"]
