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
                msg = f"no file matches the pattern {p!r}"
                raise FileNotFoundError(msg)
            out.extend(hits)
        elif os.path.isfile(p):
            out.append(p)
        else:
            msg = f"no such file: {p!r}"
            raise FileNotFoundError(msg)
    if not out:
        msg = "no input paths given"
        raise FileNotFoundError(msg)
    return out


def check_format(fmt: str) -> str:
    """Normalise a ``format=`` name; raise :class:`UnknownFormatError` naming the choices."""
    key = fmt.lower().replace("_", "").replace("-", "")
    if key not in FORMATS:
        import difflib

        close = difflib.get_close_matches(key, FORMATS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"unknown format {fmt!r}: expected one of {list(FORMATS)}{hint}"
        raise UnknownFormatError(msg)
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
            msg = f"{path}: not a readable ROOT file: {e}"
            raise FormatError(msg) from e
        if "tree" in keys:
            return "jetclass"
        if "Events" in keys:
            return "nanoaod"
        msg = f"{path}: ROOT file with neither TTree 'tree' (JetClass) nor 'Events' (NanoAOD); keys: {sorted(keys)[:10]}"
        raise UnknownFormatError(msg)
    if ext in (".h5", ".hdf5", ".hdf"):
        return "toptagging"
    if ext == ".npz":
        return "quarkgluon"
    if ext in (".parquet", ".pq"):
        return "e2e"
    msg = f"{path}: cannot guess the format from extension {ext!r}: expected .root, .h5/.hdf5, .npz or .parquet, or pass format= one of {list(FORMATS)}"
    raise UnknownFormatError(
        msg
    )
