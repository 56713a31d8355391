"""Masks: greedy sequencer, strategies, collator scales and disjointness, apply_masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepjepa.masks import JEPACollator, apply_masks, greedy_sequence


def test_greedy_sequence_on_a_line():
    x = np.array([[0.0, 0.0], [3.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    assert greedy_sequence(x, 0).tolist() == [0, 2, 3, 1, 4]
    assert sorted(greedy_sequence(np.random.default_rng(0).normal(size=(30, 2)), 5).tolist()) == list(range(30))


def _jet(G, rng):
    return {"features": rng.normal(size=(G, 3, 13)), "particle_mask": np.ones((G, 3)), "group_mask": np.ones(G),
            "centers": rng.normal(size=(G, 2)), "pair_features": rng.normal(size=(G, G, 4))}


@pytest.mark.parametrize("strategy", ["random", "contiguous"])
def test_collator_targets_removed_from_context_and_scales(strategy):
    rng = np.random.default_rng(0)
    jets = [_jet(G, rng) for G in (20, 13, 30, 40)]
    b = JEPACollator(strategy, seed=3)(jets)
    assert b["features"].shape == (4, 40, 3, 13) and b["pair_features"].shape == (4, 40, 40, 4)
    for i, G in enumerate((20, 13, 30, 40)):
        c = set(b["context_idx"][i][b["context_mask"][i] > 0].tolist())
        t = set(b["target_idx"][i][b["target_mask"][i] > 0].tolist())
        assert c and t and not (c & t)
        assert max(c | t) < G
        assert 1 <= len(t) <= max(1, round(0.2 * G))
        assert len(c) + len(t) >= round(0.85 * G) - len(t)


def test_contiguous_targets_are_spatially_compact():
    rng = np.random.default_rng(1)
    jet = _jet(40, rng)
    jet["centers"] = rng.uniform(-1, 1, size=(40, 2))
    spread = {}
    for strategy in ("random", "contiguous"):
        col, d = JEPACollator(strategy, seed=0), []
        for _ in range(50):
            b = col([jet])
            t = b["target_idx"][0][b["target_mask"][0] > 0].numpy()
            d.append(np.ptp(jet["centers"][t], axis=0).sum())
        spread[strategy] = np.mean(d)
    assert spread["contiguous"] < 0.7 * spread["random"], spread


def test_collator_is_seeded_and_checks_arguments():
    rng = np.random.default_rng(0)
    jets = [_jet(15, rng) for _ in range(3)]
    a, b = JEPACollator(seed=7)(jets), JEPACollator(seed=7)(jets)
    assert torch.equal(a["target_idx"], b["target_idx"]) and torch.equal(a["context_idx"], b["context_idx"])
    with pytest.raises(ValueError, match="strategy='blocks'"):
        JEPACollator("blocks")
    with pytest.raises(ValueError, match="target_scale"):
        JEPACollator(target_scale=(0.3, 0.1))
    with pytest.raises(ValueError, match="1 real group"):
        JEPACollator()([_jet(1, rng)])


def test_apply_masks():
    x = torch.arange(2 * 4 * 3).reshape(2, 4, 3)
    idx = torch.tensor([[3, 0], [1, 1]])
    out = apply_masks(x, idx)
    assert torch.equal(out[0, 0], x[0, 3]) and torch.equal(out[1, 1], x[1, 1]) and out.shape == (2, 2, 3)
    with pytest.raises(ValueError, match="idx shape"):
        apply_masks(x, idx[:1])
