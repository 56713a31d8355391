"""Atomic writing of files and directories: readers never see a half-written output."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_dir", "atomic_path"]

#: temporary names carry the writer's pid, so a later writer can tell an orphan (its pid is gone) from a live one
_TMP = ".{name}.{pid}."


def _umask() -> int:
    # os.umask can only be read by setting it; done once per call, restored at once
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: alive
        return True
    return True


def _remove_orphans(parent: Path, name: str) -> None:
    """Temporary files a killed writer of ``name`` left behind (SIGKILL gives no chance to clean up)."""
    prefix = f".{name}."
    for p in parent.glob(f".{name}.*"):
        pid = p.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                shutil.rmtree(p) if p.is_dir() else p.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    Readers never see a half-written file under the final name: on any exception the
    temporary file is removed and ``path`` is left as it was. The file gets the permissions a
    plain ``open()`` would give (``0o666`` less the umask), not ``mkstemp``'s private 0600.
    Temporary files of writers that were killed (their pid no longer runs) are removed first.

    Example::

        with atomic_path("out.root") as tmp:
            with uproot.recreate(tmp) as f: ...
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=_TMP.format(name=path.name, pid=os.getpid()),
                               suffix=suffix or "".join(path.suffixes) or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, own: tuple[str, ...]):
    """Yield a temporary directory; its files ``own`` replace those of ``path`` together, on success.

    When ``path`` is new, or holds nothing but ``own``, the temporary directory is renamed onto
    it (the old one first moved aside): a reader sees the old set or the new set, never a mix.
    When ``path`` also holds other files (a user's), each of ``own`` is moved in with
    ``os.replace``, in order; readers must then check that the files belong together (hepjepa's
    do: ``preprocess.json`` carries the model's sha256).

    Args:
        path: the target directory.
        own: the file names written into the temporary directory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=_TMP.format(name=path.name, pid=os.getpid()), dir=path.parent))
    try:
        yield tmp
        mode = 0o666 & ~_umask()
        for name in own:
            os.chmod(tmp / name, mode)
        os.chmod(tmp, 0o777 & ~_umask())
        others = [p.name for p in path.iterdir() if p.name not in own] if path.is_dir() else []
        if not path.exists():
            os.rename(tmp, path)
        elif not others:
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            for name in own:
                os.replace(tmp / name, path / name)
            tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
