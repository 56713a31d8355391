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

from hepjepa.errors import InputFileError, MissingFieldsError, UserInputError

__all__ = ["EXECUTORS", "InputFileError", "check_fileset", "make_executor", "quiet_progress", "run_processor"]

EXECUTORS = ("iterative", "futures", "dask")


def check_fileset(fileset: dict, src: str = "FatJet", read_check: bool = True,
                  particle_fields=()) -> tuple[dict, list[dict]]:
    """Open every file once before the Runner starts; skip (and report) empty or unreadable files.

    A file that does not exist, a wrong tree name or missing branches are the user's mistakes
    and raise. A file with no events, or one that cannot be read (damaged, truncated: its
    branches the tagging needs are read through once when ``read_check``, which doubles the
    reading of those branches but keeps a damaged file from failing the whole run halfway), is
    skipped and reported. TTrees and RNTuples are both accepted.

    Args:
        fileset: ``{dataset: {"files": {path: tree}}}``.
        src: FatJet collection name.
        read_check: read the tagging's branches of every file once, here.
        particle_fields: the particle fields a model needs (``JetTagger.required_fields``): the
            candidate branches that give them must be there too.

    Returns:
        (fileset without skipped files, ``[{"file", "dataset", "tree", "reason"}]`` of skipped files).

    Raises:
        InputFileError: naming the file and tree and what is wrong (a missing tree lists the
            trees in the file; missing branches are listed), or no readable file with events.
    """
    import uproot

    from hepjepa.data.association import check_particle_branches, detect_layout

    kept: dict = {}
    skipped = []

    def skip(ds, f, tree, reason):
        skipped.append({"file": f, "dataset": ds, "tree": tree, "reason": reason})

    for ds, spec in fileset.items():
        for f, tree in spec["files"].items():
            if not Path(f).is_file():
                raise InputFileError(f"dataset {ds!r}: input file {f!r} " + ("is a directory" if Path(f).is_dir() else "does not exist"))
            try:
                rf = uproot.open(f)
                trees = [k.split(";")[0] for k, c in rf.classnames().items() if c.startswith("TTree") or c == "ROOT::RNTuple"]
            except Exception as e:  # noqa: BLE001 - uproot raises many types for "not ROOT / damaged"
                skip(ds, f, tree, f"cannot be read ({type(e).__name__}: {_one_line(e)})")
                continue
            with rf:
                if tree not in trees:
                    msg = f"{f!r} has no tree {tree!r}; trees in the file: {trees or 'none'}"
                    raise InputFileError(msg)
                try:
                    t = rf[tree]
                    n = t.num_entries
                    keys = set(t.keys()) | set(t.keys(recursive=False))
                except Exception as e:  # noqa: BLE001 - a damaged tree header
                    skip(ds, f, tree, f"cannot be read ({type(e).__name__}: {_one_line(e)})")
                    continue
                if n == 0:
                    skip(ds, f, tree, "empty tree (0 events)")
                    continue
                layout = detect_layout(keys, src, where=f"{f!r}: tree {tree!r}")  # MissingFieldsError: the user's file
                check_particle_branches(layout, particle_fields, keys, where=f"{f!r}: tree {tree!r}")
                # coffea's FatJet behaviour (a four-vector) needs these, as every NanoAOD has them
                if missing := [b for b in (f"{src}_{v}" for v in ("eta", "phi", "mass")) if b not in keys]:
                    raise MissingFieldsError(f, "NanoAOD", missing, keys,
                                             message=f"{f!r}: tree {tree!r} lacks branches {missing} (the {src} four-vector coffea needs)")
                if read_check:
                    need = sorted(set(layout.branches(src)) | set(layout.optional_branches(keys))
                                  | {b for b in (f"{src}_pt", f"{src}_msoftdrop", f"{src}_eta") if b in keys})
                    try:
                        for _ in t.iterate(need, step_size="100 MB", library="np"):
                            pass
                    except Exception as e:  # noqa: BLE001 - zlib, uproot, OSError ...: the file is damaged
                        skip(ds, f, tree, f"cannot be read ({type(e).__name__}: {_one_line(e)})")
                        continue
            kept.setdefault(ds, {"files": {}})["files"][f] = tree
    if not kept:
        raise InputFileError("no input file has events that can be read; skipped: "
                             + "; ".join(f"{x['file']}: {x['reason']}" for x in skipped))
    return kept, skipped


def _root_cause(e: BaseException) -> BaseException:
    while e.__cause__ is not None:
        e = e.__cause__
    return e


def _work_item_file(e: BaseException) -> str:
    import re

    m = re.search(r"filename='([^']*)'", str(e))
    return m.group(1) if m else "a file"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


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
        msg = f"unknown executor {name!r}; expected one of {EXECUTORS}"
        raise InputFileError(msg)
    if not isinstance(workers, int) or workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise InputFileError(msg)
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
        msg = f"chunksize must be a positive integer, got {chunksize!r}"
        raise InputFileError(msg)
    tagger = getattr(processor_instance, "tagger", None)  # a hepjepa processor: its model's particle fields are checked too
    fileset, skipped = check_fileset(fileset, src, particle_fields=getattr(tagger, "required_fields", ()))
    handles = None
    if isinstance(executor, str):
        executor, handles = make_executor(executor, workers, progress, scheduler)
    try:
        with quiet_progress(not progress):
            runner = processor.Runner(executor=executor, schema=NanoAODSchema, chunksize=chunksize)
            try:
                out = runner(fileset, processor_instance=processor_instance)
            except Exception as e:  # noqa: BLE001 - coffea wraps every failure in a bare Exception("Failed processing file ...")
                cause = _root_cause(e)
                if isinstance(cause, UserInputError):  # our own, typed error from inside a chunk: as it is
                    raise cause  # noqa: B904 - coffea's wrapper adds only "Failed processing file"
                if str(e).startswith(("Failed processing file", "Failed creating nanoevents")):
                    msg = (
                        f"coffea failed processing {getattr(cause, 'filename', None) or _work_item_file(e)}: "
                        f"{type(cause).__name__}: {_one_line(cause)}"
                    )
                    raise InputFileError(msg) from e
                raise
    finally:
        for h in handles or ():
            h.close()
    return out, skipped
