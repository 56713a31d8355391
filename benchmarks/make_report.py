"""Regenerate docs/benchmarks.md's result table and the benchmark plots from benchmarks/results/*.json.

Reads EVERY ``*.json`` in the results folder. Known benchmarks get hand-written rows
(:data:`SUMMARISERS`); any other file with a ``summary`` dict gets a generic row; a file that is
unreadable or shaped differently than expected is skipped with a printed note, never a crash.
Plots (PNG, next to the JSON, drawn by ``_plots`` where shared with the benchmarks):
``speed_inference.png`` (jets/s vs batch), ``speed_scaling.png`` (time and peak memory vs jet
size), ``report_roc.png`` (ROC curves of all models, top vs QCD at 100 % labels, from the curves
stored in physics_compare.json; runs without a stored curve are named under the plot),
``report_physics_fewshot.png`` (accuracy/AUC vs label fraction of all models, physics_compare.json)
and ``report_fewshot.png`` (JEPA modes vs label fraction, fewshot.json).
The page's region between ``<!-- results:begin ... -->`` and ``<!-- results:end -->`` is replaced by
a ``what | script | result`` table followed by links to the plots; the rest of the page is left
byte-for-byte as it was.

    python -m benchmarks.make_report [--results DIR] [--readme docs/benchmarks.md] [--no-plots]
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from benchmarks._common import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^<!-- results:begin.*?-->\s*$", re.M)
END = "<!-- results:end -->"

__all__ = ["ReportError", "PLOTS", "collect_rows", "render_table", "render_links", "replace_region", "make_plots", "main"]


class ReportError(ValueError):
    """The README has no (or a malformed) results region."""


def _f(x, digits: int = 3) -> str:
    """Compact number: 3 significant digits, thousands as k / M."""
    x = float(x)
    if abs(x) >= 1e6:
        return f"{x / 1e6:.{digits}g}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.{digits}g}k"
    return f"{x:.{digits}g}"


def _load(d: dict) -> str:
    m = d.get("machine", {})
    la = m.get("loadavg_1_5_15") or m.get("load_average") or m.get("loadavg_before")
    return f" (load avg {la[0]:.1f} on 2 cores)" if isinstance(la, list) and la else ""


# ---- one summariser per known benchmark: dict -> list of (what, result) ----

def _bridge_throughput(d):
    ratios = sorted(r["ratio_bridge_over_python"] for r in d["rows"])
    return [("C++ producer vs Python onnxruntime, throughput ratio, batch 1..1024, 1-2 threads",
             f"{ratios[0]:.2f}-{ratios[-1]:.2f} (median {ratios[len(ratios) // 2]:.2f}); bridge overhead at batch 1: "
             f"{d['summary']['bridge_minus_python_latency_us_batch1']:+.1f} µs/call")]


def _bridge_memory(d):
    return [(f"memory growth over {_f(d['runs'])} producer calls", f"{100 * d['growth_fraction']:.3f}%")]


def _features_throughput(d):
    return [("tokenisation incl. pairwise features (Numba)",
             f"{_f(d['numba_particles_per_s_per_core'])} particles/s/core, {d['speedup_vs_numpy']:.1f}x a vectorised NumPy version{_load(d)}")]


def _readers_throughput(d):
    r = d["results"]
    return [("readers", ", ".join(f"{k} {_f(v['particles_per_s'])} particles/s" for k, v in r.items()))]


def _generator_throughput(d):
    pc = d["per_class"]
    rates = ", ".join(f"{k} {v['jets_per_s_per_core']:.0f}" for k, v in pc.items())
    return [("generator jets/s/core per class", rates + _load(d))]


def _speed_inference(d):
    rows = d["rows"]
    batches = sorted({r["batch"] for r in rows})
    out = []
    for b in batches:
        parts = [f"{r['runtime']} {_f(r['jets_per_s'])}" for r in rows if r["batch"] == b and r["threads"] == 1]
        out.append((f"inference jets/s, batch {b}, 1 thread (shipped model; ParT = part_cpp)", ", ".join(parts) + _load(d)))
    lat = [f"{r['runtime']} {r['latency_p50_us']:.0f}/{r['latency_p99_us']:.0f}" for r in rows if r["batch"] == 1 and r["threads"] == 1]
    out.append(("per-jet latency p50/p99 µs, batch 1, 1 thread", ", ".join(lat) + (" (quick run)" if d.get("quick") else "")))
    return out


def _speed_scaling(d):
    s = d["summary"]
    stages = sorted({r["stage"] for r in d["rows"]})
    parts = []
    for st in stages:
        ts, ms = s.get(f"{st}_time_slope"), s.get(f"{st}_memory_slope")
        sl = f"time slope {ts:.2f}, memory slope {ms:.2f}" if ts is not None and ms is not None else "slopes need >= 2 sizes >= 256"
        parts.append(f"{st}: up to {s.get(f'{st}_max_particles_run')} particles, {sl}")
    return [("scaling with jet size (log-log slopes; 1 = linear)", "; ".join(parts) + _load(d))]


def _speed_flops(d):
    s = d["summary"]
    models = [k[: -len("_mflop_per_jet")] for k in s if k.endswith("_mflop_per_jet")]
    parts = []
    for m in models:
        part = f"{m}: {s[m + '_mflop_per_jet']:.3g} MFLOP/jet, best {100 * s[m + '_best_fraction_of_peak']:.1f}% of peak"
        # the deployed path at the largest batch: the C++ producer (cache-sized ONNX Runtime calls)
        cpp = {int(k.rsplit("batch", 1)[1]): v for k, v in s.items() if k.startswith(f"{m}_cpp_fraction_of_peak_batch")}
        if cpp:
            b = max(cpp)
            part += f", C++ producer at {b} jets {100 * cpp[b]:.1f}%"
        parts.append(part)
    lib = f", {s['sgemm_library']}" if "sgemm_library" in s else ""
    return [(f"FLOPs/jet and fraction of 1-core SGEMM peak ({s['sgemm_gflop_per_s']:.1f} GFLOP/s{lib})", "; ".join(parts) + _load(d))]


def _speed_coffea(d):
    n = f", {d['events']} events" if "events" in d else ""
    return [(f"coffea Runner end to end, events/s{n}", ", ".join(f"{r['executor']}({r['workers']}) {r['events_per_s']:.0f}" for r in d["rows"]) + _load(d))]


def _acc_auc(r) -> str:
    return f"{r['accuracy_mean']:.3f}±{r.get('accuracy_std', 0.0):.3f} (AUC {r['auc_mean']:.3f})"


def _fewshot(d):
    # one row per label fraction: accuracy mean±std over seeds (the goal's metric) and AUC per mode
    rows = d["summary"]
    gain = d.get("finetune_minus_scratch_accuracy", {})
    out = []
    for frac in sorted({r["fraction"] for r in rows}):
        parts = [f"{r['mode']} {_acc_auc(r)}" for r in rows if r["fraction"] == frac]
        g = gain.get(f"{frac:g}") or gain.get(str(frac))
        if g:
            parts.append(f"finetune - scratch {100 * g['mean']:+.1f} points")
        n_train = d.get("n_jets", {}).get("train")
        jets = f" = {round(frac * n_train)} jets" if n_train else ""
        seeds = sorted({r.get("n_seeds", 0) for r in rows if r["fraction"] == frac})
        out.append((f"few-shot {d.get('task', '')}, {100 * frac:g}% labels{jets}, accuracy over {'/'.join(map(str, seeds))} seeds", ", ".join(parts)))
    return out


def _physics_compare(d):
    rows = d["summary"]
    out = []
    variant = f"; backbone {d['jepa']['backbone']}" if d.get("max_groups") and d.get("jepa", {}).get("backbone") else ""
    if d.get("max_groups"):
        variant += f", JEPA on {d['max_groups']} groups"
    for task in sorted({r["task"] for r in rows}):
        for frac in sorted({r["fraction"] for r in rows if r["task"] == task}):
            sel = [r for r in rows if r["task"] == task and r["fraction"] == frac]
            out.append((f"physics comparison ({d.get('mode', '')}{variant}), {task}, {100 * frac:g}% labels, accuracy",
                        ", ".join(f"{r['model']} {_acc_auc(r)}" for r in sel)))
    if not out:
        raise KeyError("no rows in summary")
    curves = d.get("roc_curves")
    if isinstance(curves, dict):  # report_roc.png is drawn from the main file
        with_c = [c.split(" ")[0] for c in curves.get("with_curve", [])]
        top = sorted(c for c in with_c if c.startswith("top_") and "_f1_" in c)
        out.append((f"physics comparison ({d.get('mode', '')}), ROC curves stored (report_roc.png: top, 100% labels)",
                    f"{len(with_c)} of {len(with_c) + len(curves.get('without_curve', {}))} runs carry a curve; "
                    f"drawn: {', '.join(top) or 'none'}"))
    return out


def _variant_file(name: str) -> Path:
    return ROOT / "benchmarks" / "variants" / f"{name}.yaml"


def _physics_variant(d):
    """One row per variant (physics_compare_NAME.json): its cells, JEPA fine-tuned - ParT in AUC where
    both ran (standard error of the difference of the two means over seeds) and the mean best val
    loss of the fine-tuned runs."""
    name = d["variant"]
    f = _variant_file(name)
    if f.is_file():
        import yaml

        what = yaml.safe_load(f.read_text()).get("what", "")
    else:
        what = f"backbone {d.get('jepa', {}).get('backbone', '?')}"
        for key, label in (("train_root", "trained on"), ("test_root", "tested on")):
            if d.get(key) and d[key] != "data/bench":
                what += f", {label} {d[key]}"
        if d.get("max_groups"):
            what += f", JEPA on {d['max_groups']} groups"
    rows, runs = d["summary"], d.get("runs", [])
    cells = []
    for task, frac in sorted({(r["task"], r["fraction"]) for r in rows}):
        sel = {r["model"]: r for r in rows if r["task"] == task and r["fraction"] == frac}
        seeds = "/".join(str(n) for n in sorted({r.get("n_seeds", 0) for r in sel.values()}))
        cell = f"{task} {100 * frac:g}%, {seeds} seeds: " + ", ".join(f"{m} {r['accuracy_mean']:.3f} (AUC {r['auc_mean']:.3f})" for m, r in sel.items())
        ft, pt = sel.get("finetune"), sel.get("part")
        if ft and pt:
            se = (ft.get("auc_std", 0.0) ** 2 / ft["n_seeds"] + pt.get("auc_std", 0.0) ** 2 / pt["n_seeds"]) ** 0.5
            cell += f"; JEPA - ParT AUC {ft['auc_mean'] - pt['auc_mean']:+.4f} ± {se:.4f}"
        vl = [r["best_val_loss"] for r in runs if r.get("task") == task and r.get("fraction") == frac and r.get("model") == "finetune" and "best_val_loss" in r]
        if vl:
            cell += f"; JEPA val loss {sum(vl) / len(vl):.3f}"
        cells.append(cell)
    if not cells:
        raise KeyError("no rows in summary")
    return [(f"physics variant `{name}`: {what}", " · ".join(cells))]


def _ablations(d):
    # one row per variant: frozen linear-probe accuracy on val / test at each label fraction
    # (val picks the recipe, test is what it scores), then fine-tuning when it was run
    out = []
    for v in dict.fromkeys(r["variant"] for r in d["summary"]):
        cells = []
        for r in sorted((r for r in d["summary"] if r["variant"] == v), key=lambda r: (r.get("eval", ""), r["fraction"])):
            val = f"{r['val_accuracy_mean']:.3f}/" if "val_accuracy_mean" in r and r.get("eval") == "linear_probe" else ""
            cells.append(f"{r.get('eval', '?').replace('linear_probe', 'probe')} {100 * r['fraction']:g}%: {val}{r['test_accuracy_mean']:.3f}")
        out.append((f"ablation ({d.get('mode', '')}, {d.get('pretrain_steps', '?')} steps) {v}: accuracy val/test", ", ".join(cells)))
    return out


def _pretrain_throughput(d):
    return [("pretraining throughput (steady state), config x ranks x threads", ", ".join(
        f"{c['config']} {c['ranks']}x{c['threads_per_rank']}: {c['jets_per_s_steady']:.0f} jets/s" for c in d["cases"]) + _load(d))]


def _deploy_latency(d):
    t = d["per_event"]["total_thread_cpu"]
    return [("per-event latency of the reco job (thread CPU)", f"p50 {t['p50_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms{_load(d)}")]


def _backbone_selection(d):
    out = []
    for fam, v in sorted(d["families"].items()):
        for frac in ("0.005", "0.01"):
            g = v[frac]
            out.append((f"pretraining run chosen by effective rank, {fam} ({len(v['runs'])} seeds), top few-shot {100 * float(frac):g}% labels",
                        f"kept {v['selected_by_rank']}: {g['gain_selected_by_rank']:+.1f} points over scratch; random pick "
                        f"{g['gain_random_pick_mean']:+.1f}, best/worst in hindsight {g['gain_best_in_hindsight']:+.1f}/{g['gain_worst']:+.1f}, "
                        f"lowest/highest-JEPA-loss pick {g['gain_lowest_loss']:+.1f}/{g.get('gain_highest_loss', float('nan')):+.1f}"))
    for frac, c in sorted(d["correlations"].items()):
        out.append((f"effective rank vs few-shot gain, all {len(d['runs']) - d.get('n_runs_without_fewshot', 0)} runs, {100 * float(frac):g}% labels",
                    f"Spearman {c['spearman_rank_gain_all_runs']:+.2f} (final JEPA loss: {c['spearman_loss_gain_all_runs']:+.2f})"))
    if not out:
        raise KeyError("no families")
    return out


def _fuzz_campaign(d):
    code = f" (code of commit {d['commit']})" if d.get("commit") else ""
    out = []
    for t in d["targets"]:
        found = ", ".join(f"{v} {k}" for k, v in t["counts"].items() if v)
        out.append((f"fuzz campaign{code}: {t['target']}, {t['cases']} seeded cases (seed {d['seed']})", found))
    return out


SUMMARISERS = {
    "fuzz_campaign": _fuzz_campaign, "fuzz_campaign_before": _fuzz_campaign,
    "backbone_selection": _backbone_selection,
    "bridge_throughput": _bridge_throughput, "bridge_memory": _bridge_memory, "features_throughput": _features_throughput,
    "readers_throughput": _readers_throughput, "generator_throughput": _generator_throughput,
    "speed_inference": _speed_inference, "speed_scaling": _speed_scaling, "speed_flops": _speed_flops,
    "speed_coffea": _speed_coffea, "fewshot": _fewshot, "physics_compare": _physics_compare, "ablations": _ablations,
    "deploy_latency": _deploy_latency, "pretrain_throughput": _pretrain_throughput,
}


def _generic(d):
    s = d.get("summary")
    if not isinstance(s, dict):
        raise KeyError("no summary dict")
    nums = [(k, v) for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)][:4]
    if not nums:
        raise KeyError("summary has no numbers")
    return [("summary", ", ".join(f"{k} {_f(v)}" for k, v in nums))]


def collect_rows(results: Path) -> list[tuple[str, str, str]]:
    """(what, script, result) rows of every JSON in ``results``, skipping unusable files with a note."""
    rows = []
    for path in sorted(Path(results).glob("*.json")):
        name = path.stem
        base = name[: -len("_quick")] if name.endswith("_quick") else name
        if re.fullmatch(r"physics_compare_few10_.+_g24ft", base) and (Path(results) / "backbone_selection.json").is_file():
            continue  # one pretraining run's few-shot rows each: backbone_selection.json's rows summarise them all
        variant = base[len("physics_compare_"):] if base.startswith("physics_compare_") else None
        if variant:  # a variant: python -m benchmarks.physics_compare --variant benchmarks/variants/NAME.yaml
            base = "physics_compare"
        try:
            data = json.loads(path.read_text())
            fn = _physics_variant if variant else SUMMARISERS.get(base, _generic)
            got = fn(data)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, ZeroDivisionError) as e:
            print(f"note: skipping {path.name}: {type(e).__name__}: {e}")
            continue
        if base in COMMANDS:
            script = f"`{COMMANDS[base]}`"
        elif (ROOT / "benchmarks" / f"{base}.py").is_file():
            script = f"`python -m benchmarks.{base}`"
        else:
            script = f"`{path.name}`"
        vfile = variant or (None if base == "physics_compare" else base)
        if vfile and _variant_file(vfile).is_file():  # a variant of the grid runner
            script = f"`python -m benchmarks.physics_compare --variant benchmarks/variants/{vfile}.yaml`"
        rows += [(what, script, res) for what, res in got]
    return rows


def render_table(rows) -> str:
    """Markdown table text (no trailing newline)."""
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| what | script | result |", "|---|---|---|"]
    lines += [f"| {esc(w)} | {s} | {esc(r)} |" for w, s, r in rows]
    return "\n".join(lines)


def replace_region(text: str, table: str) -> str:
    """``text`` with the lines between the begin and end markers replaced by ``table``.

    Raises:
        ReportError: a marker is missing, repeated, or the end comes before the begin.
    """
    begins = list(BEGIN.finditer(text))
    n_end = text.count(END)
    if len(begins) != 1 or n_end != 1:
        raise ReportError(f"README must hold exactly one '<!-- results:begin ... -->' line and one {END!r}; "
                          f"found {len(begins)} and {n_end}")
    b = begins[0]
    e = text.index(END)
    if e < b.end():
        raise ReportError("the results:end marker comes before results:begin")
    return text[: b.end()] + "\n" + table + "\n" + text[e:]


#: The report's plots, in the order the README links them: (file name, caption, source JSON).
PLOTS = (
    ("report_roc.png", "ROC curves of all models, top vs QCD, 100% labels", "physics_compare"),
    ("report_physics_fewshot.png", "accuracy and AUC vs label fraction, all models, top vs QCD", "physics_compare"),
    ("report_fewshot.png", "few-shot curve of the JEPA modes", "fewshot"),
    ("speed_inference.png", "inference throughput vs batch size", "speed_inference"),
    ("speed_scaling.png", "time and memory vs jet size", "speed_scaling"),
)


def make_plots(results: Path) -> list[Path]:
    """Draw the plots that the JSON files allow; return the files written.

    A plot whose JSON is missing, has nothing to draw, or is shaped unexpectedly is skipped with a
    printed note, never a crash.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks import _plots

    written = []

    def save_fig(fig, out):
        from hepjepa.atomic import atomic_path

        with atomic_path(out) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        return out

    def load(name):
        p = Path(results) / f"{name}.json"
        if not p.is_file():
            p = Path(results) / f"{name}_quick.json"
        return json.loads(p.read_text()) if p.is_file() else None

    draw = {
        "report_roc.png": lambda d, out: _plots.physics_roc(d, out, task="top", fraction=1.0),
        "report_physics_fewshot.png": lambda d, out: _plots.physics_fewshot(d, out, task="top"),
        "report_fewshot.png": lambda d, out: _plot_fewshot(d, out, _plots),
        "speed_inference.png": lambda d, out: save_fig(_plot_inference(d, plt), out),
        "speed_scaling.png": lambda d, out: save_fig(_plot_scaling(d, plt), out),
    }
    for fname, _, src in PLOTS:
        try:
            d = load(src)
        except (OSError, ValueError) as e:
            print(f"note: cannot read {src}.json: {type(e).__name__}: {e}")
            continue
        if d is None:
            print(f"note: no {src}.json: {fname} is skipped")
            continue
        try:
            got = draw[fname](d, Path(results) / fname)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            plt.close("all")
            print(f"note: cannot plot {fname} from {src}.json: {type(e).__name__}: {e}")
            continue
        if got is None:
            print(f"note: {src}.json has nothing to draw for {fname}")
            continue
        written.append(Path(got))
    return written


