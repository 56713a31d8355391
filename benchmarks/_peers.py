"""Peer taggers from weaver-core (ParT, ParticleNet) on our jets: input adapter, models, training.

The peers are weaver-core's own classes (``weaver.nn.model.ParticleTransformer.ParticleTransformer``,
``weaver.nn.model.ParticleNet.ParticleNet``), not copies. This module only

* turns our jets (``hepjepa.data.read_jets`` records) into weaver's particle inputs, with the
  per-particle features computed by the ONE implementation in ``hepjepa.features``
  (``_kernels.particle_features``) and normalised with ``hepjepa.features.DEFAULT_FEATURES``
  (whose centres/scales are ParT's JetClass preprocessing);
* builds CPU-sized variants of the two models (:data:`PEER_CONFIGS`);
* trains them with the same loop as ``hepjepa.downstream.finetune`` (AdamW, 5 % linear warm-up,
  cosine decay, grad-norm clip 1, early stopping on the val loss, best-val weights kept).

Inputs (padding = 0 everywhere, masks 1 = real particle, particles sorted by decreasing pT,
the hardest ``max_particles`` kept; the jet axis is the four-vector sum of ALL constituents):

========== ================ =====================================================================
name       shape            content
========== ================ =====================================================================
pf_points  (N, 2, P)        (delta eta, delta phi) w.r.t. the jet axis (ParticleNet's kNN space)
pf_features (N, 13, P)      :data:`PF_FEATURES`, normalised (ParT's 17 minus the 4 impact-parameter
                            features d0, d0err, dz, dzerr: our generator has no tracking)
pf_vectors (N, 4, P)        (px, py, pz, E) in GeV (ParT's pairwise interaction features)
pf_mask    (N, 1, P)        1 = real particle, 0 = padding
========== ================ =====================================================================
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numba
import numpy as np

from hepjepa.features import DEFAULT_FEATURES, FLAG_FIELDS, FeatureSpec, _kernels
from hepjepa.features.config import RAW_FEATURES

__all__ = ["PEER_INPUTS", "PF_FEATURES", "PEER_CONFIGS", "PUBLISHED_CONFIGS", "peer_inputs", "build_peer",
           "train_peer", "predict_peer", "require_weaver", "export_peer_onnx"]

#: Input names, in model-call order (also the ONNX input names of an exported peer).
PEER_INPUTS: tuple[str, ...] = ("pf_points", "pf_features", "pf_vectors", "pf_mask")
#: ParT's particle features (its JetClass "full" set) that our jets have, in ParT's order.
PF_FEATURES: tuple[str, ...] = ("log_pt", "log_e", "log_pt_rel", "log_e_rel", "dR", "charge", *FLAG_FIELDS, "deta", "dphi")
_SPECS: dict[str, FeatureSpec] = {f.name: f for f in DEFAULT_FEATURES}

#: CPU-sized models, the same for every task (see PUBLISHED_CONFIGS for the published sizes).
PEER_CONFIGS: dict[str, dict[str, Any]] = {
    # ParT at the JEPA backbone's width (64) with 2 particle-attention blocks + 1 class-attention
    # block and a one-layer pair embedding: ~6 ms/jet/step on one loaded core instead of ~100
    "part": {"embed_dims": (32, 64), "pair_embed_dims": (16,), "num_heads": 4, "num_layers": 2, "num_cls_layers": 1, "fc_params": ()},
    # ParticleNet-Lite exactly as published (and weaver's default)
    "particlenet": {"conv_params": [(7, (32, 32, 32)), (7, (64, 64, 64))], "fc_params": [(128, 0.1)]},
}
#: The published sizes (ParT: Qu, Li, Qian 2022; ParticleNet: Qu, Gouskos 2020) for the record.
PUBLISHED_CONFIGS: dict[str, dict[str, Any]] = {
    "part": {"embed_dims": (128, 512, 128), "pair_embed_dims": (64, 64, 64), "num_heads": 8, "num_layers": 8, "num_cls_layers": 2, "fc_params": ()},
    "particlenet": {"conv_params": [(16, (64, 64, 64)), (16, (128, 128, 128)), (16, (256, 256, 256))], "fc_params": [(256, 0.1)]},
}


def require_weaver():
    """Import weaver's model package or raise ImportError with the install hint."""
    try:
        import weaver.nn.model.ParticleNet  # noqa: F401
        import weaver.nn.model.ParticleTransformer  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the peer models need weaver-core: pip install --no-deps weaver-core==0.5.3") from e
    import logging

    # weaver logs every constructor's locals() at INFO; keep benchmark output readable
    logging.getLogger("weaver").setLevel(logging.WARNING)
    return weaver.nn.model


