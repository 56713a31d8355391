"""benchmarks/inference.py flops: the analytic FLOP count is the one the model code performs, and the ORT
profile summary adds up; benchmarks/_common.time_calls times what it is given."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks import _common, inference  # noqa: E402

TOK = {"group_size": 4, "max_groups": 5}


def _tagger(**backbone):
    from hepjepa.downstream.heads import HeadConfig
    from hepjepa.downstream.tagger import build_tagger
    from hepjepa.model import BackboneConfig

    kw = {"num_features": 13, "pointnet_hidden": 8, "embed_dim": 16, "depth": 2, "num_heads": 2, "num_registers": 3,
          "pair_hidden": 4, **backbone}
    bb = BackboneConfig(**kw).to_dict()
    hc = HeadConfig(num_heads=2, hidden=8, dropout=0.0).to_dict()
    model = build_tagger(bb, hc, ["label_QCD", "label_Tbqq", "label_Wqq"], TOK, mode="scratch", output="scores", seed=0)
    return model.eval(), bb, hc


@pytest.mark.parametrize("backbone", [{}, {"attention": "linear", "pair_bias": False}, {"pair_bias": False, "num_registers": 0}])
@pytest.mark.parametrize("G,K", [(5, 4), (1, 3), (7, 2)])
def test_analytic_flops_equal_flop_counter(backbone, G, K):
    """Every matrix product of the forward is counted, none twice, for both attention backends."""
    from hepjepa.deploy.export import example_inputs

    model, bb, hc = _tagger(**backbone)
    x = example_inputs(G, K, 13, batch=2, seed=0)
    x["group_mask"][:] = 1.0
    counted = inference.counted_flops(model, x) / 2  # per jet
    fl = inference.tagger_flops(bb, hc, 3, G, K)
    assert fl["total"] == counted
    assert fl["total"] == sum(v for k, v in fl.items() if k != "total")


def test_tagger_flops_refuses_other_heads():
    with pytest.raises(ValueError, match="'linear'"):
        inference.tagger_flops({}, {"kind": "linear"}, 2, 4, 4)


def test_time_calls_counts_calls_and_cpu_time():
    calls = []

    def busy():
        calls.append(1)
        sum(range(20000))  # burns CPU, so CPU time is > 0

    wall, cpu = _common.time_calls(busy, 0.0, min_calls=4, warmup=2)
    assert len(calls) == 6 and wall.shape == cpu.shape == (4,)
    assert (cpu > 0).all() and (wall > 0).all()


def test_ort_profile_shares_add_up(tmp_path):
    """Per-op shares sum to 1, GEMM share is the GEMM ops' sum, and the GEMM FLOP rate follows from it."""
    pytest.importorskip("onnxruntime")
    from hepjepa.deploy.export import example_inputs, export_onnx

    model, bb, hc = _tagger()
    export_onnx(model, tmp_path, tokenizer_config=TOK, flav_names=["probQCD", "probTbqq", "probWqq"], group_size=4, n_features=13)
    x = example_inputs(5, 4, 13, batch=8, seed=1)
    prof = inference.ort_profile(tmp_path / "model.onnx", x, flops_per_call=1e6, calls=2, top=5)
    shares = [v["share"] for v in prof["per_op"].values()]
    assert np.isclose(sum(shares), 1.0)
    gemm = sum(v["us_per_call"] for k, v in prof["per_op"].items() if k in inference.GEMM_OPS)
    assert gemm > 0 and np.isclose(prof["gemm_share"], gemm / prof["kernel_us_per_call"])
    assert np.isclose(prof["gemm_flop_per_s"], 1e6 / (gemm * 1e-6))
    assert len(prof["top_nodes"]) == 5 and prof["top_nodes"][0]["share"] >= prof["top_nodes"][-1]["share"]


def test_sgemm_peak_takes_the_fastest_library():
    """The peak is the best of torch.mm, numpy and ONNX Runtime, each timed on the same product."""
    p = inference.sgemm_peak(n=128, repeats=2)
    assert set(p["libraries"]) == {"torch_mm", "numpy_openblas", "onnxruntime_mlas"}
    rates = {k: v["flop_per_s"] for k, v in p["libraries"].items()}
    assert all(r > 0 and np.isfinite(r) for r in rates.values())
    assert p["library"] == max(rates, key=rates.get)
    assert p["flop_per_s"] == max(rates.values())
    assert p["flop_per_cpu_s"] == max(v["flop_per_cpu_s"] for v in p["libraries"].values())
