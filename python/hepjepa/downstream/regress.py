"""Jet-level regression (jet mass, soft-drop mass, tau21, tau32) with a RegressionHead on a backbone.

The targets are standardised (mean 0, std 1 on the training set) for the MSE loss; the
scale is saved with the model so predictions come back in physical units.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hepjepa.downstream.heads import REGRESSION_TARGETS
from hepjepa.downstream.loop import fit
from hepjepa.downstream.tagger import Tagger
from hepjepa.downstream.tokens import batch as _batch
from hepjepa.downstream.tokens import load_tokens
from hepjepa.errors import UserInputError

if TYPE_CHECKING:
    from hepjepa.features import Tokens

__all__ = ["REGRESSION_TARGETS", "regression_targets", "load_regression_data", "train_regressor", "predict_targets", "resolution_metrics", "plot_pred_vs_true"]

_EPS = 1e-12


def regression_targets(jets, names=REGRESSION_TARGETS) -> np.ndarray:
    """Targets of each jet, (N, len(names)) float64; NaN where undefined (tau1 or tau2 = 0, missing branch).

    ``jet_mass`` is the invariant mass of the summed constituents (the same jet axis the
    features use); ``jet_sdmass`` and ``tau_N`` come from the JetClass branches.

    Raises:
        KeyError: an unknown target name, or a branch the target needs is absent (named).
    """
    import awkward as ak

    cols = []
    fields = set(ak.fields(jets))
    need = {"jet_sdmass": ["jet_sdmass"], "tau21": ["jet_tau1", "jet_tau2"], "tau32": ["jet_tau2", "jet_tau3"], "jet_mass": []}
    for name in names:
        if name not in need:
            msg = f"unknown regression target {name!r}; expected one of {sorted(need)}"
            raise KeyError(msg)
        missing = [b for b in need[name] if b not in fields]
        if missing:
            msg = f"target {name!r} needs branches {missing}, absent from the jets (fields: {sorted(fields)[:12]}...)"
            raise KeyError(msg)
        if name == "jet_mass":
            e, px, py, pz = (ak.to_numpy(ak.sum(jets[k], axis=1)).astype(np.float64) for k in ("energy", "px", "py", "pz"))
            cols.append(np.sqrt(np.clip(e**2 - px**2 - py**2 - pz**2, 0.0, None)))
        elif name == "jet_sdmass":
            cols.append(ak.to_numpy(jets["jet_sdmass"]).astype(np.float64))
        else:
            num, den = ("jet_tau2", "jet_tau1") if name == "tau21" else ("jet_tau3", "jet_tau2")
            n, d = ak.to_numpy(jets[num]).astype(np.float64), ak.to_numpy(jets[den]).astype(np.float64)
            cols.append(np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan))
    return np.stack(cols, axis=1)


def load_regression_data(paths, tokenizer_config, names=REGRESSION_TARGETS, max_jets: int | None = None,
                         step_size: int = 10_000) -> tuple[Tokens, np.ndarray]:
    """Tokens and targets of the jets whose targets are all finite and > 0 (relative resolution needs true > 0).

    Returns:
        (Tokens, targets (N, T) float64).

    Raises:
        ValueError: when no jet has usable targets.
    """
    def usable(chunk):
        y = regression_targets(chunk, names)
        return np.all(np.isfinite(y) & (y > 0), axis=1), y

    return load_tokens(paths, tokenizer_config, select=usable, max_jets=max_jets, step_size=step_size,
                       what=f"jets with finite, positive targets {list(names)}")


def train_regressor(model: Tagger, tokens, y: np.ndarray, val_tokens, y_val: np.ndarray, epochs: int = 10, batch_size: int = 64,
                    lr: float = 1e-3, backbone_lr_scale: float = 0.1, weight_decay: float = 0.01, seed: int = 0) -> dict[str, Any]:
    """Train ``model`` (a Tagger with a RegressionHead) on standardised targets with MSE; keep the best val epoch.

    Args:
        model: from ``build_tagger(..., {"kind": "regression"}, target_names, ...)``.
        tokens, y: training Tokens and targets (N, T) in physical units.
        val_tokens, y_val: validation set.
        epochs, batch_size, lr, weight_decay: AdamW with cosine decay over all steps.
        backbone_lr_scale: lr factor of a fine-tuned pretrained backbone (1 for scratch).
        seed: batch order.

    Returns:
        history dict: ``train_loss``, ``val_loss`` per epoch, ``best_epoch``, ``target_mean``, ``target_std``.
    """
    if y.ndim != 2 or y.shape[1] != model.n_classes:
        msg = f"targets of shape {y.shape}: expected (N, {model.n_classes})"
        raise UserInputError(msg)
    mean, std = y.mean(0), y.std(0) + _EPS
    model.target_mean, model.target_std = mean.tolist(), std.tolist()
    z, z_val = (y - mean) / std, (y_val - mean) / std
    bb = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    if bb:
        groups.append({"params": bb, "lr": lr * (1.0 if model.mode == "scratch" else backbone_lr_scale)})
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    n = len(z)
    total = epochs * math.ceil(n / batch_size)

    def set_lr(step: int, epoch: int) -> None:  # cosine decay over all steps, no warm-up
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))

    def batch_loss(idx):
        out = model(*_batch(tokens, idx))  # (B, T) standardised predictions
        return torch.nn.functional.mse_loss(out, torch.as_tensor(z[idx], dtype=out.dtype))

    hist = fit(model, opt, n, batch_size=batch_size, epochs=epochs, rng=rng, batch_loss=batch_loss,
               val_loss=lambda: float(np.mean((_raw(model, val_tokens) - z_val) ** 2)), set_lr=set_lr)
    hist.update(target_mean=model.target_mean, target_std=model.target_std)
    return hist


def predict_targets(model: Tagger, tokens) -> np.ndarray:
    """Predictions in physical units (N, T), undoing the training standardisation."""
    return _raw(model, tokens) * np.asarray(model.target_std) + np.asarray(model.target_mean)


def _raw(model: Tagger, tokens, batch_size: int = 256) -> np.ndarray:
    # the head's standardised outputs (the Tagger must output logits: no softmax for regression)
    if model.output != "logits":
        msg = f"a regression Tagger must have output='logits', got {model.output!r}"
        raise UserInputError(msg)
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(tokens), batch_size):
            out.append(model(*_batch(tokens, np.arange(s, min(s + batch_size, len(tokens))))).numpy())  # (B, T)
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, model.n_classes))


def resolution_metrics(pred: np.ndarray, true: np.ndarray, names=REGRESSION_TARGETS) -> dict[str, dict[str, float]]:
    """Per target, of r = (pred - true) / true: bias (median and mean), std, and IQR/1.349 (robust Gaussian width).

    Raises:
        ValueError: shapes differ or a true value is <= 0.
    """
    if pred.shape != true.shape or pred.shape[1] != len(names):
        msg = f"pred {pred.shape} and true {true.shape}: expected equal (N, {len(names)})"
        raise UserInputError(msg)
    if np.any(true <= 0):
        msg = f"{int(np.sum(true <= 0))} true values <= 0: the relative resolution needs true > 0"
        raise UserInputError(msg)
    out = {}
    for k, name in enumerate(names):
        r = (pred[:, k] - true[:, k]) / true[:, k]
        q25, q50, q75 = np.percentile(r, [25, 50, 75])
        out[name] = {"bias_median": float(q50), "bias_mean": float(r.mean()), "std": float(r.std()),
                     "iqr_over_1.349": float((q75 - q25) / 1.349), "n": int(len(r))}
    return out


def plot_pred_vs_true(pred: np.ndarray, true: np.ndarray, path, names=REGRESSION_TARGETS) -> None:
    """2D histograms of predicted vs true per target, with the diagonal, into one PNG (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    from hepjepa.atomic import atomic_path

    plt.style.use(mplhep.style.CMS)
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 6), squeeze=False)
    for k, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        lo, hi = np.percentile(np.concatenate([true[:, k], pred[:, k]]), [0.5, 99.5])
        ax.hist2d(true[:, k], pred[:, k], bins=40, range=[[lo, hi], [lo, hi]], cmin=1)
        ax.plot([lo, hi], [lo, hi], "r--", lw=1)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=60)
    plt.close(fig)
