"""``hepjepa-run CFG [key=value ...] [--debug]``: the cmsRun of this project.

Loads the job config ``CFG`` (a Python file that defines ``process``; a name such as
``inference_cfg.py`` that is not a file here is one of the configs shipped with hepjepa, and
``hepjepa-run --print-config NAME`` prints it to start your own), applies VarParsing-style
overrides (``inputFiles=a.root,b.root outputFile=out.root maxEvents=N modelDir=DIR``), validates the whole job (parameters, files, model vs its
preprocess.json, input tree and branches) before the first event is read, then
runs events in chunks: the FatJet -> PF-candidate link
(:func:`hepjepa.data.association.link`) -> :class:`hepjepa.deploy.JetTagger` (the one
inference path: Numba features, the C++ ``JetTagProducer``) -> an output ROOT TTree with
the input's event-id branches and, per producer and flavour, a jagged per-FatJet branch
``FatJet_<label>_<flav_name>`` in the input's event and FatJet order. A FatJet that cannot
be tagged (no PF candidates, a broken link, a NaN/inf input or score) gets the score -1
(``hepjepa.contract.UNTAGGED_SCORE``), counted per reason in the report. The output also
holds ``provenance``, a JSON string naming the model's sha256, its tokeniser settings and
hepjepa's version. Ends with a cmsRun-like TimeReport per module.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepjepa.contract import TAG_STATUS, UNTAGGED_SCORE
from hepjepa.data.association import Layout, check_particle_branches, detect_layout
from hepjepa.errors import FormatError, MissingFieldsError, UserInputError, user_errors
from hepjepa.reco.config import ConfigError, Process, VarParsing

__all__ = ["main", "load_config", "packaged_configs", "resolve_config", "run_process", "EVENT_ID_BRANCHES", "NO_CONSTITUENTS_SCORE"]

EVENT_ID_BRANCHES = ("run", "luminosityBlock", "event")
#: score written for FatJets that could not be tagged (no NaN in the output): the contract's marker
NO_CONSTITUENTS_SCORE = UNTAGGED_SCORE


def packaged_configs() -> dict[str, Path]:
    """The job configs shipped with hepjepa (the repository's ``reco/*_cfg.py``), by file name."""
    here = Path(__file__).resolve().parent
    for d in (here / "configs", here.parents[2] / "reco"):  # installed package; else a source checkout
        if d.is_dir() and any(d.glob("*_cfg.py")):
            return {p.name: p for p in sorted(d.glob("*_cfg.py"))}
    return {}


def resolve_config(cfg: str | Path) -> Path:
    """``cfg`` itself when it is a file, else the shipped config of that name.

    Raises:
        ConfigError: neither (names the shipped configs).
    """
    p = Path(cfg)
    if p.is_file():
        return p
    shipped = packaged_configs()
    if p.name == str(cfg) and p.name in shipped:
        return shipped[p.name]
    if p.is_dir():
        msg = f"job config {str(cfg)!r} is a directory; expected a Python file defining `process`"
        raise ConfigError(msg)
    msg = f"job config {str(cfg)!r} does not exist (configs shipped with hepjepa: {sorted(shipped) or 'none'})"
    raise ConfigError(msg)


def load_config(cfg: str | Path, overrides: Sequence[str] = ()) -> Process:
    """Execute a job config, apply ``key=value`` overrides, validate, and return its ``process``.

    Args:
        cfg: a job config file, or the name of a shipped one (:func:`packaged_configs`).
        overrides: ``key=value`` VarParsing options.

    Raises:
        ConfigError: missing/invalid config, unknown override, any validation failure.
    """
    cfg = resolve_config(cfg)
    try:
        ns = runpy.run_path(str(cfg), run_name="__hepjepa_cfg__")
    except ConfigError as exc:
        msg = f"{cfg}: {exc}"
        raise ConfigError(msg) from None
    process = ns.get("process")
    if not isinstance(process, Process):
        msg = f"{cfg} does not define `process = cms.Process(...)` (got {type(process).__name__})"
        raise ConfigError(msg)
    VarParsing().parseArguments(list(overrides)).apply(process)
    process.validate()
    return process


class _Producer:
    """A configured EDProducer: its model as a :class:`hepjepa.deploy.JetTagger` (C++ backend)."""

    def __init__(self, module, n_threads: int):
        from hepjepa.deploy import JetTagger

        p = module.parameters()
        self.label = module.label
        self.where = module._where()
        if p["backend"] != "cpu":
            msg = f"{self.where}: parameter 'backend': {p['backend']!r} is not supported; valid: 'cpu'"
            raise ConfigError(msg)
        model = p["model_path"] or p["model_dir"]
        threads = p["intra_op_threads"] if p["intra_op_threads"] != 1 else n_threads
        try:
            self.tagger = JetTagger(model, preprocess_json=p["preprocess_json"] or None, backend="cpp",
                                    intra_op_threads=threads, batch_size=p["batch_size"], verify_sha256=p["verify_sha256"])
        except UserInputError as exc:
            msg = f"{self.where}: {exc}"
            raise ConfigError(msg) from exc
        self.src, self.pfcands = p["src"], p["pfcands"]
        self.flav_names = list(self.tagger.flav_names)
        self.status = np.zeros(len(TAG_STATUS), np.int64)  # FatJets per TAG_STATUS code
        self.t_infer = 0.0

    def scores(self, con: dict) -> np.ndarray:
        """(n_jets, n_flav) float32; untaggable jets = UNTAGGED_SCORE (never NaN in the output)."""
        t0 = time.perf_counter()
        try:
            res = self.tagger.tag_particles(con, con["offsets"], bad_association=con["bad_association"])
        except UserInputError as exc:
            msg = f"{self.where}: {exc}"
            raise UserInputError(msg) from exc
        self.t_infer += time.perf_counter() - t0
        self.status += np.bincount(res.status.astype(np.int64), minlength=len(TAG_STATUS))
        return res.scores


def run_process(process: Process, *, quiet: bool = False) -> dict:
    """Run a validated process. Returns a summary dict (events, jets, skips per reason, timings).

    Raises:
        ConfigError: a producer's model, a tree or branches the job needs are missing.
    """
    import awkward as ak
    import uproot

    from hepjepa.atomic import atomic_path
    from hepjepa.data.association import fatjet_constituents

    src = process.source
    files = src.value("fileNames")
    tree_name = src.value("treeName")
    chunk = src.value("chunkSize")
    producers = [_Producer(m, process.options.numberOfThreads) for m in process.scheduled()]
    # check tree and branches of every file before reading events; a file that cannot be opened at
    # all is skipped and counted (cmsRun's SkipBadFiles), a run where none can be read fails
    layouts: dict[tuple[str, str], Layout] = {}
    optional: dict[str, set[str]] = {}
    id_types: dict[str, Any] = {}
    files_skipped: list[dict[str, str]] = []
    for f in files:
        try:
            fh = uproot.open(f)
            t = fh[tree_name] if tree_name in fh else None
            keys = (set(t.keys()) | set(t.keys(recursive=False))) if t is not None else set()
            ids = t.arrays([b for b in EVENT_ID_BRANCHES if b in keys], entry_stop=1, library="np") if t is not None else {}
        except Exception as exc:  # noqa: BLE001 - a damaged file: uproot, zlib, OSError ... all mean "cannot read it"
            files_skipped.append({"file": f, "reason": f"cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"})
            continue
        with fh:
            if t is None:
                msg = f"{src._where()}: parameter 'treeName': no tree {tree_name!r} in {f}; keys: {fh.keys(cycle=False)}"
                raise ConfigError(msg)
            missing = [b for b in EVENT_ID_BRANCHES if b not in keys]
            if missing:
                raise MissingFieldsError(f, "NanoAOD", missing, keys, message=f"{f}: tree {tree_name!r} lacks event-id branches {missing}")
            id_types = id_types or {b: ids[b].dtype.newbyteorder("=") for b in EVENT_ID_BRANCHES}
            for p in producers:
                try:
                    lay = detect_layout(keys, p.src, p.pfcands, where=f"{f}: tree {tree_name!r}")
                except MissingFieldsError as exc:
                    raise MissingFieldsError(f, "NanoAOD", exc.missing, keys, message=f"{p.where}: {exc}") from None
                check_particle_branches(lay, p.tagger.required_fields, keys, where=f"{p.where}: {f}: tree {tree_name!r}")
                layouts[(f, p.label)] = lay
                optional[f] = optional.get(f, set()) | set(lay.optional_branches(keys))
    if len(files_skipped) == len(files):
        raise FormatError("no input file could be read: " + "; ".join(f"{x['file']} {x['reason']}" for x in files_skipped))
    files = [f for f in files if f not in {x["file"] for x in files_skipped}]
    (out_mod,) = process.outputs.values()
    out_path = out_mod.value("fileName")
    timing: defaultdict[str, float] = defaultdict(float)
    n_events = n_jets = 0
    max_events = process.maxEvents
    with atomic_path(out_path) as tmp, uproot.recreate(tmp) as fout:
        tree = fout.mktree(out_mod.value("treeName"), {
            **id_types,
            "FatJet": ak.types.ListType(ak.types.RecordType(
                [ak.types.NumpyType("float32") for p in producers for _ in p.flav_names],
                [f"{p.label}_{name}" for p in producers for name in p.flav_names])),
        }, counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
        for f in files:
            if 0 <= max_events <= n_events:
                break
            branches = set(EVENT_ID_BRANCHES) | optional.get(f, set())
            for p in producers:
                branches |= set(layouts[(f, p.label)].branches(p.src))
            t0 = time.perf_counter()
            for arrays in _read(f, tree_name, sorted(branches), chunk):
                if 0 <= max_events <= n_events:
                    break
                if max_events >= 0:
                    arrays = arrays[: max_events - n_events]
                timing["source"] += time.perf_counter() - t0
                out = {b: ak.to_numpy(arrays[b]) for b in EVENT_ID_BRANCHES}
                fatjets = {}
                for p in producers:
                    t1 = time.perf_counter()
                    con = fatjet_constituents(arrays, layouts[(f, p.label)], p.src, where=f"{f}: {p.where}",
                                              first_event=n_events)
                    t2 = time.perf_counter()
                    s = p.scores(con)  # (n_jets, n_flav)
                    timing[p.label] += time.perf_counter() - t2
                    timing[f"{p.label}:constituents"] += t2 - t1
                    for i, name in enumerate(p.flav_names):
                        fatjets[f"{p.label}_{name}"] = ak.unflatten(s[:, i], con["n_jets_per_event"])
                n_jets += int(con["n_jets_per_event"].sum())
                n_events += len(arrays)
                t3 = time.perf_counter()
                out["FatJet"] = ak.zip(fatjets)
                tree.extend(out)
                timing[out_mod.label] += time.perf_counter() - t3
                t0 = time.perf_counter()
        fout["provenance"] = json.dumps({p.label: p.tagger.provenance() for p in producers}, sort_keys=True)
    skipped = {name: int(sum(p.status[code] for p in producers)) for code, name in TAG_STATUS.items() if code}
    summary = {"events": n_events, "files_skipped": files_skipped, "jets": n_jets, "jets_tagged": int(sum(p.status[0] for p in producers)),
               "jets_skipped": skipped, "jets_without_pfcands": skipped["no_constituents"],
               "jets_nonfinite_constituents": skipped["nonfinite_input"], "output": out_path,
               "timing_s": dict(timing), "inference_s": {p.label: p.t_infer for p in producers}}
    if not quiet and process.options.wantSummary:
        _time_report(summary, process, producers)
    return summary


def _read(path: str, tree: str, branches: list[str], step: int):
    """``uproot.iterate`` whose failures (a damaged basket mid-file) are a FormatError naming the file.

    The output is written atomically, so a run stopped this way leaves no output behind.
    """
    import uproot

    it = uproot.iterate(f"{path}:{tree}", branches, step_size=step, library="ak")
    while True:
        try:
            arrays = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - uproot, zlib, OSError ...: one typed error naming the file
            msg = (
                f"{path}: cannot read tree {tree!r}, the file is damaged or truncated "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
            )
            raise FormatError(msg) from exc
        yield arrays


def _time_report(summary: dict, process: Process, producers) -> None:
    n = max(summary["events"], 1)
    skips = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary["jets_skipped"].items() if v) or "none"
    print(f"\nTimeReport ---------- Module Summary ---[sec]----  ({summary['events']} events, {summary['jets']} FatJets, "
          f"{summary['jets_tagged']} tagged; not tagged (score {UNTAGGED_SCORE:g}): {skips})")
    print(f"TimeReport {'per event':>12} {'total':>12}  Name")
    rows = [("source", summary["timing_s"].get("source", 0.0))]
    for p in producers:
        rows.append((p.label, summary["timing_s"].get(p.label, 0.0) + summary["timing_s"].get(f"{p.label}:constituents", 0.0)))
        rows.append((f"  {p.label}:constituents", summary["timing_s"].get(f"{p.label}:constituents", 0.0)))
        rows.append((f"  {p.label}:tag", p.t_infer))
    rows += [(lab, summary["timing_s"].get(lab, 0.0)) for lab in process.outputs]
    for name, t in rows:
        print(f"TimeReport {t / n:12.6f} {t:12.6f}  {name}")
    for x in summary["files_skipped"]:
        print(f"TimeReport ---------- skipped {x['file']}: {x['reason']}")
    print(f"TimeReport ---------- wrote {summary['output']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point ``hepjepa-run CFG [inputFiles=... outputFile=... maxEvents=N] [--debug]``.

    A user's mistake (config, files, model) is one line on stderr and exit code 1; ``--debug``
    shows its traceback.
    """
    from hepjepa.cli import _exit_on_sigterm

    argv = list(sys.argv[1:] if argv is None else argv)
    _exit_on_sigterm()
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print(f"shipped configs: {', '.join(packaged_configs()) or 'none'}")
        return 0 if argv else 2
    if argv[0] == "--print-config":
        try:
            if len(argv) != 2:
                msg = f"usage: hepjepa-run --print-config NAME (one of {sorted(packaged_configs())})"
                raise ConfigError(msg)
            path = resolve_config(argv[1])
        except ConfigError as exc:
            print(f"hepjepa-run: error: {exc}", file=sys.stderr)
            return 1
        sys.stdout.write(path.read_text())
        return 0
    try:
        process = load_config(argv[0], argv[1:])
        run_process(process)
    except user_errors() as exc:
        if debug:
            raise
        from hepjepa.cli import one_line

        print(f"hepjepa-run: error: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
