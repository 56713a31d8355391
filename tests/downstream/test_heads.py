"""Heads and Tagger: shapes, padding invariance, frozen mode, checkpoint round trip, ONNX export."""

import numpy as np
import pytest
import torch

from hepjepa.downstream.heads import HeadConfig, build_head, masked_pool


def _tokens(B=3, T=6, D=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=g)
    mask = torch.ones(B, T)
    mask[0, 4:] = 0
    mask[2, 2:] = 0
    return x, mask


@pytest.mark.parametrize("kind", ["class_attention", "linear", "regression"])
def test_head_shape_and_padding_invariance(kind):
    torch.manual_seed(0)
    head = build_head(HeadConfig(kind=kind, num_heads=4, dropout=0.0), 16, 5).eval()
    x, mask = _tokens()
    out = head(x, mask)
    assert out.shape == (3, 5)
    # Changing padded tokens to garbage must not change any output.
    x2 = x.clone()
    x2[mask == 0] = 1e3 * torch.randn(int((mask == 0).sum()), 16)
    assert torch.allclose(head(x2, mask), out, atol=1e-5)
    # Changing a real token must change the output of that jet.
    x3 = x.clone()
    x3[0, 0] += 5.0 * torch.randn(16)  # not a constant shift, which LayerNorm would remove
    assert not torch.allclose(head(x3, mask)[0], out[0])


def test_masked_pool_reference():
    x, mask = _tokens()
    p = masked_pool(x, mask)
    for b in range(3):
        real = x[b][mask[b] == 1]
        assert torch.allclose(p[b], torch.cat([real.mean(0), real.max(0).values]), atol=1e-6)


def test_head_config_rejects_unknown_keys_and_kinds():
    with pytest.raises(KeyError, match="num_head"):
        HeadConfig.from_dict({"num_head": 2})
    with pytest.raises(ValueError, match="head kind"):
        HeadConfig(kind="mlp")


# --- Tagger (needs the model layer) ---------------------------------------------------
model = pytest.importorskip("hepjepa.model")


def _small_tagger(mode, head="class_attention", seed=0):
    from hepjepa.downstream.tagger import build_tagger
    from hepjepa.model.config import to_dict

    cfg = to_dict(model.BackboneConfig(embed_dim=16, depth=1, num_heads=2, num_registers=2, pair_hidden=8, pointnet_hidden=8, num_features=3))
    torch.manual_seed(seed)
    state = model.Backbone(model.BackboneConfig(**cfg)).state_dict()
    return build_tagger(cfg, {"kind": head, "num_heads": 2, "hidden": 16}, ["label_QCD", "label_Tbqq"], {"group_size": 4}, mode=mode,
                        backbone_state=None if mode == "scratch" else state, seed=seed), state


def _inputs(B=4, G=5, K=4, F=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    gm = torch.ones(B, G)
    gm[0, 3:] = 0
    pm = torch.ones(B, G, K) * gm[..., None]
    pf = torch.randn(B, G, G, 4, generator=g) * gm[:, :, None, None] * gm[:, None, :, None]
    return (torch.randn(B, G, K, F, generator=g) * pm[..., None], pm, gm, torch.randn(B, G, 2, generator=g), pf)


def test_frozen_really_freezes():
    tagger, state = _small_tagger("frozen")
    tagger.train()
    assert not tagger.backbone.training
    assert all(not p.requires_grad for p in tagger.backbone.parameters())
    opt = torch.optim.AdamW([p for p in tagger.parameters() if p.requires_grad], lr=1e-2)
    head_before = [p.detach().clone() for p in tagger.head.parameters()]
    x = _inputs()
    y = torch.tensor([0, 1, 0, 1])
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(tagger(*x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in tagger.backbone.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert any(not torch.equal(a, b) for a, b in zip(head_before, tagger.head.parameters()))


def test_finetune_moves_backbone_and_scratch_differs():
    tagger, state = _small_tagger("finetune")
    assert all(torch.equal(v, state[k]) for k, v in tagger.backbone.state_dict().items())
    opt = torch.optim.SGD(tagger.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(tagger(*_inputs()), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    opt.step()
    assert any(not torch.equal(v, state[k]) for k, v in tagger.backbone.state_dict().items())
    scratch, _ = _small_tagger("scratch", seed=7)
    assert any(not torch.equal(v, state[k]) for k, v in scratch.backbone.state_dict().items())


def test_save_load_roundtrip(tmp_path):
    from hepjepa.downstream.tagger import load_tagger, save_tagger

    tagger, _ = _small_tagger("finetune", head="linear")
    tagger.eval()
    x = _inputs()
    save_tagger(tagger, tmp_path / "t.pt")
    loaded = load_tagger(tmp_path / "t.pt")
    assert loaded.classes == ["label_QCD", "label_Tbqq"]
    assert torch.allclose(loaded(*x), tagger(*x).softmax(-1), atol=1e-6)
    with pytest.raises(ValueError, match="not a hepjepa tagger"):
        torch.save({"x": 1}, tmp_path / "bad.pt")
        load_tagger(tmp_path / "bad.pt")


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # shape checks of forward() are trace constants
def test_onnx_export_matches_torch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    tagger, _ = _small_tagger("finetune")
    tagger.output = "scores"
    tagger.eval()
    x = _inputs(B=2)
    names = ["features", "particle_mask", "group_mask", "centers", "pair_features"]
    axes = {"features": {0: "B", 1: "G"}, "particle_mask": {0: "B", 1: "G"}, "group_mask": {0: "B", 1: "G"},
            "centers": {0: "B", 1: "G"}, "pair_features": {0: "B", 1: "G", 2: "G"}, "scores": {0: "B"}}
    torch.onnx.export(tagger, x, str(tmp_path / "m.onnx"), input_names=names, output_names=["scores"], dynamic_axes=axes,
                      opset_version=18, dynamo=False)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    for B, G in [(2, 5), (3, 7)]:
        xi = _inputs(B=B, G=G, seed=B)
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, xi)})[0]
        with torch.no_grad():
            ref = tagger(*xi).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-5)
        np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)
