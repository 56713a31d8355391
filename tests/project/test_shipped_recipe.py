"""examples/shipped_model/ (the shipped model's recipe) against what the shipped model and the benchmarks record.

Fast: only the dry run (``train.py --dry-run`` prints the commands, runs nothing), config files and the
shipped folder are read. Checks (a) the data sets' ``hepjepa generate`` commands against the results
JSONs and the model card, (b) the pretraining config and fine-tuning settings against the shipped
files, (c) every command against the real ``hepjepa`` argument parsers.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "shipped_model"
MODEL = ROOT / "python" / "hepjepa" / "models" / "default"
RESULTS = ROOT / "benchmarks" / "results"


def _driver():
    spec = importlib.util.spec_from_file_location("shipped_recipe", RECIPE / "train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def dry(tmp_path_factory) -> list[list[str]]:
    """The dry run's commands, run as documented from an empty folder (the hepjepa command pinned to ``hepjepa``)."""
    cwd = tmp_path_factory.mktemp("empty")
    r = subprocess.run([sys.executable, str(RECIPE / "train.py"), "--dry-run", "--hepjepa", "hepjepa"], cwd=cwd, capture_output=True, text=True, check=True)
    assert not list(cwd.iterdir()), "the dry run wrote files"
    return [shlex.split(ln) for ln in r.stdout.splitlines() if ln.strip() and not ln.startswith("#")]


def _hepjepa(cmds, name):
    """The commands of subcommand ``name``, without an environment assignment in front."""
    out = []
    for c in cmds:
        while "=" in c[0] and not c[0].startswith("-"):
            c = c[1:]
        if c[0] == "hepjepa" and c[1] == name:
            out.append(c)
    return out


def _norm(line: str) -> list[str]:
    """A recorded command with the repository's Python as ``hepjepa`` and paths relative to the repository."""
    line = line.replace(".venv/bin/python -m hepjepa.cli", "hepjepa")
    line = re.sub(r"\S*/(data/)", r"\1", line)  # absolute paths of the checkout that recorded it
    return shlex.split(line)


def test_dry_run_is_stages_in_order(dry):
    cmds = [c[1:] if c[0] == "OMP_NUM_THREADS=2" else c for c in dry]
    assert all(c[0] == "hepjepa" for c in cmds), "a command that is not hepjepa"
    names = [c[1] for c in cmds]
    assert names == ["generate"] * 56 + ["pretrain", "rank", "finetune", "evaluate", "export"]
    src = (RECIPE / "train.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+(benchmarks|fewshot|pretrain_variant_backbone)\b", src, re.M)
    assert not re.search(r"make_bench_data|pretrain_variant_backbone|train_shipped_model", src), "the driver runs benchmarks/ scripts"


# ---- (a) data: the generate commands are the recorded ones, command for command


def test_bench_generate_commands_equal_the_results_jsons(dry):
    gens = _hepjepa(dry, "generate")
    bench = [c for c in gens if c[c.index("-o") + 1].startswith("data/bench/")]
    recorded = json.loads((RESULTS / "physics_compare.json").read_text())["data"]["generator_commands"]
    assert len(recorded) == 30
    assert bench == [_norm(ln) for ln in recorded]
    # every physics comparison recorded the same data/bench
    for f in sorted(RESULTS.glob("physics_compare*.json")):
        assert json.loads(f.read_text())["data"]["generator_commands"] == recorded, f.name


def test_bench_top_generation_is_the_recorded_invocation(dry):
    """fewshot.json records make_bench_data.sh's settings for data/bench_top: classes, counts, seed base."""
    hist = json.loads((RESULTS / "fewshot.json").read_text())["command_history"]
    line = next(h for h in hist if "OUT=data/bench_top" in h and "make_bench_data" in h)
    env = dict(kv.split("=", 1) for kv in line.split()[1:] if re.match(r"^[A-Z_]+=", kv))
    classes = env["CLASSES"].split("|")
    n = {"train": int(env["N_TRAIN"]), "val": int(env["N_VAL"]), "test": int(env["N_TEST"])}
    base = {"train": 7000, "val": 8000, "test": 9000}
    index = {"qcd": 0, "tbqq": 8}
    expect = [["hepjepa", "generate", "--process", c, "--n-jets", str(n[s]), "--seed", str(base[s] + int(env["SEED_BASE"]) + index[c]), "--format", "jetclass",
               "-o", f"data/bench_top/{s}_{c}.root", "--workers", "2"] for c in classes for s in ("train", "val", "test")]
    got = [c for c in _hepjepa(dry, "generate") if c[c.index("-o") + 1].startswith("data/bench_top/")]
    assert got == expect


def test_every_generate_command_is_the_model_cards_record(dry):
    """All 56 commands (the pools' are recorded only there and as file lists) equal the model card's data block."""
    card = (MODEL / "MODEL_CARD.md").read_text()
    block = re.search(r"## Data .*?```\n(.*?)```", card, re.S).group(1)
    assert _hepjepa(dry, "generate") == [shlex.split(ln) for ln in block.splitlines() if ln.strip()]


def test_pool_files_are_the_pretraining_files_the_benchmarks_recorded(dry):
    outs = {c[c.index("-o") + 1] for c in _hepjepa(dry, "generate")}
    rec = json.loads((RESULTS / "physics_compare_pool2.json").read_text())["jepa"]["pretraining"]["config"]["data"]["train"]
    # recorded as absolute paths of the checkout that ran it: compare from data/ on
    rec = ["data/" + f.split("/data/", 1)[1] if "/data/" in f else f for f in rec]
    assert len(rec) == 32 and set(rec) <= outs
    from hepjepa.train.pretrain import load_config

    assert load_config(RECIPE / "pretrain.yaml").data.train == rec


