"""Pretraining under real `torchrun --nproc_per_node=2` on CPU (gloo): ranks, checkpoints, DDP invariant, resume."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow  # each torchrun launch pays imports + Numba cache load in 2 processes (~20-40 s loaded)

_TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")


def _write_jets(path, n=64, seed=1):
    import awkward as ak
    import uproot

    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("part_px", "part_py", "part_pz", "part_energy")}
    for c in rng.integers(20, 40, n):
        pt = rng.uniform(500, 800) * rng.dirichlet(np.ones(c))
        eta, phi = rng.normal(0, 0.1, c), 1.0 + rng.normal(0, 0.1, c)
        for k, v in zip(cols, (pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta))):
            cols[k].append(v.astype(np.float32))
    with uproot.recreate(path) as f:
        f.mktree("tree", {k: "var * float32" for k in cols})
        f["tree"].extend({k: ak.Array(v) for k, v in cols.items()})
    return str(path)


def _torchrun(jets, out, *extra):
    """Launch 2 CPU ranks; return the per-rank summaries the CLI prints (one JSON line each)."""
    if _TORCHRUN is None:
        pytest.skip("torchrun not found next to the Python interpreter")
    cmd = [_TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "hepjepa.cli", "pretrain", "--config", "pretrain_tiny", "--set",
           f"data.train=[{jets}]", f"run.out_dir={out}", "optim.total_steps=4", "run.checkpoint_every=2", "run.deterministic=true",
           "data.chunk_size=16", "data.buffer_size=16", "optim.batch_size=8", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return sorted(rows, key=lambda r: r["rank"])


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ddp")
    jets = _write_jets(d / "jets.root")
    return jets, d / "full", _torchrun(jets, d / "full")


def test_two_ranks_train_identical_weights(ddp_run):
    _, out, rows = ddp_run
    assert [r["rank"] for r in rows] == [0, 1] and all(r["world_size"] == 2 for r in rows)
    assert all(r["steps"] == 4 for r in rows)
    # DDP invariant: gradients are all-reduced, so every rank ends with the same weights
    assert rows[0]["weights_sha256"] == rows[1]["weights_sha256"]
    # the logged loss is the all-reduced mean, so it is the same on both ranks
    assert rows[0]["final_loss"] == rows[1]["final_loss"]
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 4 and len(ck["log"]) == 4
    assert (out / "state_rank0.pt").exists() and (out / "state_rank1.pt").exists()
    assert (out / "log.csv").exists() and (out / "loss.png").stat().st_size > 0
    # the two ranks read disjoint jets: their stream positions cover the file between them
    s0 = torch.load(out / "state_rank0.pt", weights_only=False)["stream"]
    s1 = torch.load(out / "state_rank1.pt", weights_only=False)["stream"]
    assert s0["rank"] == 0 and s1["rank"] == 1
    b0 = {j["features"].tobytes() for j in s0["buffer"]}
    b1 = {j["features"].tobytes() for j in s1["buffer"]}
    assert b0 and b1 and not b0 & b1


def test_resume_under_ddp_equals_uninterrupted(ddp_run, tmp_path):
    jets, full, rows = ddp_run
    stopped = _torchrun(jets, tmp_path, "run.stop_at=2")
    assert all(r["steps"] == 2 for r in stopped)
    resumed = _torchrun(jets, tmp_path, "--resume")  # argparse ends --set's values at the flag
    assert [r["weights_sha256"] for r in resumed] == [r["weights_sha256"] for r in rows]
    a = torch.load(full / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert b["step"] == 4
    assert [r["loss"] for r in a["log"]] == [r["loss"] for r in b["log"]]
