"""Model: shapes, padding invariance, keep-index, EMA, configs, checkpoints, ONNX export."""

from __future__ import annotations

import pytest
import torch

from hepjepa.model import JEPA, Backbone, BackboneConfig, ConfigError, JEPAConfig, PredictorConfig, ema_momentum
from hepjepa.model.config import from_dict, load_yaml, save_yaml

F = 13


def _inputs(B=2, G=6, K=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, G, K, F, generator=g), torch.ones(B, G, K), torch.ones(B, G), torch.randn(B, G, 2, generator=g), torch.randn(B, G, G, 4, generator=g)]


@pytest.mark.parametrize("backend,bias", [("softmax", True), ("softmax", False), ("linear", False)])
def test_padding_never_changes_real_tokens(backend, bias):
    torch.manual_seed(0)
    m = Backbone(BackboneConfig(embed_dim=32, depth=2, num_heads=4, attention=backend, pair_bias=bias)).eval()
    f, pm, gm, c, pf = _inputs(B=1, G=4)
    alone = m(f, pm, gm, c, pf)  # (1, 8+4, 32)
    # the same jet padded to G=7 (garbage in the padding) inside a batch with another jet
    f2, pm2, gm2, c2, pf2 = _inputs(B=2, G=7, seed=1)
    f2[0, :4], pm2[0, :4], gm2[0, :4], c2[0, :4], pf2[0, :4, :4] = f[0], pm[0], gm[0], c[0], pf[0]
    gm2[0, 4:], pm2[0, 4:] = 0, 0
    pm2[0, 1, 3] = 0  # a padded particle too
    pm[0, 1, 3] = 0
    f2[0, 1, 3] = f[0, 1, 3] + 100.0  # garbage behind the particle padding must not matter
    alone = m(f, pm, gm, c, pf)
    batched = m(f2, pm2, gm2, c2, pf2)
    assert batched.shape == (2, 8 + 7, 32)
    torch.testing.assert_close(batched[0, : 8 + 4], alone[0], atol=1e-5, rtol=1e-5)


def test_keep_equals_cropped_input():
    torch.manual_seed(0)
    m = Backbone(BackboneConfig(embed_dim=32, depth=2, num_heads=4)).eval()
    f, pm, gm, c, pf = _inputs(B=2, G=6)
    keep = torch.tensor([[0, 2, 5], [1, 3, 4]])
    out = m(f, pm, gm, c, pf, keep=keep)
    i = keep[1]
    ref = m(f[1:, i], pm[1:, i], gm[1:, i], c[1:, i], pf[1:, i][:, :, i])
    torch.testing.assert_close(out[1:], ref, atol=1e-5, rtol=1e-5)


def test_ema_update_and_schedule():
    assert ema_momentum(0, 100) == pytest.approx(0.996)
    assert ema_momentum(100, 100) == pytest.approx(1.0)
    assert ema_momentum(50, 100) == pytest.approx(0.998)
    torch.manual_seed(0)
    j = JEPA(JEPAConfig(backbone=BackboneConfig(embed_dim=32, depth=1), predictor=PredictorConfig(embed_dim=16, depth=1)))
    with torch.no_grad():
        for p in j.context_encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in j.target_encoder.parameters()]
    j.update_target(0.9)
    for t0, t1, c in zip(before, j.target_encoder.parameters(), j.context_encoder.parameters()):
        torch.testing.assert_close(t1, 0.9 * t0 + 0.1 * c)
    assert not any(p.requires_grad for p in j.target_encoder.parameters())


def test_jepa_loss_target_side_gets_no_grad():
    from hepjepa.masks import JEPACollator

    torch.manual_seed(0)
    j = JEPA(JEPAConfig(backbone=BackboneConfig(embed_dim=32, depth=1), predictor=PredictorConfig(embed_dim=16, depth=1)))
    f, pm, gm, c, pf = _inputs(B=3, G=8)
    batch = JEPACollator(seed=0)({"features": f, "particle_mask": pm, "group_mask": gm, "centers": c, "pair_features": pf})
    loss, mon = j(batch)
    loss.backward()
    assert loss.item() > 0 and mon["target_emb"].shape[1] == 32
    assert all(p.grad is None for p in j.target_encoder.parameters())
    assert j.predictor.mask_token.grad is not None and j.context_encoder.registers.grad is not None


def test_configs_reject_unknown_keys_and_roundtrip(tmp_path):
    with pytest.raises(ConfigError, match="embed_dimm.*did you mean 'embed_dim'"):
        from_dict(BackboneConfig, {"embed_dimm": 3})
    with pytest.raises(ConfigError, match="backbone.depht"):
        from_dict(JEPAConfig, {"backbone": {"depht": 3}})
    with pytest.raises(ConfigError, match="attention='cosine'"):
        BackboneConfig(attention="cosine")
    with pytest.raises(ConfigError, match="pair_bias"):
        BackboneConfig(attention="linear", pair_bias=True)
    cfg = from_dict(JEPAConfig, {"backbone": {"embed_dim": 48, "num_heads": 6}, "ema_start": "0.99"})
    save_yaml(cfg, tmp_path / "c.yaml")
    assert load_yaml(JEPAConfig, tmp_path / "c.yaml") == cfg and cfg.ema_start == 0.99


def test_checkpoint_rebuilds_backbone(tmp_path):
    from hepjepa.model import load_backbone, save_checkpoint
    from hepjepa.model.config import to_dict

    torch.manual_seed(0)
    cfg = JEPAConfig(backbone=BackboneConfig(embed_dim=32, depth=2, num_registers=3), predictor=PredictorConfig(embed_dim=16, depth=1))
    j = JEPA(cfg)
    save_checkpoint(tmp_path / "ck.pt", {"config": {"model": to_dict(cfg)}, "model": j.state_dict()})
    bb = load_backbone(tmp_path / "ck.pt")
    x = _inputs()
    torch.testing.assert_close(bb(*x), j.target_encoder.eval()(*x))
    assert bb.num_registers == 3


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # shape checks of forward() are trace constants
@pytest.mark.parametrize("backend,bias", [("softmax", True), ("linear", False)])
def test_onnx_export_matches_torch(tmp_path, backend, bias):
    import numpy as np
    import onnxruntime as ort

    torch.manual_seed(0)
    m = Backbone(BackboneConfig(embed_dim=32, depth=2, num_heads=4, attention=backend, pair_bias=bias)).eval()
    names = ["features", "particle_mask", "group_mask", "centers", "pair_features"]
    axes = {"features": {0: "B", 1: "G"}, "particle_mask": {0: "B", 1: "G"}, "group_mask": {0: "B", 1: "G"}, "centers": {0: "B", 1: "G"}, "pair_features": {0: "B", 1: "G", 2: "G"}, "tokens": {0: "B", 1: "T"}}
    torch.onnx.export(m, tuple(_inputs(B=2, G=5)), str(tmp_path / "m.onnx"), input_names=names, output_names=["tokens"], dynamic_axes=axes, opset_version=18, dynamo=False)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = _inputs(B=3, G=7, seed=3)
    x[2][1, 5:] = 0
    x[1][1, 5:] = 0
    declared = {i.name for i in sess.get_inputs()}  # without a pair bias, pair_features is unused and dropped
    assert declared == set(names) if bias else declared == set(names) - {"pair_features"}
    (got,) = sess.run(None, {n: t.numpy() for n, t in zip(names, x) if n in declared})
    np.testing.assert_allclose(got, m(*x).detach().numpy(), atol=1e-4, rtol=1e-4)
