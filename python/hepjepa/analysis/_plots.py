"""mplhep-style PNGs of the tagging histogram: scores per truth class, ROC, soft-drop mass before/after a cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hepjepa._io import atomic_path

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


def plot_scores(edges: np.ndarray, counts: dict[str, np.ndarray], flavour: str, path: Path) -> Path:
    """Normalised score distributions, one line per truth class name -> counts."""
    plt, mplhep, (fig, ax) = _fig()
    for name, c in counts.items():
        if c.sum() > 0:
            mplhep.histplot(c / c.sum(), edges, ax=ax, label=f"{name} ({c.sum():.0f})")
    ax.set_xlabel(flavour)
    ax.set_ylabel("fraction of jets")
    ax.set_yscale("log")
    ax.legend()
    return _save(plt, fig, path)


def plot_roc(eff_sig: np.ndarray, eff_bkg: np.ndarray, auc_value: float, label: str, path: Path) -> Path:
    """Signal efficiency vs background rejection (log)."""
    plt, _, (fig, ax) = _fig()
    ok = eff_bkg > 0
    ax.plot(eff_sig[ok], 1.0 / eff_bkg[ok], label=f"{label}, AUC = {auc_value:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection")
    ax.legend()
    return _save(plt, fig, path)


def plot_msd(edges: np.ndarray, before: np.ndarray, after: np.ndarray, label: str, cut: float, path: Path) -> Path:
    """Normalised soft-drop mass of a class before and after the score cut."""
    plt, mplhep, (fig, ax) = _fig()
    for c, name in ((before, "before cut"), (after, f"score >= {cut:.2f}")):
        if c.sum() > 0:
            mplhep.histplot(c / c.sum(), edges, ax=ax, label=f"{label} {name} ({c.sum():.0f})")
    ax.set_xlabel("soft-drop mass [GeV]")
    ax.set_ylabel("fraction of jets")
    ax.legend()
    return _save(plt, fig, path)
