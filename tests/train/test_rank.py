"""Label-free ranking of pretraining runs (hepjepa.train.rank, ``hepjepa rank``)."""

from __future__ import annotations

import json

import pytest
import torch
from _synthetic import write_jetclass_jets as _write_jets

from hepjepa.train.pretrain import load_config, pretrain
from hepjepa.train.rank import load_unlabelled_tokens, rank_checkpoints


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished tiny run, a copy of it whose embeddings use half the channels, an unfinished run, and held-out jets."""
    d = tmp_path_factory.mktemp("rank")
    train, heldout = _write_jets(d / "train.root", n=64, seed=0), _write_jets(d / "heldout.root", n=48, seed=1)

    def cfg(out, *extra):
        return load_config("pretrain_tiny", [f"data.train=[{train}]", f"run.out_dir={out}", "run.deterministic=true", "optim.total_steps=6", *extra])

    pretrain(cfg(d / "full"))
    pretrain(cfg(d / "unfinished", "run.stop_at=3", "run.checkpoint_every=3"))
    # Zero the target encoder's final LayerNorm on all but two channels: the other embedding
    # entries are constant over jets, a controlled collapse (to at most 4 pooled directions).
    ck = torch.load(d / "full" / "checkpoint.pt", weights_only=False)
    w, b = ck["model"]["target_encoder.norm.weight"], ck["model"]["target_encoder.norm.bias"]
    w[2:] = 0.0
    b[2:] = 0.0
    (d / "collapsed").mkdir()
    torch.save(ck, d / "collapsed" / "checkpoint.pt")
    ck["model"]["target_encoder.norm.bias"][0] = float("nan")
    (d / "nan").mkdir()
    torch.save(ck, d / "nan" / "checkpoint.pt")
    return d, heldout


def test_rank_orders_a_collapsed_copy_below_its_original_and_is_deterministic(runs):
    d, heldout = runs
    cks = [d / "collapsed" / "checkpoint.pt", d / "full" / "checkpoint.pt", d / "unfinished" / "checkpoint.pt"]
    res = rank_checkpoints(cks, [heldout], jets_per_file=40, progress=False)
    by = {r.checkpoint.split("/")[-2]: r for r in res}
    assert by["collapsed"].effective_rank <= 4.0 + 1e-6 and by["full"].effective_rank > 2 * by["collapsed"].effective_rank, by
    assert res == sorted(res, key=lambda r: -r.effective_rank)
    assert by["full"].complete and not by["unfinished"].complete and by["unfinished"].step == 3
    assert by["full"].n_jets == 40 and by["full"].dim == 2 * 32 and by["full"].final_loss > 0
    again = rank_checkpoints(cks[:2], [heldout], jets_per_file=40, progress=False)
    assert {r.checkpoint: r.effective_rank for r in again} == {r.checkpoint: r.effective_rank for r in res if "unfinished" not in r.checkpoint}
    # the group count given overrides each run's tokeniser
    assert rank_checkpoints(cks[1:2], [heldout], jets_per_file=40, max_groups=3, progress=False)[0].max_groups == 3


def test_rank_errors_name_the_bad_input(runs, tmp_path):
    d, heldout = runs
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        rank_checkpoints([tmp_path / "nope.pt"], [heldout], progress=False)
    with pytest.raises(ValueError, match="no checkpoints"):
        rank_checkpoints([], [heldout], progress=False)
    with pytest.raises(ValueError, match="non-finite embeddings"):
        rank_checkpoints([d / "nan" / "checkpoint.pt"], [heldout], jets_per_file=10, progress=False)
    with pytest.raises(ValueError, match="jets_per_file=0"):
        load_unlabelled_tokens([heldout], None, 0)


def test_rank_cli_selects_the_highest_finished_run(runs, tmp_path, capsys):
    from hepjepa.cli import main

    d, heldout = runs
    out = tmp_path / "ranks.json"
    cks = [str(d / n / "checkpoint.pt") for n in ("collapsed", "unfinished", "full")]
    assert main(["rank", *cks, "--data", heldout, "--jets-per-file", "30", "-o", str(out)]) == 0
    js = json.loads(out.read_text())
    finished = [r for r in js["ranking"] if r["complete"]]
    assert js["selected"] == finished[0]["checkpoint"] and "unfinished" not in js["selected"]
    assert "UNFINISHED" in capsys.readouterr().out
    assert main(["rank", cks[1], "--data", heldout, "--jets-per-file", "30"]) == 1  # only an unfinished run: nothing selected
