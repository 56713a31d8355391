"""mplhep-style PNGs of the tagging histogram: scores per truth class, ROC, soft-drop mass before/after a cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hepjepa.atomic import atomic_path

__all__ = ["plot_scores", "plot_roc", "plot_msd"]


def _fig():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    return plt, mplhep, plt.subplots(figsize=(8, 7))


def _save(plt, fig, path: Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def _jets(weighted: bool) -> str:
    """How the counts in a legend and on an axis are named: jets, or sums of event weights."""
    return "weighted jets (sum of genWeight)" if weighted else "jets"


def _n(c: np.ndarray, weighted: bool) -> str:
    return f"sum w = {c.sum():.4g}" if weighted else f"{c.sum():.0f} jets"


def plot_scores(edges: np.ndarray, counts: dict[str, np.ndarray], flavour: str, path: Path, weighted: bool = False) -> Path:
    """Normalised score distributions, one line per truth class name -> counts (or weighted sums)."""
    plt, mplhep, (fig, ax) = _fig()
    for name, c in counts.items():
        if c.sum() > 0:
            mplhep.histplot(c / c.sum(), edges, ax=ax, label=f"{name} ({_n(c, weighted)})")
    ax.set_xlabel(flavour)
    ax.set_ylabel(f"fraction of {_jets(weighted)}")
    ax.set_yscale("log")
    ax.legend()
    return _save(plt, fig, path)


def plot_roc(eff_sig: np.ndarray, eff_bkg: np.ndarray, auc_value: float, label: str, path: Path,
             n_sig: float | None = None, n_bkg: float | None = None, weighted: bool = False, wp: dict | None = None) -> Path:
    """Signal efficiency vs background rejection (log); the legend says from how many jets.

    ``wp`` (``hepjepa.analysis._summary.working_point``) is drawn with its 68% interval, or as a
    lower limit when too few background jets pass it.
    """
    plt, _, (fig, ax) = _fig()
    ok = eff_bkg > 0
    ax.plot(eff_sig[ok], 1.0 / eff_bkg[ok], label=f"{label}\nAUC = {auc_value:.3f}")
    if wp is not None and wp.get("bkg_rejection_interval_68"):
        lo, hi = wp["bkg_rejection_interval_68"]
        r = wp["bkg_rejection"]
        ax.errorbar([wp["eff_sig"]], [r], yerr=[[r - lo], [hi - r]], fmt="o", color="black",
                    label=f"working point: {r:.0f} (68% CL {lo:.0f}-{hi:.0f})\n{wp['bkg_passing']:.0f} background jets pass")
    elif wp is not None and wp.get("bkg_rejection_lower_limit_95"):
        lim = wp["bkg_rejection_lower_limit_95"]
        ax.plot([wp["eff_sig"]], [lim], marker="^", color="black", linestyle="none",
                label=f"working point: > {lim:.0f} (95% CL)\nonly {wp['bkg_passing']:.0f} background jets pass")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection")
    if n_sig is not None:
        ax.set_title(f"signal {_n(np.array([n_sig]), weighted)}, background {_n(np.array([n_bkg]), weighted)}", fontsize="small")
    ax.set_xlim(0.0, 1.0)
    ax.legend(fontsize="x-small", loc="lower left")
    return _save(plt, fig, path)


def plot_msd(edges: np.ndarray, before: np.ndarray, after: np.ndarray, label: str, cut: float, path: Path,
             weighted: bool = False) -> Path:
    """Normalised soft-drop mass of a class before and after the score cut."""
    plt, mplhep, (fig, ax) = _fig()
    for c, name in ((before, "before cut"), (after, f"score >= {cut:.2f}")):
        if c.sum() > 0:
            mplhep.histplot(c / c.sum(), edges, ax=ax, label=f"{label} {name} ({_n(c, weighted)})")
    ax.set_xlabel("soft-drop mass [GeV]")
    ax.set_ylabel(f"fraction of {_jets(weighted)}")
    ax.legend()
    return _save(plt, fig, path)
