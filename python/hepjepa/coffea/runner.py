"""Run a processor over a fileset with coffea's ``processor.Runner``, checking the inputs first.

The Runner reads the events with :class:`hepjepa.coffea.NanoAODSchema`, whose FatJets carry
their PF candidates through any selection (``FatJet.pfCandIdxG``).

coffea's Runner reports a wrong tree name as an ``uproot.KeyInFileError`` deep inside
preprocessing and an empty or branch-less file as a bare ``Exception("Failed creating
nanoevents ...")``. :func:`run_processor` opens every file once before the Runner starts:
a missing file, a wrong tree name or missing FatJet/PF branches raise
:class:`InputFileError` naming the file and the tree; a tree with 0 events is a defined
skip, returned in the report. It also makes ``progress=False`` silence coffea's
"Preprocessing"/"Processing" bars (coffea passes ``disable=`` to rich's ``add_task``,
which ignores it, so ``status=False`` alone still draws them).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from hepjepa.errors import UserInputError

__all__ = ["EXECUTORS", "InputFileError", "check_fileset", "make_executor", "quiet_progress", "run_processor"]

EXECUTORS = ("iterative", "futures", "dask")


class InputFileError(UserInputError):
    """An input file, tree, branch set or executor option is not usable; the message names it."""


def check_fileset(fileset: dict, src: str = "FatJet") -> tuple[dict, list[dict]]:
    """Open every file once: a missing file, tree or branch raises; an empty tree is skipped and reported.

    Args:
        fileset: ``{dataset: {"files": {path: tree}}}``.
        src: FatJet collection name.

    Returns:
        (fileset without skipped files, ``[{"file", "dataset", "tree", "reason"}]`` of skipped files).

    Raises:
        InputFileError: naming the file and tree and what is wrong (a missing tree lists the
            trees in the file; missing branches are listed), or no file with events at all.
    """
    import uproot

    from hepjepa.data.association import MissingBranchesError, detect_layout

    kept: dict = {}
    skipped = []
    for ds, spec in fileset.items():
        for f, tree in spec["files"].items():
            if not Path(f).is_file():
                raise InputFileError(f"dataset {ds!r}: input file {f!r} does not exist")
            try:
                rf = uproot.open(f)
            except Exception as e:  # uproot raises several types for "not ROOT"; re-raised typed, with the cause
                raise InputFileError(f"dataset {ds!r}: {f!r} is not a readable ROOT file ({type(e).__name__}: {e})") from e
            with rf:
                trees = [k.split(";")[0] for k, c in rf.classnames().items() if c.startswith("TTree")]
                if tree not in trees:
                    raise InputFileError(f"{f!r} has no tree {tree!r}; trees in the file: {trees or 'none'}")
                t = rf[tree]
                if t.num_entries == 0:
                    skipped.append({"file": f, "dataset": ds, "tree": tree, "reason": "empty tree (0 events)"})
                    continue
                try:
                    detect_layout(t.keys(), src, where=f"{f!r}: tree {tree!r}")
                except MissingBranchesError as e:
                    raise InputFileError(str(e)) from e
            kept.setdefault(ds, {"files": {}})["files"][f] = tree
    if not kept:
        raise InputFileError(f"no input file has events; skipped: {skipped}")
    return kept, skipped


@contextlib.contextmanager
def quiet_progress(quiet: bool = True):
    """Silence coffea's rich progress bars (its shared console) inside the block when ``quiet``."""
    from coffea import util

    console = util.coffea_console
    before = console.quiet
    console.quiet = quiet or before
    try:
        yield
    finally:
        console.quiet = before


def make_executor(name: str, workers: int, progress: bool, scheduler: str | None = None):
    """A coffea executor by name.

    Args:
        name: one of :data:`EXECUTORS`.
        workers: worker processes (futures) or LocalCluster workers (dask).
        progress: coffea's status bars.
        scheduler: dask scheduler address; None = a new ``distributed.LocalCluster``.

    Returns:
        (executor, handles to close afterwards or None).

    Raises:
        InputFileError: unknown executor name or workers < 1 (names the value).
    """
    from coffea import processor

    if name not in EXECUTORS:
        raise InputFileError(f"unknown executor {name!r}; expected one of {EXECUTORS}")
    if not isinstance(workers, int) or workers < 1:
        raise InputFileError(f"workers must be >= 1, got {workers}")
    if name == "iterative":
        return processor.IterativeExecutor(status=progress), None
    if name == "futures":
        return processor.FuturesExecutor(workers=workers, status=progress), None
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        return processor.DaskExecutor(client=client, status=progress), (client,)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)
    client = Client(cluster)
    return processor.DaskExecutor(client=client, status=progress), (client, cluster)


def run_processor(fileset: dict, processor_instance, executor="iterative", workers: int = 2, chunksize: int = 10_000,
                  progress: bool = True, src: str = "FatJet", scheduler: str | None = None) -> tuple[dict, list[dict]]:
    """Check ``fileset`` (see :func:`check_fileset`), then run ``processor_instance`` under ``processor.Runner``.

    Args:
        fileset: ``{dataset: {"files": {path: tree}}}``.
        processor_instance: a ``processor.ProcessorABC``.
        executor: a name of :data:`EXECUTORS` or a coffea executor instance.
        workers, scheduler: see :func:`make_executor` (ignored for an executor instance).
        chunksize: events per chunk.
        progress: coffea's progress bars (False silences all of them, "Preprocessing" included).
        src: FatJet collection name.

    Returns:
        (the processor's accumulated output, skipped files as in :func:`check_fileset`).

    Raises:
        InputFileError: bad files, trees, branches, options.
    """
    from coffea import processor

    from hepjepa.coffea.schema import NanoAODSchema

    if not isinstance(chunksize, int) or chunksize < 1:
        raise InputFileError(f"chunksize must be a positive integer, got {chunksize!r}")
    fileset, skipped = check_fileset(fileset, src)
    handles = None
    if isinstance(executor, str):
        executor, handles = make_executor(executor, workers, progress, scheduler)
    try:
        with quiet_progress(not progress):
            runner = processor.Runner(executor=executor, schema=NanoAODSchema, chunksize=chunksize)
            out = runner(fileset, processor_instance=processor_instance)
    finally:
        for h in handles or ():
            h.close()
    return out, skipped
