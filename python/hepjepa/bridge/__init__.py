"""The C++ ONNX Runtime bridge (CMSSW-style), compiled as ``hepjepa._core``.

``ONNXRuntime`` mirrors ``cms::Ort::ONNXRuntime``; ``JetTagProducer`` mirrors CMSSW's
ONNX jet-tag producers (validated parameter set, one shared runtime, per-thread buffers).
Inputs must be float32 C-contiguous NumPy arrays (passed without copies); other dtypes
or layouts are refused with a ValueError naming the input.

Examples::

    from hepjepa.bridge import JetTagProducer
    p = JetTagProducer(model_path="model.onnx", preprocess_json="preprocess.json")
    scores = p.produce({"features": f, ...})   # (n_jets, len(p.flav_names)) float32
"""

from __future__ import annotations

import ctypes
import glob
import os

__all__ = ["ONNXRuntime", "JetTagProducer", "ort_version"]


def _preload_onnxruntime() -> None:
    # hepjepa._core needs libonnxruntime.so.1 (the SONAME); the wheel ships only
    # libonnxruntime.so.1.31.1. Loading that file RTLD_GLOBAL first makes the SONAME
    # resolve to the very library Python's onnxruntime uses: one runtime per process.
    import onnxruntime

    capi = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
    libs = sorted(glob.glob(os.path.join(capi, "libonnxruntime.so.*")))
    if not libs:
        raise ImportError(f"no libonnxruntime.so.* in {capi}; reinstall onnxruntime==1.31.1")
    ctypes.CDLL(libs[-1], mode=ctypes.RTLD_GLOBAL)


_preload_onnxruntime()

try:
    from hepjepa._core import JetTagProducer, ONNXRuntime, ort_version  # noqa: E402
except ImportError as err:  # pragma: no cover - depends on the install
    raise ImportError(
        f"hepjepa's compiled bridge (hepjepa._core) is not built ({err}); build it with "
        "`.venv/bin/pip install --no-build-isolation .` or `bash .ci/cpp`"
    ) from err
