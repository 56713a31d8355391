"""benchmarks/variants/*.yaml reproduce the recorded configurations of their results: each file,
resolved as physics_compare.py resolves it, gives the settings, backbone, fine-tuning overrides and
runs that its physics_compare JSON records, every recorded run counts as current (not stale) under
it, and the command that wrote the JSON resolves to the same settings."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import physics_compare as pc  # noqa: E402

VARIANTS = sorted((ROOT / "benchmarks" / "variants").glob("*.yaml"))
RESULTS = ROOT / "benchmarks" / "results"


def _result(v: dict) -> dict:
    name = v.get("name")
    return json.loads((RESULTS / (f"physics_compare_{name}.json" if name else "physics_compare.json")).read_text())


def _run_key(r: dict) -> str:
    return pc._key(r["task"], r["model"], r["fraction"], r["seed"])


def _recorded(d: dict) -> dict:
    got = {k: d.get(k) for k in pc.recorded({**pc.SETTINGS["full"], "backbone": ""})}
    for key in ("test_root", "train_root"):  # a file written before the field existed lacks it: data/bench
        got[key] = got[key] or "data/bench"
    return got


def test_every_kept_physics_result_has_a_variant_file():
    names = {pc.load_variant(f).get("name") for f in VARIANTS}
    have = {p.stem[len("physics_compare_"):] or None for p in RESULTS.glob("physics_compare_*.json")} | {None}
    assert names == have


@pytest.mark.parametrize("path", VARIANTS, ids=[p.stem for p in VARIANTS])
def test_variant_reproduces_the_recorded_configuration(path):
    v = pc.load_variant(path)
    pc.check_variant(v)
    s = pc.settings(v)
    d = _result(v)
    assert d.get("variant") == v.get("name") and d["mode"] == "full"
    assert pc.recorded(s) == _recorded(d)
    assert s["backbone"] == d["jepa"]["backbone"]
    assert s["ft"] == d["jepa"]["ft_overrides"]
    assert pc.ft_for(1.0, s["ft"]) == d["jepa"]["finetune_hparams"]
    assert pc.ft_for(0.01, s["ft"]) == d["jepa"]["finetune_hparams_at_le_1pct"]
    keys = [_run_key(r) for r in d["runs"]]
    runs = pc.variant_runs(v, s)
    if runs is None:  # the whole grid
        runs = [pc._key(*j) for j in pc.job_list(s, skip_top_jepa=False)]
    assert sorted(runs) == sorted(keys) and len(set(keys)) == len(keys)
    for r in d["runs"]:  # every recorded run is one this variant would keep, not re-train
        job = (r["task"], r["model"], r["fraction"], r["seed"])
        assert pc._stale(job, r, s) is None, (_run_key(r), pc._stale(job, r, s))
    # the command that wrote the JSON (the last one recorded) describes the same grid
    argv = shlex.split([c for c in d["commands"] if not c.startswith("#")][-1])
    argv = argv[argv.index(next(a for a in argv if a.endswith("physics_compare.py"))) + 1:]
    _, cmd_v = pc.parse_args(argv)
    assert pc.settings(cmd_v) == s


def test_a_changed_value_is_caught(tmp_path):
    v = pc.load_variant(ROOT / "benchmarks" / "variants" / "epochs30.yaml")
    s = pc.settings({**v, "budget": {1.0: [64, 12, 4]}})
    d = _result(v)
    assert pc.recorded(s) != _recorded(d)
    part = next(r for r in d["runs"] if r["model"] == "part")
    assert "budget" in pc._stale((part["task"], "part", part["fraction"], part["seed"]), part, s)


def test_variant_file_and_flags_cannot_mix(tmp_path, capsys):
    with pytest.raises(SystemExit):
        pc.parse_args(["--variant", str(VARIANTS[0]), "--seeds", "0"])
    assert "cannot be combined with --seeds" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbackbone: b\nsedes: [0]\n")
    with pytest.raises(SystemExit):
        pc.parse_args(["--variant", str(bad)])
    assert "unknown keys ['sedes']" in capsys.readouterr().err
