"""The JEPA data collator: batches tokenised jets and draws context/target masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hepjepa.contract import MODEL_INPUTS
from hepjepa.masks.contiguous_blocks import contiguous_order
from hepjepa.masks.random_blocks import random_order

__all__ = ["JEPACollator", "STRATEGIES", "MODEL_INPUTS"]

STRATEGIES = {"random": random_order, "contiguous": contiguous_order}


class JEPACollator:
    """Turn tokenised jets into a JEPA batch.

    Targets: ``n_targets`` runs (in the strategy's group order) of ``target_scale`` x G groups.
    Context: a run of ``context_scale`` x G groups, minus every target group.

    Args:
        strategy: "random" or "contiguous".
        target_scale: (lo, hi) fraction of the real groups per target block.
        n_targets: target blocks per jet.
        context_scale: (lo, hi) fraction of the real groups in the context block.
        seed: seed of the mask RNG (its state is saveable: ``state_dict``).

    Call with a list of per-jet dicts (the five model inputs, numpy or torch, without
    the batch axis) or with one Tokens-like object / dict holding a batch.
    Returns a dict of torch tensors: the five inputs plus ``context_idx`` (B, C) long,
    ``context_mask`` (B, C) float, ``target_idx`` (B, T) long, ``target_mask`` (B, T) float.
    """

    def __init__(self, strategy: str = "contiguous", target_scale=(0.15, 0.2), n_targets: int = 1, context_scale=(0.85, 1.0), seed: int = 0) -> None:
        if strategy not in STRATEGIES:
            msg = f"strategy={strategy!r}: expected one of {sorted(STRATEGIES)}"
            raise ValueError(msg)
        for name, (lo, hi) in (("target_scale", target_scale), ("context_scale", context_scale)):
            if not 0.0 < lo <= hi <= 1.0:
                msg = f"{name}={(lo, hi)}: expected 0 < lo <= hi <= 1"
                raise ValueError(msg)
        if n_targets < 1:
            msg = f"n_targets={n_targets}: expected >= 1"
            raise ValueError(msg)
        self.strategy, self.order = strategy, STRATEGIES[strategy]
        self.target_scale, self.context_scale, self.n_targets = tuple(target_scale), tuple(context_scale), n_targets
        self.rng = np.random.default_rng(seed)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]

    def __call__(self, samples) -> dict[str, torch.Tensor]:
        batch = _stack(samples)  # dict of (B, G, ...) float32 numpy
        gm = batch["group_mask"]
        ctx, tgt = [], []
        for b in range(gm.shape[0]):
            real = np.flatnonzero(gm[b] > 0)
            c, t = self._draw(batch["centers"][b, real])
            ctx.append(real[c])
            tgt.append(real[t])
        out = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}
        out["context_idx"], out["context_mask"] = _pad(ctx)
        out["target_idx"], out["target_mask"] = _pad(tgt)
        return out

    def _draw(self, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices (into the real groups) of the context and the targets of one jet."""
        G = len(centers)
        if G < 2:
            msg = f"a jet with {G} real group(s) cannot be split into context and target; expected >= 2"
            raise ValueError(msg)
        order = self.order(centers, self.rng)  # (G,)
        targets = set()
        for _ in range(self.n_targets):
            n = _count(self.rng, self.target_scale, G)
            s = int(self.rng.integers(G))
            targets.update(order[(s + np.arange(n)) % G].tolist())  # a run, wrapping around
        n_ctx = _count(self.rng, self.context_scale, G)
        s = int(self.rng.integers(G))
        context = [i for i in order[(s + np.arange(n_ctx)) % G].tolist() if i not in targets]
        if not context:  # never leave the predictor without context: keep the first non-target group
            context = [i for i in order.tolist() if i not in targets][:1]
        if not context:
            targets.discard(int(order[0]))
            context = [int(order[0])]
        return np.sort(np.array(context, np.int64)), np.sort(np.array(sorted(targets), np.int64))


def _count(rng: np.random.Generator, scale: tuple[float, float], G: int) -> int:
    return max(1, min(G, int(round(rng.uniform(*scale) * G))))


def _pad(rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    M = max(len(r) for r in rows)
    idx = np.zeros((len(rows), M), np.int64)
    mask = np.zeros((len(rows), M), np.float32)
    for i, r in enumerate(rows):
        idx[i, : len(r)], mask[i, : len(r)] = r, 1.0
    return torch.from_numpy(idx), torch.from_numpy(mask)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _stack(samples) -> dict[str, np.ndarray]:
    """Batch dict (B, G, ...) from a batch object/dict or a list of per-jet dicts, padding G."""
    if hasattr(samples, "model_inputs"):
        samples = samples.model_inputs()
    if isinstance(samples, dict):
        return {k: _np(samples[k]).astype(np.float32) for k in MODEL_INPUTS}
    if not samples:
        msg = "empty list of samples"
        raise ValueError(msg)
    G = max(_np(s["group_mask"]).shape[0] for s in samples)
    out = {}
    for k in MODEL_INPUTS:
        arrs = [_np(s[k]).astype(np.float32) for s in samples]
        shape = list(arrs[0].shape)
        shape[0] = G
        if k == "pair_features":
            shape[1] = G
        buf = np.zeros([len(arrs)] + shape, np.float32)
        for i, a in enumerate(arrs):
            sl = (i, slice(0, a.shape[0]), slice(0, a.shape[1])) if k == "pair_features" else (i, slice(0, a.shape[0]))
            buf[sl] = a
        out[k] = buf
    return out
