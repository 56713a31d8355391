"""Top Tagging Reference HDF5 reader (Kasieczka et al. 2019), written by pandas with key ``table``.

Columns ``E_i PX_i PY_i PZ_i`` for i = 0..199, zero-padded; ``is_signal_new`` 1 = top. Rows with
zero energy are padding. ``truthE, truthPX, ..., ttv`` columns, when present, are kept as jet fields.
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np
import pandas as pd

from ..labels import label_index
from ._common import jagged_record
from ._errors import FormatError, check_fields

KEY = "table"
N_MAX = 200
EXTRA = ("truthE", "truthPX", "truthPY", "truthPZ", "ttv")


def iter_file(path: str, step_size: int, entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield jets of a Top Tagging HDF5 file in chunks of ``step_size`` rows (pandas ``start``/``stop``).

    Args:
        path: the HDF5 file.
        step_size: rows (jets) per chunk.
        entry_start: first row.

    Returns:
        iterator of ``ak.Array`` records; ``label`` is Tbqq for ``is_signal_new`` 1 and QCD for 0.
    """
    _probe(path)
    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as e:  # tables raises HDF5ExtError, pandas OSError/ValueError for non-HDF5 bytes
        msg = f"{path}: not an HDF5 file, expected the Top Tagging pandas HDF5 ({type(e).__name__}: {e})"
        raise FormatError(msg) from e
    with store:
        if "/" + KEY not in store.keys():
            msg = f"{path}: not a Top Tagging file, no pandas key {KEY!r} (keys: {store.keys()})"
            raise FormatError(msg)
        storer = store.get_storer(KEY)
        # fixed format (the real files) has no nrows; its shape is (rows, columns)
        nrows = storer.nrows if storer.nrows is not None else int(storer.shape[0])
        cols = _columns(store)
        n_part = sum(1 for c in cols if c.startswith("E_") and c[2:].isdigit())
        need = [f"{p}_{i}" for i in range(max(n_part, 1)) for p in ("E", "PX", "PY", "PZ")] + ["is_signal_new"]
        check_fields(path, "Top Tagging", need, cols)
        extra = [c for c in EXTRA if c in cols]
        for start in range(entry_start, nrows, step_size):
            df = store.select(KEY, start=start, stop=min(start + step_size, nrows))
            yield _convert(df, n_part, extra)


#: files already opened safely by a child process: (resolved path, size, mtime) -> True
_PROBED: dict[tuple, bool] = {}
_PROBE = """
import sys, pandas as pd
with pd.HDFStore(sys.argv[1], mode="r") as s:
    if "/table" in s.keys():
        st = s.get_storer("table")
        n = st.nrows if st.nrows is not None else int(st.shape[0])
        if n:
            s.select("table", start=0, stop=1); s.select("table", start=n - 1, stop=n)
"""


def _probe(path: str) -> None:
    """Open the file once in a child process first: the HDF5 C library segfaults on some damaged files.

    A zeroed range in a Top Tagging file's metadata kills the process inside ``pd.HDFStore``
    (signal 11, measured with the fuzz campaign); run in a child, that is a
    :class:`FormatError` instead. One probe per file version (path, size, mtime), about a second.

    Raises:
        FormatError: the child died from a signal (the file is damaged).
    """
    import os
    import subprocess
    import sys

    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key in _PROBED:
        return
    r = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, timeout=600)
    if r.returncode < 0:
        msg = f"{path}: the HDF5 library crashed reading this file (signal {-r.returncode}): it is damaged"
        raise FormatError(msg)
    _PROBED[key] = True  # a Python-level error is raised (typed, named) by the in-process read below


def _columns(store) -> list[str]:
    # a fixed-format frame has no cheap column listing; read zero rows to learn them
    return list(store.select(KEY, start=0, stop=0).columns)


def _convert(df: pd.DataFrame, n_part: int, extra: list[str]) -> ak.Array:
    comp = {}
    for p in ("E", "PX", "PY", "PZ"):
        comp[p] = df[[f"{p}_{i}" for i in range(n_part)]].to_numpy(dtype=np.float32)  # (n, n_part)
    real = comp["E"] > 0  # zero energy marks padding
    counts = real.sum(axis=1)
    # keep particle order while dropping padding, even if padding were not only at the end
    particles = {
        "px": comp["PX"][real],
        "py": comp["PY"][real],
        "pz": comp["PZ"][real],
        "energy": comp["E"][real],
    }
    sig = df["is_signal_new"].to_numpy().astype(np.int64)
    label = np.where(sig == 1, label_index("Tbqq"), label_index("QCD"))
    scalars = {"label": label, "is_signal_new": sig}
    for c in extra:
        scalars[c] = df[c].to_numpy()
    return jagged_record(counts, particles, scalars)
