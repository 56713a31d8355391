"""The analysis path end to end: the deployed tagger per event, and the coffea processor under
``processor.Runner``, on the bundled sample of ``hepjepa tag`` (ttbar + QCD NanoAOD-like, ~1.5
FatJets per event; generated with fixed seeds on first use, larger samples cached).

``event``: per-event latency of the deployed tagger at 1 thread, split by stage, and processor
events/s per core. Threads: ONNX Runtime intra-op 1, Numba 1, torch 1, one process: an HLT-like
single-threaded event loop. Per event, the stages ``hepjepa-run`` runs (same functions, one event
at a time): ``constituents`` (PF candidates of each FatJet, ``hepjepa.data.association.fatjet_constituents``),
``tag`` (``hepjepa.deploy.JetTagger.tag_particles``, the one inference path: the input checks,
``tokenize_flat`` and the C++ ``JetTagProducer``, all FatJets of the event in one call; its
``tokenize`` and ``inference`` parts are also timed alone, on the same jets) and ``fill``
(``hist.Hist.fill`` per flavour). Event reading is not timed (the arrays of each event are sliced
out beforehand). Goal from issue 5: p99 < 5 ms per event (the CMS HLT budget), aim 2 ms. Then the
whole ``JEPATagProcessor`` under ``processor.Runner`` (iterative executor, one core) on the same
files: events/s of wall time and per CPU-second of the process. Wall-clock latency on a loaded
machine includes time the scheduler gives to other processes; the thread CPU time per event
(``total_thread_cpu``) is recorded beside it. Writes benchmarks/results/deploy_latency.json.

``runner``: events/s of the JEPATagProcessor (shipped model, C++ producer) under the real
``processor.Runner`` with each executor and 1 and 2 workers: ``iterative`` (1 worker by
construction), ``futures`` (FuturesExecutor, 1 and 2 worker processes) and ``dask`` (DaskExecutor
on a ``distributed.LocalCluster`` with 1 and 2 workers, as ``hepjepa.coffea.runner.make_executor``
builds it: thread workers, one thread each). The time covers everything the Runner does
(preprocessing, reading, tagging, histogram filling, merging), executor start-up included.
Writes benchmarks/results/speed_coffea.json.

    python -m benchmarks.analysis event [--jets 300] [--warmup 50] [--repeat 1] [--model DIR]
    python -m benchmarks.analysis runner [--quick] [--jets 300 --chunksize 200]
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

from benchmarks._common import MODEL_DIR, ROOT, cli, machine, write_json

CONFIGS = [("iterative", 1), ("futures", 1), ("futures", 2), ("dask", 1), ("dask", 2)]
STAGES = ("constituents", "tag", "tokenize", "inference", "fill", "total")


def _stats(samples) -> dict:
    """p50/p90/p99/mean in ms of per-event seconds."""
    import numpy as np

    a = np.asarray(samples) * 1e3
    pct = {f"p{q}_ms": float(np.percentile(a, q)) if len(a) else None for q in (50, 90, 99)}
    return pct | {"mean_ms": float(a.mean()) if len(a) else None, "n": len(a)}


def _events(files: list[str]) -> list:
    """(layout, one-event chunk branch -> array) of every event of ``files``, sliced up front."""
    import uproot

    from hepjepa.data.association import detect_layout

    events = []
    for f in files:
        with uproot.open(f) as fh:
            t = fh["Events"]
            layout = detect_layout(t.keys())
            branches = (layout.branches() + layout.optional_branches(t.keys())
                        + ["FatJet_pt", "FatJet_msoftdrop", "FatJet_truthLabel", "genWeight"])
            arr = t.arrays([b for b in branches if b in t.keys()], library="ak")
        cols = {b: arr[b] for b in arr.fields}
        # one-event chunks as the source hands them over (branch -> array), sliced outside the timed region
        events += [(layout, {b: c[i:i + 1] for b, c in cols.items()}) for i in range(len(arr))]
    return events


def per_event_latency(files: list[str], model_dir, warmup: int, repeat: int) -> dict:
    """Time the processor's stages event by event (one thread)."""
    import numpy as np

    from hepjepa.coffea import JEPATagProcessor
    from hepjepa.data.association import fatjet_constituents, flat_counts
    from hepjepa.features import tokenize_flat

    proc = JEPATagProcessor(model_dir, backend="cpp", intra_op_threads=1)
    tagger = proc.tagger
    events = _events(files)
    h = proc._hist()
    stages = {k: [] for k in STAGES}
    cpu_total = []  # thread CPU time per event: excludes time the loaded machine's scheduler gave to others
    n_jets = []
    fields = [f for f in tagger.required_fields if f not in ("px", "py", "pz", "energy")]
    for rep in range(repeat + 1):
        for k, (layout, ev) in enumerate(events):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            con = fatjet_constituents(ev, layout)
            t1 = time.perf_counter()
            res = tagger.tag_particles(con, con["offsets"], bad_association=con["bad_association"])
            t2 = time.perf_counter()
            keep = np.flatnonzero(res.tagged)
            if len(keep):
                pt, msd, truth = (flat_counts(ev[b])[0][keep] for b in ("FatJet_pt", "FatJet_msoftdrop", "FatJet_truthLabel"))
                proc.fill_hist(h, "latency", truth, res.scores[keep], pt, msd)
            t3 = time.perf_counter()
            c3 = time.thread_time()
            # the two parts of `tag` alone, on the same jets (outside the total)
            t4 = time.perf_counter()
            if len(keep):
                tokens = tokenize_flat(con["px"], con["py"], con["pz"], con["energy"], con["offsets"], tagger.tokenizer,
                                       **{f: con[f] for f in fields})
            t5 = time.perf_counter()
            if len(keep):
                tagger.run(tokens.model_inputs())
            t6 = time.perf_counter()
            if rep == 0 and k < warmup:
                continue  # warm-up: first-call costs (Numba dispatch, ORT allocations)
            for name, dt in zip(STAGES, (t1 - t0, t2 - t1, t5 - t4, t6 - t5, t3 - t2, t3 - t0)):
                stages[name].append(dt)
            cpu_total.append(c3 - c0)
            n_jets.append(len(keep))
    n_jets = np.asarray(n_jets)
    total = np.asarray(stages["total"])
    p99 = _stats(total)["p99_ms"]
    return {
        "events_timed": int(len(total)), "events_in_sample": len(events), "repeat": repeat, "warmup_events": warmup,
        "fatjets_per_event_mean": float(n_jets.mean()),
        "stages": {k: _stats(v) for k, v in stages.items()},
        "total_thread_cpu": _stats(cpu_total),
        "total_events_with_fatjets": _stats(total[n_jets > 0]),
        "total_by_fatjets": {str(n): _stats(total[n_jets == n]) for n in sorted(set(n_jets.tolist())) if (n_jets == n).sum() >= 20},
        "goal_p99_ms": 5.0, "aim_p99_ms": 2.0,
        "meets_goal": bool(p99 < 5.0), "meets_aim": bool(p99 < 2.0),
    }


