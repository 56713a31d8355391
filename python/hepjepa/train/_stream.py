"""Streamed, sharded, shuffled, tokenised jets with a saveable position (for exact resume)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["JetStream"]


class JetStream:
    """Read ROOT files chunk by chunk, tokenise, shuffle within a buffer; never all in memory.

    Args:
        paths: JetClass-format ROOT files (this rank reads ``paths[rank::world]``).
        tokenizer: hepjepa.features.TokenizerConfig.
        chunk_size: jets read per chunk.
        buffer_size: shuffle-buffer size in jets.
        seed: shuffle seed (rank-offset).
        rank, world: DDP shard.
    """

    def __init__(self, paths, tokenizer, chunk_size: int, buffer_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        paths = [str(p) for p in paths]
        if len(paths) < world:
            raise ValueError(f"{len(paths)} data file(s) for {world} ranks: expected at least one file per rank")
        self.paths = paths[rank::world]
        self.tokenizer, self.chunk_size, self.buffer_size = tokenizer, chunk_size, buffer_size
        self.rng = np.random.default_rng(seed + 7919 * rank)
        self.epoch, self.file_idx, self.entry = 0, 0, 0
        self.buffer: list[dict[str, np.ndarray]] = []

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "file_idx": self.file_idx, "entry": self.entry, "rng": self.rng.bit_generator.state, "buffer": list(self.buffer)}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.epoch, self.file_idx, self.entry = s["epoch"], s["file_idx"], s["entry"]
        self.rng.bit_generator.state = s["rng"]
        self.buffer = list(s["buffer"])

    def next_batch(self, batch_size: int) -> list[dict[str, np.ndarray]]:
        """``batch_size`` jets drawn at random from the buffer (refilled from the files)."""
        while len(self.buffer) < max(self.buffer_size, batch_size):
            self._read_chunk()
        out = []
        for _ in range(batch_size):
            i = int(self.rng.integers(len(self.buffer)))
            self.buffer[i], self.buffer[-1] = self.buffer[-1], self.buffer[i]
            out.append(self.buffer.pop())
        return out

    def _read_chunk(self) -> None:
        from hepjepa.data._jetclass import iter_file
        from hepjepa.features import tokenize

        path = self.paths[self.file_idx]
        chunk = next(iter_file(path, self.chunk_size, entry_start=self.entry), None)
        if chunk is None or len(chunk) == 0:
            if self.entry == 0:
                raise ValueError(f"{path}: no jets")
            self.file_idx, self.entry = self.file_idx + 1, 0
            if self.file_idx == len(self.paths):  # next epoch: same files, order reshuffled by the buffer
                self.file_idx, self.epoch = 0, self.epoch + 1
            return
        self.entry += len(chunk)
        tok = tokenize(chunk, self.tokenizer)
        gm = tok.group_mask
        for j in range(len(tok)):
            g = int(gm[j].sum())
            if g < 2:  # a jet needs a context and a target
                continue
            self.buffer.append({
                "features": tok.features[j, :g], "particle_mask": tok.particle_mask[j, :g], "group_mask": gm[j, :g],
                "centers": tok.centers[j, :g], "pair_features": tok.pair_features[j, :g, :g],
            })
