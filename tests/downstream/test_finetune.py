"""Fine-tuning loop: learns a separable toy task, frozen keeps the backbone, checkpoint round trip."""

import numpy as np
import pytest
import torch

model = pytest.importorskip("hepjepa.model")
from hepjepa.downstream.finetune import FinetuneConfig, finetune, predict, remap_labels  # noqa: E402
from hepjepa.downstream.metrics import accuracy  # noqa: E402
from hepjepa.downstream.splits import stratified_fraction  # noqa: E402
from hepjepa.downstream.tagger import build_tagger, load_tagger  # noqa: E402
from hepjepa.features.tokenize import Tokens  # noqa: E402
from hepjepa.model.config import to_dict  # noqa: E402


def _toy_tokens(n, seed, G=6, K=4, F=3):
    """Two classes: class 1's particle features are shifted, with random padding per jet."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    ng = rng.integers(2, G + 1, n)
    gm = (np.arange(G)[None] < ng[:, None]).astype(np.float32)
    pm = np.repeat(gm[:, :, None], K, 2)
    feats = rng.normal(size=(n, G, K, F)).astype(np.float32) + 1.5 * y[:, None, None, None] * np.eye(F, dtype=np.float32)[0]  # only feature 0: LayerNorm cannot remove it
    pf = rng.normal(size=(n, G, G, 4)).astype(np.float32) * gm[:, :, None, None] * gm[:, None, :, None]
    tok = Tokens(features=feats * pm[..., None], particle_mask=pm, group_mask=gm,
                 centers=rng.normal(size=(n, G, 2)).astype(np.float32) * gm[..., None],
                 group_p4=np.zeros((n, G, 4), np.float32), pair_features=pf)
    return tok, y


def _tagger(mode, head="class_attention"):
    cfg = to_dict(model.BackboneConfig(embed_dim=16, depth=1, num_heads=2, num_registers=2, pair_hidden=8, pointnet_hidden=8, num_features=3))
    torch.manual_seed(0)
    state = model.Backbone(model.BackboneConfig(**cfg)).state_dict()
    t = build_tagger(cfg, {"kind": head, "num_heads": 2, "hidden": 16}, ["label_QCD", "label_Tbqq"], {"group_size": 4},
                     mode=mode, backbone_state=None if mode == "scratch" else state, seed=1)
    return t, state


@pytest.mark.parametrize("mode", ["frozen", "finetune", "scratch"])
def test_tiny_finetune_beats_chance(mode, tmp_path):
    tr, ytr = _toy_tokens(160, 0)
    va, yva = _toy_tokens(64, 1)
    te, yte = _toy_tokens(128, 2)
    tagger, state = _tagger(mode, head="linear" if mode == "frozen" else "class_attention")
    # A frozen backbone leaves only a linear head to train: cheap, so more steps and a larger lr.
    cfg = FinetuneConfig(mode=mode, epochs=20 if mode == "frozen" else 4, batch_size=32, lr=3e-2 if mode == "frozen" else 3e-3, seed=0, patience=20)
    hist = finetune(tagger, tr, ytr, va, yva, cfg, out_path=tmp_path / "t.pt", progress=False)
    assert hist["best_val_loss"] == min(hist["val_loss"])
    acc = accuracy(predict(tagger, te), yte)
    assert acc > 0.7, f"{mode}: accuracy {acc:.3f} not above chance"
    if mode == "frozen":
        for k, v in tagger.backbone.state_dict().items():
            assert torch.equal(v, state[k]), k
    loaded = load_tagger(tmp_path / "t.pt")
    np.testing.assert_allclose(predict(loaded, te[:16]), predict(tagger, te[:16]), atol=1e-6)


def test_label_fraction_subset_and_remap():
    _, y = _toy_tokens(400, 3)
    idx = stratified_fraction(y, 0.05, seed=0)
    assert set(y[idx]) == {0, 1}
    assert np.array_equal(remap_labels(np.array([0, 8, 8, 0]), [0, 8]), [0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"labels \[3\]"):
        remap_labels(np.array([0, 3]), [0, 8])


def test_config_rejects_unknown_and_bad_values():
    with pytest.raises(KeyError, match="epoch"):
        FinetuneConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="mode"):
        FinetuneConfig(mode="freeze")


def test_layerwise_lr_groups():
    tagger, _ = _tagger("finetune")
    depth = len(tagger.backbone.blocks)
    ids = __import__("hepjepa.downstream.finetune", fromlist=["x"]).backbone_layer_ids(tagger.backbone)
    assert all(v == 1 for k, v in ids.items() if k.startswith("blocks.0."))
    assert ids["norm.weight"] == depth + 1 and ids["registers"] == 0
    from hepjepa.downstream.finetune import param_groups

    cfg = FinetuneConfig(lr=1e-3, backbone_lr_scale=0.5, layer_decay=0.5)
    groups = {g["name"]: g for g in param_groups(tagger, cfg)}
    assert groups["head"]["lr"] == pytest.approx(1e-3)
    assert groups[f"backbone.layer{depth + 1}"]["lr"] == pytest.approx(5e-4)
    assert groups["backbone.layer0"]["lr"] == pytest.approx(5e-4 * 0.5 ** (depth + 1))
    # every trainable parameter in exactly one group
    n = sum(len(g["params"]) for g in groups.values())
    assert n == sum(1 for p in tagger.parameters() if p.requires_grad)
    scratch, _ = _tagger("scratch")
    assert [g["lr"] for g in param_groups(scratch, cfg)] == [1e-3, 1e-3]
    frozen, _ = _tagger("frozen")
    assert [g["name"] for g in param_groups(frozen, cfg)] == ["head"]
    with pytest.raises(ValueError, match="layer_decay"):
        FinetuneConfig(layer_decay=0.0)


def test_head_warmup_keeps_backbone_still_then_trains_it():
    """LP-FT: no backbone gradient during the head warm-up epochs, the backbone trains afterwards."""
    tr, ytr = _toy_tokens(64, 0)
    va, yva = _toy_tokens(32, 1)
    tagger, state = _tagger("finetune")
    p = next(tagger.backbone.parameters())
    calls = []
    p.register_hook(lambda g: calls.append(1))
    cfg = FinetuneConfig(mode="finetune", epochs=3, head_warmup_epochs=2, batch_size=16, lr=3e-3, backbone_lr_scale=1.0, seed=0, patience=10)
    hist = finetune(tagger, tr, ytr, va, yva, cfg, progress=False)
    assert len(hist["val_loss"]) == 3
    assert len(calls) == 64 // 16, f"backbone got gradients in {len(calls)} steps; expected only the 4 steps of the last epoch"
    assert all(q.requires_grad for q in tagger.backbone.parameters())
    with pytest.raises(ValueError, match="head_warmup_epochs"):
        FinetuneConfig(epochs=3, head_warmup_epochs=3)


def test_max_groups_overrides_the_tokenizer_and_is_checked():
    """finetune/regress --max-groups: the tagger tokenises into more groups than the pretraining did."""
    from hepjepa.downstream.backbone import resolve_backbone

    mode, _, state, tok = resolve_backbone(None, True, None, None, "finetune", max_groups=24)
    assert mode == "scratch" and state is None and tok.max_groups == 24
    assert resolve_backbone(None, True, None, None, "finetune")[3].max_groups != 24  # default kept without it
    with pytest.raises(ValueError, match="max_groups=0"):
        resolve_backbone(None, True, None, None, "finetune", max_groups=0)
