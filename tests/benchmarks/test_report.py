"""benchmarks/make_report.py: README region replaced, rest untouched, bad JSON skipped, plots drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import make_report

HEAD = "# Title\n\nSome text | with a pipe.\n\n<!-- results:begin (generated; do not edit) -->\n"
TAIL = "<!-- results:end -->\n\n## After\n\nMore text.\n"


def _results(tmp_path: Path) -> Path:
    res = tmp_path / "results"
    res.mkdir()
    (res / "bridge_memory.json").write_text(json.dumps({"runs": 100000, "growth_fraction": 4e-5}))
    (res / "speed_scaling.json").write_text(json.dumps({
        "machine": {"loadavg_1_5_15": [3.0, 2.0, 1.0]},
        "rows": [{"stage": "linear", "particles": n, "seconds": 1e-4 * n, "peak_extra_bytes": 1000 * n} for n in (256, 1024, 4096)],
        "summary": {"linear_time_slope": 1.0, "linear_memory_slope": 1.0, "linear_max_particles_run": 4096},
    }))
    (res / "speed_inference.json").write_text(json.dumps({
        "rows": [{"runtime": rt, "threads": th, "batch": b, "jets_per_s": 100.0 * b, "latency_p50_us": 10.0, "latency_p99_us": 20.0}
                 for rt in ("cpp", "ort") for th in (1, 2) for b in (1, 64)],
    }))
    grid = [i / 10 for i in range(11)]
    (res / "physics_compare.json").write_text(json.dumps({
        "mode": "full", "tasks": {"top": "top vs QCD"}, "models": {"part": "ParT", "scratch": "scratch"}, "roc_eff_s": grid,
        "summary": [{"task": "top", "model": m, "fraction": f, "n_seeds": 2, "accuracy_mean": 0.9, "accuracy_std": 0.01, "auc_mean": 0.95,
                     "auc_std": 0.01} for m in ("part", "scratch") for f in (0.01, 1.0)],
        "runs": [{"task": "top", "model": m, "fraction": 1.0, "seed": sd, "auc": 0.95,
                  **({"roc": {"signal": "label_Tbqq", "background": "label_QCD", "eff_b": [x ** 2 for x in grid]}} if sd == 0 else {})}
                 for m in ("part", "scratch") for sd in (0, 1)],
        "roc_curves": {"with_curve": ["top_part_f1_s0", "top_scratch_f1_s0 (from saved scores)"],
                       "without_curve": {"top_part_f1_s1": "x", "top_scratch_f1_s1": "x"}},
    }))
    (res / "broken.json").write_text("{not json")
    (res / "fewshot.json").write_text(json.dumps({"summary": "a string, not the expected list"}))
    (res / "other_tool.json").write_text(json.dumps({"summary": {"speed": 12.5, "flag": True}}))
    return res


def test_region_replaced_rest_untouched(tmp_path, capsys):
    res = _results(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(HEAD + "| old | table | row |\n" + TAIL)
    assert make_report.main(["--results", str(res), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(HEAD) and text.endswith(TAIL)
    region = text[len(HEAD): -len(TAIL)]
    assert "old | table" not in region
    assert region.startswith("| what | script | result |\n|---|---|---|\n")
    assert "memory growth over 100k producer calls | `" in region and "| 0.004% |" in region
    assert "linear: up to 4096 particles, time slope 1.00, memory slope 1.00 (load avg 3.0 on 2 cores)" in region
    assert "cpp 6.4e+03, ort 6.4e+03" in region  # batch 64: 100 * 64 jets/s
    assert "speed 12.5" in region  # generic row of an unknown benchmark
    out = capsys.readouterr().out
    assert "skipping broken.json" in out and "skipping fewshot.json" in out
    assert (res / "speed_scaling.png").stat().st_size > 1000
    assert (res / "speed_inference.png").stat().st_size > 1000
    # the ROC plot of all models comes from the curves stored in physics_compare.json
    assert (res / "report_roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (res / "report_physics_fewshot.png").read_bytes()[:4] == b"\x89PNG"
    assert not (res / "report_fewshot.png").exists()  # fewshot.json is malformed: skipped, not drawn
    assert "ROC curves stored" in region and "2 of 4 runs carry a curve; drawn: top_part_f1_s0, top_scratch_f1_s0" in region
    # the region links the plots drawn, relative to the README, after the table
    links = region.strip().splitlines()[-1]
    assert links.startswith("Plots: [ROC curves of all models, top vs QCD, 100% labels](results/report_roc.png)")
    assert "(results/speed_scaling.png)" in links and "report_fewshot.png" not in links
    # idempotent: a second run gives the same README
    make_report.main(["--results", str(res), "--readme", str(readme), "--no-plots"])
    assert readme.read_text() == text


@pytest.mark.parametrize("text", ["no markers\n", HEAD + "x\n", "x\n" + TAIL, TAIL + HEAD])
def test_bad_markers_raise(text):
    with pytest.raises(make_report.ReportError):
        make_report.replace_region(text, "| t |")


def test_pipes_in_results_escaped():
    table = make_report.render_table([("a|b", "`s.py`", "c|d")])
    assert table.splitlines()[2] == "| a\\|b | `s.py` | c\\|d |"


def test_physics_compare_variant_is_one_row(tmp_path):
    """physics_compare_NAME.json (a variant) is one row: labelled by its variant file's ``what`` and
    the command that reproduces it, with JEPA - ParT in AUC and the fine-tuned runs' val loss; a
    variant without a file is labelled by its backbone."""
    res = tmp_path / "results"
    res.mkdir()
    cell = {"task": "top", "fraction": 1.0, "accuracy_std": 0.01, "auc_std": 0.01}
    for name in ("g24", "nofile"):
        (res / f"physics_compare_{name}.json").write_text(json.dumps({
            "mode": "full", "variant": name, "jepa": {"backbone": "data/bench_runs/backbone_top_g24/checkpoint.pt"},
            "summary": [{**cell, "model": "part", "n_seeds": 4, "accuracy_mean": 0.9, "auc_mean": 0.95},
                        {**cell, "model": "finetune", "n_seeds": 4, "accuracy_mean": 0.91, "auc_mean": 0.96}],
            "runs": [{"task": "top", "model": "finetune", "fraction": 1.0, "seed": s, "best_val_loss": 0.1 + 0.1 * s} for s in (0, 1)]}))
    rows = make_report.collect_rows(res)
    assert len(rows) == 2
    what, script, result = rows[0]
    assert script == "`python -m benchmarks.physics_compare --variant benchmarks/variants/g24.yaml`"
    assert what == "physics variant `g24`: a backbone pretrained on 24 groups"
    assert result == ("top 100%, 4 seeds: part 0.900 (AUC 0.950), finetune 0.910 (AUC 0.960); JEPA - ParT AUC +0.0100 ± 0.0071; "
                      "JEPA val loss 0.150")
    assert rows[1][:2] == ("physics variant `nofile`: backbone data/bench_runs/backbone_top_g24/checkpoint.pt", "`python -m benchmarks.physics_compare`")
