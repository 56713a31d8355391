"""Shared parts of the batch examples (examples/*/run.py): command line, the tag job, results.json.

Each example adds its own options and its own processor/flavour/truth classes; what is the
same in all of them (sample generation options, running ``hepjepa tag``'s job, the working
point fields, writing ``results.json`` atomically and printing it) lives here once.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from hepjepa.analysis import bundled_sample, run_tag
from hepjepa.atomic import atomic_path

__all__ = ["parser", "run_example"]


def parser(doc: str, events: int, output: str, executors: bool = False) -> argparse.ArgumentParser:
    """The options every example takes (``--events``, ``-o``, ``--model``, ``--no-progress``; executors on request)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--events", type=int, default=events, help="jets per sample asked from the generator")
    p.add_argument("-o", "--output", default=output)
    p.add_argument("--model", help="exported model directory (default: the shipped model)")
    if executors:
        p.add_argument("--executor", default="iterative", choices=("iterative", "futures", "dask"))
        p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-progress", action="store_true")
    return p


def run_example(a: argparse.Namespace, processes: dict | None, results: Callable[[dict, dict], dict],
                background_jets: int | None = None, **tag_kwargs) -> dict:
    """Generate (or reuse) the samples, run the tag job, write and print ``results.json``.

    Args:
        a: parsed options of :func:`parser`.
        processes: dataset -> (generator process, seed) for ``bundled_sample`` (None: its default).
        background_jets: jets of the ``qcd`` dataset (None: ``--events``).
        results: ``f(summary, wp)`` -> the example's own result fields (``wp`` = the summary's
            working point, or {} when there is none).
        tag_kwargs: passed to ``run_tag`` (flavour, signal, background, processor_class, ...).

    Returns:
        The results dict, also in ``OUTPUT/results.json``.
    """
    out = Path(a.output)
    fileset = bundled_sample(a.events, directory=out / "samples", progress=not a.no_progress, processes=processes,
                             background_jets=background_jets)
    s = run_tag(fileset, a.model, chunksize=5000, output=out, progress=not a.no_progress, **tag_kwargs)
    res = {"events": s["events"], "fatjets_tagged": s["fatjets_tagged"], **results(s, s["working_point"] or {}),
           "model_dir": s["model_dir"]}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return res
