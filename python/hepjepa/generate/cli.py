"""Generate jets with Pythia 8 + FastJet and write them as JetClass ROOT or NanoAOD-like ROOT.

Example:
    hepjepa generate --process tbqq --n-jets 1000 --seed 1 --format jetclass -o top.root --workers 2

With ``--process all``, ``--n-jets`` jets of each of the ten classes are written, the
classes one after another in JetClass order. See docs/generator.md for the physics.
"""

from __future__ import annotations

import argparse

from hepjepa.generate.processes import PROCESSES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--process", required=True, help=f"one of {[*PROCESSES, 'all']}")
    parser.add_argument("--n-jets", type=int, required=True, help="jets per class")
    parser.add_argument("--seed", type=int, default=1, help="run seed, 1..900000000")
    parser.add_argument("--format", choices=("jetclass", "nanoaod"), default="jetclass")
    parser.add_argument("-o", "--output", required=True, help="output ROOT file")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-detector", action="store_true", help="truth-level particles")
    parser.add_argument("--no-mpi", action="store_true", help="switch off multi-parton interactions")
    parser.add_argument("--pt-min", type=float, default=500.0)
    parser.add_argument("--pt-max", type=float, default=1000.0)
    parser.add_argument("--eta-max", type=float, default=2.0)


def run(args: argparse.Namespace) -> int:
    from hepjepa.generate import JetCuts, write_jets

    cuts = JetCuts(pt_min=args.pt_min, pt_max=args.pt_max, abs_eta_max=args.eta_max)
    jets = write_jets(args.process, args.n_jets, args.seed, args.output, format=args.format,
                      detector=not args.no_detector, workers=args.workers, cuts=cuts,
                      mpi=not args.no_mpi, progress=True)
    print(wrote_message(jets, args.process, args.n_jets, args.format, args.output))
    return 0


def wrote_message(jets, process: str, n_jets: int, fmt: str, output: str) -> str:
    """What was written, in the progress bar's unit (jets matched to their class), then the rest.

    ``--n-jets`` counts jets per class; the NanoAOD format also keeps the events' other FatJets
    (truth -1), so its file holds more FatJets than the bar counted.
    """
    import awkward as ak
    import numpy as np

    from hepjepa.generate.processes import resolve_processes

    n_classes = len(resolve_processes(process))
    label = ak.to_numpy(jets.label)
    matched = int((label >= 0).sum())
    per = f"{n_jets} per class x {n_classes} classes" if n_classes > 1 else f"{process}"
    msg = f"wrote {matched} jets ({per}) to {output}"
    if fmt == "nanoaod":
        n_events = len(np.unique(ak.to_numpy(jets.event)))
        msg += f": {n_events} events, which also keep {len(label) - matched} other FatJets (truth label -1)"
    return msg
