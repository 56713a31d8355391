"""Pretraining: lr schedule, effective rank, config errors, tiny run reduces the loss, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _synthetic import write_jetclass_jets as _write_jets

from hepjepa.model.config import ConfigError
from hepjepa.train.pretrain import OptimConfig, effective_rank, load_config, lr_at, pretrain


@pytest.fixture(scope="module")
def jets_file(tmp_path_factory):
    return _write_jets(tmp_path_factory.mktemp("jets") / "jets.root")


def test_lr_schedule_warmup_then_cosine():
    c = OptimConfig(lr=1.0, min_lr=0.0, warmup_steps=10, total_steps=110)
    assert lr_at(0, c) == pytest.approx(0.1)
    assert lr_at(9, c) == pytest.approx(1.0)
    assert lr_at(60, c) == pytest.approx(0.5)
    assert lr_at(110, c) == pytest.approx(0.0)
    assert all(lr_at(s, c) >= lr_at(s + 1, c) for s in range(10, 110))


def test_effective_rank():
    torch.manual_seed(0)
    assert effective_rank(torch.randn(500, 8)) > 7.0
    x = torch.randn(500, 1) * torch.ones(1, 8)  # rank one
    assert effective_rank(x) < 1.1


def test_unknown_config_keys_fail_by_name():
    with pytest.raises(ConfigError, match="optim.lrr"):
        load_config("pretrain_tiny", ["optim.lrr=0.1"])
    with pytest.raises(ConfigError, match="embed_dimm"):
        load_config("pretrain_tiny", ["model.backbone.embed_dimm=8"])


def _cfg(jets_file, out, *extra):
    return load_config("pretrain_tiny", [f"data.train=[{jets_file}]", f"run.out_dir={out}", "run.deterministic=true", *extra])


@pytest.mark.slow  # ~30 s idle (Numba JIT of the tokeniser + 25 steps); >2 min on a loaded machine
def test_tiny_run_reduces_loss_and_writes_logs(jets_file, tmp_path):
    s = pretrain(_cfg(jets_file, tmp_path, "optim.total_steps=25", "optim.lr=3e-3"))
    import json

    rows = json.loads((tmp_path / "log.json").read_text())
    first, last = np.mean([r["loss"] for r in rows[:5]]), np.mean([r["loss"] for r in rows[-5:]])
    assert last < 0.8 * first, (first, last)
    assert s["steps"] == 25
    assert (tmp_path / "loss.png").stat().st_size > 0 and (tmp_path / "log.csv").exists()
    from hepjepa.model import load_backbone

    bb = load_backbone(tmp_path / "checkpoint.pt")
    assert bb.embed_dim == 32 and bb.num_registers == 8


def test_resume_equals_uninterrupted(jets_file, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    pretrain(_cfg(jets_file, a, "optim.total_steps=8", "run.checkpoint_every=3"))
    pretrain(_cfg(jets_file, b, "optim.total_steps=8", "run.checkpoint_every=3", "run.stop_at=5"))
    # a kill between checkpoints: resume from step 5's checkpoint
    pretrain(_cfg(jets_file, b, "optim.total_steps=8", "run.checkpoint_every=3"), resume=True)
    sa = torch.load(a / "checkpoint.pt", weights_only=False)
    sb = torch.load(b / "checkpoint.pt", weights_only=False)
    assert sa["step"] == sb["step"] == 8
    for k in sa["model"]:
        assert torch.equal(sa["model"][k], sb["model"][k]), k
    assert [r["loss"] for r in sa["log"]] == [r["loss"] for r in sb["log"]]


def test_run_folder_resumed_or_refused_never_overwritten(jets_file, tmp_path, capsys):
    """Re-running into a folder with a checkpoint: refused without --resume (the checkpoint untouched), one line from the CLI."""
    from hepjepa.cli import main
    from hepjepa.errors import UserInputError

    pretrain(_cfg(jets_file, tmp_path / "r", "optim.total_steps=3"))
    before = (tmp_path / "r" / "checkpoint.pt").read_bytes()
    with pytest.raises(UserInputError, match="already holds a checkpoint.pt: pass --resume"):
        pretrain(_cfg(jets_file, tmp_path / "r", "optim.total_steps=3"))
    assert (tmp_path / "r" / "checkpoint.pt").read_bytes() == before
    with pytest.raises(UserInputError, match="no checkpoint.pt to continue from"):
        pretrain(_cfg(jets_file, tmp_path / "empty", "optim.total_steps=3"), resume=True)
    rc = main(["pretrain", "--config", "pretrain_tiny", "--set", f"data.train=[{jets_file}]", f"run.out_dir={tmp_path / 'r'}"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and err.startswith("hepjepa pretrain: error: run folder") and "Traceback" not in err


def _stream_jets(stream, n_chunks):
    """Read n_chunks into the buffer and return a set of per-jet fingerprints."""
    for _ in range(n_chunks):
        stream._read_chunk()
    return [hash(j["features"].tobytes()) for j in stream.buffer]


def test_stream_ranks_are_disjoint_shards_of_one_file(jets_file):
    from hepjepa.features import TokenizerConfig
    from hepjepa.train._stream import JetStream

    tok = TokenizerConfig(group_size=8, max_groups=12)
    one = JetStream([jets_file], tok, chunk_size=96, buffer_size=1, seed=0)
    everything = _stream_jets(one, 1)  # the whole 96-jet file in one chunk
    r0 = _stream_jets(JetStream([jets_file], tok, 24, 1, 0, rank=0, world=2), 2)
    r1 = _stream_jets(JetStream([jets_file], tok, 24, 1, 0, rank=1, world=2), 2)
    assert len(r0) > 20 and len(r1) > 20
    assert not set(r0) & set(r1)
    assert sorted(r0 + r1) == sorted(everything)


def test_stream_resume_position_and_errors(jets_file, tmp_path):
    from hepjepa.features import TokenizerConfig
    from hepjepa.train._stream import JetStream

    tok = TokenizerConfig(group_size=8, max_groups=12)
    a = JetStream([jets_file], tok, 16, 8, seed=3)
    a.next_batch(4)
    b = JetStream([jets_file], tok, 16, 8, seed=3)
    b.load_state_dict(a.state_dict())
    # the next chunks continue at the saved entry, not at the file's start
    assert a.entry == 16 and [x["features"].tobytes() for x in a.next_batch(30)] == [x["features"].tobytes() for x in b.next_batch(30)]
    assert a.entry == b.entry > 16
    first, second = JetStream([jets_file], tok, 16, 1, seed=3), JetStream([jets_file], tok, 16, 1, seed=3)
    second.entry = 16  # a resumed position reads new jets, not the file's first chunk again
    assert not set(_stream_jets(first, 1)) & set(_stream_jets(second, 1))
    with pytest.raises(ValueError, match="world size"):
        JetStream([jets_file, jets_file], tok, 16, 8, seed=3, rank=0, world=2).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="no training files"):
        JetStream([], tok, 16, 8, seed=0)
