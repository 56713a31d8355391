"""``hepjepa-run CFG [key=value ...]``: the cmsRun of this project.

Loads the job config ``CFG`` (a Python file that defines ``process``), applies
VarParsing-style overrides (``inputFiles=a.root,b.root outputFile=out.root
maxEvents=N``), validates the whole job (parameters, files, model vs its
preprocess.json, input tree and branches) before the first event is read, then
runs events in chunks: FatJet constituents -> ``hepjepa.features.tokenize_flat``
-> the C++ ``JetTagProducer`` -> an output ROOT TTree with the input's event-id
branches and, per producer and flavour, a jagged per-FatJet branch
``FatJet_<label>_<flav_name>`` in the input's event and FatJet order. FatJets
without PF candidates get the score -1 (a documented skip, counted in the report).
Ends with a cmsRun-like TimeReport per module.
"""

from __future__ import annotations

import runpy
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from hepjepa.reco import _nanoaod
from hepjepa.reco.config import ConfigError, Process, VarParsing

__all__ = ["main", "load_config", "run_process", "EVENT_ID_BRANCHES", "NO_CONSTITUENTS_SCORE"]

EVENT_ID_BRANCHES = ("run", "luminosityBlock", "event")
#: score written for FatJets without PF candidates (no NaN in the output).
NO_CONSTITUENTS_SCORE = -1.0


def load_config(cfg: str | Path, overrides: list[str] = ()) -> Process:
    """Execute a job config, apply ``key=value`` overrides, validate, and return its ``process``.

    Raises:
        ConfigError: missing/invalid config, unknown override, any validation failure.
    """
    cfg = Path(cfg)
    if not cfg.is_file():
        raise ConfigError(f"job config {str(cfg)!r} does not exist")
    ns = runpy.run_path(str(cfg), run_name="__hepjepa_cfg__")
    process = ns.get("process")
    if not isinstance(process, Process):
        raise ConfigError(f"{cfg} does not define `process = cms.Process(...)` (got {type(process).__name__})")
    VarParsing().parseArguments(list(overrides)).apply(process)
    process.validate()
    return process


class _Producer:
    """A configured EDProducer: tokenizer config + C++ JetTagProducer from its model directory."""

    def __init__(self, module, n_threads: int):
        from hepjepa.deploy.preprocess import PreprocessMismatchError, validate_preprocess
        from hepjepa.features import TokenizerConfig

        p = module.parameters()
        d = Path(p["model_dir"]) if p["model_dir"] else None
        model_path = p["model_path"] or str(d / "model.onnx")
        pre_path = p["preprocess_json"] or str((d if d else Path(model_path).parent) / "preprocess.json")
        try:
            pre = validate_preprocess(model_path, pre_path)
        except (PreprocessMismatchError, FileNotFoundError) as exc:
            raise ConfigError(f"{module._where()}: {exc}") from exc
        import hepjepa

        threads = p["intra_op_threads"] if p["intra_op_threads"] != 1 else n_threads
        self.label = module.label
        self.src, self.pfcands = p["src"], p["pfcands"]
        self.flav_names = list(pre["flav_names"])
        self.tok_config = TokenizerConfig.from_dict(pre["tokenizer"])
        self.producer = hepjepa.JetTagProducer(
            model_path=model_path, preprocess_json=pre_path, input_names=pre["input_names"],
            output_names=pre["output_names"], flav_names=self.flav_names, batch_size=p["batch_size"],
            intra_op_threads=threads, backend=p["backend"], debug=p["debug"],
        )

    def scores(self, con: dict) -> np.ndarray:
        """(n_jets, n_flav) float32; rows of jets without constituents, or with a NaN/inf
        constituent four-momentum, = NO_CONSTITUENTS_SCORE (never NaN in the output)."""
        from hepjepa.features import tokenize_flat

        ncon = con["n_constituents"]
        out = np.full((len(ncon), len(self.flav_names)), NO_CONSTITUENTS_SCORE, dtype=np.float32)
        nonfinite = _nanoaod.nonfinite_jets(con)
        self.n_nonfinite += int(nonfinite.sum())
        keep = np.flatnonzero((ncon > 0) & ~nonfinite)
        if len(keep) == 0:
            return out
        particles, offsets = _nanoaod.select_jets(con, keep)
        flags = {k: particles[k] for k in ("charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")}
        t0 = time.perf_counter()
        tokens = tokenize_flat(particles["px"], particles["py"], particles["pz"], particles["energy"], offsets,
                               self.tok_config, **flags)
        t1 = time.perf_counter()
        out[keep] = self.producer.produce(tokens.model_inputs())  # (n_keep, n_flav)
        self.t_tokenize += t1 - t0
        self.t_infer += time.perf_counter() - t1
        return out

    t_tokenize = 0.0
    t_infer = 0.0
    n_nonfinite = 0  # FatJets skipped for NaN/inf constituent kinematics


