"""coffea tooling: an ONNX Runtime ``numpy_call_wrapper`` and the ``JEPATagProcessor``.

Imported explicitly (``from hepjepa.coffea import JEPATagProcessor``) since coffea is heavy.
"""

from hepjepa.coffea.onnx_wrapper import ONNXJetTagger
from hepjepa.coffea.processor import JEPATagProcessor
from hepjepa.coffea.runner import EXECUTORS, InputFileError, check_fileset, make_executor, run_processor

__all__ = ["EXECUTORS", "InputFileError", "JEPATagProcessor", "ONNXJetTagger", "check_fileset", "make_executor", "run_processor"]