# ---- (b) the pretraining config and fine-tuning settings are the shipped model's


def test_pretrain_yaml_is_the_shipped_models_config():
    shipped = yaml.safe_load((MODEL / "pretrain_config.yaml").read_text())
    mine = yaml.safe_load((RECIPE / "pretrain.yaml").read_text())
    out_dir = shipped["run"].pop("out_dir")
    assert out_dir.endswith("/" + mine["run"].pop("out_dir"))
    assert mine == shipped


def test_pretrain_command_resolves_to_the_shipped_config(dry):
    from hepjepa.train.pretrain import load_config

    (cmd,) = _hepjepa(dry, "pretrain")
    a = _parse(cmd)
    got = load_config(a.config if Path(a.config).is_absolute() else RECIPE / "pretrain.yaml", a.set).to_dict()
    shipped = load_config(MODEL / "pretrain_config.yaml").to_dict()
    assert got["run"].pop("out_dir") == "data/bench_runs/backbone_top_pool2_seed2"
    shipped["run"].pop("out_dir")
    assert got == shipped
    assert dry[56][0] == "OMP_NUM_THREADS=2"  # the old in-process run's torch threads


def test_finetune_settings_are_the_shipped_taggers(dry):
    torch = pytest.importorskip("torch")
    extra = torch.load(MODEL / "tagger.pt", map_location="cpu", weights_only=False)["extra"]
    (cmd,) = _hepjepa(dry, "finetune")
    a = _parse(cmd)
    ft = extra["finetune"]
    for k in ("mode", "head", "label_fraction", "epochs", "batch_size", "lr", "backbone_lr_scale", "layer_decay", "head_warmup_epochs", "patience", "seed"):
        assert getattr(a, k) == ft[k], k
    assert a.train == extra["train"] and a.val == extra["val"] and a.backbone == extra["backbone"]
    rank = json.loads((MODEL / "backbone_rank.json").read_text())
    assert [r["checkpoint"] for r in rank["ranking"]] == _parse(_hepjepa(dry, "rank")[0]).checkpoints
    assert rank["ranking"][0]["max_groups"] == _parse(_hepjepa(dry, "rank")[0]).max_groups


def test_evaluate_is_the_shipped_metrics_test_set(dry):
    m = json.loads((MODEL / "metrics.json").read_text())
    a = _parse(_hepjepa(dry, "evaluate")[0])
    assert a.test == ["data/bench_top/test_tbqq.root", "data/bench_top/test_qcd.root"] and m["n_jets"] == 5000
    assert a.checkpoint == "data/shipped/finetune/tagger.pt"


# ---- (c) every command parses with the real hepjepa parsers


def _parse(cmd: list[str]) -> argparse.Namespace:
    """``cmd`` (hepjepa <name> ...) through the subcommand's parser, built as hepjepa.cli.main builds it, without running it."""
    from hepjepa.cli import COMMANDS

    assert cmd[0] == "hepjepa" and cmd[1] in COMMANDS, cmd
    module = importlib.import_module(COMMANDS[cmd[1]][0])
    parser = argparse.ArgumentParser(prog=f"hepjepa {cmd[1]}", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    parser.exit = parser.error = lambda *a, **k: pytest.fail(f"hepjepa {cmd[1]} refuses {shlex.join(cmd[2:])}: {a}")
    args, rest = parser.parse_known_args(cmd[2:])
    assert not rest, f"unknown arguments {rest} for hepjepa {cmd[1]}"
    return args


def test_every_command_parses(dry):
    assert len(dry) == 61
    for c in dry:
        while "=" in c[0] and not c[0].startswith("-"):
            c = c[1:]
        _parse(c)


def test_parse_can_fail():
    with pytest.raises(pytest.fail.Exception):
        _parse(["hepjepa", "finetune", "--train", "a.root", "--val", "b.root", "-o", "x", "--epochz", "3"])
    with pytest.raises(pytest.fail.Exception):
        _parse(["hepjepa", "generate", "--n-jets", "many"])


def test_seeds_and_reuse_options(tmp_path):
    d = _driver()
    cfg = d.load()
    assert d.run_dir(cfg, 0) == "data/bench_runs/backbone_top_pool2" and d.run_dir(cfg, 3) == "data/bench_runs/backbone_top_pool2_seed3"
    r = subprocess.run([sys.executable, str(RECIPE / "train.py"), "--dry-run", "--hepjepa", "hepjepa", "--seeds", "0", "2"], cwd=tmp_path,
                       capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    cmds = [shlex.split(ln) for ln in r.stdout.splitlines() if ln.startswith(("hepjepa", "OMP"))]
    assert len(_hepjepa(cmds, "pretrain")) == 2
    assert _parse(_hepjepa(cmds, "rank")[0]).checkpoints == ["data/bench_runs/backbone_top_pool2/checkpoint.pt", "data/bench_runs/backbone_top_pool2_seed2/checkpoint.pt"]
    # an existing data file is not generated again
    (tmp_path / "data" / "bench_top").mkdir(parents=True)
    (tmp_path / "data" / "bench_top" / "test_qcd.root").write_bytes(b"")
    r = subprocess.run([sys.executable, str(RECIPE / "train.py"), "-n", "--hepjepa", "hepjepa"], cwd=tmp_path, capture_output=True, text=True, check=True)
    outs = [c[c.index("-o") + 1] for c in _hepjepa([shlex.split(ln) for ln in r.stdout.splitlines() if ln.startswith("hepjepa")], "generate")]
    assert len(outs) == 55 and "data/bench_top/test_qcd.root" not in outs and "data/bench_top/val_qcd.root" in outs
