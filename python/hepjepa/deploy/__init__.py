"""Deployment: the one inference path (``JetTagger``), ONNX export with ``preprocess.json``, the shipped model.

Public API::

    from hepjepa.deploy import JetTagger, TagResult, export_onnx, load_preprocess, validate_preprocess, shipped_model_dir
"""

from __future__ import annotations

from hepjepa.contract import DEFAULT_BATCH_SIZE
from hepjepa.deploy.export import INPUT_NAMES, OUTPUT_NAMES, export_onnx
from hepjepa.deploy.jet_tagger import BACKENDS, JetTagger, TagResult, resolve_model
from hepjepa.deploy.preprocess import PreprocessMismatchError, load_preprocess, particle_fields, validate_preprocess
from hepjepa.deploy.shipped import ShippedModelMissingError, shipped_model_dir

__all__ = [
    "BACKENDS",
    "DEFAULT_BATCH_SIZE",
    "INPUT_NAMES",
    "OUTPUT_NAMES",
    "JetTagger",
    "PreprocessMismatchError",
    "ShippedModelMissingError",
    "TagResult",
    "export_onnx",
    "load_preprocess",
    "particle_fields",
    "resolve_model",
    "shipped_model_dir",
    "validate_preprocess",
]
