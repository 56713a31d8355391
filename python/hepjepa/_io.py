"""Small shared I/O helpers: atomic file writing and seeding."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    Readers never see a half-written file under the final name: on any exception
    the temporary file is removed and ``path`` is left as it was.

    Example::

        with atomic_path("out.root") as tmp:
            with uproot.recreate(tmp) as f: ...
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or "".join(path.suffixes) or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