def run_process(process: Process, *, quiet: bool = False) -> dict:
    """Run a validated process. Returns a summary dict (events, jets, skips, timings)."""
    import awkward as ak
    import uproot

    from hepjepa._io import atomic_path

    src = process.source
    files = src.value("fileNames")
    tree_name = src.value("treeName")
    chunk = src.value("chunkSize")
    producers = [_Producer(m, process.options.numberOfThreads) for m in process.scheduled()]
    # check tree and branches of every file before reading events
    schemes = {}
    optional: dict[str, set] = {}
    for f in files:
        with uproot.open(f) as fh:
            if tree_name not in fh:
                raise ConfigError(f"{src._where()}: parameter 'treeName': no tree {tree_name!r} in {f}; keys: {fh.keys(cycle=False)}")
            keys = fh[tree_name].keys()
            missing = [b for b in EVENT_ID_BRANCHES if b not in keys]
            if missing:
                raise _nanoaod.MissingBranchesError(f"{f}: input lacks event-id branches {missing}")
            for p in producers:
                schemes[(f, p.label)] = _nanoaod.detect_scheme(keys, p.src, p.pfcands)
                optional[f] = optional.get(f, set()) | set(_nanoaod.optional_branches(schemes[(f, p.label)], keys))
    (out_mod,) = process.outputs.values()
    out_path = out_mod.value("fileName")
    timing = defaultdict(float)
    n_events = n_jets = n_skipped = 0
    max_events = process.maxEvents
    with atomic_path(out_path) as tmp, uproot.recreate(tmp) as fout:
        tree = None
        for f in files:
            if 0 <= max_events <= n_events:
                break
            branches = set(EVENT_ID_BRANCHES) | optional.get(f, set())
            for p in producers:
                branches |= set(_nanoaod.needed_branches(schemes[(f, p.label)], p.src))
            t0 = time.perf_counter()
            for arrays in uproot.iterate(f"{f}:{tree_name}", sorted(branches), step_size=chunk, library="ak"):
                if 0 <= max_events <= n_events:
                    break
                if max_events >= 0:
                    arrays = arrays[: max_events - n_events]
                timing["source"] += time.perf_counter() - t0
                out = {b: ak.to_numpy(arrays[b]) for b in EVENT_ID_BRANCHES}
                fatjets = {}
                for p in producers:
                    t1 = time.perf_counter()
                    con = _nanoaod.fatjet_constituents(arrays, schemes[(f, p.label)], p.src)
                    t2 = time.perf_counter()
                    s = p.scores(con)  # (n_jets, n_flav)
                    timing[p.label] += time.perf_counter() - t2
                    timing[f"{p.label}:constituents"] += t2 - t1
                    for i, name in enumerate(p.flav_names):
                        fatjets[f"{p.label}_{name}"] = ak.unflatten(s[:, i], con["n_jets_per_event"])
                    n_skipped_p = int((con["n_constituents"] == 0).sum())
                n_jets += int(con["n_jets_per_event"].sum())
                n_skipped += n_skipped_p
                n_events += len(arrays)
                t3 = time.perf_counter()
                out["FatJet"] = ak.zip(fatjets)
                if tree is None:
                    tree = fout.mktree(out_mod.value("treeName"), {k: getattr(v, "dtype", None) or v.type for k, v in out.items()},
                                       counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
                tree.extend(out)
                timing[out_mod.label] += time.perf_counter() - t3
                t0 = time.perf_counter()
    summary = {"events": n_events, "jets": n_jets, "jets_without_pfcands": n_skipped,
               "jets_nonfinite_constituents": sum(p.n_nonfinite for p in producers), "output": out_path,
               "timing_s": dict(timing),
               "tokenize_s": {p.label: p.t_tokenize for p in producers}, "inference_s": {p.label: p.t_infer for p in producers}}
    if not quiet and process.options.wantSummary:
        _time_report(summary, process, producers)
    return summary


def _time_report(summary: dict, process: Process, producers) -> None:
    n = max(summary["events"], 1)
    print(f"\nTimeReport ---------- Module Summary ---[sec]----  ({summary['events']} events, {summary['jets']} FatJets, "
          f"{summary['jets_without_pfcands']} without PF candidates and {summary['jets_nonfinite_constituents']} with NaN/inf "
          f"constituents -> score {NO_CONSTITUENTS_SCORE})")
    print(f"TimeReport {'per event':>12} {'total':>12}  Name")
    rows = [("source", summary["timing_s"].get("source", 0.0))]
    for p in producers:
        rows.append((p.label, summary["timing_s"].get(p.label, 0.0) + summary["timing_s"].get(f"{p.label}:constituents", 0.0)))
        rows.append((f"  {p.label}:tokenize", p.t_tokenize))
        rows.append((f"  {p.label}:inference", p.t_infer))
    rows += [(lab, summary["timing_s"].get(lab, 0.0)) for lab in process.outputs]
    for name, t in rows:
        print(f"TimeReport {t / n:12.6f} {t:12.6f}  {name}")
    print(f"TimeReport ---------- wrote {summary['output']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point ``hepjepa-run CFG [inputFiles=... outputFile=... maxEvents=N]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        process = load_config(argv[0], argv[1:])
        run_process(process)
    except (ConfigError, _nanoaod.MissingBranchesError, FileNotFoundError) as exc:
        print(f"hepjepa-run: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
