"""The C++ ONNX Runtime bridge (CMSSW-style), compiled as ``hepjepa._core``.

``ONNXRuntime`` mirrors ``cms::Ort::ONNXRuntime``; ``JetTagProducer`` mirrors CMSSW's
ONNX jet-tag producers (validated parameter set, one shared runtime, reusable per-call buffers).
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

The producer runs every output the model declares (``preprocess.json`` "outputs": scores,
embedding, regression; ``output_kinds``) in one ONNX Runtime call per batch:
``produce_outputs`` returns them all by name, each ``(n_jets, ...)``, with -1 in every value of
an untagged jet's row (a NaN/inf in any output untags the jet, status 4); ``produce`` returns
the scores output (``scores_output``). Parameter errors are ``ConfigError`` (a ValueError);
unknown / missing parameters are its subclasses ``UnknownParameter`` / ``MissingParameter``,
which are KeyErrors too.

Examples::

    from hepjepa.bridge import JetTagProducer
    p = JetTagProducer(model_path="model.onnx", preprocess_json="preprocess.json")
    scores = p.produce({"features": f, ...})   # (n_jets, len(p.flav_names)) float32
    scores, status = p.produce_with_status({"features": f, ...})   # + (n_jets,) int8
    outputs, status = p.produce_outputs({"features": f, ...})      # {name: (n_jets, ...)} for p.output_names
"""

from __future__ import annotations

import ctypes
import glob
import os

__all__ = ["ONNXRuntime", "JetTagProducer", "ort_version", "ConfigError", "UnknownParameter", "MissingParameter"]


def _preload_onnxruntime() -> None:
    # hepjepa._core needs libonnxruntime.so.1 (the SONAME); the wheel ships only
    # libonnxruntime.so.1.31.1. Loading that file RTLD_GLOBAL first makes the SONAME
    # resolve to the very library Python's onnxruntime uses: one runtime per process.
    import onnxruntime

    capi = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
    libs = sorted(glob.glob(os.path.join(capi, "libonnxruntime.so.*")))
    if not libs:
        msg = f"no libonnxruntime.so.* in {capi}; reinstall onnxruntime==1.31.1"
        raise ImportError(msg)
    ctypes.CDLL(libs[-1], mode=ctypes.RTLD_GLOBAL)


_preload_onnxruntime()

try:
    from hepjepa._core import (  # noqa: E402
        ConfigError,
        JetTagProducer,
        MissingParameter,
        ONNXRuntime,
        UnknownParameter,
        ort_version,
    )
except ImportError as err:  # pragma: no cover - depends on the install
    msg = (
        f"hepjepa's compiled bridge (hepjepa._core) is not built ({err}); build it with "
        "`python -m pip install --no-deps .` (scikit-build-core compiles cpp/ into hepjepa._core)"
    )
    raise ImportError(msg) from err
