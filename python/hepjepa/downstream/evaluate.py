"""Evaluate a tagger: metrics JSON, ROC curves, confusion matrix and a t-SNE of pooled embeddings (PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hepjepa.atomic import atomic_path
from hepjepa.downstream.metrics import classification_report, roc_on_grid
from hepjepa.labels import flav_name

__all__ = ["evaluate_scores", "plot_roc", "plot_confusion", "plot_tsne"]


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, class_names: list[str], out_dir: str | Path,
                    embeddings: np.ndarray | None = None, seed: int = 0, tsne_max: int = 2000) -> dict:
    """Write ``metrics.json``, ``roc.png``, ``confusion.png`` (and ``tsne.png`` given embeddings).

    ``metrics.json`` names the classes the way the exported model's ``preprocess.json`` and the
    coffea / C++ outputs do (``probQCD``, ``probTbqq``, from :func:`hepjepa.labels.flav_name`),
    and records the mapping in ``class_labels`` / ``flav_names``. Infinite rejections (no
    background jet passes) are written as ``null`` so the file stays strict JSON.

    Args:
        scores: (N, C) softmax scores. labels: (N,) local class indices (0 = QCD if present).
        class_names: C JetClass class names (``label_Tbqq``, ``Tbqq`` or ``probTbqq``).
        out_dir: output directory.
        embeddings: (N, E) pooled embeddings for the t-SNE. seed: t-SNE seed.
        tsne_max: at most this many jets in the t-SNE (it is O(N^2)).

    Returns:
        The metrics dict: ``n_jets``, ``accuracy``, ``macro_accuracy``, ``auc`` {probXxx: AUC},
        ``rejection`` {probXxx: {"eS=0.5": 1/eB, ...}} (each class vs QCD), ``flav_names``,
        ``class_labels``.

    Raises:
        KeyError: a class name that is not one of JetClass's ten classes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    flav = [flav_name(c) for c in class_names]
    rep = {**classification_report(scores, labels, flav), "flav_names": flav, "class_labels": [str(c) for c in class_names]}
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(_finite_or_null(rep), indent=2, allow_nan=False))
    plot_roc(scores, labels, class_names, out / "roc.png")
    plot_confusion(scores, labels, class_names, out / "confusion.png")
    if embeddings is not None:
        plot_tsne(embeddings, labels, class_names, out / "tsne.png", seed=seed, max_points=tsne_max)
    return rep


def _finite_or_null(obj):
    """``obj`` with every non-finite float replaced by None (json.dumps would write ``Infinity``)."""
    if isinstance(obj, dict):
        return {k: _finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_null(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    return plt


def plot_roc(scores, labels, class_names, path, background: int = 0) -> None:
    """Background rejection vs signal efficiency of each class against ``background`` (log y).

    The curves are :func:`hepjepa.downstream.metrics.roc_on_grid` on a 1001-point eS grid, the
    same ROC (discriminant s_X / (s_X + s_bkg)) as the rejections in ``metrics.json``.
    """
    plt = _style()
    fig, ax = plt.subplots(figsize=(8, 7))
    grid = np.linspace(0.0, 1.0, 1001)
    for c in range(len(class_names)):
        if c == background or not (labels == c).any() or not (labels == background).any():
            continue
        eb = roc_on_grid(scores, labels, c, background, grid)
        ok = (eb > 0) & (grid > 0)  # eB = 0: infinite rejection, not drawable on a log axis
        ax.plot(grid[ok], 1 / eb[ok], label=f"{class_names[c]} vs {class_names[background]}")
    ax.set_yscale("log")
    ax.set_xlabel("signal efficiency")
    ax.set_ylabel("background rejection 1/eB")
    ax.legend(fontsize=12)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_confusion(scores, labels, class_names, path) -> None:
    """Row-normalised confusion matrix (true class rows, predicted columns)."""
    plt = _style()
    C = len(class_names)
    cm = np.zeros((C, C))
    np.add.at(cm, (labels, scores.argmax(1)), 1)
    cm = cm / np.clip(cm.sum(1, keepdims=True), 1, None)
    fig, ax = plt.subplots(figsize=(1.2 * C + 4, 1.2 * C + 3))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    for i in range(C):
        for j in range(C):
            ax.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=10, color="white" if cm[i, j] > 0.5 else "black")
    names = [n.removeprefix("label_") for n in class_names]
    ax.set_xticks(range(C), names, rotation=45)
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_tsne(embeddings, labels, class_names, path, seed: int = 0, max_points: int = 2000) -> None:
    """2-D t-SNE (sklearn) of the pooled embeddings coloured by true class."""
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(labels))[:max_points]
    perp = float(min(30, max(2, (len(idx) - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perp, random_state=seed, init="pca").fit_transform(embeddings[idx])
    plt = _style()
    fig, ax = plt.subplots(figsize=(8, 7))
    for c, name in enumerate(class_names):
        m = labels[idx] == c
        if m.any():
            ax.scatter(xy[m, 0], xy[m, 1], s=4, label=name.removeprefix("label_"))
    ax.legend(fontsize=12, markerscale=3)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
