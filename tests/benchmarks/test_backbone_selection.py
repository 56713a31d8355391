"""benchmarks/backbone_selection.py: run names, the cache rows it accepts, its plot and its page rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
from benchmarks import _plots, make_report  # noqa: E402
from benchmarks import backbone_selection as bs  # noqa: E402
from benchmarks import physics_compare as pc  # noqa: E402


def test_run_names_map_to_family_and_seed():
    assert bs.run_tag(Path("data/bench_runs/backbone_top")) == "base"
    assert bs.run_tag(Path("data/bench_runs/backbone_top_pool2_seed3")) == "pool2_seed3"
    assert bs.family_seed("base") == ("base", 0) and bs.family_seed("base_seed2") == ("base", 2)
    assert bs.family_seed("pool2") == ("pool2", 0) and bs.family_seed("pool2_seed4") == ("pool2", 4)
    assert bs.family_seed("g24") == ("g24", 0)
    v = bs.fewshot_variant("pool2_seed1", {"max_groups": 24, "seeds": [0, 1], "fractions": [0.005, 0.01]}, Path("/x/checkpoint.pt"))
    assert v["name"] == "few10_pool2_seed1_g24ft" and v["max_groups"] == 24
    assert pc.variant_runs(v, {"seeds": [0, 1]}) == ["top_finetune_f0.005_s0", "top_finetune_f0.005_s1", "top_finetune_f0.01_s0", "top_finetune_f0.01_s1"]


def test_only_rows_of_this_backbone_on_24_groups_count(tmp_path):
    ck = tmp_path / "backbone_top_pool2_seed1" / "checkpoint.pt"
    runs = tmp_path / "physics_few10_pool2_seed1_g24ft" / "runs"
    runs.mkdir(parents=True)
    f = runs / "top_finetune_f0.01_s3.json"
    f.write_text(json.dumps({"max_groups": 24, "backbone": str(ck), "accuracy": 0.8}))
    assert bs.load_row(tmp_path, "few10_pool2_seed1_g24ft", "finetune", 0.01, 3, 24, ck)["accuracy"] == 0.8
    assert bs.load_row(tmp_path, "few10_pool2_seed1_g24ft", "finetune", 0.01, 4, 24, ck) is None  # not run
    assert bs.load_row(tmp_path, "few10_pool2_seed1_g24ft", "finetune", 0.01, 3, 24, tmp_path / "other" / "checkpoint.pt") is None
    f.write_text(json.dumps({"backbone": str(ck), "accuracy": 0.8}))  # the backbone's 12 groups
    assert bs.load_row(tmp_path, "few10_pool2_seed1_g24ft", "finetune", 0.01, 3, 24, ck) is None


def _result():
    def run(name, fam, seed, rank, gains):
        return {"run": name, "family": fam, "pretrain_seed": seed, "effective_rank": rank, "final_loss": 0.1,
                "fewshot": {f: {"gain_accuracy_points": g, "gain_accuracy_sem": 1.0} for f, g in zip(("0.005", "0.01"), gains)}}

    fam = {f: {"gain_selected_by_rank": 6.0, "gain_lowest_loss": -7.0, "gain_random_pick_mean": 1.5, "gain_best_in_hindsight": 6.4,
               "gain_worst": -7.2, "spearman_rank_gain": 0.8} for f in ("0.005", "0.01")}
    return {"runs": [run("pool2", "pool2", 0, 28.0, (-7.2, -5.2)), run("pool2_seed2", "pool2", 2, 72.0, (6.0, 3.9)),
                     run("g24", "g24", 0, 25.8, (1.0, 0.5)), {**run("long", "long", 0, 38.0, (0, 0)), "fewshot": {"0.005": None, "0.01": None}}],
            "families": {"pool2": {"runs": ["pool2", "pool2_seed2"], "selected_by_rank": "pool2_seed2", "selected_by_lowest_loss": "pool2", **fam}},
            "correlations": {f: {"spearman_rank_gain_all_runs": 0.5, "spearman_loss_gain_all_runs": 0.7} for f in ("0.005", "0.01")},
            "n_runs_without_fewshot": 1}


def test_selection_keeps_the_highest_rank():
    got = bs.select(_result()["runs"], (0.005, 0.01))
    assert got["n_runs_without_fewshot"] == 1 and list(got["families"]) == ["pool2"]
    assert got["families"]["pool2"]["selected_by_rank"] == "pool2_seed2" and got["families"]["pool2"]["0.005"]["gain_selected_by_rank"] == 6.0
    assert got["families"]["pool2"]["0.01"]["gain_random_pick_mean"] == pytest.approx((-5.2 + 3.9) / 2)


def test_plot_and_report_rows(tmp_path):
    out = _plots.backbone_selection(_result(), tmp_path / "sel.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 2000
    assert _plots.backbone_selection({**_result(), "runs": []}, tmp_path / "none.png") is None
    (tmp_path / "backbone_selection.json").write_text(json.dumps(_result()))
    # a run's few-shot variant of physics_compare is summarised by backbone_selection.json's rows, not listed again
    (tmp_path / "physics_compare_few10_pool2_seed2_g24ft.json").write_text(json.dumps({"mode": "full", "variant": "few10_pool2_seed2_g24ft", "summary": [
        {"task": "top", "model": "finetune", "fraction": 0.01, "n_seeds": 10, "accuracy_mean": 0.86, "accuracy_std": 0.01, "auc_mean": 0.92, "auc_std": 0.01}]}))
    rows = make_report.collect_rows(tmp_path)
    assert [r[1] for r in rows] == ["`python -m benchmarks.physics_compare --variant benchmarks/variants/backbone_selection.yaml`"] * 4
    assert "kept pool2_seed2: +6.0 points over scratch; random pick +1.5" in rows[0][2]
    assert rows[2][0].startswith("effective rank vs few-shot gain, all 3 runs") and "Spearman +0.50" in rows[2][2]
