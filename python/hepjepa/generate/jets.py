"""Labelled jets in memory (``generate_jets``) and written to a file (``write_jets``), in seeded blocks.

Work is split into fixed-size blocks of jets per class, each seeded from (seed, class,
block index), so the output for a seed is the same for any number of workers.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import TypedDict

import awkward as ak

from hepjepa.errors import UserInputError
from hepjepa.generate.blocks import generate_block
from hepjepa.generate.clustering import DEFAULT_CUTS, JetCuts
from hepjepa.generate.processes import resolve_processes
from hepjepa.generate.pythia_source import SEED_MAX

__all__ = ["BLOCK_SIZE", "FORMATS", "generate_jets", "write_jets"]

#: jets per block: the unit of seeding and of parallel work (fixed: changing it changes the output)
BLOCK_SIZE = 200
FORMATS = ("jetclass", "nanoaod")


class _BlockOptions(TypedDict):
    """The keyword arguments every ``generate_block`` call of a run shares."""

    detector: bool
    cuts: JetCuts
    keep_unmatched: bool
    mpi: bool


def generate_jets(process: str, n_jets: int, seed: int, detector: bool = True, workers: int = 1,
                  cuts: JetCuts = DEFAULT_CUTS, keep_unmatched: bool = False, progress: bool = False,
                  mpi: bool = True) -> ak.Array:
    """Generate labelled jets in memory.

    Args:
        process: ``qcd``, ``hbb``, ... ``tbl`` or ``all`` (then ``n_jets`` per class,
            classes concatenated in JetClass order).
        n_jets: jets per class (> 0).
        seed: run seed, 1..900000000.
        detector: apply the detector response (False: truth-level particles).
        workers: processes in parallel (output independent of it).
        cuts: jet definition and window.
        keep_unmatched: keep unmatched jets of signal processes (label -1) and whole events.
        progress: tqdm bar over jets.
        mpi: multi-parton interactions.

    Returns:
        ak.Array of jet records: ``event`` (unique id), ``label`` (index into
        JETCLASS_LABELS, -1 unmatched), ``qcd_is_quark``, ``jet_*``, jagged ``part_*``.

    Raises:
        ValueError: unknown process, n_jets <= 0, seed outside 1..900000000, workers < 1.
    """
    specs = resolve_processes(process)
    if not isinstance(n_jets, int) or n_jets <= 0:
        msg = f"n_jets must be a positive integer, got {n_jets!r}"
        raise UserInputError(msg)
    if not isinstance(seed, int) or not 1 <= seed <= SEED_MAX:
        msg = f"seed must be an integer in 1..{SEED_MAX}, got {seed!r}"
        raise UserInputError(msg)
    if workers < 1:
        msg = f"workers must be >= 1, got {workers!r}"
        raise UserInputError(msg)
    tasks = []
    for spec in specs:
        for b in range(0, -(-n_jets // BLOCK_SIZE)):
            tasks.append((spec.name, min(BLOCK_SIZE, n_jets - b * BLOCK_SIZE), seed, b))
    kwargs = _BlockOptions(detector=detector, cuts=cuts, keep_unmatched=keep_unmatched, mpi=mpi)
    from tqdm import tqdm

    bar = tqdm(total=n_jets * len(specs), unit="jet", disable=not progress)
    results = []
    if workers == 1:
        for t in tasks:
            results.append(generate_block(*t, **kwargs))
            bar.update(t[1])
    else:
        # a stray PYTHIA8DATA makes Pythia abort in the children too
        os.environ.pop("PYTHIA8DATA", None)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(generate_block, *t, **kwargs) for t in tasks]
            for t, fut in zip(tasks, futures, strict=True):  # in task order: deterministic output
                results.append(fut.result())
                bar.update(t[1])
    bar.close()
    # unique event ids across blocks: (task index) * 10^7 + event in block
    out = [ak.with_field(r, r.event + i * 10_000_000, "event") for i, r in enumerate(results)]
    return ak.concatenate(out)


def write_jets(process: str, n_jets: int, seed: int, path: str | os.PathLike, format: str = "jetclass",
               **kwargs) -> ak.Array:
    """Generate and write jets atomically; returns the jets written.

    Args:
        format: ``jetclass`` (one jet per entry, signal jets matched) or ``nanoaod``
            (events, all FatJets in the window with their truth label or -1).
        kwargs: passed to ``generate_jets``.
    """
    from hepjepa.generate.writers import write_jetclass, write_nanoaod

    if format not in FORMATS:
        msg = f"unknown format {format!r}: expected one of {list(FORMATS)}"
        raise UserInputError(msg)
    jets = generate_jets(process, n_jets, seed, keep_unmatched=(format == "nanoaod"), **kwargs)
    (write_jetclass if format == "jetclass" else write_nanoaod)(jets, path)
    return jets
