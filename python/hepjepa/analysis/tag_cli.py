"""The main job: tag FatJets of NanoAOD-like files with coffea, write histograms, plots and a summary.

With no arguments it runs the shipped model on the bundled sample (ttbar + QCD generated
once with fixed seeds and cached in ``$HEPJEPA_CACHE`` or ``~/.cache/hepjepa``; about a
minute on 2 cores the first time). Inputs may be ROOT files, globs or directories (their
``*.root``); each file is a dataset named by its stem.

Outputs in ``--output``: ``hists.coffea`` (``coffea.util.save`` of the full ``hist.Hist``,
the cutflow and the provenance), ``hists.root`` (per dataset, 1D projections with titles
and axis labels, plus the provenance as a string), ``scores.png``, ``roc.png``,
``msd.png`` and ``summary.json``. The working point reports how many background jets pass
it and a Clopper-Pearson interval; with fewer than ten it reports a lower limit on the
rejection instead of a value. Every output records the model's sha256, its tokeniser
settings and hepjepa's version (``provenance``).
"""

from __future__ import annotations

import argparse
import glob
import json
import time
import warnings
from pathlib import Path

from hepjepa.atomic import atomic_path
from hepjepa.errors import InputFileError, UserInputError

__all__ = ["EXECUTORS", "TagInputError", "add_arguments", "run", "run_tag", "load_fileset"]

#: same names as ``hepjepa.coffea.runner.EXECUTORS`` (kept here so ``--help`` needs no coffea import)
EXECUTORS = ("iterative", "futures", "dask")
#: the bundled sample's jets: ttbar, and QCD enough for a working point at a rejection of a few hundred
SAMPLE_JETS, SAMPLE_BACKGROUND_JETS = 400, 5000


