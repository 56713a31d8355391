"""Format guessing from the file's extension and content, and path/glob expansion."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ._errors import FormatError, UnknownFormatError

#: format names accepted by ``format=``.
FORMATS = ("jetclass", "toptagging", "quarkgluon", "nanoaod", "e2e")


def expand_paths(paths) -> list[str]:
    """Expand a path, glob or list of them into a sorted list of files (list order is kept).

    Raises:
        FileNotFoundError: a glob matching nothing or a missing file, naming the pattern.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if glob.has_magic(p):
            hits = sorted(glob.glob(p))
            if not hits:
                raise FileNotFoundError(f"no file matches the pattern {p!r}")
            out.extend(hits)
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file: {p!r}")
    if not out:
        raise FileNotFoundError("no input paths given")
    return out


def check_format(fmt: str) -> str:
    """Normalise a ``format=`` name; raise :class:`UnknownFormatError` naming the choices."""
    key = fmt.lower().replace("_", "").replace("-", "")
    if key not in FORMATS:
        import difflib

        close = difflib.get_close_matches(key, FORMATS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownFormatError(f"unknown format {fmt!r}: expected one of {list(FORMATS)}{hint}")
    return key


def guess_format(path: str) -> str:
    """Guess the format of one file from its extension, then its content (ROOT tree name, HDF5 key).

    Returns:
        one of :data:`FORMATS`.

    Raises:
        UnknownFormatError: naming the file and what was found.
    """
    ext = Path(path).suffix.lower()
    if ext == ".root":
        import uproot

        try:
            with uproot.open(path) as f:
                keys = {k.split(";")[0] for k in f.keys()}
        except Exception as e:  # uproot raises several types for non-ROOT bytes
            raise FormatError(f"{path}: not a readable ROOT file: {e}") from e
        if "tree" in keys:
            return "jetclass"
        if "Events" in keys:
            return "nanoaod"
        raise UnknownFormatError(f"{path}: ROOT file with neither TTree 'tree' (JetClass) nor 'Events' (NanoAOD); keys: {sorted(keys)[:10]}")
    if ext in (".h5", ".hdf5", ".hdf"):
        return "toptagging"
    if ext == ".npz":
        return "quarkgluon"
    if ext in (".parquet", ".pq"):
        return "e2e"
    raise UnknownFormatError(
        f"{path}: cannot guess the format from extension {ext!r}: expected .root, .h5/.hdf5, .npz or .parquet, or pass format= one of {list(FORMATS)}"
    )