def processor_throughput(fileset: dict, model_dir) -> dict:
    """Whole JEPATagProcessor under processor.Runner, iterative executor (one core)."""
    from hepjepa.coffea import JEPATagProcessor, run_processor

    warnings.filterwarnings("ignore", message="Missing cross-reference index", category=RuntimeWarning)
    proc = JEPATagProcessor(model_dir, backend="cpp", intra_op_threads=1)
    run_processor(fileset, proc, "iterative", chunksize=100, progress=False)  # warm-up (Numba, ORT, file metadata)
    c0, t0 = time.process_time(), time.perf_counter()
    out, _ = run_processor(fileset, proc, "iterative", chunksize=10_000, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_ev = sum(c["events"] for c in out["cutflow"].values())
    n_jets = sum(c["fatjets_tagged"] for c in out["cutflow"].values())
    return {"executor": "iterative", "chunksize": 10_000, "events": n_ev, "fatjets_tagged": n_jets, "wall_s": wall,
            "cpu_s": cpu, "events_per_s_wall": n_ev / wall, "events_per_cpu_s": n_ev / cpu,
            "note": "events_per_cpu_s = events per second of one core's CPU time (the process is single-threaded)"}


def event(args) -> int:
    """Per-event latency of the deployed tagger at 1 thread, split by stage, and processor events/s per core."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from importlib import metadata

    import hist
    import numba
    import torch

    from hepjepa.analysis import bundled_sample
    from hepjepa.deploy import shipped_model_dir

    numba.set_num_threads(1)
    torch.set_num_threads(1)
    model_dir = Path(args.model) if args.model else shipped_model_dir()
    fileset = bundled_sample(args.jets, progress=True)
    files = [f for ds in fileset.values() for f in ds["files"]]
    load_before = os.getloadavg()
    lat = per_event_latency(files, model_dir, args.warmup, args.repeat)
    thr = processor_throughput(fileset, model_dir)
    m = machine(loadavg_before=load_before, loadavg_after=os.getloadavg(), coffea=metadata.version("coffea"), hist=hist.__version__,
                numba=numba.__version__, torch=torch.__version__,
                note="shared 2-core machine, loaded by other engineers' jobs; threads: ORT intra-op 1, numba 1")
    res = {"machine": m, "model_dir": str(model_dir), "sample": {"files": files, "jets_per_dataset": args.jets},
           "per_event": lat, "processor": thr}
    out = write_json("deploy_latency", res, args.results)
    s, c = lat["stages"], lat["total_thread_cpu"]
    print(f"per event (1 thread, {lat['events_timed']} events, {lat['fatjets_per_event_mean']:.2f} FatJets/event): "
          f"p50 {s['total']['p50_ms']:.2f} ms, p99 {s['total']['p99_ms']:.2f} ms "
          f"(goal < 5 ms: {'met' if lat['meets_goal'] else 'NOT met'}; aim < 2 ms: {'met' if lat['meets_aim'] else 'not met'})")
    print(f"  thread CPU time per event: p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.2f} ms (what an unloaded core would see)")
    for k in STAGES[:-1]:
        print(f"  {k:<13} p50 {s[k]['p50_ms']:.3f} ms  p99 {s[k]['p99_ms']:.3f} ms")
    print(f"processor (iterative, 1 core): {thr['events_per_s_wall']:.0f} events/s wall, {thr['events_per_cpu_s']:.0f} events/CPU-s")
    print(f"wrote {out}")
    return 0


def n_events(fileset: dict) -> int:
    """Entries of the Events trees of a coffea fileset."""
    import uproot

    total = 0
    for ds in fileset.values():
        for path, tree in ds["files"].items():
            with uproot.open(path) as f:
                total += f[tree].num_entries
    return total


def runner(args) -> int:
    """Events/s of the JEPATagProcessor under processor.Runner, each executor, 1 and 2 workers."""
    from hepjepa.analysis._sample import bundled_sample
    from hepjepa.coffea.processor import JEPATagProcessor
    from hepjepa.coffea.runner import run_processor

    if args.jets <= 0:
        raise SystemExit(f"--jets must be a positive number of jets, got {args.jets}")
    fileset = bundled_sample(n_jets=args.jets, progress=True)
    events = n_events(fileset)
    rows = []
    for executor, workers in (CONFIGS[:2] if args.quick else CONFIGS):
        proc = JEPATagProcessor(MODEL_DIR, backend="cpp", intra_op_threads=1)
        t0 = time.perf_counter()
        out, skipped = run_processor(fileset, proc, executor=executor, workers=workers, chunksize=args.chunksize, progress=False)
        dt = time.perf_counter() - t0
        rows.append({"executor": executor, "workers": workers, "seconds": dt, "events": events,
                     "events_per_s": events / dt, "skipped_files": len(skipped)})
        print(f"{executor:9s} workers {workers}: {dt:7.2f} s, {events / dt:8.1f} events/s")
    res = {
        "machine": machine(),
        "sample": {name: list(ds["files"]) for name, ds in fileset.items()},
        "events": events, "jets_per_dataset": args.jets, "chunksize": args.chunksize, "model": str(MODEL_DIR.relative_to(ROOT)),
        "method": "wall time of one run_processor call (processor.Runner, NanoAODSchema), executor start-up included",
        "dask_workers": "distributed.LocalCluster(processes=False, threads_per_worker=1)",
        "futures_pool": ("coffea's default, loky.ProcessPoolExecutor: fresh interpreters that import the whole stack (coffea, awkward, numba, "
                         "hepjepa) before the first chunk; measured 4.6 s for a one-worker loky round trip, 2.8 s of it those imports "
                         "(on a loaded machine), a fixed cost per Runner call that a 5418-event sample does not amortise"),
        "quick": args.quick, "rows": rows,
        "summary": {f"{r['executor']}_{r['workers']}w_events_per_s": r["events_per_s"] for r in rows},
    }
    out = write_json("speed_coffea", res, args.results)
    print(json.dumps(res["summary"], indent=1), "->", out)
    return 0


def _event_args(p):
    p.add_argument("--jets", type=int, default=300, help="jets per dataset of the bundled sample (300 = hepjepa tag's default)")
    p.add_argument("--warmup", type=int, default=50, help="untimed events first")
    p.add_argument("--repeat", type=int, default=1, help="timed passes over the sample")
    p.add_argument("--model", help="exported model directory (default: the shipped model)")


def _runner_args(p):
    p.add_argument("--quick", action="store_true", help="iterative and futures(1) only")
    p.add_argument("--chunksize", type=int, default=200, help="events per chunk (small, so 2 workers have work)")
    p.add_argument("--jets", type=int, default=300,
                   help="matched jets per dataset of the sample (300 = hepjepa tag's ~535 events, where executor start-up dominates; "
                        "larger samples are generated once with the same seeds and cached)")


PARTS = {"event": (_event_args, event), "runner": (_runner_args, runner)}

if __name__ == "__main__":
    raise SystemExit(cli(__doc__, PARTS))
