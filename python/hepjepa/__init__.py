"""hepjepa: a self-supervised (JEPA) jet foundation model, from Pythia to coffea.

The package is light to import: heavy parts (torch, numba, coffea) load only when
the module that needs them is used. The C++ inference bridge is re-exported here::

    import hepjepa
    rt = hepjepa.ONNXRuntime("model.onnx")
    producer = hepjepa.JetTagProducer(model_path="model.onnx", flav_names=[...])
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access, PEP 562)
_LAZY = {
    "ONNXRuntime": "hepjepa.bridge",
    "JetTagProducer": "hepjepa.bridge",
    "ort_version": "hepjepa.bridge",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'hepjepa' has no attribute {name!r}; public names: {sorted(__all__)}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
