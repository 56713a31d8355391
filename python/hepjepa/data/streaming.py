"""Chunked iteration over jet files with bounded memory, and a resumable shuffle buffer.

``iter_jets`` reads one chunk at a time (``uproot.iterate`` for ROOT, pandas row ranges for HDF5,
parquet record batches, memory-mapped slices for npz) so memory stays at about one chunk; its
``entry_start`` starts the first file at an entry, so a reader that remembers (file, entry) can
continue exactly where it stopped (``hepjepa.train`` does so for resumable pretraining).
``ShuffleBuffer`` shuffles jets approximately with a fixed-size buffer; its position is a small
state dict, so training resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import awkward as ak
import numpy as np

from hepjepa.errors import UserInputError

from . import _e2e, _jetclass, _nanoaod, _quarkgluon, _toptagging
from ._detect import check_format, expand_paths, guess_format
from ._errors import FormatError

__all__ = ["iter_jets", "ShuffleBuffer", "shuffled"]

_READERS = {
    "jetclass": _jetclass.iter_file,
    "toptagging": _toptagging.iter_file,
    "quarkgluon": _quarkgluon.iter_file,
    "nanoaod": _nanoaod.iter_file,
    "e2e": _e2e.iter_file,
}


def iter_jets(paths, format: str | None = None, step_size: int = 10_000, max_jets: int | None = None,
              entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield jets from one or more files as ``ak.Array`` chunks of at most ``step_size`` jets.

    Args:
        paths: a path, a glob, or a list of them; files are read in order (globs sorted).
        format: one of ``jetclass, toptagging, quarkgluon, nanoaod, e2e``; guessed per file if None.
        step_size: jets (events for NanoAOD, whose chunks hold all FatJets of those events) per chunk.
        max_jets: stop after this many jets (the last chunk is cut).
        entry_start: first entry of the FIRST file to read (a jet; an event for NanoAOD); later
            files start at their beginning. An entry at or past the end of the first file skips
            it. To continue a stream stopped in file ``i`` at entry ``e``, pass ``paths[i:]`` (the
            expanded list) and ``entry_start=e``.

    Returns:
        iterator of jet records as described in docs/architecture.md.

    Raises:
        FileNotFoundError: a path or glob matching nothing.
        FormatError: a file not in the format, missing branches/columns (names file and fields), or
            damaged: truncated, or failing a check its format carries (zlib/CRC-32 of ROOT
            baskets and npz members, parquet page checksums when written, HDF5's own
            structure). A format without a checksum over its values (HDF5 data written
            without the fletcher32 filter, as pandas writes it; ROOT baskets stored
            uncompressed; parquet without page checksums) cannot reveal a flipped bit in a
            value: see docs/architecture.md.

    Example::

        first = next(iter_jets("train.root", step_size=1000))            # entries 0..999
        again = next(iter_jets("train.root", step_size=1000, entry_start=1000))  # 1000..1999
    """
    if not isinstance(step_size, (int, np.integer)) or step_size < 1:
        msg = f"step_size must be a positive int, got {step_size!r}"
        raise UserInputError(msg)
    if max_jets is not None and max_jets < 0:
        msg = f"max_jets must be >= 0 or None, got {max_jets!r}"
        raise UserInputError(msg)
    if not isinstance(entry_start, (int, np.integer)) or entry_start < 0:
        msg = f"entry_start must be an int >= 0, got {entry_start!r}"
        raise UserInputError(msg)
    files = expand_paths(paths)
    fmt = check_format(format) if format is not None else None
    done = 0
    for k, path in enumerate(files):
        file_fmt = fmt or guess_format(path)
        reader = _READERS[file_fmt]
        start = int(entry_start) if k == 0 else 0
        source = reader(path, int(step_size), entry_start=start)
        for chunk in _named_errors(source, path, file_fmt):
            if max_jets is not None and done + len(chunk) >= max_jets:
                yield chunk[: max_jets - done]
                return
            done += len(chunk)
            if len(chunk):
                yield chunk


def _named_errors(source: Iterator[ak.Array], path: str, fmt: str) -> Iterator[ak.Array]:
    """``source``'s chunks; any failure while reading becomes a :class:`FormatError` naming ``path``.

    A damaged or truncated file makes the libraries underneath (uproot, zlib, zipfile,
    PyTables, pyarrow) raise a dozen different types, most without the file's name; callers
    get one documented type with the file, the format and the underlying message (the
    original stays chained for ``--debug``).
    """
    while True:
        try:
            chunk = next(source)
        except StopIteration:
            return
        except UserInputError as e:
            if str(path) in str(e):
                raise
            msg = f"{path}: {e}"
            raise FormatError(msg) from e
        except Exception as e:  # noqa: BLE001 - every library failure on a damaged file is re-raised, typed and named
            detail = " ".join(str(e).split())[:300]
            msg = (
                f"{path}: cannot read this {fmt} file, it is damaged or truncated "
                f"({type(e).__name__}: {detail})"
            )
            raise FormatError(msg) from e
        yield chunk


