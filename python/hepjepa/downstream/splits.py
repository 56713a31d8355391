"""Stratified label fractions for few-shot fine-tuning (0.05% .. 100%), seeded."""

from __future__ import annotations

import numpy as np

from hepjepa.errors import UserInputError

__all__ = ["MIN_FRACTION", "stratified_fraction"]

#: The smallest label fraction the benchmarks use (0.05%).
MIN_FRACTION = 5e-4


def stratified_fraction(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a stratified subset holding ``fraction`` of each class, at least one jet per class.

    Each class keeps ``max(1, round(fraction * n_class))`` jets, drawn without replacement
    with a generator seeded by ``seed``, so the same call gives the same subset.

    Args:
        labels: (N,) integer class labels (>= 0).
        fraction: in [5e-4, 1].
        seed: random seed.

    Returns:
        Sorted int64 indices into ``labels``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        msg = f"labels must be 1-D, got shape {labels.shape}"
        raise UserInputError(msg)
    if not MIN_FRACTION <= fraction <= 1.0:
        msg = f"fraction must lie in [{MIN_FRACTION}, 1], got {fraction}"
        raise UserInputError(msg)
    if labels.size and labels.min() < 0:
        msg = f"labels must be >= 0 (unknown = -1 cannot be stratified), got min {labels.min()}"
        raise UserInputError(msg)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(1, int(round(fraction * len(idx))))
        picked.append(rng.choice(idx, size=k, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64) if picked else np.zeros(0, np.int64)
