"""benchmarks/physics_compare.py's run cache: a row counts only if it was made under the settings the
grid resolves now (data, budget, groups, backbone, fine-tuning hyper-parameters); stale rows are left
alone by the report and moved aside before training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
from benchmarks import _grid  # noqa: E402
from benchmarks import physics_compare as pc  # noqa: E402

FULL = {**pc.SETTINGS["full"], "ft": {}}


def _write(work: Path, job: tuple, **row) -> Path:
    (work / "runs").mkdir(parents=True, exist_ok=True)
    f = work / "runs" / f"{pc._key(*job)}.json"
    f.write_text(json.dumps({"task": job[0], "model": job[1], "fraction": job[2], "seed": job[3], **row}))
    return f


def test_jepa_rows_follow_the_per_fraction_hparams():
    assert pc.ft_for(1.0) == _grid.FT and pc.ft_for(0.01) == _grid.FT_FEW  # LP-FT at <= 1 %
    assert pc._stale(("top", "finetune", 1.0, 0), {"ft": _grid.FT}, FULL) is None
    assert pc._stale(("top", "finetune", 0.01, 0), {"ft": _grid.FT}, FULL) is not None  # made without LP-FT
    assert "unrecorded hyper-parameters" in pc._stale(("top", "scratch", 1.0, 0), {}, FULL)  # a row that does not record its ft
    assert pc._stale(("top", "part", 1.0, 0), {}, FULL) is None  # peers do not use ft


def test_overrides_change_what_is_current():
    s = pc.settings({"backbone": "b", "ft": {"backbone_lr_scale": 0.3}})
    assert pc.ft_for(1.0, s["ft"]) == {**_grid.FT, "backbone_lr_scale": 0.3}
    assert pc._stale(("top", "finetune", 1.0, 0), {"ft": _grid.FT}, {**s, "backbone": None}) is not None


def test_stale_rows_missing_in_report_moved_before_training(tmp_path):
    fresh, stale, peer = ("top", "finetune", 1.0, 0), ("top", "scratch", 1.0, 1), ("top", "part", 1.0, 0)
    _write(tmp_path, fresh, auc=0.9, ft=pc.ft_for(1.0), roc={"eff_b": []})
    f_stale = _write(tmp_path, stale, auc=0.8, roc={"eff_b": []})
    _write(tmp_path, peer, auc=0.95, roc={"eff_b": []})
    rows, missing = pc.collect([fresh, stale, peer], tmp_path, FULL)
    assert [r["auc"] for r in rows] == [0.9, 0.95] and missing == [stale]
    assert f_stale.is_file()  # the report moves nothing
    assert pc._cached(stale, tmp_path, FULL, move_stale=True) is None
    assert not f_stale.is_file() and (tmp_path / "runs" / "replaced" / f_stale.name).is_file()
    assert pc._cached(fresh, tmp_path, FULL, move_stale=True)["auc"] == 0.9


def test_rows_trained_with_another_budget_are_stale():
    s = pc.settings({"backbone": "b", "budget": {1: [64, 30, 8]}})
    job = ("top", "part", 1.0, 0)
    assert pc._stale(job, {"budget": [64, 30, 8]}, s) is None
    assert "budget [64, 12, 4]" in pc._stale(job, {"budget": [64, 12, 4]}, s)
    assert pc._stale(job, {}, s) is None  # a row that does not record its budget: its grid's
    assert pc._stale(("top", "part", 0.2, 0), {"budget": list(pc.BUDGET[0.2])}, s) is None


def test_rows_of_another_test_or_training_set_are_stale():
    job = ("top", "part", 1.0, 0)
    test5k = pc.settings({"backbone": "b", "test_root": "data/bench_top"})
    assert pc._stale(job, {"test_root": "data/bench_top"}, test5k) is None
    assert "tested on data/bench," in pc._stale(job, {}, test5k)  # a main-grid row copied into a test-set variant
    assert "tested on data/bench_top" in pc._stale(job, {"test_root": "data/bench_top"}, FULL)
    top20k = pc.settings({"backbone": "b", "train_root": "data/bench_top", "test_root": "data/bench_top"})
    ft = pc.ft_for(1.0)
    assert pc._stale(("top", "scratch", 1.0, 0), {"train_root": "data/bench_top", "test_root": "data/bench_top", "ft": ft}, top20k) is None
    assert "trained on data/bench," in pc._stale(("top", "scratch", 1.0, 0), {"test_root": "data/bench_top", "ft": ft}, top20k)


def test_train_root_reads_train_and_val_from_it(monkeypatch):
    """load_task takes train/val from train_root and test from test_root (file names only are checked here)."""
    seen = []

    def files(split, classes, root=None):
        seen.append((split, Path(root).name))
        raise RuntimeError("stop")  # only the folder choice is under test

    monkeypatch.setattr(pc._grid, "bench_files", files)
    for s, want in (({"train_root": "data/bench_top"}, "bench_top"), ({}, "bench")):
        seen.clear()
        with pytest.raises(RuntimeError):
            pc.load_task("top", None, {**FULL, **s})
        assert seen == [("train", want)]


def test_jepa_rows_of_another_group_count_or_backbone_are_stale():
    main = pc.settings(pc.load_variant(pc.VARIANTS / "main.yaml"))
    assert main["max_groups"] == 24 and main["backbone"] == "data/bench_runs/backbone_top_pool2_seed2/checkpoint.pt"
    row = {"max_groups": 24, "ft": pc.ft_for(1.0), "backbone": main["backbone"]}
    assert pc._stale(("top", "finetune", 1.0, 0), row, main) is None
    assert "tokenised into the backbone's groups, not 24 groups" in pc._stale(("top", "finetune", 1.0, 0), {**row, "max_groups": None}, main)
    assert pc._stale(("top", "part", 1.0, 0), {}, main) is None
    other = "data/bench_runs/backbone_top/checkpoint.pt"
    assert f"not {main['backbone']}" in pc._stale(("top", "frozen", 1.0, 0), {**row, "backbone": other}, main)
    assert pc._stale(("top", "scratch", 1.0, 0), {**row, "backbone": other}, main) is None  # scratch uses no backbone


def test_rerun_names_are_checked(tmp_path):
    jobs = pc.job_list(FULL)
    f = _write(tmp_path, ("top", "part", 1.0, 0), auc=0.9)
    assert pc._rerun_jobs(["top_part_f1_s0"], jobs, tmp_path) == [("top", "part", 1.0, 0)]
    assert not f.is_file() and (tmp_path / "runs" / "replaced" / f.name).is_file()
    with pytest.raises(KeyError, match=r"did you mean 'top_part_f1_s\d'"):
        pc._rerun_jobs(["top_part_f1_s9"], jobs, tmp_path)


def test_run_jobs_forks_workers_and_reports_failures(tmp_path):
    def job(j):
        if j == 3:
            raise ValueError("boom")
        (tmp_path / f"{j}").write_text("done")

    _grid.run_jobs(job, [0, 1, 2], workers=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2"]
    with pytest.raises(RuntimeError, match="worker failed"):
        _grid.run_jobs(job, [3, 4, 5], workers=2)
