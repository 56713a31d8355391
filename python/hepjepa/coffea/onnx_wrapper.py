"""``ONNXJetTagger``: coffea.ml_tools-style wrapper around the C++ ``JetTagProducer``.

coffea ships TorchScript, Triton, XGBoost and TF wrappers; this is the ONNX Runtime
one. The producer (an ONNX Runtime session) is a ``nonserializable_attribute``: it
is created lazily on first use in each worker process and never pickled, so the
wrapper itself travels cheaply to Futures/Dask workers. Works on NumPy, eager
awkward and dask-awkward (typetracer metadata pass included) inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from coffea.ml_tools.helper import nonserializable_attribute, numpy_call_wrapper

from hepjepa.deploy import DEFAULT_BATCH_SIZE

__all__ = ["ONNXJetTagger", "BACKENDS"]

#: ``cpp``: hepjepa's C++ JetTagProducer (CMSSW-style); ``onnxruntime``: Python onnxruntime session.
BACKENDS = ("cpp", "onnxruntime")


class ONNXJetTagger(nonserializable_attribute, numpy_call_wrapper):
    """Run an exported hepjepa tagger (``model.onnx`` + ``preprocess.json``) on token inputs.

    Args:
        model_dir: directory holding ``model.onnx`` and ``preprocess.json`` (validated here).
        intra_op_threads: ONNX Runtime intra-op threads per worker (CMSSW default 1).
        batch_size: jets per ONNX call.
        backend: one of :data:`BACKENDS`.

    Call it like ``tagger(features=..., particle_mask=..., group_mask=..., centers=...,
    pair_features=...)`` with regular (N, ...) arrays; returns (N, n_flav) scores whose
    columns are ``tagger.flav_names``.
    """

    def __init__(self, model_dir: str | Path, intra_op_threads: int = 1, batch_size: int = DEFAULT_BATCH_SIZE, backend: str = "cpp"):
        from hepjepa.deploy.preprocess import validate_preprocess

        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
        nonserializable_attribute.__init__(self, ["producer"])
        self.model_dir = str(Path(model_dir).resolve())
        self.model_path = str(Path(self.model_dir) / "model.onnx")
        self.preprocess_json = str(Path(self.model_dir) / "preprocess.json")
        self.preprocess = validate_preprocess(self.model_path, self.preprocess_json)
        self.input_names = list(self.preprocess["input_names"])
        from hepjepa.deploy.preprocess import input_shapes

        self._shapes = input_shapes(self.preprocess)
        self.flav_names = list(self.preprocess["flav_names"])
        self.intra_op_threads = int(intra_op_threads)
        self.batch_size = int(batch_size)
        self.backend = backend

    def _create_producer(self):
        """Built once per worker on first use (never pickled)."""
        if self.backend == "cpp":
            import hepjepa

            return hepjepa.JetTagProducer(
                model_path=self.model_path, preprocess_json=self.preprocess_json, input_names=self.input_names,
                output_names=self.preprocess["output_names"], flav_names=self.flav_names,
                batch_size=self.batch_size, intra_op_threads=self.intra_op_threads,
            )
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.intra_op_threads
        opts.inter_op_num_threads = 1
        return ort.InferenceSession(self.model_path, opts, providers=["CPUExecutionProvider"])

    def validate_numpy_input(self, **inputs) -> None:
        """Names, ranks and fixed dims against ``preprocess.json``; raises ValueError naming the input."""
        if sorted(inputs) != sorted(self.input_names):
            raise ValueError(f"inputs {sorted(inputs)} do not match the model's {self.input_names}")
        n = None
        for name, arr in inputs.items():
            want = self._shapes[name]
            if arr.ndim != len(want) or any(w != -1 and w != d for w, d in zip(want, arr.shape)):
                raise ValueError(f"input {name!r} has shape {arr.shape}, expected {want} (-1 = any)")
            if n is not None and arr.shape[0] != n:
                raise ValueError(f"input {name!r} has {arr.shape[0]} jets, others have {n}")
            n = arr.shape[0]

    def numpy_call(self, **inputs) -> np.ndarray:
        """(N, n_flav) float32 scores; N = 0 gives an empty (0, n_flav) array without calling ORT."""
        inputs = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        n = inputs[self.input_names[0]].shape[0]
        if n == 0:
            return np.zeros((0, len(self.flav_names)), dtype=np.float32)
        if self.backend == "cpp":
            return np.asarray(self.producer.produce(inputs), dtype=np.float32)
        out = [self.producer.run(None, {k: v[i:i + self.batch_size] for k, v in inputs.items()})[0]
               for i in range(0, n, self.batch_size)]
        return np.concatenate(out).astype(np.float32)

    def _call_awkward(self, *args, **kwargs):
        """Eager awkward path; typetracer inputs give a typetracer result of the right type.

        coffea runs the typetracer (metadata) pass only inside its dask path; doing it here
        too lets ``tagger(**typetracer_inputs)`` report the output type without data, as
        coffea's own wrappers do under dask-awkward: one length-one evaluation, then the
        length forgotten.
        """
        import awkward as ak

        def is_tt(a):
            return isinstance(a, ak.Array) and ak.backend(a) == "typetracer"

        if not any(is_tt(a) for a in (*args, *kwargs.values())):
            return super()._call_awkward(*args, **kwargs)

        def one(a):
            return ak.typetracer.length_one_if_typetracer(a) if isinstance(a, ak.Array) else a

        out = super()._call_awkward(*(one(a) for a in args), **{k: one(v) for k, v in kwargs.items()})
        return ak.Array(out.layout.to_typetracer(forget_length=True))

    def prepare_awkward(self, **inputs):
        """Token arrays are already regular: pass them through as keyword arguments."""
        return [], {name: inputs[name] for name in self.input_names}
