"""Numbers from the tagging histogram: binned ROC, AUC, working point, mass sculpting."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepjepa.errors import UserInputError

__all__ = ["MIN_PASSING", "score_counts", "binned_roc", "auc", "working_point", "msd_before_after", "js_distance", "ks_distance"]

#: fewer (effective) background jets than this passing a cut: the rejection is reported as a lower limit
MIN_PASSING = 10


def score_counts(h, flavour: str, truth: int, variances: bool = False):
    """(n_score_bins,) weighted counts of ``flavour``'s score for jets of class ``truth``, all datasets.

    Returns zeros when no jet of that class was filled (the category does not exist); with
    ``variances``, (counts, sums of squared weights).
    """
    import hist

    n = h.axes["score"].size
    if truth not in list(h.axes["truth"]):
        return (np.zeros(n), np.zeros(n)) if variances else np.zeros(n)
    sub = h[{"flavour": flavour, "truth": hist.loc(truth)}].project("score")
    values = np.asarray(sub.values(), dtype=np.float64)
    return (values, np.asarray(sub.variances(), dtype=np.float64)) if variances else values


def binned_roc(sig: np.ndarray, bkg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Efficiencies of a cut ``score >= edge_i`` for every lower bin edge i (and 0 at the top).

    The project's one ROC (``hepjepa.downstream.metrics.roc``) over the bins, each bin a score
    with its counts as weights.

    Args:
        sig, bkg: (n_bins,) score counts of signal and background.
    Returns:
        (eff_sig, eff_bkg), each (n_bins + 1,), decreasing from 1 to 0.
    Raises:
        ValueError: when either class has no entries (no ROC defined).
    """
    from hepjepa.downstream.metrics import roc

    if sig.sum() <= 0 or bkg.sum() <= 0:
        msg = f"ROC needs both classes: signal has {sig.sum():g} entries, background {bkg.sum():g}"
        raise UserInputError(msg)
    bins = np.arange(len(sig), dtype=np.float64)
    es, eb = roc(bins, bins, sig, bkg)  # thresholds descending: bin n-1 first
    return es[::-1].copy(), eb[::-1].copy()


def auc(eff_sig: np.ndarray, eff_bkg: np.ndarray) -> float:
    """Area under the (eff_bkg, eff_sig) curve by trapezoids (ties inside a bin count half)."""
    from hepjepa.downstream.metrics import auc as _area

    return _area(eff_sig[::-1], eff_bkg[::-1])


def working_point(eff_sig: np.ndarray, eff_bkg: np.ndarray, edges: np.ndarray, target: float = 0.5,
                  bkg: np.ndarray | None = None, bkg_var: np.ndarray | None = None) -> dict:
    """The score bin edge whose signal efficiency is closest to ``target``, with the background's statistics.

    Args:
        eff_sig, eff_bkg: from :func:`binned_roc`.
        edges: the score axis' bin edges.
        target: signal efficiency aimed at.
        bkg, bkg_var: (n_bins,) background counts and sums of squared weights (``score_counts(...,
            variances=True)``); they give the effective number of background jets passing and a
            Clopper-Pearson interval on the efficiency (for unit weights: the plain counts).

    Returns:
        ``cut_bin, score_cut, eff_sig, eff_bkg`` and, with ``bkg``: ``bkg_total``, ``bkg_passing``
        (effective counts), ``eff_bkg_interval_68`` and either ``bkg_rejection`` with
        ``bkg_rejection_interval_68`` when at least :data:`MIN_PASSING` background jets pass, or
        ``bkg_rejection = None`` and ``bkg_rejection_lower_limit_95`` (one-sided 95% CL) when fewer do:
        a rejection from a handful of jets is a limit, not a value.
    """
    i = int(np.argmin(np.abs(eff_sig[:-1] - target)))
    eb = float(eff_bkg[i])
    out: dict[str, Any] = {"cut_bin": i, "score_cut": float(edges[i]), "eff_sig": float(eff_sig[i]), "eff_bkg": eb}
    if bkg is None:
        out["bkg_rejection"] = (1.0 / eb) if eb > 0 else float("inf")
        return out
    if bkg_var is None:
        msg = "working_point: bkg needs bkg_var (the sums of squared weights) too"
        raise TypeError(msg)
    from hist.intervals import clopper_pearson_interval

    w, w2 = float(bkg.sum()), float(bkg_var.sum())
    pw, pw2 = float(bkg[i:].sum()), float(bkg_var[i:].sum())
    n_tot = w * w / w2 if w2 > 0 else 0.0  # effective counts (sum w)^2 / sum w^2
    k = pw * pw / pw2 if pw2 > 0 else 0.0
    k = min(k, n_tot)
    lo, hi = (float(x) for x in clopper_pearson_interval(np.array(k), np.array(n_tot), coverage=0.6827))
    out.update(bkg_total=n_tot, bkg_passing=k, eff_bkg_interval_68=[lo, hi], min_passing=MIN_PASSING)
    if k >= MIN_PASSING:
        out["bkg_rejection"] = 1.0 / eb
        out["bkg_rejection_interval_68"] = [1.0 / hi, (1.0 / lo) if lo > 0 else float("inf")]
    else:  # one-sided 95% upper limit on the efficiency = the upper end of a central 90% interval
        hi95 = float(clopper_pearson_interval(np.array(k), np.array(n_tot), coverage=0.90)[1])
        out["bkg_rejection"] = None
        out["bkg_rejection_lower_limit_95"] = 1.0 / hi95 if hi95 > 0 else float("inf")
    return out


def msd_before_after(h, flavour: str, truth: int, cut_bin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft-drop mass counts of class ``truth`` before and after ``score >= edges[cut_bin]``.

    Returns:
        (edges, before, after) with before/after (n_msd_bins,).
    """
    import hist

    edges = h.axes["msd"].edges
    if truth not in list(h.axes["truth"]):
        return edges, np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    sub = h[{"flavour": flavour, "truth": hist.loc(truth)}].project("score", "msd").values()  # (score, msd)
    return edges, sub.sum(0), sub[cut_bin:].sum(0)


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms, normalised here."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a, b):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return float(np.sqrt(max(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0)))


def ks_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between two binned distributions (max |CDF difference|)."""
    return float(np.max(np.abs(np.cumsum(p) / p.sum() - np.cumsum(q) / q.sum())))