#: the main job's name for an input (file, fileset, model, option) it cannot use: the project's InputFileError
TagInputError = InputFileError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", help="ROOT files, globs or directories (default: the bundled sample); "
                                                  "each file is a dataset named by its stem")
    parser.add_argument("--fileset", help="coffea fileset JSON: {dataset: {files: {path: tree}}} or {dataset: [paths]}")
    parser.add_argument("--model", help="exported model directory or its model.onnx (default: the shipped model)")
    parser.add_argument("--executor", choices=EXECUTORS, default="iterative")
    parser.add_argument("--workers", type=int, default=2, help="workers of the futures/dask executors")
    parser.add_argument("--scheduler", help="dask scheduler address for --executor dask (default: a new LocalCluster)")
    parser.add_argument("--chunksize", type=int, default=10_000, help="events per chunk")
    parser.add_argument("--tree", default="Events", help="tree name for files given as inputs")
    parser.add_argument("-o", "--output", default="hepjepa_tag", help="output directory")
    parser.add_argument("--backend", choices=("cpp", "onnxruntime"), default="cpp",
                        help="cpp (default: the C++ JetTagProducer) or onnxruntime (Python onnxruntime)")
    parser.add_argument("--sample-jets", type=int, default=SAMPLE_JETS, help="ttbar jets of the bundled sample")
    parser.add_argument("--sample-background-jets", type=int, default=SAMPLE_BACKGROUND_JETS, help="QCD jets of the bundled sample")
    parser.add_argument("--flavour", default="probTbqq", help="score column used for ROC / working point")
    parser.add_argument("--signal", type=int, default=8, help="truth class of signal (default 8 = Tbqq)")
    parser.add_argument("--background", type=int, default=0, help="truth class of background (default 0 = QCD)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.fileset and args.inputs:
        msg = "give input files or --fileset, not both"
        raise TagInputError(msg)
    if args.fileset:
        fileset = load_fileset(args.fileset)
    elif args.inputs:
        fileset = _fileset_from_globs(args.inputs, args.tree)
    else:
        from hepjepa.analysis._sample import bundled_sample

        try:
            fileset = bundled_sample(args.sample_jets, progress=not args.no_progress, background_jets=args.sample_background_jets)
        except ValueError as e:
            msg = f"--sample-jets/--sample-background-jets: {e}"
            raise TagInputError(msg) from None
    summary = run_tag(fileset, args.model, executor=args.executor, workers=args.workers, chunksize=args.chunksize,
                      output=args.output, backend=args.backend, flavour=args.flavour, signal=args.signal,
                      background=args.background, progress=not args.no_progress, scheduler=args.scheduler)
    print(format_summary(summary))
    return 0


def load_fileset(path: str | Path) -> dict:
    """Read a coffea fileset JSON and normalise it to ``{dataset: {"files": {path: tree}}}``."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        msg = f"fileset JSON {str(path)!r} does not exist"
        raise TagInputError(msg) from None
    except IsADirectoryError:
        msg = f"fileset JSON {str(path)!r} is a directory; expected a .json file"
        raise TagInputError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        msg = f"fileset JSON {str(path)!r} is not valid JSON: {e}"
        raise TagInputError(msg) from None
    if not isinstance(raw, dict) or not raw:
        msg = f"fileset {str(path)!r} must be a non-empty object {{dataset: files}}, got {type(raw).__name__}"
        raise TagInputError(msg)
    out = {}
    for ds, spec in raw.items():
        files = spec.get("files") if isinstance(spec, dict) else spec
        if isinstance(files, list):
            files = {f: "Events" for f in files}
        if not isinstance(files, dict) or not files or not all(isinstance(f, str) and isinstance(t, str) for f, t in files.items()):
            msg = f"dataset {ds!r} in {str(path)!r}: expected a list of files or {{'files': {{path: tree}}}}, got {spec!r}"
            raise TagInputError(msg)
        out[ds] = {"files": {str(f): t for f, t in files.items()}}
    return out


def _fileset_from_globs(patterns: list[str], tree: str) -> dict:
    fileset: dict = {}
    for pat in patterns:
        if Path(pat).is_dir():
            hits = sorted(str(p) for p in Path(pat).glob("*.root"))
            if not hits:
                msg = f"input {pat!r} is a directory with no *.root files"
                raise TagInputError(msg)
        else:
            hits = sorted(glob.glob(pat)) or ([pat] if Path(pat).exists() else [])
        if not hits:
            msg = f"input {pat!r} matches no file"
            raise TagInputError(msg)
        for f in hits:
            fileset.setdefault(Path(f).stem, {"files": {}})["files"][str(f)] = tree
    return fileset


def _executor(name: str, workers: int, progress: bool, scheduler: str | None = None):
    """``hepjepa.coffea.runner.make_executor`` (its errors are :class:`TagInputError`)."""
    from hepjepa.coffea.runner import make_executor

    return make_executor(name, workers, progress, scheduler)


def run_tag(fileset: dict, model_dir: str | Path | None = None, executor: str = "iterative", workers: int = 2,
            chunksize: int = 10_000, output: str | Path = "hepjepa_tag", backend: str = "cpp",
            flavour: str = "probTbqq", signal: int = 8, background: int = 0, progress: bool = True,
            processor_class=None, class_names: dict[int, str] | None = None, scheduler: str | None = None) -> dict:
    """Run ``JEPATagProcessor`` over ``fileset`` and write histograms, plots and ``summary.json``.

    Args:
        fileset: ``{dataset: {"files": {path: tree}}}``.
        model_dir: exported model directory (or its ``model.onnx``); None = the shipped model.
        executor: ``iterative``, ``futures`` or ``dask``; workers: its parallelism.
        chunksize: events per chunk.
        output: output directory.
        backend: ``cpp`` or ``onnxruntime``.
        flavour: score column for ROC and working point; signal/background: truth classes.
        progress: progress bars.
        processor_class: a ``JEPATagProcessor`` subclass (e.g. one that redefines the truth class).
        class_names: truth class -> name in plots (default: JetClass names, -1 = unmatched).
        scheduler: dask scheduler address for ``executor="dask"`` (default: a new LocalCluster).

    Returns:
        The summary dict (also written to ``summary.json``).
    Raises:
        TagInputError: bad files, trees, branches, model, or a ``flavour`` the model lacks.
    """
    from coffea import util

    from hepjepa.analysis import _plots, _summary
    from hepjepa.coffea import JEPATagProcessor
    from hepjepa.coffea.runner import run_processor

    if not isinstance(chunksize, int) or chunksize < 1:
        msg = f"chunksize must be >= 1, got {chunksize}"
        raise TagInputError(msg)
    # our files (and PFNano) have no Muon/Photon/Tau collections: coffea's cross-reference warnings are noise
    warnings.filterwarnings("ignore", message="Missing cross-reference", category=RuntimeWarning)
    # real NanoAOD has Photon_mass/charge branches that coffea's schema replaces by 0: its own notice, not the user's problem
    warnings.filterwarnings("ignore", message="Branch .* already exists but its values will be replaced", category=RuntimeWarning)
    try:
        proc = (processor_class or JEPATagProcessor)(model_dir, backend=backend)
    except UserInputError as e:
        msg = f"--model: {e}"
        raise TagInputError(msg) from e
    if flavour not in proc.tagger.flav_names:
        msg = f"model has no score {flavour!r}; its flavours are {list(proc.tagger.flav_names)}"
        raise TagInputError(msg)
    provenance = proc.tagger.provenance()
    exe, dask_handles = _executor(executor, workers, progress, scheduler)
    try:
        t0 = time.perf_counter()
        out, skipped = run_processor(fileset, proc, exe, chunksize=chunksize, progress=progress)
        wall = time.perf_counter() - t0
    finally:
        for h in dask_handles or ():
            h.close()
    fileset = {ds: spec for ds, spec in fileset.items() if any(f not in {x["file"] for x in skipped} for f in spec["files"])}
    out["provenance"] = provenance
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    h = out["hist"]
    with atomic_path(out_dir / "hists.coffea") as tmp:
        util.save(out, str(tmp))
    _write_root(h, out_dir / "hists.root", provenance)

    cut = out["cutflow"]
    n_events = sum(c["events"] for c in cut.values())
    weighted = any(c.get("events_weighted", 0) for c in cut.values())
    summary = {"model_dir": provenance["model_dir"], "provenance": provenance, "executor": executor, "workers": workers,
               "chunksize": chunksize, "datasets": sorted(fileset), "files_skipped": skipped, "events": n_events,
               "fatjets": sum(c["fatjets"] for c in cut.values()),
               "fatjets_tagged": sum(c["fatjets_tagged"] for c in cut.values()),
               "weighted": weighted, "cutflow": cut, "wall_s": wall, "events_per_s": n_events / wall if wall > 0 else None,
               "flavour": flavour, "signal": signal, "background": background,
               "auc": None, "working_point": None, "msd_js_distance": None, "msd_ks_distance": None, "plots": []}
    edges = h.axes["score"].edges
    if class_names is None:
        from hepjepa.labels import JETCLASS_LABELS

        class_names = {i: lab.removeprefix("label_") for i, lab in enumerate(JETCLASS_LABELS)} | {-1: "unmatched"}
    name = lambda t: class_names.get(t, f"truth {t}")  # noqa: E731
    sig = _summary.score_counts(h, flavour, signal)
    bkg, bkg_var = _summary.score_counts(h, flavour, background, variances=True)
    classes = {name(t): _summary.score_counts(h, flavour, t) for t in sorted(h.axes["truth"])}
    summary["plots"].append(str(_plots.plot_scores(edges, classes, flavour, out_dir / "scores.png", weighted=weighted)))
    if sig.sum() > 0 and bkg.sum() > 0:
        es, eb = _summary.binned_roc(sig, bkg)
        summary["auc"] = _summary.auc(es, eb)
        wp = _summary.working_point(es, eb, edges, 0.5, bkg, bkg_var)
        summary["working_point"] = wp
        summary["plots"].append(str(_plots.plot_roc(es, eb, summary["auc"], f"{flavour}: {name(signal)} vs {name(background)}",
                                                    out_dir / "roc.png", n_sig=sig.sum(), n_bkg=bkg.sum(), weighted=weighted, wp=wp)))
        medges, before, after = _summary.msd_before_after(h, flavour, background, wp["cut_bin"])
        summary["msd_background_before"] = before.tolist()
        summary["msd_background_after"] = after.tolist()
        if after.sum() > 0:
            summary["msd_js_distance"] = _summary.js_distance(before, after)
            summary["msd_ks_distance"] = _summary.ks_distance(before, after)
        summary["plots"].append(str(_plots.plot_msd(medges, before, after, name(background), wp["score_cut"],
                                                    out_dir / "msd.png", weighted=weighted)))
    with atomic_path(out_dir / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1, default=float))
    return summary


def _write_root(h, path: Path, provenance: dict) -> None:
    """Per dataset, 1D projections (score per flavour and truth class, msd and pt per truth class) as TH1D.

    Histograms of one dataset sit in the directory named after it (never summed across
    datasets); each carries a title and axis labels; ``provenance`` is a JSON string.
    """
    import hist
    import uproot

    with atomic_path(path) as tmp, uproot.recreate(tmp) as f:
        for ds in h.axes["dataset"]:
            for t in h.axes["truth"]:
                tag = f"truth{t}".replace("-", "m")
                sub = h[{"dataset": ds, "truth": hist.loc(t)}]
                for fl in h.axes["flavour"]:
                    f[f"{ds}/score_{fl}_{tag}"] = _titled(sub[{"flavour": fl}].project("score"),
                                                          f"{ds}: {fl} of FatJets with truth {t}")
                first = sub[{"flavour": h.axes["flavour"][0]}]
                f[f"{ds}/msd_{tag}"] = _titled(first.project("msd"), f"{ds}: soft-drop mass of FatJets with truth {t}")
                f[f"{ds}/pt_{tag}"] = _titled(first.project("pt"), f"{ds}: pT of FatJets with truth {t}")
        f["provenance"] = json.dumps(provenance, sort_keys=True)


def _titled(h1, title: str):
    h1.title = title  # uproot writes a histogram's `title` as the TH1's title, its axis labels as axis titles
    return h1


#: cutflow counters of JEPATagProcessor's defined skips -> words for the terminal summary
_SKIP_COUNTS = {
    "events_without_fatjets": "events without FatJets",
    "fatjets_without_pfcands": "FatJets without PF candidates",
    "fatjets_bad_association": "FatJets whose PF-candidate link points outside the event",
    "fatjets_nonfinite": "FatJets with NaN/inf pT or soft-drop mass",
    "fatjets_nonfinite_constituents": "FatJets with NaN/inf constituents",
    "fatjets_nonfinite_score": "FatJets with a NaN/inf score",
}


def format_summary(s: dict) -> str:
    """A few lines for the terminal."""
    lines = [f"events {s['events']}  FatJets {s['fatjets']} (tagged {s['fatjets_tagged']})  "
             f"{s['events_per_s']:.1f} events/s ({s['executor']}, {s['wall_s']:.1f} s)"]
    skips = {k: sum(c.get(k, 0) for c in s["cutflow"].values()) for k in _SKIP_COUNTS}
    if any(skips.values()):
        lines.append("skipped (never filled): " + ", ".join(f"{n} {_SKIP_COUNTS[k]}" for k, n in skips.items() if n))
    if s["files_skipped"]:
        lines.append(f"skipped files: {len(s['files_skipped'])} ({', '.join(x['reason'] for x in s['files_skipped'])})")
    if s["auc"] is not None:
        wp = s["working_point"]
        lines.append(f"AUC ({s['flavour']}, truth {s['signal']} vs {s['background']}): {s['auc']:.4f}")
        head = f"working point score >= {wp['score_cut']:.2f}: signal eff {wp['eff_sig']:.3f}, "
        if wp.get("bkg_rejection") is not None and "bkg_rejection_interval_68" in wp:
            lo, hi = wp["bkg_rejection_interval_68"]
            lines.append(head + f"background rejection {wp['bkg_rejection']:.1f} (68% CL {lo:.1f}-{hi:.1f}; "
                                f"{wp['bkg_passing']:.0f} of {wp['bkg_total']:.0f} background jets pass)")
        elif wp.get("bkg_rejection_lower_limit_95") is not None:
            lines.append(head + f"background rejection > {wp['bkg_rejection_lower_limit_95']:.1f} (95% CL; only "
                                f"{wp['bkg_passing']:.0f} of {wp['bkg_total']:.0f} background jets pass, too few for a value)")
        else:
            lines.append(head + f"background rejection {wp['bkg_rejection']:.1f}")
    else:
        lines.append(f"AUC: not available (no jets of truth {s['signal']} and {s['background']} both)")
    lines.append(f"outputs in {Path(s['plots'][0]).parent}")
    return "\n".join(lines)
