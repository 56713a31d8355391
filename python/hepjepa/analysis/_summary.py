"""Numbers from the tagging histogram: binned ROC, AUC, working point, mass sculpting."""

from __future__ import annotations

import numpy as np

__all__ = ["score_counts", "binned_roc", "auc", "working_point", "msd_before_after", "js_distance", "ks_distance"]


def score_counts(h, flavour: str, truth: int, cut_bin: int | None = None) -> np.ndarray:
    """(n_score_bins,) weighted counts of ``flavour``'s score for jets of class ``truth``, all datasets.

    Returns zeros when no jet of that class was filled (the category does not exist).
    """
    import hist

    n = h.axes["score"].size
    if truth not in list(h.axes["truth"]):
        return np.zeros(n)
    sub = h[{"flavour": flavour, "truth": hist.loc(truth)}].project("score")
    return np.asarray(sub.values(), dtype=np.float64)


def binned_roc(sig: np.ndarray, bkg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Efficiencies of a cut ``score >= edge_i`` for every lower bin edge i (and 0 at the top).

    Args:
        sig, bkg: (n_bins,) score counts of signal and background.
    Returns:
        (eff_sig, eff_bkg), each (n_bins + 1,), decreasing from 1 to 0.
    Raises:
        ValueError: when either class has no entries (no ROC defined).
    """
    if sig.sum() <= 0 or bkg.sum() <= 0:
        raise ValueError(f"ROC needs both classes: signal has {sig.sum():g} entries, background {bkg.sum():g}")
    es = np.concatenate([np.cumsum(sig[::-1])[::-1], [0.0]]) / sig.sum()
    eb = np.concatenate([np.cumsum(bkg[::-1])[::-1], [0.0]]) / bkg.sum()
    return es, eb


def auc(eff_sig: np.ndarray, eff_bkg: np.ndarray) -> float:
    """Area under the (eff_bkg, eff_sig) curve by trapezoids (ties inside a bin count half)."""
    x, y = eff_bkg[::-1], eff_sig[::-1]  # increasing
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def working_point(eff_sig: np.ndarray, eff_bkg: np.ndarray, edges: np.ndarray, target: float = 0.5) -> dict:
    """The score bin edge whose signal efficiency is closest to ``target``.

    Returns:
        ``{"cut_bin", "score_cut", "eff_sig", "eff_bkg", "bkg_rejection"}`` (rejection = 1/eff_bkg, inf if 0).
    """
    i = int(np.argmin(np.abs(eff_sig[:-1] - target)))
    eb = float(eff_bkg[i])
    return {"cut_bin": i, "score_cut": float(edges[i]), "eff_sig": float(eff_sig[i]), "eff_bkg": eb,
            "bkg_rejection": (1.0 / eb) if eb > 0 else float("inf")}


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
