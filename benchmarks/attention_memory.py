"""Peak memory and time of Backbone inference vs jet size, for each attention backend.

Jet size (particles) -> groups through the tokeniser's rule with max_groups lifted so
large jets really get many groups. Peak memory: torch.cuda.max_memory_allocated on
GPU; on CPU only an approximation (the largest per-operator allocation reported by
torch.profiler(profile_memory=True)), NOT the true process peak -- to be improved.

Usage: python benchmarks/attention_memory.py [--sizes 128 512 1024 2048 4096] [--out benchmarks/results/attention_memory.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from hepjepa._io import atomic_path
from hepjepa.features import TokenizerConfig
from hepjepa.model import Backbone, BackboneConfig


def _peak_bytes(fn, device) -> int:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        fn()
        return torch.cuda.max_memory_allocated()
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return int(max(e.cpu_memory_usage for e in prof.key_averages()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 1024, 2048, 4096])
    ap.add_argument("--group-size", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results/attention_memory.json")
    a = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tok = TokenizerConfig(group_size=a.group_size, max_groups=10**6)
    rows = []
    for backend, bias in (("softmax", True), ("softmax", False), ("linear", False)):
        torch.manual_seed(0)
        m = Backbone(BackboneConfig(num_features=13, embed_dim=128, depth=4, num_heads=4, attention=backend, pair_bias=bias)).to(device).eval()
        for n in a.sizes:
            G, K = tok.n_groups(n), a.group_size
            x = [torch.randn(1, G, K, 13), torch.ones(1, G, K), torch.ones(1, G), torch.randn(1, G, 2), torch.randn(1, G, G, 4)]
            x = [t.to(device) for t in x]
            with torch.no_grad():
                m(*x)
                peak = _peak_bytes(lambda: m(*x), device)
                t0 = time.perf_counter()
                m(*x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                dt = time.perf_counter() - t0
            rows.append({"backend": backend, "pair_bias": bias, "particles": n, "groups": G, "peak_bytes": peak, "seconds": dt})
            print(rows[-1])
    res = {"device": torch.cuda.get_device_name() if device.type == "cuda" else f"CPU {platform.processor() or platform.machine()}",
           "torch": torch.__version__, "python": platform.python_version(), "note": "pair_features input is (G,G,4) even for the linear backend (unused there)", "rows": rows}
    with atomic_path(a.out) as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
