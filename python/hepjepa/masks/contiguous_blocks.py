"""Contiguous masking: groups sequenced by greedy nearest neighbour in (eta, phi), blocks are runs.

As Point-JEPA and HEP-JEPA: start at a random group, repeatedly step to the closest
unvisited group; a run of consecutive groups in this sequence is a spatially
contiguous patch of the jet.
"""

from __future__ import annotations

import numpy as np

__all__ = ["greedy_sequence", "contiguous_order"]


def greedy_sequence(centers: np.ndarray, start: int = 0) -> np.ndarray:
    """Greedy nearest-neighbour ordering of points.

    Args:
        centers: (G, 2) (delta eta, delta phi).
        start: index of the first point.
    Returns:
        (G,) int64 permutation.
    """
    G = len(centers)
    if G == 0:
        return np.zeros(0, np.int64)
    if not 0 <= start < G:
        msg = f"start={start}: expected 0 <= start < {G}"
        raise ValueError(msg)
    d = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)  # (G, G)
    visited = np.zeros(G, bool)
    order = np.empty(G, np.int64)
    cur = start
    for i in range(G):
        order[i] = cur
        visited[cur] = True
        if i + 1 < G:
            row = np.where(visited, np.inf, d[cur])
            cur = int(np.argmin(row))
    return order


def contiguous_order(centers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Greedy NN sequence from a random starting group. centers (G, 2) -> (G,) permutation."""
    if len(centers) == 0:
        return np.zeros(0, np.int64)
    return greedy_sequence(np.asarray(centers, np.float64), int(rng.integers(len(centers))))
