"""The suite's shared helpers (tests/_samples.py, _onnx_models.py, _features_reference.py) are
imported by name from every layer's folder: this folder goes on sys.path once, here."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
