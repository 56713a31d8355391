"""Plots shared by the physics benchmarks and the report: ROC curves and few-shot curves.

One implementation of each figure, used by ``physics_compare.py``, ``fewshot.py`` and
``make_report.py``; they read only plain rows / lists (what the benchmark JSON files hold), so the
report can redraw every figure from ``benchmarks/results/*.json`` without re-running anything.

    import _plots
    _plots.plot_roc({"ParT": [eb_seed0, eb_seed1]}, eff_s, "roc.png", title="top vs QCD")
    _plots.plot_fewshot(summary, "fewshot.png", group_key="model", xlabel="label fraction of 3000 jets")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["PlotInputError", "plot_roc", "plot_fewshot", "roc_curves_from_runs", "physics_roc", "physics_fewshot", "backbone_selection"]


class PlotInputError(ValueError):
    """The rows or curves given to a plot are empty or shaped differently than the plot needs."""


def plot_roc(
    curves: Mapping[str, Sequence[Sequence[float]]],
    eff_s: Sequence[float],
    path: str | Path,
    *,
    title: str = "",
    signal: str = "signal",
    background: str = "background",
    note: str = "",
) -> Path:
    """Background rejection 1/eB vs signal efficiency of several models on one axes (log y).

    Each model may carry several curves (one per seed) sampled on the same ``eff_s`` grid: the line
    is 1 / mean(eB) over them and, with two or more, the band is 1/eB at mean ± std (sample std).
    Grid points where the mean eB is 0 (no background passes: infinite rejection) are not drawn.
    The dotted line is a random classifier (eB = eS).

    Args:
        curves: {legend label: [eB per grid point, one sequence per seed]}.
        eff_s: (P,) signal efficiencies in [0, 1], non-decreasing; every eB sequence has P values.
        path: PNG to write (atomically).
        title: axes title. signal, background: class names for the axis labels.
        note: small print under the axes (e.g. which runs are not drawn), wrapped.

    Returns:
        ``path`` as a Path.

    Raises:
        PlotInputError: no curves, a model without curves, a curve of another length than
            ``eff_s``, eB outside [0, 1], or a bad ``eff_s``.
    """
    grid = np.asarray(eff_s, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2:
        raise PlotInputError(f"eff_s must be a 1-D grid of at least 2 points, got shape {grid.shape}")
    if grid.min() < 0 or grid.max() > 1 or np.any(np.diff(grid) < 0):
        raise PlotInputError(f"eff_s must be non-decreasing in [0, 1], got range [{grid.min()}, {grid.max()}]")
    if not curves:
        raise PlotInputError("plot_roc got no curves; expected {label: [eB per grid point, ...]} with at least one model")
    stacked = {}
    for label, seeds in curves.items():
        if len(seeds) == 0:
            raise PlotInputError(f"model {label!r} has no curves; expected at least one eB sequence")
        lengths = {len(e) for e in seeds}
        if lengths != {grid.size}:
            raise PlotInputError(f"model {label!r}: eB sequences of lengths {sorted(lengths)}; expected {grid.size} (the eff_s grid)")
        eb = np.asarray(seeds, dtype=np.float64)  # (S, P)
        if not np.all((eb >= 0) & (eb <= 1)):
            raise PlotInputError(f"model {label!r}: eB values in [{np.nanmin(eb)}, {np.nanmax(eb)}]; expected efficiencies in [0, 1]")
        stacked[label] = eb

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for label, eb in stacked.items():
        mean = eb.mean(0)  # (P,)
        ok = (mean > 0) & (grid > 0)
        n = eb.shape[0]
        (line,) = ax.plot(grid[ok], 1.0 / mean[ok], label=f"{label} ({n} seed{'s' if n > 1 else ''})")
        if n > 1:
            std = eb.std(0, ddof=1)
            lo = np.clip(mean + std, 1e-12, None)  # more background -> lower rejection
            hi = np.clip(mean - std, mean * 1e-3, None)  # keep the band finite where mean - std <= 0
            ax.fill_between(grid[ok], 1.0 / lo[ok], 1.0 / hi[ok], color=line.get_color(), alpha=0.2, linewidth=0)
    diag = grid > 0
    ax.plot(grid[diag], 1.0 / grid[diag], ":", color="grey", label="random (eB = eS)")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"signal efficiency eS ({signal})")
    ax.set_ylabel(f"background rejection 1/eB ({background})")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if note:
        import textwrap

        fig.text(0.02, -0.02, textwrap.fill(note, 100), fontsize=7, va="top", ha="left")
    return _save(fig, plt, path)


def plot_fewshot(
    rows: Sequence[Mapping],
    path: str | Path,
    *,
    xlabel: str,
    group_key: str = "model",
    metrics: Sequence[str] = ("accuracy", "auc"),
    labels: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    title: str = "",
    legend_title: str = "mean ± std over seeds",
) -> Path:
    """Test metric vs label fraction (log x), one line with error bars per model, one panel per metric.

    Args:
        rows: summary rows, each with ``group_key`` (e.g. ``model`` or ``mode``), ``fraction`` in
            (0, 1], and ``<metric>_mean`` / ``<metric>_std`` for every metric (as made by
            ``fewshot.summarise``); rows of other tasks must be filtered out by the caller.
        path: PNG to write (atomically).
        xlabel: x-axis label; name the pool the fraction is of (e.g. "label fraction of the
            3000 top/QCD training jets").
        group_key: the row field naming the line.
        metrics: metric names, one panel each (``accuracy`` -> "test accuracy").
        labels: display name of each group (default the group value itself).
        order: groups in drawing order (default: order of first appearance); groups not in
            ``rows`` are skipped, groups of ``rows`` missing from ``order`` are drawn after.
        title: figure title. legend_title: the legend's title.

    Returns:
        ``path`` as a Path.

    Raises:
        PlotInputError: no rows, no metrics, a row without a needed field, a fraction outside
            (0, 1], or two rows of the same group and fraction.
    """
    if len(rows) == 0:
        raise PlotInputError("plot_fewshot got no rows; expected summary rows with "
                             f"{group_key!r}, 'fraction' and '<metric>_mean'/'<metric>_std'")
    if len(metrics) == 0:
        raise PlotInputError("plot_fewshot got no metrics; expected e.g. ('accuracy', 'auc')")
    need = [group_key, "fraction", *(f"{m}_{s}" for m in metrics for s in ("mean", "std"))]
    groups: dict[str, dict[float, Mapping]] = {}
    for i, r in enumerate(rows):
        missing = [k for k in need if k not in r]
        if missing:
            raise PlotInputError(f"row {i} lacks {missing}; it has {sorted(r)}")
        f = float(r["fraction"])
        if not 0.0 < f <= 1.0:
            raise PlotInputError(f"row {i}: fraction {r['fraction']!r}; expected a label fraction in (0, 1]")
        g = groups.setdefault(r[group_key], {})
        if f in g:
            raise PlotInputError(f"two rows for {group_key}={r[group_key]!r} at fraction {f:g}; filter the rows to one task first")
        g[f] = r
    names = [g for g in (order or []) if g in groups] + [g for g in groups if g not in (order or [])]

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 5), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for g in names:
            pts = sorted(groups[g].items())
            ax.errorbar([f for f, _ in pts], [r[f"{m}_mean"] for _, r in pts], yerr=[r[f"{m}_std"] for _, r in pts],
                        marker="o", capsize=3, label=(labels or {}).get(g, str(g)))
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"test {'AUC' if m == 'auc' else m}")
        ax.grid(alpha=0.3)
        ax.legend(title=legend_title, fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, plt, path)


def roc_curves_from_runs(runs: Sequence[Mapping], *, task: str, fraction: float, group_key: str = "model",
                         order: Sequence[str] | None = None) -> tuple[dict[str, list[list[float]]], list[tuple], list[tuple]]:
    """The stored ROC curves (``run["roc"]["eff_b"]``) of one task and label fraction, grouped by model.

    Args:
        runs: benchmark run rows (``physics_compare.json``'s ``runs``).
        task, fraction: which runs.
        group_key: the row field naming the model.
        order: models in this order first (the rest after, in order of appearance).

    Returns:
        ({model: [eB sequence per seed, seeds ascending]}, (model, seed) of the runs with a curve,
        (model, seed) of the runs without one: cached before curves were stored; plots omit them).
    """
    found: dict[str, list[tuple[int, list[float]]]] = {}
    have, lacking = [], []
    for r in runs:
        if r.get("task") != task or float(r.get("fraction", -1)) != float(fraction):
            continue
        roc = r.get("roc")
        if isinstance(roc, Mapping) and isinstance(roc.get("eff_b"), list):
            found.setdefault(r[group_key], []).append((r.get("seed", 0), roc["eff_b"]))
            have.append((r[group_key], r.get("seed")))
        else:
            lacking.append((r[group_key], r.get("seed")))
    names = [m for m in (order or []) if m in found] + [m for m in found if m not in (order or [])]
    return {m: [eb for _, eb in sorted(found[m], key=lambda t: t[0])] for m in names}, have, lacking


def physics_roc(result: Mapping, path: str | Path, task: str = "top", fraction: float = 1.0) -> Path | None:
    """ROC curves of every model of ``task`` at ``fraction`` from a ``physics_compare.json`` dict.

    Every run with a stored curve is drawn (band = std over seeds); the runs without one are named
    under the plot. Used by physics_compare.py and make_report.py, so both draw the same figure.

    Args:
        result: the physics_compare JSON (``runs`` with ``roc``, ``roc_eff_s``, ``models``, ``tasks``).
        path: PNG to write. task, fraction: which runs.

    Returns:
        ``path``, or None when no run of (task, fraction) carries a curve.

    Raises:
        PlotInputError: the JSON has curves but no ``roc_eff_s`` grid, or curves of another length.
    """
    names = dict(result.get("models", {}))
    curves, _, lacking = roc_curves_from_runs(result["runs"], task=task, fraction=fraction, order=list(names))
    if not curves:
        return None
    if "roc_eff_s" not in result:
        raise PlotInputError("the runs carry ROC curves but the JSON has no 'roc_eff_s' grid")
    first = next(r["roc"] for r in result["runs"] if r.get("task") == task and float(r.get("fraction", -1)) == float(fraction) and "roc" in r)
    note = ""
    if lacking:
        by_seed: dict = {}
        for m, sd in lacking:
            by_seed.setdefault(sd, []).append(m)
        every = set(names) or {m for m, _ in lacking}
        parts = [f"seed {sd}: {'every model' if set(ms) >= every else ', '.join(ms)}" for sd, ms in sorted(by_seed.items(), key=lambda t: str(t[0]))]
        note = "Not drawn (cached before ROC curves were stored, no saved test scores): " + "; ".join(parts) + "."
    return plot_roc({names.get(m, m): eb for m, eb in curves.items()}, result["roc_eff_s"], path,
                    title=f"{result.get('tasks', {}).get(task, task)}, {100 * fraction:g}% labels",
                    signal=first["signal"].removeprefix("label_"), background=first["background"].removeprefix("label_"), note=note)


def physics_fewshot(result: Mapping, path: str | Path, task: str = "top") -> Path | None:
    """Accuracy and AUC vs label fraction of every model of ``task`` from a ``physics_compare.json`` dict.

    Returns:
        ``path``, or None when the summary has no row of ``task``.
    """
    rows = [r for r in result["summary"] if r["task"] == task]
    if not rows:
        return None
    names = dict(result.get("models", {}))
    n = result.get("n_jets", {}).get(task, {}).get("train")
    return plot_fewshot(rows, path, group_key="model", labels=names, order=list(names),
                        xlabel=f"label fraction of the {f'{n} ' if n else ''}training jets ({result.get('tasks', {}).get(task, task)})",
                        legend_title=f"{task}: mean ± std over seeds")


def backbone_selection(result: Mapping, path: str | Path) -> Path | None:
    """Few-shot gain over scratch vs held-out effective rank, one panel per label fraction, from a
    ``backbone_selection.json`` dict: a point per pretraining run (error bar = standard error over
    the fine-tuning seeds), a marker per family, the run each family's rank rule keeps circled.

    Returns:
        ``path``, or None when no run has few-shot results.
    """
    runs = [r for r in result["runs"] if r["fewshot"] and all(r["fewshot"].values())]
    if not runs:
        return None
    plt = _pyplot()
    fracs = list(runs[0]["fewshot"])
    fams = sorted({r["family"] for r in runs})
    markers = dict(zip(fams, "osD^vP*X"))
    chosen = {v["selected_by_rank"] for v in result.get("families", {}).values()}
    fig, axes = plt.subplots(1, len(fracs), figsize=(5.2 * len(fracs), 4.2), squeeze=False)
    for ax, f in zip(axes[0], fracs):
        for i, fam in enumerate(fams):
            rs = [r for r in runs if r["family"] == fam]
            x = [r["effective_rank"] for r in rs]
            y = [r["fewshot"][f]["gain_accuracy_points"] for r in rs]
            e = [r["fewshot"][f]["gain_accuracy_sem"] for r in rs]
            ax.errorbar(x, y, yerr=e, fmt=markers[fam], color=f"C{i}", label=fam, capsize=2, ms=6)
            for r, xx, yy in zip(rs, x, y):
                if r["run"] in chosen:
                    ax.plot(xx, yy, "o", ms=15, mfc="none", mec="k", lw=1.2)
        ax.axhline(0.0, color="gray", lw=0.8, ls="--")
        rho = result.get("correlations", {}).get(f, {}).get("spearman_rank_gain_all_runs")
        ax.set_title(f"{float(f) * 100:g} % labels" + (f" (Spearman {rho:+.2f})" if rho is not None else ""))
        ax.set_xlabel("effective rank of held-out embeddings (no labels)")
        ax.set_ylabel("JEPA fine-tuned − scratch accuracy [points]")
    axes[0][0].legend(title="pretraining recipe (circled: kept by rank)", fontsize=8, title_fontsize=8)
    fig.suptitle("top vs QCD few-shot gain of each pretraining run, 10 fine-tuning seeds")
    return _save(fig, plt, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, plt, path: str | Path) -> Path:
    from hepjepa.atomic import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