def peer_inputs(jets, max_particles: int = 128, eps: float = 1e-8) -> dict[str, np.ndarray]:
    """weaver-style particle inputs of ``jets`` (see the module docstring for the layout).

    Args:
        jets: ``ak.Array`` of jet records with jagged ``px, py, pz, energy`` and optionally
            ``charge`` and the particle-type flags (absent -> 0).
        max_particles: P, the padded particle count (the hardest P particles are kept).
        eps: log / division guard (the tokeniser's default).

    Returns:
        dict of float32 arrays named :data:`PEER_INPUTS`.

    Raises:
        KeyError: a four-momentum field is missing. ValueError: bad ``max_particles`` or NaN/inf.
    """
    import awkward as ak

    if not (isinstance(max_particles, (int, np.integer)) and max_particles >= 1):
        raise ValueError(f"max_particles={max_particles!r}; expected an int >= 1")
    fields = set(ak.fields(jets))
    missing = [f for f in ("px", "py", "pz", "energy") if f not in fields]
    if missing:
        raise KeyError(f"jets lack fields {missing}; have {sorted(fields)}")
    counts = ak.to_numpy(ak.num(jets.px, axis=1)).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    P4 = [np.ascontiguousarray(ak.to_numpy(ak.flatten(jets[f], axis=1)), np.float64) for f in ("px", "py", "pz", "energy")]
    n_part = int(offsets[-1])
    charge = np.ascontiguousarray(ak.to_numpy(ak.flatten(jets["charge"], axis=1)), np.float64) if "charge" in fields else np.zeros(n_part)
    flags = np.zeros((len(FLAG_FIELDS), n_part))
    for i, f in enumerate(FLAG_FIELDS):
        if f in fields:
            flags[i] = ak.to_numpy(ak.flatten(jets[f], axis=1))
    for name, a in zip(("px", "py", "pz", "energy", "charge"), (*P4, charge)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            jet = int(np.searchsorted(offsets, bad[0], side="right")) - 1
            raise ValueError(f"non-finite value in field {name!r} of jet index {jet}")
    specs = [_SPECS[n] for n in PF_FEATURES]
    feat_idx = np.array([RAW_FEATURES.index(n) for n in PF_FEATURES], np.int64)
    centre = np.array([s.centre for s in specs])
    scale = np.array([s.scale for s in specs])
    clip = np.array([np.inf if s.clip is None else s.clip for s in specs])
    N, P = len(counts), int(max_particles)
    out = {"pf_points": np.zeros((N, 2, P), np.float32), "pf_features": np.zeros((N, len(PF_FEATURES), P), np.float32),
           "pf_vectors": np.zeros((N, 4, P), np.float32), "pf_mask": np.zeros((N, 1, P), np.float32)}
    _fill(*P4, charge, flags, offsets, P, eps, feat_idx, centre, scale, clip,
          out["pf_points"], out["pf_features"], out["pf_vectors"], out["pf_mask"])
    return out


@numba.njit(cache=True)
def _fill(px, py, pz, e, charge, flags, offsets, P, eps, feat_idx, centre, scale, clip, points, feats, vecs, mask):
    # raw features come from the tokeniser's kernel, so ParT/ParticleNet and JEPA see the
    # very same numbers; only the padding layout (per particle, pT-ordered) differs
    n_raw = _kernels.N_RAW
    for j in range(offsets.shape[0] - 1):
        a, b = offsets[j], offsets[j + 1]
        n = b - a
        if n == 0:
            continue
        raw = np.empty((n, n_raw))
        fl = np.ascontiguousarray(flags[:, a:b])
        _kernels.particle_features(px[a:b], py[a:b], pz[a:b], e[a:b], charge[a:b], fl, eps, raw)
        pt = np.sqrt(px[a:b] ** 2 + py[a:b] ** 2)
        order = np.argsort(-pt, kind="mergesort")  # stable: ties keep file order
        for s in range(min(n, P)):
            i = order[s]
            points[j, 0, s] = raw[i, 0]
            points[j, 1, s] = raw[i, 1]
            for f in range(feat_idx.shape[0]):
                v = (raw[i, feat_idx[f]] - centre[f]) * scale[f]
                feats[j, f, s] = min(max(v, -clip[f]), clip[f])
            vecs[j, 0, s] = px[a + i]
            vecs[j, 1, s] = py[a + i]
            vecs[j, 2, s] = pz[a + i]
            vecs[j, 3, s] = e[a + i]
            mask[j, 0, s] = 1.0


def build_peer(kind: str, n_classes: int, seed: int = 0, for_inference: bool = False, config: dict | None = None):
    """A weaver ParT or ParticleNet wrapped to take :data:`PEER_INPUTS` and return logits.

    Args:
        kind: ``"part"`` or ``"particlenet"``.
        n_classes: output classes.
        seed: seeds torch before the random initialisation.
        for_inference: weaver's ONNX flag (softmax output, ONNX-friendly pair embedding).
        config: model kwargs (default :data:`PEER_CONFIGS` ``[kind]``).

    Returns:
        ``torch.nn.Module`` whose ``forward(pf_points, pf_features, pf_vectors, pf_mask)`` gives
        (N, n_classes) logits (softmax scores when ``for_inference``).
    """
    import torch

    if kind not in PEER_CONFIGS:
        raise ValueError(f"unknown peer {kind!r}; expected one of {sorted(PEER_CONFIGS)}")
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise ValueError(f"n_classes={n_classes!r}; expected an int >= 2")
    models = require_weaver()
    cfg = copy.deepcopy(PEER_CONFIGS[kind] if config is None else config)
    torch.manual_seed(seed)
    if kind == "part":
        net = models.ParticleTransformer.ParticleTransformer(input_dim=len(PF_FEATURES), num_classes=n_classes, for_inference=for_inference, **cfg)
    else:
        net = models.ParticleNet.ParticleNet(input_dims=len(PF_FEATURES), num_classes=n_classes, for_inference=for_inference, **cfg)
    return _wrap(kind, net, cfg)


def _wrap(kind: str, net, cfg: dict):
    import torch

    class PeerTagger(torch.nn.Module):
        """weaver model behind our four-input interface."""

        def __init__(self) -> None:
            super().__init__()
            self.kind, self.net, self.config = kind, net, cfg

        def forward(self, pf_points, pf_features, pf_vectors, pf_mask):
            # pf_points (B, 2, P), pf_features (B, F, P), pf_vectors (B, 4, P), pf_mask (B, 1, P) 1 = real
            if self.kind == "part":
                # weaver's dense pair embedding (its ONNX path) computes every pair, and the ONNX form of
                # atan2 (no such op) gives 0/0 = NaN for a zero four-vector, which survives the -inf key
                # masking; a tiny massive vector along x on padded slots keeps those masked pairs finite.
                # Real pairs, and the sparse torch path used in training, are unchanged.
                pad_p4 = pf_vectors.new_tensor([1e-3, 0.0, 0.0, 2e-3]).view(1, 4, 1)
                v = pf_vectors + (1.0 - pf_mask) * pad_p4  # (B, 4, P)
                return self.net(pf_features, v=v, mask=pf_mask)  # (B, C)
            return self.net(pf_points, pf_features, mask=pf_mask)  # (B, C)

    return PeerTagger()


def _batch(inputs: dict[str, np.ndarray], idx: np.ndarray):
    """Tensors of jets ``idx``, cut to the largest particle count in the batch (weaver trims too)."""
    import torch

    m = inputs["pf_mask"][idx]
    P = max(1, int(m.sum(-1).max()))
    return [torch.from_numpy(np.ascontiguousarray(inputs[k][idx][..., :P])) for k in PEER_INPUTS]


def predict_peer(model, inputs: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Softmax scores (N, C) of a peer (logits-output) model, in eval mode, no grad."""
    import torch

    model.eval()
    n = len(inputs["pf_mask"])
    out = []
    with torch.no_grad():
        for s in range(0, n, batch_size):
            idx = np.arange(s, min(n, s + batch_size))
            out.append(torch.softmax(model(*_batch(inputs, idx)), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def train_peer(model, train: dict[str, np.ndarray], y_train: np.ndarray, val: dict[str, np.ndarray], y_val: np.ndarray,
               epochs: int, batch_size: int, patience: int, seed: int, lr: float = 1e-3, weight_decay: float = 0.01,
               warmup_frac: float = 0.05) -> dict[str, Any]:
    """Supervised training with ``hepjepa.downstream.finetune``'s schedule and early stopping.

    Args:
        model: from :func:`build_peer` (logits output).
        train, y_train: inputs of the (label-fraction-selected) training jets, labels 0..C-1.
        val, y_val: validation set for early stopping (best val loss kept).
        epochs, batch_size, patience: the budget (patience = epochs without val-loss improvement).
        seed: seeds the batch order and dropout.
        lr, weight_decay, warmup_frac: AdamW peak lr, decay, linear warm-up fraction of all steps.

    Returns:
        History: ``train_loss``, ``val_loss`` per epoch, ``best_epoch``, ``best_val_loss``, ``cpu_s``.
    """
    import torch
    import torch.nn.functional as F

    for name, lab in (("train", y_train), ("val", y_val)):
        if len(lab) == 0:
            raise ValueError(f"{name} set is empty")
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, math.ceil(len(y_train) / batch_size))
    total = steps_per_epoch * epochs
    warm = max(1, int(warmup_frac * total))

    def lr_factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    y_all = torch.from_numpy(np.asarray(y_train, np.int64))
    hist: dict[str, Any] = {"train_loss": [], "val_loss": [], "best_epoch": -1, "best_val_loss": float("inf")}
    best, bad, step = None, 0, 0
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(y_train))
        losses = []
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            if len(idx) < 2 and len(order) > 1:
                continue  # BatchNorm (ParticleNet) cannot train on one jet
            for g in opt.param_groups:
                g["lr"] = lr * lr_factor(step)
            loss = F.cross_entropy(model(*_batch(train, idx)), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
            step += 1
        p = predict_peer(model, val)
        vl = float(-np.mean(np.log(np.clip(p[np.arange(len(y_val)), y_val], 1e-12, None))))
        hist["train_loss"].append(float(np.mean(losses)) if losses else float("nan"))
        hist["val_loss"].append(vl)
        if vl < hist["best_val_loss"] - 1e-6:
            hist["best_val_loss"], hist["best_epoch"], bad = vl, epoch, 0
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    hist["cpu_s"] = time.process_time() - t0
    return hist


def export_peer_onnx(model, path, n_classes: int, sample: dict[str, np.ndarray], opset: int = 18) -> dict[str, Any]:
    """Export a trained ParT/ParticleNet to ONNX (softmax ``scores``), weaver's for_inference variant.

    Conventions of ``hepjepa export``: TorchScript exporter (``dynamo=False``), traced with a batch
    of 2, dynamic batch and particle axes, output ``scores`` (B, C) softmax.

    Args:
        model: trained :func:`build_peer` model.
        path: output ``model.onnx``.
        n_classes: classes of the model.
        sample: peer inputs of at least 2 jets for the trace and the parity check.
        opset: ONNX opset.

    Returns:
        ``{"max_abs_diff": ..., "input_names": ..., "shapes": ...}``: the ONNX Runtime vs torch check on up
        to 64 jets of ``sample`` and the graph's inputs (ParT: pf_features, pf_vectors, pf_mask).
    """
    import onnxruntime as ort
    import torch

    from hepjepa.atomic import atomic_path

    cfg = dict(model.config)
    if model.kind == "part":
        # weaver's sparse pair embedding (its eval default) gathers with data-dependent shapes that
        # the trace freezes (NaN scores in ONNX Runtime); the dense path is the exportable one
        cfg["pair_embed_sparse_eval"] = (False, False)
    inf = build_peer(model.kind, n_classes, for_inference=True, config=cfg)
    inf.load_state_dict(model.state_dict())
    inf.eval()
    # trace on 2 jets cut to fewer particles than the parity check uses: a particle axis frozen
    # by the trace would show up as a failure below
    P = sample["pf_mask"].shape[-1]
    x = [torch.from_numpy(np.ascontiguousarray(sample[k][:2, :, : max(2, P // 2)])) for k in PEER_INPUTS]
    axes = {k: {0: "batch", 2: "particles"} for k in PEER_INPUTS}
    axes["scores"] = {0: "batch"}
    with atomic_path(path) as tmp:
        torch.onnx.export(inf, tuple(x), str(tmp), input_names=list(PEER_INPUTS), output_names=["scores"],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # the TorchScript exporter drops inputs a model does not read (ParT has no use for pf_points)
    names = [i.name for i in sess.get_inputs()]
    n = min(64, len(sample["pf_mask"]))
    feed = {k: sample[k][:n] for k in PEER_INPUTS}
    got = sess.run(["scores"], {k: feed[k] for k in names})[0]
    with torch.no_grad():
        ref = inf(*[torch.from_numpy(feed[k]) for k in PEER_INPUTS]).numpy()
    return {"max_abs_diff": float(np.abs(got - ref).max()), "input_names": names,
            "shapes": {k: ["batch", *feed[k].shape[1:2], "particles"] for k in names}}
