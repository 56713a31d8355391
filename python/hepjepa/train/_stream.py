"""Streamed, sharded, shuffled, tokenised jets with a saveable position (for exact resume)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepjepa.errors import UserInputError

__all__ = ["JetStream"]


class JetStream:
    """Read jet files chunk by chunk, tokenise, shuffle within a buffer; never all in memory.

    Sharding over DDP ranks keeps every rank's jets disjoint:
    with at least one file per rank, rank ``r`` reads files ``paths[r::world]``; with fewer
    files than ranks, every rank reads every file in blocks of ``world * chunk_size`` entries
    and keeps the jets ``r::world`` of each block (so a single file serves any number of ranks).

    The position (file, entry, epoch), the shuffle RNG and the buffer's tokenised jets form
    ``state_dict()``; reading restarts at that entry (``hepjepa.data.iter_jets(entry_start=)``),
    so a resumed run sees exactly the jets an uninterrupted one would.

    Args:
        paths: jet files of a format with one jet per entry (JetClass ROOT, Top Tagging HDF5,
            q/g npz, E2E parquet; not NanoAOD, whose entries are events).
        tokenizer: hepjepa.features.TokenizerConfig.
        chunk_size: jets read (and kept, per rank) per chunk.
        buffer_size: shuffle-buffer size in jets.
        seed: shuffle seed (rank-offset).
        rank, world: DDP shard.

    Raises:
        ValueError: no files, a NanoAOD file, bad sizes or rank.
    """

    def __init__(self, paths, tokenizer, chunk_size: int, buffer_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        from hepjepa.data import guess_format

        paths = [str(p) for p in paths]
        if not paths:
            msg = "no training files: set data.train to a list of jet files"
            raise UserInputError(msg)
        if chunk_size < 1 or buffer_size < 1:
            msg = f"chunk_size and buffer_size must be >= 1, got {chunk_size}, {buffer_size}"
            raise UserInputError(msg)
        if not 0 <= rank < world:
            msg = f"rank {rank} outside [0, world={world})"
            raise UserInputError(msg)
        for p in paths:
            if guess_format(p) == "nanoaod":
                msg = f"{p}: NanoAOD entries are events, not jets; convert to JetClass ROOT for pretraining"
                raise UserInputError(msg)
        self.by_file = len(paths) >= world
        self.paths = paths[rank::world] if self.by_file else paths
        self.rank, self.world = rank, world
        self.tokenizer, self.chunk_size, self.buffer_size = tokenizer, chunk_size, buffer_size
        self.rng = np.random.default_rng(seed + 7919 * rank)
        self.epoch, self.file_idx, self.entry = 0, 0, 0
        self.buffer: list[dict[str, np.ndarray]] = []

    def describe(self) -> str:
        """One line: files and sharding of this rank."""
        how = "files" if self.by_file else f"jets {self.rank}::{self.world} of every file"
        return f"rank {self.rank}/{self.world}: {len(self.paths)} file(s), shard by {how}, chunk {self.chunk_size}, buffer {self.buffer_size}"

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "file_idx": self.file_idx, "entry": self.entry, "rng": self.rng.bit_generator.state,
                "buffer": list(self.buffer), "paths": list(self.paths), "world": self.world, "rank": self.rank}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        if s.get("paths", self.paths) != self.paths or s.get("world", self.world) != self.world:
            msg = (
                f"stream state was saved for files {s.get('paths')} on {s.get('world')} ranks; "
                f"this run has {self.paths} on {self.world} ranks (resume needs the same files and world size)"
            )
            raise UserInputError(msg)
        self.epoch, self.file_idx, self.entry = s["epoch"], s["file_idx"], s["entry"]
        self.rng.bit_generator.state = s["rng"]
        self.buffer = list(s["buffer"])

    def next_batch(self, batch_size: int) -> list[dict[str, np.ndarray]]:
        """``batch_size`` jets drawn at random from the buffer (refilled from the files)."""
        epoch, size = self.epoch, None  # buffer size at the last epoch boundary crossed in this call
        while len(self.buffer) < max(self.buffer_size, batch_size):
            self._read_chunk()
            if self.epoch != epoch:  # small data sets cycle; a whole pass adding nothing would never end
                if size is not None and len(self.buffer) == size:
                    msg = f"no usable jets (>= 2 groups) in {self.paths} for rank {self.rank} of {self.world}"
                    raise UserInputError(msg)
                epoch, size = self.epoch, len(self.buffer)
        out = []
        for _ in range(batch_size):
            i = int(self.rng.integers(len(self.buffer)))
            self.buffer[i], self.buffer[-1] = self.buffer[-1], self.buffer[i]
            out.append(self.buffer.pop())
        return out

    def _read_chunk(self) -> None:
        """Read the next chunk into the buffer, or move to the next file (and epoch) at a file's end."""
        from hepjepa.data import iter_jets
        from hepjepa.features import tokenize

        path = self.paths[self.file_idx]
        step = self.chunk_size if self.by_file else self.chunk_size * self.world
        chunk = next(iter_jets(path, step_size=step, entry_start=self.entry), None)
        if chunk is None or len(chunk) == 0:
            self.file_idx, self.entry = self.file_idx + 1, 0
            if self.file_idx == len(self.paths):  # next epoch: same files, order reshuffled by the buffer
                self.file_idx, self.epoch = 0, self.epoch + 1
            return
        self.entry += len(chunk)
        if not self.by_file:
            chunk = chunk[self.rank::self.world]
            if len(chunk) == 0:
                return
        tok = tokenize(chunk, self.tokenizer, allow_missing=True)
        gm = tok.group_mask
        for j in range(len(tok)):
            g = int(gm[j].sum())
            if g < 2:  # a jet needs a context and a target
                continue
            self.buffer.append({
                "features": tok.features[j, :g], "particle_mask": tok.particle_mask[j, :g], "group_mask": gm[j, :g],
                "centers": tok.centers[j, :g], "pair_features": tok.pair_features[j, :g, :g],
            })
