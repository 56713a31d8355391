"""Tagging metrics: accuracy, macro (balanced) accuracy, one-vs-rest AUC, background rejection.

Definitions follow the Particle Transformer / JetClass paper (Qu, Li, Qian 2022, Table 2):
the rejection of a signal class X is measured against QCD only, with the two-class
discriminant ``s_X / (s_X + s_QCD)`` built from the softmax scores, over the jets whose
true class is X (signal) or QCD (background); ``R = 1 / eB`` at a fixed signal
efficiency ``eS``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepjepa.errors import UserInputError

__all__ = [
    "auc",
    "roc",
    "accuracy",
    "macro_accuracy",
    "one_vs_rest_auc",
    "background_rejection",
    "roc_on_grid",
    "ROC_GRID",
    "classification_report",
]

#: Signal efficiencies at which :func:`roc_on_grid` samples a ROC curve by default: 201 points
#: in [0, 1], fine enough that linear interpolation between them is invisible on a 1/eB plot.
ROC_GRID: np.ndarray = np.linspace(0.0, 1.0, 201)

_EPS = 1e-12


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        msg = f"scores must be (N, C), got shape {scores.shape}"
        raise UserInputError(msg)
    if labels.shape != (scores.shape[0],):
        msg = f"labels must be ({scores.shape[0]},) to match scores {scores.shape}, got {labels.shape}"
        raise UserInputError(msg)
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        msg = f"labels must lie in [0, {scores.shape[1] - 1}], got range [{labels.min()}, {labels.max()}]"
        raise UserInputError(msg)
    return scores, labels.astype(np.int64)


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of jets whose arg-max score is the true class.

    Args:
        scores: (N, C) scores or probabilities.
        labels: (N,) true class indices.

    Returns:
        Accuracy in [0, 1].
    """
    scores, labels = _check(scores, labels)
    return float(np.mean(scores.argmax(1) == labels))


def macro_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Balanced accuracy: mean over the classes present of each class's recall.

    Args:
        scores: (N, C) scores.
        labels: (N,) true class indices.

    Returns:
        Macro accuracy in [0, 1] (classes absent from ``labels`` are skipped).
    """
    scores, labels = _check(scores, labels)
    pred = scores.argmax(1)
    recalls = [np.mean(pred[labels == c] == c) for c in np.unique(labels)]
    return float(np.mean(recalls))


def roc(sig: np.ndarray, bkg: np.ndarray, sig_weights: np.ndarray | None = None,
        bkg_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(eS, eB) of a cut ``score >= t`` for every threshold t, thresholds descending; the one ROC of the project.

    Ties are one step (a threshold cannot split them); with weights, each jet counts its weight
    (a histogram's bins: scores = bin positions, weights = counts, gives the binned ROC).

    Args:
        sig, bkg: scores of the signal and background jets.
        sig_weights, bkg_weights: their weights (None = 1 each).

    Returns:
        (eff_s, eff_b), both starting at 0 and rising to 1.
    """
    s = np.concatenate([sig, bkg])
    ws = np.ones(len(sig)) if sig_weights is None else np.asarray(sig_weights, dtype=np.float64)
    wb = np.ones(len(bkg)) if bkg_weights is None else np.asarray(bkg_weights, dtype=np.float64)
    y = np.concatenate([ws, np.zeros(len(bkg))])  # signal weight of each entry
    n = np.concatenate([np.zeros(len(sig)), wb])  # background weight of each entry
    order = np.argsort(-s, kind="mergesort")
    s, y, n = s[order], y[order], n[order]
    # Keep only the last index of each run of equal scores: a threshold cannot split ties.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = np.cumsum(n)[last]
    eff_s = np.r_[0.0, tp / (ws.sum() if ws.sum() > 0 else 1.0)]
    eff_b = np.r_[0.0, fp / (wb.sum() if wb.sum() > 0 else 1.0)]
    return eff_s, eff_b


def auc(eff_s: np.ndarray, eff_b: np.ndarray) -> float:
    """Area under the (eB, eS) curve of :func:`roc` by trapezoids (ties inside a step count half)."""
    return float(np.trapezoid(eff_s, eff_b))


_roc = roc


def _auc(sig: np.ndarray, bkg: np.ndarray) -> float:
    return auc(*roc(sig, bkg))