class ShuffleBuffer:
    """Approximate shuffling of a jet stream with a fixed-size buffer, resumable from a state dict.

    Each incoming jet fills the buffer; once full, a uniformly chosen slot is emitted and replaced.
    The random stream is a ``numpy.random.Generator(PCG64(seed))``; ``state_dict()`` holds its bit
    generator state and the number of jets consumed and emitted. The buffer's contents are not
    saved: ``load_state_dict`` then re-reading the same source from the start replays the draws
    without emitting, so the continuation is exactly what an uninterrupted run would give.

    Memory: the buffer holds references into the input chunks, so a chunk stays alive while any
    of its jets waits; choose ``step_size`` well below ``buffer_size`` to keep that overhead small.

    Args:
        buffer_size: jets held (memory bound).
        seed: integer seed.
    """

    def __init__(self, buffer_size: int, seed: int):
        if not isinstance(buffer_size, (int, np.integer)) or buffer_size < 1:
            msg = f"buffer_size must be a positive int, got {buffer_size!r}"
            raise UserInputError(msg)
        self.buffer_size = int(buffer_size)
        self.seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        self._emitted = 0
        self._skip = 0  # jets to replay silently after a restore

    def state_dict(self) -> dict:
        """Small, JSON-serialisable position: seed, buffer size, jets emitted so far."""
        return {"seed": self.seed, "buffer_size": self.buffer_size, "emitted": self._emitted}

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`; the next :meth:`__call__` must get the same source from the start."""
        if state.get("seed") != self.seed or state.get("buffer_size") != self.buffer_size:
            msg = f"state {state!r} was saved with a different seed/buffer_size than ({self.seed}, {self.buffer_size})"
            raise UserInputError(msg)
        self._skip = int(state["emitted"])

    def __call__(self, chunks: Iterable[ak.Array]) -> Iterator[ak.Array]:
        """Shuffle a stream of chunks, yielding single-jet-record chunks grouped as the input chunks arrive.

        Yields ``ak.Array`` chunks (one per input chunk plus a final flush) of shuffled jets.
        """
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        replay = self._skip
        self._skip = 0
        emitted = 0
        buf: list = []  # (chunk, index) references: jets stay in their chunk until emitted
        for chunk in chunks:
            out = []
            for i in range(len(chunk)):
                if len(buf) < self.buffer_size:
                    buf.append((chunk, i))
                    continue
                j = int(self._rng.integers(self.buffer_size))
                if emitted >= replay:
                    out.append(buf[j])
                emitted += 1
                buf[j] = (chunk, i)
            if out:
                self._emitted = emitted
                yield _gather(out)
        # flush: drain the buffer in a random order
        order = self._rng.permutation(len(buf))
        out = [buf[k] for k in order[max(replay - emitted, 0):]]
        emitted += len(buf)
        if out:
            self._emitted = emitted
            yield _gather(out)
        self._emitted = emitted


def _gather(refs: list) -> ak.Array:
    # one take per source chunk, then concatenate, then restore the drawn order
    groups: dict[int, tuple[ak.Array, list[int], list[int]]] = {}
    for pos, (chunk, i) in enumerate(refs):
        g = groups.setdefault(id(chunk), (chunk, [], []))
        g[1].append(i)
        g[2].append(pos)
    parts: list[ak.Array] = []
    positions: list[int] = []
    for chunk, idx, where in groups.values():
        parts.append(chunk[np.asarray(idx)])
        positions.extend(where)
    cat = ak.concatenate(parts) if len(parts) > 1 else parts[0]
    return cat[np.argsort(np.asarray(positions), kind="stable")]


def shuffled(chunks: Iterable[ak.Array], buffer_size: int, seed: int, state: dict | None = None) -> Iterator[ak.Array]:
    """Shuffle a chunk stream with a :class:`ShuffleBuffer`, optionally resuming from ``state``.

    Args:
        chunks: e.g. ``iter_jets(...)``.
        buffer_size: jets held in memory.
        seed: integer seed; same seed and source -> same order.
        state: a ``ShuffleBuffer.state_dict()`` to resume from (source must restart from the beginning).

    Returns:
        iterator of shuffled ``ak.Array`` chunks.
    """
    sb = ShuffleBuffer(buffer_size, seed)
    if state is not None:
        sb.load_state_dict(state)
    return sb(chunks)
