"""The bundled NanoAOD-like sample: ttbar (Tbqq) + QCD generated once with fixed seeds, then cached."""

from __future__ import annotations

import os
from pathlib import Path

from hepjepa.errors import UserInputError

__all__ = ["SAMPLE_SEEDS", "bundled_sample", "cache_dir"]

#: fixed run seeds per dataset: the bundled sample is the same on every machine
SAMPLE_SEEDS = {"ttbar": ("tbqq", 1101), "qcd": ("qcd", 2202)}


def cache_dir() -> Path:
    """``$HEPJEPA_CACHE`` if set, else ``$XDG_CACHE_HOME/hepjepa`` or ``~/.cache/hepjepa``."""
    if os.environ.get("HEPJEPA_CACHE"):
        return Path(os.environ["HEPJEPA_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "hepjepa"


def bundled_sample(n_jets: int = 400, directory: str | os.PathLike | None = None, progress: bool = True,
                   processes: dict[str, tuple[str, int]] | None = None, background_jets: int | None = None,
                   workers: int = 2) -> dict:
    """Generate (first use) or reuse the bundled sample; return a coffea fileset.

    Each file is written atomically by ``hepjepa.generate.write_jets`` under a name that
    encodes process, jet count and seed, so a cached file is reused only when it is exactly
    the sample asked for, and an interrupted generation leaves no partial file behind.

    Args:
        n_jets: matched jets per dataset asked from the generator (events keep all FatJets).
        directory: cache directory (default :func:`cache_dir` ``/samples``).
        progress: tqdm bar while generating.
        processes: dataset -> (generator process, seed); default :data:`SAMPLE_SEEDS`.
        background_jets: jets of the ``qcd`` dataset, when it should differ from ``n_jets``:
            a working point at a rejection of a few hundred needs thousands of QCD jets for
            a measured value rather than a limit.
        workers: generator processes.

    Returns:
        ``{dataset: {"files": {path: "Events"}}}``.
    """
    from hepjepa.generate import write_jets

    for name, v in (("n_jets", n_jets), ("background_jets", background_jets if background_jets is not None else 1)):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            msg = f"{name} must be a positive integer, got {v!r}"
            raise UserInputError(msg)
    d = Path(directory) if directory is not None else cache_dir() / "samples"
    d.mkdir(parents=True, exist_ok=True)
    fileset = {}
    for dataset, (process, seed) in (processes or SAMPLE_SEEDS).items():
        n = background_jets if (background_jets is not None and dataset == "qcd") else n_jets
        path = d / f"nano_{process}_{n}_seed{seed}.root"
        if not path.is_file():
            if progress:
                print(f"generating bundled sample {dataset} ({process}, {n} jets, seed {seed}, once) -> {path}")
            write_jets(process, n, seed, path, format="nanoaod", progress=progress, workers=workers)
        fileset[dataset] = {"files": {str(path): "Events"}}
    return fileset
