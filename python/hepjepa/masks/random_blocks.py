"""Random masking: target and context groups drawn uniformly at random."""

from __future__ import annotations

import numpy as np

__all__ = ["random_order"]


def random_order(centers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random order of the jet's groups; blocks are runs in this order.

    Args:
        centers: (G, 2) centres of the real groups (only the length is used).
        rng: numpy Generator.
    Returns:
        (G,) int64 permutation.
    """
    return rng.permutation(len(centers)).astype(np.int64)