def render_links(pngs, readme_dir: Path) -> str:
    """Markdown links to the report's plots among ``pngs`` (in PLOTS order), relative to ``readme_dir``."""
    names = {Path(p).name: Path(p) for p in pngs}
    items = [f"[{cap}]({Path(os.path.relpath(names[f], readme_dir)).as_posix()})" for f, cap, _ in PLOTS if f in names]
    return "Plots: " + " · ".join(items) if items else ""


def _plot_inference(d, plt):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, th in zip(axes, (1, 2)):
        for rt in sorted({r["runtime"] for r in d["rows"]}):
            pts = sorted((r["batch"], r["jets_per_s"]) for r in d["rows"] if r["runtime"] == rt and r["threads"] == th)
            ax.plot(*zip(*pts), marker="o", label=rt)
        ax.set(xscale="log", yscale="log", xlabel="batch size (jets)", title=f"{th} thread(s)")
    axes[0].set_ylabel("jets / s")
    axes[0].legend()
    fig.suptitle("inference throughput (loaded shared 2-core CPU)")
    return fig


def _plot_scaling(d, plt):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for st in sorted({r["stage"] for r in d["rows"]}):
        pts = sorted((r["particles"], r["seconds"], r["peak_extra_bytes"]) for r in d["rows"] if r["stage"] == st)
        n, t, m = zip(*pts)
        axes[0].plot(n, [1e3 * x for x in t], marker="o", label=st)
        seen = [(a, b / 2**20) for a, b in zip(n, m) if b > 0]  # 0 = below the page-level resolution
        if seen:
            axes[1].plot(*zip(*seen), marker="o", label=st)
    axes[0].set(xscale="log", yscale="log", xlabel="particles per jet", ylabel="ms per jet")
    axes[1].set(xscale="log", yscale="log", xlabel="particles per jet", ylabel="peak extra RSS [MiB] (0 not drawn)")
    axes[0].legend()
    fig.suptitle("scaling with jet size (1 jet, 1 thread)")
    return fig


