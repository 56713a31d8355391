"""Linear probe: logistic regression (sklearn) on frozen pooled embeddings, a quick representation check."""

from __future__ import annotations

import numpy as np

from hepjepa.downstream.metrics import accuracy, one_vs_rest_auc
from hepjepa.errors import UserInputError

__all__ = ["linear_probe"]


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 C: float = 1.0, seed: int = 0, max_iter: int = 2000) -> dict:
    """Fit a standardised logistic regression on ``train_x`` and score it on ``test_x``.

    Args:
        train_x: (N, E) embeddings. train_y: (N,) class indices.
        test_x: (M, E). test_y: (M,).
        C: inverse L2 strength. seed: solver seed. max_iter: solver iterations.

    Returns:
        ``{"accuracy", "auc": {class: v}, "n_train", "n_test"}``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        msg = f"embeddings must be (N, E) with equal E, got {train_x.shape} and {test_x.shape}"
        raise UserInputError(msg)
    if len(np.unique(train_y)) < 2:
        msg = f"a probe needs >= 2 classes in training, got {np.unique(train_y).tolist()}"
        raise UserInputError(msg)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    clf.fit(train_x, train_y)
    proba = np.zeros((len(test_y), int(max(train_y.max(), test_y.max())) + 1))
    proba[:, clf.classes_] = clf.predict_proba(test_x)
    return {"accuracy": accuracy(proba, test_y), "auc": {int(k): v for k, v in one_vs_rest_auc(proba, test_y).items()},
            "n_train": int(len(train_y)), "n_test": int(len(test_y))}
