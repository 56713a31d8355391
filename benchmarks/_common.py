"""Shared helpers of the bridge benchmarks: machine description and atomic JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for _onnx_models


def machine() -> dict:
    """Machine description and package versions for the JSON results."""
    import numpy
    import onnxruntime

    from hepjepa.bridge import ort_version

    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__version__,
        "bridge_ort": ort_version(),
    }


def write_json(name: str, data: dict) -> Path:
    """Write benchmarks/results/<name>.json atomically."""
    from hepjepa._io import atomic_path

    out = ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2))
    return out
