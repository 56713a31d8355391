"""benchmarks/variants/*.yaml reproduce the recorded configurations of their results: each file,
resolved as the grid runner resolves it, gives the settings, backbone, fine-tuning overrides and
runs that its results JSON records, and every recorded physics run counts as current (not stale)
under it; a changed value is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
from benchmarks import _grid, ablations, backbone_selection, fewshot  # noqa: E402
from benchmarks import physics_compare as pc  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "benchmarks" / "variants"
PHYSICS = sorted(f for f in VARIANTS.glob("*.yaml") if "kind" not in pc.load_variant(f))
RESULTS = ROOT / "benchmarks" / "results"


def _json(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _result(v: dict) -> dict:
    return _json(f"physics_compare_{v['name']}" if v.get("name") else "physics_compare")


def _run_key(r: dict) -> str:
    return pc._key(r["task"], r["model"], r["fraction"], r["seed"])


def _recorded(d: dict) -> dict:
    got = {k: d.get(k) for k in pc.recorded({**pc.SETTINGS["full"], "backbone": ""})}
    for key in ("test_root", "train_root"):  # a file written before the field existed lacks it: data/bench
        got[key] = got[key] or "data/bench"
    return got


def _physics_mismatch(v: dict) -> str | None:
    """What in variant ``v`` differs from its recorded physics JSON, or None."""
    s, d = pc.settings(v), _result(v)
    if d.get("variant") != v.get("name") or d["mode"] != "full":
        return "variant name / mode"
    checks = {"settings": (pc.recorded(s), _recorded(d)), "backbone": (s["backbone"], d["jepa"]["backbone"]),
              "ft": (s["ft"], d["jepa"]["ft_overrides"]), "ft 100%": (pc.ft_for(1.0, s["ft"]), d["jepa"]["finetune_hparams"]),
              "ft 1%": (pc.ft_for(0.01, s["ft"]), d["jepa"]["finetune_hparams_at_le_1pct"])}
    runs = pc.variant_runs(v, s) or [pc._key(*j) for j in pc.job_list(s)]
    checks["runs"] = (sorted(runs), sorted(_run_key(r) for r in d["runs"]))
    bad = [k for k, (a, b) in checks.items() if a != b]
    if bad:
        return ", ".join(bad)
    for r in d["runs"]:  # every recorded run is one this variant would keep, not re-train
        why = pc._stale((r["task"], r["model"], r["fraction"], r["seed"]), r, s)
        if why:
            return f"{_run_key(r)}: {why}"
    return None


def test_every_kept_physics_result_has_a_variant_file():
    names = {pc.load_variant(f).get("name") for f in PHYSICS}
    have = {p.stem[len("physics_compare_"):] or None for p in RESULTS.glob("physics_compare_*.json")} | {None}
    assert names == have


@pytest.mark.parametrize("path", PHYSICS, ids=[p.stem for p in PHYSICS])
def test_physics_variant_reproduces_the_recorded_configuration(path):
    assert _physics_mismatch(pc.load_variant(path)) is None


@pytest.mark.parametrize("change, what", [
    ({"budget": {1.0: [64, 12, 4]}}, "settings"), ({"seeds": [0, 1, 2, 3]}, "settings"), ({"ft": {"lr": 3e-4}}, "ft"),
    ({"backbone": "data/bench_runs/backbone_top_g24/checkpoint.pt"}, "backbone"), ({"runs": [{"models": ["part"], "fractions": [1]}]}, "runs"),
])
def test_a_changed_physics_value_is_caught(change, what):
    v = pc.load_variant(VARIANTS / "epochs30.yaml")
    assert _physics_mismatch(v) is None
    assert what in _physics_mismatch({**v, **change})
    part = next(r for r in _result(v)["runs"] if r["model"] == "part")
    s = pc.settings({**v, "budget": {1.0: [64, 12, 4]}})
    assert "budget" in pc._stale((part["task"], "part", part["fraction"], part["seed"]), part, s)


def _fewshot_mismatch(v: dict) -> list[str]:
    s, d = fewshot.settings(v), _json(v["name"])
    got = fewshot.recorded(s)
    bad = [k for k, x in got.items() if d[k] != x]
    bad += [k for k, a, b in (
        ("backbone", d["pretraining"]["checkpoint"], s["backbone"]), ("pretrain_steps", d["pretraining"]["step"], s["pretrain_steps"]),
        ("runs", sorted((r["mode"], r["fraction"], r["seed"]) for r in d["runs"]), sorted(fewshot.jobs(s))),
        ("probe", sorted((r["init"], r["fraction"], r["seed"]) for r in d["linear_probe_runs"]),
         sorted((i, f, sd) for i in ("pretrained", "random") for f in s["fractions"] for sd in s["seeds"]) if s["probe"] else []),
        ("ft_sweep", sorted({(r["setting"], json.dumps(r["overrides"]), r["fraction"], r["seed"]) for r in d["finetune_hparam_selection"]["val_sweep"]}),
         sorted((k, json.dumps(o), f, sd) for k, o in (s["ft_sweep"] or {}).items() for f in s["sweep_fractions"] for sd in (0, 1, 2))),
        ("previous_ft", {k: x["hparams"] for k, x in d["finetune_hparam_selection"]["previous_runs"].items()}, s["previous_ft"]),
        ("summary", d["summary"], _grid.summarise(d["runs"], ("mode", "fraction"))),
        ("gain", d["finetune_minus_scratch_accuracy"], {str(f): g for f, g in fewshot._gain(d["summary"]).items()}),
    ) if a != b]
    return bad


def _ablations_mismatch(v: dict) -> list[str]:
    s, d = ablations.settings(v), _json(v["name"])
    return [k for k, a, b in (
        ("data", d["data"], s["data"]), ("pretrain_steps", d["pretrain_steps"], s["pretrain_steps"]), ("fractions", d["fractions"], s["fractions"]),
        ("seeds", d["seeds"], s["seeds"]), ("pretraining", d["variants"], s["pretraining"]), ("ft", d["finetune_hparams"], _grid.FT),
        ("steps", {p["step"] for p in d["pretraining"].values()}, {s["pretrain_steps"]}),
        ("runs", sorted((r["variant"], r["init"], r["eval"], r["fraction"], r["seed"]) for r in d["runs"]), sorted(ablations.jobs(s))),
        ("summary", d["summary"], _grid.summarise(d["runs"], ("variant", "eval", "fraction"), ("val_accuracy", "val_auc", "test_accuracy", "test_auc"))),
    ) if a != b]


def _selection_mismatch(v: dict) -> list[str]:
    d = _json(v["name"])
    task, rank = d["fewshot_task"], d["rank_measure"]
    return [k for k, a, b in (
        ("fractions", task["fractions"], v["fractions"]), ("seeds", task["seeds"], v["seeds"]), ("max_groups", task["max_groups"], v["max_groups"]),
        ("rank groups", rank["max_groups"], v["max_groups"]), ("jets", rank["n_jets"], 10 * v["jets_per_file"]),
        ("scratch", task["reference"], f"scratch rows of physics_compare variant {v['scratch_variant']}, paired by seed"),
        ("selection", {k: d[k] for k in ("families", "correlations", "n_runs_without_fewshot")}, backbone_selection.select(d["runs"], v["fractions"])),
    ) if a != b]


KINDS = {"fewshot": _fewshot_mismatch, "ablations": _ablations_mismatch, "backbone_selection": _selection_mismatch}
CHANGES = {"fewshot": ({"seeds": [0, 1]}, "seeds"), "ablations": ({"pretrain_steps": 1000}, "pretrain_steps"),
           "backbone_selection": ({"fractions": [0.005, 0.02]}, "fractions")}


@pytest.mark.parametrize("kind", list(KINDS))
def test_kind_variant_reproduces_its_recorded_results(kind):
    v = pc.load_variant(VARIANTS / f"{kind}.yaml")
    assert v["kind"] == kind and KINDS[kind](v) == []
    change, what = CHANGES[kind]
    assert what in KINDS[kind]({**v, **change})  # a changed value fails


def test_fewshot_recorded_numbers_follow_from_its_runs():
    v = pc.load_variant(VARIANTS / "fewshot.yaml")
    d = json.loads((RESULTS / "fewshot.json").read_text())
    d["runs"][0]["accuracy"] += 0.01
    s = fewshot.settings(v)
    assert d["summary"] != _grid.summarise(d["runs"], ("mode", "fraction")) and fewshot.recorded(s)["seeds"] == d["seeds"]
    assert fewshot.seeds_for(s, 0.01) == [0, 1, 2, 3, 4] and fewshot.seeds_for(s, 0.05) == [0, 1, 2]
    q = fewshot.settings(v, quick=True)
    assert q["data"] == "data/bench" and q["budget"] == {0.01: (16, 20, 10), 1.0: (64, 3, 3)} and q["ft_sweep"] is None


def test_bad_variant_files_are_refused(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    for text, message in (("name: x\nbackbone: b\nsedes: [0]\n", "unknown keys ['sedes']"), ("name: x\n", "a variant names its backbone"),
                          ("kind: other\n", "kind 'other'"), ("name: x\nbackbone: b\nbudget: {0.3: [64, 30, 8]}\n", "FRAC one of"),
                          ("name: x\nbackbone: b\nbudget: {1: [64, 0, 8]}\n", "three positive integers"),
                          ("name: x\nbackbone: b\nmax_groups: 0\n", "max_groups must be a positive integer, got 0"),
                          ("name: x/y\nbackbone: b\n", "name must be letters"), ("name: x\nbackbone: b\nft: {lrr: 1}\n", "ft 'lrr'")):
        bad.write_text(text)
        with pytest.raises(SystemExit) as e:
            pc.parse_args(["--variant", str(bad)])
        assert e.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        pc.parse_args(["--seeds", "0"])  # a variant is a file, not flags
    with pytest.raises(SystemExit):
        pc.parse_args(["--variant", str(VARIANTS / "fewshot.yaml"), "--rerun", "top_part_f1_s0"])
    assert "kind fewshot" in capsys.readouterr().err
