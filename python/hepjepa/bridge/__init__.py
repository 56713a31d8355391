"""The C++ ONNX Runtime bridge (CMSSW-style), compiled as ``hepjepa._core``.

``ONNXRuntime`` mirrors ``cms::Ort::ONNXRuntime``; ``JetTagProducer`` mirrors CMSSW's
ONNX jet-tag producers (validated parameter set, one shared runtime, per-thread buffers).
Inputs must be float32 C-contiguous NumPy arrays (passed without copies); other dtypes
or layouts are refused with a ValueError naming the input.

The producer refuses (ValueError, naming the input and the index or axes) NaN/inf values,
masks (``group_mask``, ``particle_mask``) other than 0/1, and shapes that differ from the
model or from each other (axes sharing a symbolic name such as ``groups``). A jet it cannot
tag gets ``hepjepa.contract.UNTAGGED_SCORE`` (-1) in every column and a
``hepjepa.contract.TAG_STATUS`` code from ``produce_with_status``: 1 (no_constituents) for
a jet whose ``group_mask`` row is all 0 or a call with 0 groups (not run), 4
(nonfinite_score) for a jet the model scores NaN/inf. With ``preprocess_json`` holding
``sha256.onnx``, a ``model_path`` with another sha256 is refused (RuntimeError) unless
``verify_sha256=False``. ``ONNXRuntime.run`` refuses calls past ``max_batch`` jets (default
16384) or ``max_elements`` input values (default 2**27); the producer splits into
``batch_size`` chunks.

Examples::

    from hepjepa.bridge import JetTagProducer
    p = JetTagProducer(model_path="model.onnx", preprocess_json="preprocess.json")
    scores = p.produce({"features": f, ...})   # (n_jets, len(p.flav_names)) float32
    scores, status = p.produce_with_status({"features": f, ...})   # + (n_jets,) int8
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
