"""Fine-tuning a Tagger on tokenised jets: AdamW, cosine schedule, early stopping on val loss.

The data side is plain arrays (``Tokens`` + labels), so the same loop serves the CLI, the
benchmarks and the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hepjepa.config import Config, ConfigError
from hepjepa.downstream.loop import fit
from hepjepa.downstream.tagger import MODES, Tagger, save_tagger
from hepjepa.downstream.tokens import batch, load_tokens
from hepjepa.errors import UserInputError

__all__ = ["FinetuneConfig", "finetune", "predict", "load_labelled_tokens", "remap_labels", "backbone_layer_ids", "param_groups"]



@dataclass
class FinetuneConfig(Config):
    """Training settings, saved with the tagger checkpoint.

    Attributes:
        mode: frozen | finetune | scratch.
        head: class_attention | linear.
        label_fraction: stratified fraction of the training labels used (5e-4 .. 1).
        epochs: maximum epochs.
        batch_size: jets per step.
        lr: peak learning rate of the head (the backbone gets ``lr * backbone_lr_scale``).
        backbone_lr_scale: fine-tuning a pretrained backbone gently keeps its features.
        layer_decay: layer-wise lr decay (BEiT/MAE fine-tuning) of a pretrained backbone: its
            top block gets ``lr * backbone_lr_scale``, each block below ``layer_decay`` times
            less, the embeddings the least; 1.0 = one lr for the whole backbone. Not used in
            ``scratch`` mode (random weights have no features to keep).
        weight_decay: AdamW weight decay.
        head_warmup_epochs: in ``finetune`` mode, train only the head for this many epochs
            before the backbone joins (LP-FT, Kumar et al. 2022: a random head's large early
            gradients otherwise distort pretrained features, which hurts most with few labels).
        warmup_frac: linear warm-up fraction of all steps.
        patience: epochs without val-loss improvement before stopping.
        seed: seeds the split, the head init and the batch order.
    """

    mode: str = "finetune"
    head: str = "class_attention"
    label_fraction: float = 1.0
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    layer_decay: float = 1.0
    weight_decay: float = 0.01
    head_warmup_epochs: int = 0
    warmup_frac: float = 0.05
    patience: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f"mode must be one of {MODES}, got {self.mode!r}"
            raise ConfigError(msg)
        if self.head not in ("class_attention", "linear"):
            msg = f"head must be 'class_attention' or 'linear', got {self.head!r}"
            raise ConfigError(msg)
        if not 0.0 < self.layer_decay <= 1.0:
            msg = f"layer_decay must lie in (0, 1], got {self.layer_decay}"
            raise ConfigError(msg)
        if self.backbone_lr_scale < 0.0:
            msg = f"backbone_lr_scale must be >= 0, got {self.backbone_lr_scale}"
            raise ConfigError(msg)
        if not (isinstance(self.head_warmup_epochs, int) and 0 <= self.head_warmup_epochs < self.epochs):
            msg = f"head_warmup_epochs={self.head_warmup_epochs!r}: expected an int in [0, epochs={self.epochs})"
            raise ConfigError(msg)
        if self.epochs < 1 or self.batch_size < 1:
            msg = f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            raise ConfigError(msg)


def remap_labels(labels: np.ndarray, class_indices: list[int]) -> np.ndarray:
    """Map global JetClass label indices to positions in ``class_indices``.

    Raises:
        ValueError: a label not among ``class_indices`` (named).
    """
    lut = {c: i for i, c in enumerate(class_indices)}
    bad = sorted(set(np.unique(labels).tolist()) - set(lut))
    if bad:
        msg = f"labels {bad} are not among the tagger's classes {class_indices}"
        raise UserInputError(msg)
    return np.array([lut[int(v)] for v in labels], dtype=np.int64)


def load_labelled_tokens(paths, tokenizer_config, max_jets: int | None = None, step_size: int = 10_000):
    """Read and tokenise jets from files (any supported format), keeping only labelled jets.

    Args:
        paths: file paths or globs for ``hepjepa.data.iter_jets``.
        tokenizer_config: ``TokenizerConfig``.
        max_jets: read at most this many jets.

    Returns:
        (Tokens, labels (N,) int64 global JetClass indices).
    """
    def labelled(chunk):
        if "label" not in chunk.fields:
            msg = f"jets from {paths} carry no 'label' field; fine-tuning needs labelled data"
            raise UserInputError(msg)
        lab = np.asarray(chunk["label"], dtype=np.int64)
        return lab >= 0, lab

    return load_tokens(paths, tokenizer_config, select=labelled, max_jets=max_jets, step_size=step_size, what="labelled jets")


_batch = batch  # the five model inputs of a batch of jets (hepjepa.downstream.tokens.batch)


@torch.no_grad()
def predict(tagger: Tagger, tokens, batch_size: int = 256, embeddings: bool = False) -> np.ndarray:
    """Softmax scores (N, C) of the tagger, or its pooled embeddings (N, 2D) if ``embeddings``."""
    tagger.eval()
    out = []
    for s in range(0, len(tokens), batch_size):
        x = _batch(tokens, np.arange(s, min(s + batch_size, len(tokens))))
        out.append((tagger.embed(*x) if embeddings else tagger.scores(*x)).numpy())
    return np.concatenate(out) if out else np.zeros((0, tagger.n_classes), np.float32)


def backbone_layer_ids(backbone: torch.nn.Module) -> dict[str, int]:
    """Depth index of every backbone parameter, for layer-wise lr decay.

    0 = input side (group/positional embeddings, registers, pairwise-bias MLP: every block
    reads them), ``i + 1`` = transformer block ``i``, ``depth + 1`` = the final norm.

    Args:
        backbone: a ``hepjepa.model.Backbone`` (parameters named ``blocks.<i>.*``, ``norm.*``).

    Returns:
        ``{parameter name: layer id}`` for every named parameter.
    """
    depth = len(getattr(backbone, "blocks", ()))
    ids = {}
    for name, _ in backbone.named_parameters():
        if name.startswith("blocks."):
            ids[name] = int(name.split(".")[1]) + 1
        elif name.startswith("norm."):
            ids[name] = depth + 1
        else:
            ids[name] = 0
    return ids


def param_groups(tagger: Tagger, config: FinetuneConfig) -> list[dict[str, Any]]:
    """AdamW parameter groups with their peak learning rates.

    The head learns at ``config.lr``. In ``scratch`` mode the backbone does too; in
    ``finetune`` mode the backbone layer with id ``l`` (``backbone_layer_ids``) learns at
    ``lr * backbone_lr_scale * layer_decay ** (top - l)``, top = the final norm; in
    ``frozen`` mode the backbone has no group.

    Args:
        tagger: the Tagger to train.
        config: FinetuneConfig.

    Returns:
        List of ``{"params": [...], "lr": float, "name": str}`` (no empty groups).
    """
    groups = [{"params": [p for p in tagger.head.parameters() if p.requires_grad], "lr": config.lr, "name": "head"}]
    if tagger.mode == "frozen":
        return groups
    if tagger.mode == "scratch":
        groups.append({"params": list(tagger.backbone.parameters()), "lr": config.lr, "name": "backbone"})
        return groups
    ids = backbone_layer_ids(tagger.backbone)
    top = max(ids.values(), default=0)
    by_layer: dict[int, list] = {}
    for name, p in tagger.backbone.named_parameters():
        by_layer.setdefault(ids[name], []).append(p)
    for lid in sorted(by_layer):
        lr = config.lr * config.backbone_lr_scale * config.layer_decay ** (top - lid)
        groups.append({"params": by_layer[lid], "lr": lr, "name": f"backbone.layer{lid}"})
    return groups


def _val_loss(tagger: Tagger, tokens, labels: np.ndarray, batch_size: int) -> float:
    p = predict(tagger, tokens, batch_size)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, None))))


def finetune(
    tagger: Tagger,
    train_tokens,
    train_labels: np.ndarray,
    val_tokens,
    val_labels: np.ndarray,
    config: FinetuneConfig,
    out_path: str | Path | None = None,
    extra: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``tagger`` (labels already local 0..C-1); keep the weights of the best val loss.

    Args:
        tagger: a Tagger with ``output="logits"``.
        train_tokens, train_labels: the (already label-fraction-selected) training set.
        val_tokens, val_labels: validation set for early stopping.
        config: FinetuneConfig.
        out_path: if given, the best tagger is saved there (atomically) with its history.
        extra: metadata stored in the checkpoint.
        progress: show a tqdm bar.

    Returns:
        History dict: ``train_loss``, ``val_loss`` per epoch, ``best_epoch``, ``best_val_loss``.
    """
    from tqdm import tqdm

    if tagger.output != "logits":
        msg = f"train a tagger with output='logits', got {tagger.output!r}"
        raise UserInputError(msg)
    for name, lab in (("train", train_labels), ("val", val_labels)):
        if len(lab) and (lab.min() < 0 or lab.max() >= tagger.n_classes):
            msg = f"{name} labels must lie in [0, {tagger.n_classes - 1}], got [{lab.min()}, {lab.max()}]"
            raise UserInputError(msg)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    opt = torch.optim.AdamW(param_groups(tagger, config), weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train_labels) / config.batch_size))
    total = steps_per_epoch * config.epochs
    warm = max(1, int(config.warmup_frac * total))
    base = [g["lr"] for g in opt.param_groups]
    backbone_params = [p for g in opt.param_groups if g["name"].startswith("backbone") for p in g["params"]]
    y_all = torch.from_numpy(train_labels.astype(np.int64))

    def head_only(epoch: int) -> bool:
        return tagger.mode == "finetune" and epoch < config.head_warmup_epochs

    def before_epoch(epoch: int) -> None:
        for p in backbone_params:  # LP-FT: no backbone gradient (and no AdamW step) while the head warms up
            p.requires_grad_(not head_only(epoch))

    def set_lr(step: int, epoch: int) -> None:  # linear warm-up, then cosine; the backbone waits during LP-FT
        f = (step + 1) / warm if step < warm else 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
        for g, b in zip(opt.param_groups, base, strict=True):
            g["lr"] = 0.0 if head_only(epoch) and g["name"].startswith("backbone") else b * f

    hist = fit(tagger, opt, len(train_labels), batch_size=config.batch_size, epochs=config.epochs, rng=rng,
               batch_loss=lambda idx: F.cross_entropy(tagger(*_batch(train_tokens, idx)), y_all[idx]),
               val_loss=lambda: _val_loss(tagger, val_tokens, val_labels, 256), set_lr=set_lr, clip=1.0,
               patience=config.patience, min_delta=1e-6, before_epoch=before_epoch,
               bar=tqdm(range(config.epochs), desc=f"finetune[{tagger.mode}]", disable=not progress))
    if out_path is not None:
        save_tagger(tagger, out_path, extra={"finetune": config.to_dict(), "history": hist, **(extra or {})})
    return hist
