"""Generator throughput per class: jets/s on one core, share of wall time inside Pythia, physics sanity.

For each JetClass class, ``generate_jets(cls, n, seed, workers=1)`` runs on one core while
the Pythia object is wrapped so that ``init()`` (inside ``make_pythia``) and every
``nextBatch`` call are timed. Everything else (event record -> awkward, detector
smearing, FastJet clustering, matching, soft drop, N-subjettiness) is the Python/FastJet
overhead. Physics sanity per class: soft-drop mass mean/median and mean constituent count.
Writes benchmarks/results/generator_throughput.json.

    python -m benchmarks.generator [--n-jets 20] [--classes qcd,tbqq] [--seed 1] [--note TEXT]
"""

from __future__ import annotations

import importlib.metadata
import os
import time
import warnings
from unittest import mock

import numpy as np

from benchmarks._common import cli, machine, write_json

#: the share of wall time that should be Pythia's own generation (the rest is our overhead)
PYTHIA_SHARE_GOAL = 0.80


class _TimedPythia:
    """Forwards to a Pythia instance, accumulating the time spent in ``nextBatch``."""

    def __init__(self, pythia, clock: dict):
        self._pythia = pythia
        self._clock = clock

    def nextBatch(self, n):  # noqa: N802 - Pythia's name
        t0 = time.perf_counter()
        out = self._pythia.nextBatch(n)
        self._clock["next_batch_s"] += time.perf_counter() - t0
        self._clock["events"] += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._pythia, name)


def bench_class(name: str, n_jets: int, seed: int) -> dict:
    """Generate ``n_jets`` of one class on one core; timings and physics summary."""
    import awkward as ak

    import hepjepa.generate as gen
    from hepjepa.generate import blocks

    clock = {"init_s": 0.0, "next_batch_s": 0.0, "events": 0}
    original = blocks.make_pythia

    def make(*args, **kwargs):
        t0 = time.perf_counter()
        pythia = original(*args, **kwargs)  # readString + init
        clock["init_s"] += time.perf_counter() - t0
        return _TimedPythia(pythia, clock)

    with mock.patch.object(blocks, "make_pythia", make):  # restored on exit
        t0 = time.perf_counter()
        jets = gen.generate_jets(name, n_jets, seed=seed, workers=1)
        wall = time.perf_counter() - t0
    sd = ak.to_numpy(jets.jet_sdmass)
    pythia_s = clock["init_s"] + clock["next_batch_s"]
    return {
        "n_jets": len(jets),
        "events_generated": clock["events"],
        "jets_per_event": len(jets) / max(clock["events"], 1),
        "wall_s": wall,
        "jets_per_s_per_core": len(jets) / wall,
        "pythia_init_s": clock["init_s"],
        "pythia_next_batch_s": clock["next_batch_s"],
        "pythia_share": pythia_s / wall,
        "pythia_share_without_init": clock["next_batch_s"] / max(wall - clock["init_s"], 1e-12),
        "sdmass_mean": float(np.mean(sd)),
        "sdmass_median": float(np.median(sd)),
        "mean_constituents": float(np.mean(ak.to_numpy(ak.num(jets.part_px)))),
        "jet_pt_mean": float(np.mean(ak.to_numpy(jets.jet_pt))),
    }


def run(args) -> int:
    """Generate each class on one core and write the JSON."""
    import awkward as ak
    import fastjet

    import hepjepa.generate as gen

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else list(gen.processes.PROCESSES)
    for c in classes:
        gen.processes.get_process(c)  # ValueError naming a bad class before any work
    warnings.filterwarnings("ignore", category=UserWarning)  # fastjet wheel's dcut warnings
    # untimed warm-up: first-call costs (imports, vector/fastjet registration) would otherwise
    # be charged to whichever class runs first
    t0 = time.perf_counter()
    gen.generate_jets(classes[0], 1, seed=args.seed + 1, workers=1)
    warmup_s = time.perf_counter() - t0
    load_before = os.getloadavg()
    results = {}
    for c in classes:
        r = results[c] = bench_class(c, args.n_jets, args.seed)
        print(f"{c:5s} {r['jets_per_s_per_core']:6.2f} jets/s/core  pythia {r['pythia_share']:.0%} "
              f"(init {r['pythia_init_s']:.1f}s, batches {r['pythia_next_batch_s']:.1f}s of {r['wall_s']:.1f}s)  "
              f"msd mean {r['sdmass_mean']:.0f} median {r['sdmass_median']:.0f}  "
              f"nconst {r['mean_constituents']:.0f}", flush=True)
    wall = sum(r["wall_s"] for r in results.values())
    init = sum(r["pythia_init_s"] for r in results.values())
    total = {
        "jets": sum(r["n_jets"] for r in results.values()),
        "wall_s": wall,
        "jets_per_s_per_core": sum(r["n_jets"] for r in results.values()) / wall,
        "pythia_share": (init + sum(r["pythia_next_batch_s"] for r in results.values())) / wall,
        "pythia_share_without_init": sum(r["pythia_next_batch_s"] for r in results.values()) / (wall - init),
        "pythia_share_goal": PYTHIA_SHARE_GOAL,
    }
    total["pythia_share_goal_met"] = total["pythia_share"] >= PYTHIA_SHARE_GOAL
    info = machine(pythia8mc=importlib.metadata.version("pythia8mc"), fastjet=fastjet.__version__, awkward=ak.__version__,
                   loadavg_before=load_before, loadavg_after=os.getloadavg())
    out = write_json("generator_throughput", {
        "description": "hepjepa.generate on one core per class (workers=1): Pythia 8 + detector + FastJet + "
                       "matching + soft drop + N-subjettiness. pythia_share = (init + nextBatch) / wall.",
        "settings": {"n_jets_per_class": args.n_jets, "seed": args.seed, "block_size": gen.BLOCK_SIZE,
                     "batch_events": 50, "mpi": True, "detector": True,
                     "untimed_warmup_s": warmup_s},
        "note": args.note,
        "machine": info,
        "per_class": results,
        "total": total,
    }, args.results)
    print(f"total {total['jets_per_s_per_core']:.2f} jets/s/core, pythia share {total['pythia_share']:.0%} "
          f"(goal {PYTHIA_SHARE_GOAL:.0%}) -> {out}")
    return 0


def _args(p):
    p.add_argument("--n-jets", type=int, default=20, help="jets per class (default 20: a quick, noisy run)")
    p.add_argument("--classes", default=None, help="comma-separated classes (default: all ten)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--note", default="", help="free text stored in the JSON (e.g. machine load)")


if __name__ == "__main__":
    raise SystemExit(cli(__doc__, {"generator": (_args, run)}))