def _plot_fewshot(d, out, _plots):
    """fewshot.json: accuracy and AUC vs label fraction of the JEPA modes (scratch, frozen, finetune)."""
    n = d.get("n_jets", {}).get("train") if isinstance(d.get("n_jets"), dict) else None
    return _plots.plot_fewshot(d["summary"], out, group_key="mode", order=("scratch", "frozen", "finetune"),
                               xlabel=f"label fraction of the {f'{n} ' if n else ''}training jets ({d.get('task', '')})",
                               legend_title="fewshot.json: mean ± std over seeds")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results", help="folder of the JSON files")
    ap.add_argument("--readme", "--page", type=Path, default=ROOT / "docs" / "benchmarks.md", help="the page holding the results markers")
    ap.add_argument("--no-plots", action="store_true", help="only rewrite the README table")
    args = ap.parse_args(argv)
    if not args.results.is_dir():
        raise FileNotFoundError(f"results folder {args.results} does not exist")
    rows = collect_rows(args.results)
    text = args.readme.read_text()
    replace_region(text, "")  # a malformed README fails before any plot is drawn
    if args.no_plots:
        pngs = [args.results / f for f, _, _ in PLOTS if (args.results / f).is_file()]
    else:
        pngs = make_plots(args.results)
        for p in pngs:
            print("wrote", p)
    links = render_links(pngs, args.readme.resolve().parent)
    new = replace_region(text, render_table(rows) + (f"\n\n{links}" if links else ""))
    from hepjepa.atomic import atomic_path

    if new != text:
        with atomic_path(args.readme) as tmp:
            Path(tmp).write_text(new)
    print(f"{len(rows)} rows -> {args.readme}" + ("" if new != text else " (unchanged)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
