"""Stubs of the compiled bridge module hepjepa._core (see hepjepa.bridge)."""

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

def ort_version() -> str: ...

#: Score of an untagged jet in every column (C++ copy of hepjepa.contract.UNTAGGED_SCORE).
UNTAGGED_SCORE: float
#: Tag status code -> name (C++ copy of hepjepa.contract.TAG_STATUS).
TAG_STATUS: dict[int, str]

class ConfigError(ValueError): ...

class ONNXRuntime:
    def __init__(
        self,
        model_path: str,
        intra_op_threads: int = 1,
        max_batch: int = 16384,
        max_elements: int = 134217728,
    ) -> None:
        """intra_op_threads in 1..1024; max_batch / max_elements (jets, input values per run call)
        in 1..2**40; else ConfigError."""
    def run(
        self,
        input_names: Sequence[str],
        input_values: Sequence[npt.NDArray[np.float32]],
        input_shapes: Sequence[Sequence[int]] | None = None,
        output_names: Sequence[str] | None = None,
        batch_size: int = 1,
    ) -> list[npt.NDArray[np.float32]]:
        """Shape entries: ints (not bool/float; NumPy integers accepted) in 0..2**40; batch_size in
        1..max_batch. ValueError past max_batch jets or max_elements values (use JetTagProducer),
        for axes that share a symbolic dimension of the model but differ, or a wrong rank/fixed axis."""
    @property
    def input_names(self) -> list[str]: ...
    @property
    def output_names(self) -> list[str]: ...
    @property
    def max_batch(self) -> int: ...
    @property
    def max_elements(self) -> int: ...
    def input_shape(self, name: str) -> list[int]: ...
    def output_shape(self, name: str) -> list[int]: ...

class JetTagProducer:
    def __init__(self, **params: str | int | bool | Sequence[str] | PathLike[str]) -> None:
        """Parameters (valid_keys()): model_path (required), preprocess_json, input_names,
        output_names, flav_names (one per output column), batch_size (1..2**20, default 128),
        intra_op_threads (1..1024, default 1), backend ("cpu"), verify_sha256 (default True:
        model_path must match preprocess_json's sha256.onnx, else RuntimeError), debug."""
    @staticmethod
    def from_pset(pset: Mapping[str, Any]) -> JetTagProducer: ...
    @staticmethod
    def valid_keys() -> list[str]: ...
    def produce(self, inputs: Mapping[str, npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """(n_jets, n_flav) float32 scores; untagged jets (no real group, non-finite score) get
        UNTAGGED_SCORE in every column. ValueError for NaN/inf inputs, masks other than 0/1,
        inconsistent shapes."""
    def produce_with_status(
        self, inputs: Mapping[str, npt.NDArray[np.float32]]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
        """As produce(), plus the (n_jets,) int8 TAG_STATUS code of each jet."""
    @property
    def input_names(self) -> list[str]: ...
    @property
    def output_names(self) -> list[str]: ...
    @property
    def flav_names(self) -> list[str]: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def sha256_verified(self) -> bool: ...
