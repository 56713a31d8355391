"""Metrics against sklearn and hand-computed references; stratified splits."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score, roc_curve

from hepjepa.downstream import metrics
from hepjepa.downstream.splits import stratified_fraction


def _toy(n=600, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    s = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y]
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    return p, y


def test_accuracy_and_macro_match_sklearn():
    p, y = _toy()
    assert metrics.accuracy(p, y) == pytest.approx(np.mean(p.argmax(1) == y))
    assert metrics.macro_accuracy(p, y) == pytest.approx(balanced_accuracy_score(y, p.argmax(1)))


def test_auc_matches_sklearn_including_ties():
    p, y = _toy()
    p = np.round(p, 1)  # many ties
    auc = metrics.one_vs_rest_auc(p, y)
    for c in range(3):
        assert auc[c] == pytest.approx(roc_auc_score(y == c, p[:, c]), abs=1e-12)


def test_rejection_hand_computed():
    # signal class 1, background 0; discriminant s1/(s0+s1) = the column-1 value here
    sig = np.array([0.9, 0.8, 0.7, 0.6])
    bkg = np.array([0.85, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02])
    scores = np.concatenate([np.c_[1 - sig, sig], np.c_[1 - bkg, bkg]])
    labels = np.r_[np.ones(4, int), np.zeros(8, int)]
    # eS = 50%: threshold passes 0.9, 0.85(bkg), 0.8 -> eB = 1/8 -> R = 8
    assert metrics.background_rejection(scores, labels, 1, 0, 0.5) == pytest.approx(8.0)
    # eS = 100%: all signal passes down to 0.6 -> one bkg above -> R = 8
    assert metrics.background_rejection(scores, labels, 1, 0, 1.0) == pytest.approx(8.0)
    # eS = 25%: only 0.9 passes, no background -> infinite rejection
    assert metrics.background_rejection(scores, labels, 1, 0, 0.25) == float("inf")


def _reference_eb(scores, labels, grid):
    """eB on ``grid`` from sklearn's roc_curve: smallest fpr at each tpr, then linear in tpr."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    tpr, fpr = np.r_[0.0, tpr], np.r_[0.0, fpr]  # the (0, 0) corner (sklearn starts above it at +inf)
    ut, first = np.unique(tpr, return_index=True)
    return np.interp(grid, ut, fpr[first])


def test_roc_on_grid_perfect_inverted_and_random():
    grid = metrics.ROC_GRID
    assert grid.shape == (201,) and grid[0] == 0.0 and grid[-1] == 1.0
    y = np.r_[np.ones(50, int), np.zeros(50, int)]
    s = np.r_[np.linspace(0.6, 0.9, 50), np.linspace(0.1, 0.4, 50)]
    perfect = np.c_[1 - s, s]
    np.testing.assert_array_equal(metrics.roc_on_grid(perfect, y, 1, 0), np.zeros(201))
    # every background jet scores above every signal jet: the first signal jet (eS = 1/50) comes
    # after all background; between (0, 0) and (1/50, 1) the curve is the straight line
    inverted = np.c_[s, 1 - s]
    eb = metrics.roc_on_grid(inverted, y, 1, 0)
    np.testing.assert_allclose(eb, np.minimum(1.0, 50 * grid), atol=1e-12)
    # random scores: the curve follows the diagonal eB = eS
    rng = np.random.default_rng(1)
    r = rng.random(20000)
    yr = rng.integers(0, 2, 20000)
    eb = metrics.roc_on_grid(np.c_[1 - r, r], yr, 1, 0)
    np.testing.assert_allclose(eb, grid, atol=0.02)


@pytest.mark.parametrize("round_to", [None, 1])
def test_roc_on_grid_matches_sklearn(round_to):
    p, y = _toy(n=400, c=2, seed=4)
    if round_to is not None:
        p = np.round(p, round_to)  # ties: vertical and diagonal ROC segments
    disc = p[:, 1] / (p[:, 0] + p[:, 1] + 1e-12)
    grid = np.linspace(0, 1, 101)
    np.testing.assert_allclose(metrics.roc_on_grid(p, y, 1, 0, grid), _reference_eb(disc, y == 1, grid), atol=1e-12)
    # the rejection at a working point is the same curve's value
    eb50 = metrics.roc_on_grid(p, y, 1, 0, [0.5])[0]
    assert metrics.background_rejection(p, y, 1, 0, 0.5) == pytest.approx(1 / eb50)


def test_roc_on_grid_rejects_bad_input():
    p, y = _toy(c=2)
    with pytest.raises(ValueError, match="non-decreasing"):
        metrics.roc_on_grid(p, y, 1, 0, [0.5, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.roc_on_grid(p, y, 1, 0, [0.0, 1.5])
    with pytest.raises(ValueError, match="non-empty"):
        metrics.roc_on_grid(p, y, 1, 0, [])
    with pytest.raises(ValueError, match="signal class 5"):
        metrics.roc_on_grid(p, y, 5, 0)
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_on_grid(p[y == 1], y[y == 1], 1, 0)


def test_rejection_ignores_other_classes():
    p, y = _toy(c=3)
    r = metrics.background_rejection(p, y, 1, 0, 0.5)
    keep = y != 2
    assert r == pytest.approx(metrics.background_rejection(p[keep], y[keep], 1, 0, 0.5))


def test_report_keys_and_bad_input():
    p, y = _toy()
    rep = metrics.classification_report(p, y, ["QCD", "A", "B"])
    assert set(rep["rejection"]) == {"A", "B"}
    assert set(rep["rejection"]["A"]) == {"eS=0.3", "eS=0.5", "eS=0.99"}
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.accuracy(p, y + 5)
    with pytest.raises(ValueError, match="eff_s"):
        metrics.background_rejection(p, y, 1, 0, 1.5)


@pytest.mark.parametrize("frac", [5e-4, 0.01, 0.1, 0.5, 1.0])
def test_stratified_fraction_keeps_fractions_and_every_class(frac):
    y = np.r_[np.zeros(3000, int), np.ones(1000, int), np.full(10, 2)]
    idx = stratified_fraction(y, frac, seed=3)
    assert len(np.unique(idx)) == len(idx)
    for c, n in [(0, 3000), (1, 1000), (2, 10)]:
        k = np.sum(y[idx] == c)
        assert k == max(1, round(frac * n))
    assert np.array_equal(idx, stratified_fraction(y, frac, seed=3))
    if frac < 1:
        assert not np.array_equal(idx, stratified_fraction(y, frac, seed=4))


def test_stratified_fraction_rejects_bad_values():
    with pytest.raises(ValueError, match="fraction"):
        stratified_fraction(np.zeros(5, int), 1e-5)
    with pytest.raises(ValueError, match="labels must be >= 0"):
        stratified_fraction(np.array([-1, 0]), 0.5)


def test_linear_probe_separates_and_checks_shapes():
    from hepjepa.downstream.probe import linear_probe

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 5)) + 2.0 * y[:, None]
    res = linear_probe(x[:100], y[:100], x[100:], y[100:])
    assert res["accuracy"] > 0.9
    shuffled = linear_probe(x[:100], rng.permutation(y[:100]), x[100:], y[100:])
    assert shuffled["accuracy"] < res["accuracy"]
    with pytest.raises(ValueError, match="equal E"):
        linear_probe(x[:10], y[:10], x[:10, :3], y[:10])
