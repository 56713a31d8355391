"""``JetTagger``: the one inference path, from particles to scores, for every way of tagging a jet.

model directory -> its ``preprocess.json`` (tokeniser settings, the particle fields the model
needs and the ones its training filled with zeros) -> Numba features
(:func:`hepjepa.features.tokenize_flat`, the training code) -> the C++ ``JetTagProducer`` or
Python onnxruntime -> scores. ``hepjepa.coffea.ONNXJetTagger`` and ``JEPATagProcessor``,
``hepjepa-run``'s producer, ``hepjepa tag``, the examples and the Python API all call it;
nothing else tokenises for inference.

A jet that cannot be tagged gets :data:`hepjepa.contract.UNTAGGED_SCORE` in every column and
a status from :data:`hepjepa.contract.TAG_STATUS`: no constituents, a broken FatJet ->
candidate link, a NaN/inf particle field (or features that overflow), a NaN/inf score.

Example::

    from hepjepa.data import read_jets
    from hepjepa.deploy import JetTagger

    tagger = JetTagger()                       # the shipped model; or JetTagger("exported/")
    result = tagger.tag(read_jets("events.root"))
    result.scores                              # (n_jets, n_flavours) float32, -1 where untagged
    result.counts()                            # {"tagged": ..., "no_constituents": ..., ...}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepjepa.contract import DEFAULT_BATCH_SIZE, MODEL_INPUTS, TAG_STATUS, UNTAGGED_SCORE
from hepjepa.errors import MissingParticleFieldsError, ModelNotFoundError, UserInputError

__all__ = ["BACKENDS", "JetTagger", "TagResult", "resolve_model"]

#: ``cpp``: hepjepa's C++ JetTagProducer (CMSSW-style); ``onnxruntime``: a Python onnxruntime session.
BACKENDS = ("cpp", "onnxruntime")

_STATUS = {name: code for code, name in TAG_STATUS.items()}


@dataclasses.dataclass
class TagResult:
    """Scores of N jets with the reason each untagged jet was skipped.

    Attributes:
        scores: (N, n_flav) float32; rows of untagged jets hold ``UNTAGGED_SCORE`` (-1).
        status: (N,) int8 codes of :data:`hepjepa.contract.TAG_STATUS` (0 = tagged).
        flav_names: the score columns.
    """

    scores: np.ndarray
    status: np.ndarray
    flav_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.status)

    @property
    def tagged(self) -> np.ndarray:
        """(N,) bool: jets with a real score."""
        return self.status == 0

    def counts(self) -> dict[str, int]:
        """Jets per status name (every name present, zeros included)."""
        n = np.bincount(self.status.astype(np.int64), minlength=len(TAG_STATUS))
        return {name: int(n[code]) for code, name in TAG_STATUS.items()}

    def to_awkward(self, counts=None):
        """Scores as an awkward record array (one field per flavour), ``None`` where untagged.

        Args:
            counts: jets per event to make it jagged like the events' FatJets (None = flat).
        """
        import awkward as ak

        flat = ak.zip({name: ak.mask(self.scores[:, i], self.tagged) for i, name in enumerate(self.flav_names)})
        return flat if counts is None else ak.unflatten(flat, np.asarray(counts, dtype=np.int64))


def resolve_model(model=None, preprocess_json=None) -> tuple[Path, Path]:
    """(``model.onnx``, ``preprocess.json``) paths from what a user passes as "the model".

    Args:
        model: an exported model directory, its ``.onnx`` file (or its ``preprocess.json``);
            None = the shipped model.
        preprocess_json: explicit ``preprocess.json`` (default: the one beside the model).

    Raises:
        ModelNotFoundError: the path does not exist, or the directory lacks one of the two
            files (named, with how to make them).
    """
    if model is None:
        from hepjepa.deploy.shipped import shipped_model_dir

        model = shipped_model_dir()
    p = Path(model)
    if not p.exists():
        msg = (
            f"model directory {str(p)!r} does not exist (expected a directory from "
            "`hepjepa export CHECKPOINT -o DIR` holding model.onnx and preprocess.json)"
        )
        raise ModelNotFoundError(msg)
    if p.is_dir():
        onnx_path = p / "model.onnx"
    elif p.name == "preprocess.json":
        onnx_path = p.with_name("model.onnx")
    else:
        onnx_path = p
    pre = Path(preprocess_json) if preprocess_json is not None else onnx_path.with_name("preprocess.json")
    missing = [str(f) for f in (onnx_path, pre) if not f.is_file()]
    if missing:
        msg = (
            f"model {str(p)!r}: {', '.join(missing)} not found; an exported model directory holds "
            "model.onnx and preprocess.json (`hepjepa export CHECKPOINT -o DIR`)"
        )
        raise ModelNotFoundError(msg)
    return onnx_path, pre


class JetTagger:
    """An exported hepjepa tagger: particles in, per-jet scores out.

    Args:
        model: exported model directory (or its ``model.onnx``); None = the shipped model.
        preprocess_json: explicit ``preprocess.json`` (default: beside the model).
        backend: one of :data:`BACKENDS`.
        intra_op_threads: ONNX Runtime intra-op threads (CMSSW's default 1).
        batch_size: jets per ONNX Runtime call.
        verify_sha256: refuse a ``model.onnx`` whose sha256 differs from ``preprocess.json``'s
            (the default); False is the explicit opt-out.

    The ONNX Runtime session is built on first use in each process and never pickled, so a
    tagger travels cheaply to Futures/Dask workers (as coffea's ``ml_tools`` wrappers do).

    Raises:
        ModelNotFoundError: no such model (see :func:`resolve_model`).
        PreprocessMismatchError: ``preprocess.json`` does not describe ``model.onnx``.
        UserInputError: an unknown backend, threads or batch size < 1.
    """

    def __init__(self, model=None, *, preprocess_json=None, backend: str = "cpp", intra_op_threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE, verify_sha256: bool = True):
        from hepjepa.deploy.preprocess import particle_fields, validate_preprocess
        from hepjepa.features import TokenizerConfig

        if backend not in BACKENDS:
            msg = f"unknown backend {backend!r}; expected one of {BACKENDS}"
            raise UserInputError(msg)
        for name, v in (("intra_op_threads", intra_op_threads), ("batch_size", batch_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= 2**31 - 1:
                msg = f"{name}={v!r}; expected an integer in 1 .. 2**31-1"
                raise UserInputError(msg)
        onnx_path, pre_path = resolve_model(model, preprocess_json)
        self.model_path, self.preprocess_json = str(onnx_path.resolve()), str(pre_path.resolve())
        self.model_dir = str(onnx_path.resolve().parent)
        self.verify_sha256 = bool(verify_sha256)
        self.preprocess = validate_preprocess(self.model_path, self.preprocess_json, verify_sha256=self.verify_sha256)
        self.tokenizer = TokenizerConfig.from_dict(self.preprocess["tokenizer"])
        self.required_fields, self.zero_filled_fields = particle_fields(self.preprocess)
        self.flav_names: tuple[str, ...] = tuple(self.preprocess["flav_names"])
        self.backend = backend
        self.intra_op_threads = int(intra_op_threads)
        self.batch_size = int(batch_size)
        self._session = None

    # ---- pickling: the session stays behind
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_session"] = None
        return state

    def provenance(self) -> dict:
        """What made an output: the model's sha256, its tokeniser settings and fields, hepjepa's version."""
        from hepjepa import __version__

        sha = self.preprocess["sha256"]
        return {"model_dir": self.model_dir, "model_sha256": sha.get("onnx"), "tokenizer": self.preprocess["tokenizer"],
                "tokenizer_sha256": sha.get("tokenizer"), "particle_fields": {"required": list(self.required_fields),
                                                                           "zero_filled": list(self.zero_filled_fields)},
                "flav_names": list(self.flav_names), "backend": self.backend, "hepjepa_version": __version__}

    # ---- the path
    def tag(self, jets) -> TagResult:
        """Tag an awkward array of jet records with jagged particle fields (``read_jets`` output).

        Args:
            jets: ``ak.Array`` of jets with jagged ``px, py, pz, energy`` (GeV) and the fields the
                model needs (``required_fields``: ``charge`` and the particle-type flags for a
                model trained with them), optionally a per-jet bool ``bad_association``.

        Raises:
            MissingParticleFieldsError: a field the model needs is absent (names it).
        """
        import awkward as ak

        if not isinstance(jets, ak.Array) or not ak.fields(jets):
            raise UserInputError(f"jets must be an awkward array of jet records with jagged particle fields "
                                 f"{list(self.required_fields)}; got {type(jets).__name__}"
                                 + (f" of type {jets.type}" if isinstance(jets, ak.Array) else ""))
        fields = set(ak.fields(jets))
        self._check_fields(fields)
        for f in self.required_fields:
            if jets[f].ndim != 2:
                msg = f"jets field {f!r} has type {jets[f].type}; expected a jagged list of numbers per jet"
                raise UserInputError(msg)
        offsets = np.zeros(len(jets) + 1, np.int64)
        np.cumsum(ak.to_numpy(ak.num(jets["px"], axis=1)), out=offsets[1:])
        particles = {f: ak.to_numpy(ak.flatten(jets[f], axis=1)) for f in self.required_fields}
        bad = ak.to_numpy(jets["bad_association"]) if "bad_association" in fields else None
        return self.tag_particles(particles, offsets, bad_association=bad)

    __call__ = tag

    def tag_particles(self, particles: Mapping[str, np.ndarray], offsets, *, bad_association=None) -> TagResult:
        """Tag jets given as flat per-particle arrays + offsets.

        Args:
            particles: field name -> (P,) array, jet after jet; must hold ``required_fields``
                (others are ignored; the model's ``zero_filled_fields`` are always 0, as in training).
            offsets: (N + 1,) integers, jet j owns particles ``offsets[j]:offsets[j + 1]``.
            bad_association: (N,) bool, jets whose constituent link is broken (never tagged).

        Returns:
            :class:`TagResult` of the N jets.

        Raises:
            MissingParticleFieldsError: a required field is absent (names it).
            UserInputError: offsets or field arrays of the wrong kind or size.
        """
        from hepjepa.features import NonFiniteFeaturesError, tokenize_flat
        from hepjepa.features.tokenize import check_particle_field, validate_offsets

        self._check_fields(set(particles))
        offsets = validate_offsets(offsets)
        n = len(offsets) - 1
        arrays = {f: check_particle_field(f, particles[f], int(offsets[-1])) for f in self.required_fields}
        counts = np.diff(offsets)
        status = np.zeros(n, np.int8)
        status[counts == 0] = _STATUS["no_constituents"]
        if bad_association is not None:
            bad = np.asarray(bad_association, dtype=bool)
            if bad.shape != (n,):
                msg = f"bad_association has shape {bad.shape}; expected ({n},), one flag per jet"
                raise UserInputError(msg)
            status[(status == 0) & bad] = _STATUS["bad_association"]
        bad = np.zeros(int(offsets[-1]), bool)
        for a in arrays.values():
            if a.dtype.kind == "f":
                bad |= ~np.isfinite(a)
        if bad.any():
            nonfinite = np.zeros(n, bool)
            nonfinite[np.repeat(np.arange(n), counts)[bad]] = True
            status[(status == 0) & nonfinite] = _STATUS["nonfinite_input"]
        scores = np.full((n, len(self.flav_names)), UNTAGGED_SCORE, np.float32)
        keep = np.flatnonzero(status == 0)
        while len(keep):
            # every jet kept (the common case): the arrays as they are, no gather
            sel, sub_offsets = (slice(None), offsets) if len(keep) == n else _select(offsets, keep)
            try:
                px, py, pz, energy = (arrays[f][sel] for f in ("px", "py", "pz", "energy"))
                extra: dict[str, Any] = {f: arrays[f][sel] for f in self.required_fields if f not in ("px", "py", "pz", "energy")}
                tokens = tokenize_flat(px, py, pz, energy, sub_offsets, self.tokenizer, zero_fill=self.zero_filled_fields, **extra)
            except NonFiniteFeaturesError as e:  # finite inputs whose features overflow: skip those jets, tag the rest
                status[keep[e.jets]] = _STATUS["nonfinite_input"]
                keep = np.delete(keep, e.jets)
                continue
            out, st = self.run_with_status(tokens.model_inputs())  # (n_keep, n_flav), (n_keep,)
            status[keep] = st
            good = st == 0
            scores[keep[good]] = out[good]
            break
        return TagResult(scores=scores, status=status, flav_names=self.flav_names)

    def run(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Scores (N, n_flav) float32 of token inputs (the five ``hepjepa.contract.MODEL_INPUTS``); -1 rows untagged."""
        return self.run_with_status(inputs)[0]

    def run_with_status(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(scores (N, n_flav) float32, status (N,) int8) of token inputs.

        The C++ producer marks a jet with no real group (status 1) and a NaN/inf score (4)
        itself; onnxruntime's scores are checked here the same way.
        """
        inputs = {k: np.ascontiguousarray(inputs[k], dtype=np.float32) for k in MODEL_INPUTS}
        n = inputs[MODEL_INPUTS[0]].shape[0]
        if n == 0:
            return np.zeros((0, len(self.flav_names)), np.float32), np.zeros(0, np.int8)
        if self.backend == "cpp":
            scores, status = self._get_session().produce_with_status(inputs)
            return np.asarray(scores, dtype=np.float32), np.asarray(status, dtype=np.int8)
        sess = self._get_session()
        scores_name = [self.preprocess["output_names"][0]]
        out = np.concatenate([sess.run(scores_name, {k: v[i:i + self.batch_size] for k, v in inputs.items()})[0]
                              for i in range(0, n, self.batch_size)]).astype(np.float32)
        status = np.zeros(n, np.int8)
        status[inputs["group_mask"].reshape(n, -1).sum(1) == 0] = _STATUS["no_constituents"]
        status[(status == 0) & ~np.isfinite(out).all(axis=1)] = _STATUS["nonfinite_score"]
        out[status != 0] = UNTAGGED_SCORE
        return out, status

    # ---- helpers
    def _check_fields(self, fields) -> None:
        missing = [f for f in self.required_fields if f not in fields]
        if missing:
            msg = (
                f"jets lack particle fields {missing} that the model needs (it was trained with them; "
                f"{self.preprocess_json} 'particle_fields'); fields given: {sorted(fields)}"
            )
            raise MissingParticleFieldsError(
                msg, missing)

    def _get_session(self):
        if self._session is None:
            if self.backend == "cpp":
                import hepjepa

                self._session = hepjepa.JetTagProducer(
                    model_path=self.model_path, preprocess_json=self.preprocess_json,
                    input_names=list(self.preprocess["input_names"]), output_names=list(self.preprocess["output_names"]),
                    flav_names=list(self.flav_names), batch_size=self.batch_size, intra_op_threads=self.intra_op_threads,
                    verify_sha256=self.verify_sha256)
            else:
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.intra_op_threads
                opts.inter_op_num_threads = 1
                self._session = ort.InferenceSession(self.model_path, opts, providers=["CPUExecutionProvider"])
        return self._session



def _select(offsets: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(particle indices, offsets) of the jets ``keep``, in that order, without a Python loop."""
    starts, lengths = offsets[keep], offsets[keep + 1] - offsets[keep]
    sub = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # each kept particle: its jet's start + its rank inside the jet
    return np.repeat(starts - sub[:-1], lengths) + np.arange(sub[-1]), sub
