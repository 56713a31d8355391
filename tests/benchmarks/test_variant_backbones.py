"""benchmarks/pretrain_variant_backbone.py: each variant is the few-shot backbone's pretraining config with one
thing changed, and the config it would run loads (unknown keys would fail by name)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
from benchmarks import _grid as fewshot  # noqa: E402
from benchmarks import pretrain_variant_backbone as pvb  # noqa: E402
from hepjepa.train.pretrain import load_config  # noqa: E402


@pytest.fixture
def bench_dirs(tmp_path, monkeypatch):
    """Empty stand-ins for data/bench, data/bench_top and data/bench_pool (only their file names are read)."""
    for d in ("bench", "bench_top", "bench_pool", "bench_pool2"):
        (tmp_path / d).mkdir()
        for c in fewshot.CLASSES:
            (tmp_path / d / f"train_{c}.root").touch()
    monkeypatch.setattr(fewshot, "BENCH", tmp_path / "bench")
    monkeypatch.setattr(fewshot, "TOP", tmp_path / "bench_top")
    monkeypatch.setattr(pvb, "POOL", tmp_path / "bench_pool")
    monkeypatch.setattr(pvb, "POOL2", tmp_path / "bench_pool2")
    return tmp_path


def _config(variant: str):
    steps, sets = pvb.variant_config(variant)
    return steps, load_config(fewshot.PRETRAIN_CONFIG, [*sets, *fewshot.RECIPE, f"optim.total_steps={steps}"])


def test_variants_change_one_thing(bench_dirs):
    _, base = _config("long")
    steps, g24 = _config("g24")
    assert steps == fewshot.FULL_PRETRAIN_STEPS and g24.data.tokenizer.max_groups == 24 != base.data.tokenizer.max_groups
    steps, pool = _config("pool")
    assert steps == 2 * fewshot.FULL_PRETRAIN_STEPS
    assert pool.data.train[: len(base.data.train)] == base.data.train and len(pool.data.train) == len(base.data.train) + len(fewshot.CLASSES)
    assert all("bench_pool" in f for f in pool.data.train[len(base.data.train):])


def test_missing_pool_names_the_generator(bench_dirs):
    (bench_dirs / "bench_pool" / "train_hbb.root").unlink()
    with pytest.raises(FileNotFoundError, match="make_bench_data.sh"):
        pvb.pool_files()


def test_pool2_adds_the_second_pool(bench_dirs):
    _, pool = _config("pool")
    steps, pool2 = _config("pool2")
    assert steps == pvb.VARIANTS["pool"][0]  # only the number of distinct jets changes
    assert pool2.data.train[: len(pool.data.train)] == pool.data.train
    assert all("bench_pool2" in f for f in pool2.data.train[len(pool.data.train):]) and len(pool2.data.train) == len(pool.data.train) + 10


def test_base_seed0_is_fewshots_backbone(bench_dirs):
    """base with seed 0 is backbone_top: the folder, steps and config of the few-shot variant's backbone (the shipped model's)."""
    assert pvb.out_dir("base", 0) == fewshot.RUNS / "backbone_top"
    assert pvb.out_dir("base", 2).name == "backbone_top_base_seed2" and pvb.out_dir("pool2", 1).name == "backbone_top_pool2_seed1"
    assert pvb.out_dir("g24", 0).name == "backbone_top_g24"
    steps, sets = pvb.variant_config("base")
    assert steps == fewshot.FULL_PRETRAIN_STEPS and sets == [f"data.train={json.dumps(fewshot.unlabelled_files())}"]


def test_negative_seed_is_refused(monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["pretrain_variant_backbone.py", "base", "--seed", "-1"])
    with pytest.raises(SystemExit) as e:
        pvb.main()
    assert e.value.code == 2 and "--seed must be a non-negative integer, got -1" in capsys.readouterr().err
