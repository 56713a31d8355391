"""benchmarks/physics_compare.py's run cache: a JEPA row counts only if it was fine-tuned with the
hyper-parameters the grid uses now; stale rows are left alone by the report and moved aside before training."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fewshot  # noqa: E402
import physics_compare as pc  # noqa: E402


def _write(work: Path, job: tuple, **row) -> Path:
    (work / "runs").mkdir(parents=True, exist_ok=True)
    f = work / "runs" / f"{pc._key(*job)}.json"
    f.write_text(json.dumps({"task": job[0], "model": job[1], "fraction": job[2], "seed": job[3], **row}))
    return f


def test_jepa_rows_follow_fewshot_per_fraction_hparams():
    assert pc.ft_for(1.0) == fewshot.FT
    assert pc.ft_for(0.01) == fewshot.FT_FEW  # LP-FT at <= 1 %
    assert pc._stale(("top", "finetune", 1.0, 0), {"ft": fewshot.FT}) is None
    assert pc._stale(("top", "finetune", 0.01, 0), {"ft": fewshot.FT}) is not None  # made without LP-FT
    assert "pre-2026-11-23" in pc._stale(("top", "scratch", 1.0, 0), {})  # rows from before rows recorded ft
    assert pc._stale(("top", "part", 1.0, 0), {}) is None  # peers do not use ft


def test_overrides_change_what_is_current(monkeypatch):
    monkeypatch.setattr(pc, "FT_OVERRIDES", {"backbone_lr_scale": 0.3})
    assert pc.ft_for(1.0) == {**fewshot.FT, "backbone_lr_scale": 0.3}
    assert pc._stale(("top", "finetune", 1.0, 0), {"ft": fewshot.FT}) is not None


def test_stale_rows_missing_in_report_moved_before_training(tmp_path):
    fresh, stale, peer = ("top", "finetune", 1.0, 0), ("top", "scratch", 1.0, 1), ("top", "part", 1.0, 0)
    _write(tmp_path, fresh, auc=0.9, ft=pc.ft_for(1.0), roc={"eff_b": []})
    f_stale = _write(tmp_path, stale, auc=0.8, roc={"eff_b": []})
    _write(tmp_path, peer, auc=0.95, roc={"eff_b": []})
    rows, missing = pc.collect([fresh, stale, peer], tmp_path, None)
    assert [r["auc"] for r in rows] == [0.9, 0.95] and missing == [stale]
    assert f_stale.is_file()  # the report moves nothing
    assert pc._cached(stale, tmp_path, move_stale=True) is None
    assert not f_stale.is_file() and (tmp_path / "runs" / "replaced" / f_stale.name).is_file()
    assert pc._cached(fresh, tmp_path, move_stale=True)["auc"] == 0.9


def test_rows_trained_with_another_budget_are_stale(monkeypatch):
    s = {**pc.SETTINGS["full"], "budget": {**pc.BUDGET, 1.0: (64, 30, 8)}}  # a variant's --budget 1=64,30,8
    monkeypatch.setattr(pc, "_SETTINGS_NOW", s)
    job = ("top", "part", 1.0, 0)
    assert pc._stale(job, {"budget": [64, 30, 8]}) is None
    assert "budget [64, 12, 4]" in pc._stale(job, {"budget": [64, 12, 4]})
    assert pc._stale(job, {}) is None  # rows from before rows recorded their budget: their grid's
    assert pc._stale(("top", "part", 0.2, 0), {"budget": list(pc.BUDGET[0.2])}) is None


@pytest.mark.parametrize("argv, message", [
    (["--budget", "1=64,30,8"], "give the variant a --name"),
    (["--name", "x", "--budget", "1=64,30"], "three positive integers"),
    (["--name", "x", "--budget", "0.3=64,30,8"], "FRAC one of"),
    (["--name", "x", "--budget", "1=64,0,8"], "three positive integers"),
])
def test_budget_option_is_checked(monkeypatch, capsys, argv, message):
    monkeypatch.setattr(sys, "argv", ["physics_compare.py", *argv])
    with pytest.raises(SystemExit) as e:
        pc.main()
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_rows_of_another_test_set_are_stale(monkeypatch, tmp_path):
    job = ("top", "part", 1.0, 0)
    monkeypatch.setattr(pc, "_SETTINGS_NOW", {**pc.SETTINGS["full"], "test_root": "data/bench_top"})  # as main() stores it
    assert pc._stale(job, {"test_root": "data/bench_top"}) is None
    assert "tested on data/bench," in pc._stale(job, {})  # a main-grid row copied into a --test-root variant
    monkeypatch.setattr(pc, "_SETTINGS_NOW", dict(pc.SETTINGS["full"]))
    assert "tested on data/bench_top" in pc._stale(job, {"test_root": "data/bench_top"})
    monkeypatch.setattr(sys, "argv", ["physics_compare.py", "--test-root", str(tmp_path)])
    with pytest.raises(SystemExit):
        pc.main()


def test_rows_of_another_training_set_are_stale(monkeypatch, tmp_path, capsys):
    job = ("top", "finetune", 1.0, 0)
    now = {**pc.SETTINGS["full"], "train_root": "data/bench_top", "test_root": "data/bench_top"}
    monkeypatch.setattr(pc, "_SETTINGS_NOW", now)
    ft = pc.ft_for(1.0)
    assert pc._stale(job, {"train_root": "data/bench_top", "test_root": "data/bench_top", "ft": ft}) is None
    assert "trained on data/bench," in pc._stale(job, {"test_root": "data/bench_top", "ft": ft})
    monkeypatch.setattr(sys, "argv", ["physics_compare.py", "--train-root", str(tmp_path)])
    with pytest.raises(SystemExit) as e:
        pc.main()
    assert e.value.code == 2 and "--train-root changes the training set" in capsys.readouterr().err


def test_train_root_reads_train_and_val_from_it(monkeypatch, tmp_path):
    """load_task takes train/val from train_root and test from test_root (file names only are checked here)."""
    seen = []

    def files(split, classes, root=None):
        seen.append((split, Path(root).name))
        raise RuntimeError("stop")  # only the folder choice is under test

    monkeypatch.setattr(pc.fewshot, "bench_files", files)
    for s, want in (({"train_root": "data/bench_top"}, "bench_top"), ({}, "bench")):
        seen.clear()
        with pytest.raises(RuntimeError):
            pc.load_task("top", None, {**pc.SETTINGS["full"], **s})
        assert seen == [("train", want)]


def test_jepa_rows_of_another_group_count_are_stale(monkeypatch, tmp_path, capsys):
    """--max-groups: JEPA rows record it and a JEPA row of another group count is stale; peer rows are not affected."""
    now = {**pc.SETTINGS["full"], "max_groups": 24}
    monkeypatch.setattr(pc, "_SETTINGS_NOW", now)
    ft = pc.ft_for(1.0)
    assert pc._stale(("top", "finetune", 1.0, 0), {"max_groups": 24, "ft": ft}) is None
    assert "tokenised into the backbone's groups, not 24 groups" in pc._stale(("top", "finetune", 1.0, 0), {"ft": ft})
    assert pc._stale(("top", "part", 1.0, 0), {}) is None
    monkeypatch.setattr(sys, "argv", ["physics_compare.py", "--name", "x", "--max-groups", "0"])
    with pytest.raises(SystemExit) as e:
        pc.main()
    assert e.value.code == 2 and "--max-groups must be a positive integer, got 0" in capsys.readouterr().err


def test_jepa_rows_of_another_backbone_are_stale(monkeypatch):
    """A fine-tuned/frozen row records its backbone; under another backbone it is stale (scratch and peers are not)."""
    now = {**pc.SETTINGS["full"], "max_groups": 24, "backbone": pc.MAIN_BACKBONE}
    monkeypatch.setattr(pc, "_SETTINGS_NOW", now)
    ft = pc.ft_for(1.0)
    row = {"max_groups": 24, "ft": ft}
    assert pc._stale(("top", "finetune", 1.0, 0), {**row, "backbone": pc.MAIN_BACKBONE}) is None
    assert f"not {pc.MAIN_BACKBONE}" in pc._stale(("top", "frozen", 1.0, 0), {**row, "backbone": pc.VARIANT_DEFAULT_BACKBONE})
    assert pc._stale(("top", "scratch", 1.0, 0), row) is None
    assert pc._stale(("top", "part", 1.0, 0), {}) is None


def test_main_grid_uses_the_main_recipe_and_variants_the_old_defaults(monkeypatch, tmp_path):
    """Without --name: MAIN_BACKBONE on MAIN_MAX_GROUPS groups; with --name: VARIANT_DEFAULT_BACKBONE on its own groups.
    (main() is stopped where it would start reading jets; only the settings it chose are under test.)"""
    class Stop(Exception):
        pass

    def stop(*a, **k):
        raise Stop

    monkeypatch.setattr(pc, "reusable_fewshot", stop)
    monkeypatch.setattr(pc._peers, "require_weaver", lambda: None)
    monkeypatch.setattr(pc.Path, "is_file", lambda self: True)
    for argv, backbone, groups in ((["--work", str(tmp_path / "a")], pc.MAIN_BACKBONE, pc.MAIN_MAX_GROUPS),
                                   (["--name", "x", "--work", str(tmp_path / "b")], pc.VARIANT_DEFAULT_BACKBONE, None)):
        monkeypatch.setattr(pc, "_SETTINGS_NOW", {})
        monkeypatch.setattr(sys, "argv", ["physics_compare.py", *argv])
        with pytest.raises(Stop):
            pc.main()
        assert pc._SETTINGS_NOW["backbone"] == backbone and pc._SETTINGS_NOW.get("max_groups") == groups
