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
#: Output kinds of preprocess.json's "outputs" (C++ copy of hepjepa.deploy.preprocess.OUTPUT_KINDS).
OUTPUT_KINDS: tuple[str, ...]

class ConfigError(ValueError):
    """An ill-typed or out-of-range parameter, or an invalid preprocess.json (names the key)."""

class UnknownParameter(ConfigError, KeyError):
    """A parameter name the producer does not declare (names the closest valid one)."""

class MissingParameter(ConfigError, KeyError):
    """A required parameter given neither in the parameters nor in preprocess_json."""

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
        output_names (default: preprocess_json's "outputs" names, else its output_names, else
        every model output), flav_names (one per column of the scores output; default: its
        "columns"; required only when there is a scores output), batch_size (1..2**20, default
        128), intra_op_threads (1..1024, default 1), backend ("cpu"), verify_sha256 (default
        True: model_path must match preprocess_json's sha256.onnx, else RuntimeError), debug.
        UnknownParameter / MissingParameter for unknown / missing keys; ConfigError for a
        preprocess_json whose "inputs"/"outputs" differ from the model (names the key)."""
    @staticmethod
    def from_pset(pset: Mapping[str, Any]) -> JetTagProducer: ...
    @staticmethod
    def valid_keys() -> list[str]: ...
    def produce(self, inputs: Mapping[str, npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        """The scores output (scores_output), (n_jets, n_flav) float32; untagged jets (no real
        group, non-finite value in any output) get UNTAGGED_SCORE in every column. ValueError
        for NaN/inf inputs, masks other than 0/1, inconsistent shapes."""
    def produce_with_status(
        self, inputs: Mapping[str, npt.NDArray[np.float32]]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8]]:
        """As produce(), plus the (n_jets,) int8 TAG_STATUS code of each jet."""
    def produce_outputs(
        self, inputs: Mapping[str, npt.NDArray[np.float32]]
    ) -> tuple[dict[str, npt.NDArray[np.float32]], npt.NDArray[np.int8]]:
        """Every output (output_names, in that order), each (n_jets, ...) float32, from one ONNX
        Runtime call per batch, and the (n_jets,) int8 TAG_STATUS of each jet; an untagged jet
        holds UNTAGGED_SCORE in every value of its row of every output. Same errors as produce()."""
    @property
    def input_names(self) -> list[str]: ...
    @property
    def output_names(self) -> list[str]: ...
    @property
    def output_kinds(self) -> list[str]:
        """Kind of each output: "scores", "embedding", "regression" (as preprocess.json declares),
        or "undeclared" (without "outputs", the first output is "scores")."""
    @property
    def output_columns(self) -> dict[str, list[str]]:
        """Column names of the outputs that have them (scores: flav_names; regression)."""
    @property
    def scores_output(self) -> str:
        """The output produce() returns: the first of kind "scores", else the first output."""
    @property
    def flav_names(self) -> list[str]: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def sha256_verified(self) -> bool: ...