def one_vs_rest_auc(scores: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Area under the ROC curve of each class against all others, using that class's score.

    Args:
        scores: (N, C) scores.
        labels: (N,) true class indices.

    Returns:
        ``{class index: AUC}`` for every class with at least one jet in and one out.
    """
    scores, labels = _check(scores, labels)
    out = {}
    for c in range(scores.shape[1]):
        is_c = labels == c
        if is_c.any() and (~is_c).any():
            out[c] = _auc(scores[is_c, c], scores[~is_c, c])
    return out


def background_rejection(
    scores: np.ndarray,
    labels: np.ndarray,
    signal: int,
    background: int = 0,
    eff_s: float = 0.5,
) -> float:
    """Background rejection ``1 / eB`` at signal efficiency ``eff_s`` for ``signal`` vs ``background``.

    The discriminant is ``s_sig / (s_sig + s_bkg)`` (ParT/JetClass); eB is linearly
    interpolated on the ROC curve at ``eff_s`` (see :func:`roc_on_grid`). Returns ``inf``
    when no background passes.

    Args:
        scores: (N, C) softmax scores.
        labels: (N,) true class indices.
        signal: signal class index.
        background: background class index (QCD = 0).
        eff_s: signal efficiency in (0, 1].

    Returns:
        1 / eB.
    """
    if not 0.0 < eff_s <= 1.0:
        msg = f"eff_s must lie in (0, 1], got {eff_s}"
        raise UserInputError(msg)
    e_b = float(roc_on_grid(scores, labels, signal, background, np.array([eff_s]))[0])
    return float("inf") if e_b <= 0 else 1.0 / e_b


def roc_on_grid(
    scores: np.ndarray,
    labels: np.ndarray,
    signal: int,
    background: int = 0,
    eff_s: np.ndarray | Sequence[float] = ROC_GRID,
) -> np.ndarray:
    """Background efficiency eB of ``signal`` vs ``background`` at each signal efficiency of ``eff_s``.

    A compact, fixed-size ROC curve (the same grid for every model, so curves can be stored in
    JSON and averaged over seeds). The discriminant is ``s_sig / (s_sig + s_bkg)`` over the jets
    of the two classes only, as in :func:`background_rejection`. Where the exact ROC has a
    vertical step (several eB at one eS) the smallest eB is taken, then eB is interpolated
    linearly in eS between the curve's working points.

    Args:
        scores: (N, C) softmax scores.
        labels: (N,) true class indices.
        signal: signal class index.
        background: background class index (QCD = 0).
        eff_s: (P,) signal efficiencies in [0, 1], non-decreasing (default :data:`ROC_GRID`).

    Returns:
        (P,) float64 eB in [0, 1]; 1 / eB is the rejection (eB = 0: no background passes).

    Raises:
        ValueError: bad shapes, equal classes, a class without jets, or ``eff_s`` outside [0, 1]
            or decreasing.
    """
    scores, labels = _check(scores, labels)
    grid = np.asarray(eff_s, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0:
        msg = f"eff_s must be a non-empty 1-D grid, got shape {grid.shape}"
        raise UserInputError(msg)
    if grid.min() < 0.0 or grid.max() > 1.0 or np.any(np.diff(grid) < 0):
        msg = f"eff_s must be non-decreasing values in [0, 1], got range [{grid.min()}, {grid.max()}]"
        raise UserInputError(msg)
    if signal == background:
        msg = f"signal and background must differ, both are {signal}"
        raise UserInputError(msg)
    for name, c in (("signal", signal), ("background", background)):
        if not 0 <= c < scores.shape[1]:
            msg = f"{name} class {c} is not a column of scores with {scores.shape[1]} classes"
            raise UserInputError(msg)
    disc = scores[:, signal] / (scores[:, signal] + scores[:, background] + _EPS)
    sig, bkg = disc[labels == signal], disc[labels == background]
    if len(sig) == 0 or len(bkg) == 0:
        msg = f"need jets of both classes, got {len(sig)} signal ({signal}) and {len(bkg)} background ({background})"
        raise UserInputError(msg)
    es, eb = _roc(sig, bkg)
    # Best (smallest) eB at each reachable eS, so a vertical ROC segment does not make
    # the interpolation ambiguous; then linear interpolation between working points.
    ues, first = np.unique(es, return_index=True)
    return np.interp(grid, ues, eb[first])


def classification_report(
    scores: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    background: int = 0,
    working_points: Sequence[float] = (0.3, 0.5, 0.99),
) -> dict:
    """All metrics as a JSON-ready dict.

    Args:
        scores: (N, C) softmax scores.
        labels: (N,) true classes.
        class_names: C names.
        background: background class index for rejections (QCD = 0).
        working_points: signal efficiencies for the rejections.

    Returns:
        ``{"n_jets", "accuracy", "macro_accuracy", "auc": {name: v}, "rejection": {name: {"eS=0.5": v}}}``.
    """
    scores, labels = _check(scores, labels)
    if len(class_names) != scores.shape[1]:
        msg = f"{len(class_names)} class names for {scores.shape[1]} score columns"
        raise UserInputError(msg)
    auc = one_vs_rest_auc(scores, labels)
    rej = {}
    present = set(np.unique(labels).tolist())
    for c in range(scores.shape[1]):
        if c == background or c not in present or background not in present:
            continue
        rej[class_names[c]] = {
            f"eS={wp:g}": background_rejection(scores, labels, c, background, wp) for wp in working_points
        }
    return {
        "n_jets": int(len(labels)),
        "accuracy": accuracy(scores, labels),
        "macro_accuracy": macro_accuracy(scores, labels),
        "auc": {class_names[c]: v for c, v in auc.items()},
        "rejection": rej,
    }
