"""The suite's shared helpers (tests/_samples.py, _onnx_models.py, _synthetic.py, ...) are imported
by name from every layer's folder, and the benchmark tests import the ``benchmarks`` package of
the repository: both folders go on sys.path once, here."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _path in (str(_HERE), str(_HERE.parent)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
