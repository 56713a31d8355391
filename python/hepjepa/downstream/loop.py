"""The one training loop of the downstream tasks: shuffled batches, a loss hook, a learning-rate hook, the best epoch kept.

Classification (``finetune``) and regression (``train_regressor``) differ only in what they
pass: the loss of a batch, how each parameter group's learning rate follows the step, the
validation loss, gradient clipping and early stopping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["fit"]


def fit(model: torch.nn.Module, opt: torch.optim.Optimizer, n_train: int, *, batch_size: int, epochs: int,
        rng: np.random.Generator, batch_loss: Callable[[np.ndarray], torch.Tensor], val_loss: Callable[[], float],
        set_lr: Callable[[int, int], None], clip: float | None = None, patience: int | None = None, min_delta: float = 0.0,
        before_epoch: Callable[[int], None] | None = None, bar=None) -> dict[str, Any]:
    """Train ``model``; keep the weights of the epoch with the lowest validation loss.

    Args:
        model: the module (``train()`` each epoch, ``eval()`` and the best weights at the end).
        opt: its optimizer.
        n_train: training jets.
        batch_size, epochs: the schedule.
        rng: the batch order (one permutation per epoch).
        batch_loss: loss of the jets ``idx`` (a differentiable scalar).
        val_loss: the validation loss after an epoch.
        set_lr: ``set_lr(step, epoch)`` sets every group's learning rate before a step.
        clip: clip the gradient norm of every optimised parameter to this (None: no clipping).
        patience: stop after this many epochs without improvement (None: run every epoch).
        min_delta: an improvement must beat the best loss by more than this.
        before_epoch: called with the epoch number first (e.g. to freeze a backbone).
        bar: an iterable over the epochs with ``set_postfix`` (a tqdm bar), or None.

    Returns:
        ``{"train_loss": [...], "val_loss": [...], "best_epoch", "best_val_loss"}``.
    """
    hist: dict[str, Any] = {"train_loss": [], "val_loss": [], "best_epoch": -1, "best_val_loss": float("inf")}
    best_state, bad, step = None, 0, 0
    params = [p for g in opt.param_groups for p in g["params"]]
    for epoch in (bar if bar is not None else range(epochs)):
        if before_epoch is not None:
            before_epoch(epoch)
        model.train()
        order = rng.permutation(n_train)
        losses = []
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            set_lr(step, epoch)
            loss = batch_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            losses.append(loss.item())
            step += 1
        vl = val_loss()
        hist["train_loss"].append(float(np.mean(losses)))
        hist["val_loss"].append(vl)
        if bar is not None:
            bar.set_postfix(train=f"{hist['train_loss'][-1]:.4f}", val=f"{vl:.4f}")
        if vl < hist["best_val_loss"] - min_delta:
            hist["best_val_loss"], hist["best_epoch"], bad = vl, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if patience is not None and bad >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return hist
