"""Jets -> padded group tokens: awkward -> flat arrays -> Numba kernels -> Tokens.

Padding convention: float32 masks with 1 = real, 0 = padding; every padded value
(features, centres, four-vectors, pair features) is exactly 0. Groups are kept in
FPS order: group 0 is centred on the leading-pT particle, each later one on the
particle farthest from the earlier centres. Within a group, members are sorted by
distance to the centre (the centre first). Jets with n < k particles fill n slots
of each group; n = 0 gives no real group and all zeros.

Centre-relative features: only ``deta`` and ``dphi`` (member minus FPS centre, phi
wrapped); ``dR`` and the log-ratios stay relative to the jet axis (four-vector sum of
all constituents), and ``centers`` holds the centre's (deta, dphi) w.r.t. that axis.
``pair_features`` diagonal (a == b) is defined as 0, like every pair with a padded group.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from hepjepa.contract import FLAG_FIELDS, KINEMATIC_FIELDS, MODEL_INPUTS, PARTICLE_FIELDS
from hepjepa.errors import MissingParticleFieldsError, UserInputError
from hepjepa.features import _kernels
from hepjepa.features.config import RAW_FEATURES, TokenizerConfig

__all__ = ["FLAG_FIELDS", "MODEL_INPUTS", "NonFiniteFeaturesError", "Tokens", "check_particle_field", "tokenize", "tokenize_flat", "validate_offsets"]

_FIELDS = PARTICLE_FIELDS  # kernel order: px, py, pz, energy, charge, the five flags
#: fields that may be zero-filled on request (a format without particle identification); never the four-momentum
_ZERO_FILLABLE = tuple(f for f in PARTICLE_FIELDS if f not in KINEMATIC_FIELDS)
_ARRAYS = ("features", "particle_mask", "group_mask", "centers", "group_p4", "pair_features")


class NonFiniteFeaturesError(UserInputError):
    """Finite inputs whose features overflow to NaN/inf (for example momenta near 1e160).

    Attributes:
        jets: indices of the offending jets (all of them, so a caller can skip them).
    """

    def __init__(self, message: str, jets):
        super().__init__(message)
        self.jets = np.asarray(jets, dtype=np.int64)
#: held while a parallel kernel runs: Numba's workqueue layer aborts on concurrent launches
_PARALLEL = threading.Lock()


@dataclasses.dataclass
class Tokens:
    """Padded tokens of N jets (see docs/architecture.md for the contract).

    Attributes:
        features: float32 (N, G, K, F). particle_mask: float32 (N, G, K).
        group_mask: float32 (N, G). centers: float32 (N, G, 2).
        group_p4: float32 (N, G, 4). pair_features: float32 (N, G, G, 4).
        zero_filled: particle fields the input lacked and that were set to 0 on request
            (``tokenize(..., allow_missing=True)``); training records them so that inference
            does the same (``preprocess.json``'s ``particle_fields``).
    """

    features: np.ndarray
    particle_mask: np.ndarray
    group_mask: np.ndarray
    centers: np.ndarray
    group_p4: np.ndarray
    pair_features: np.ndarray
    zero_filled: tuple[str, ...] = ()

    def model_inputs(self) -> dict[str, np.ndarray]:
        """The five model / ONNX inputs, in :data:`MODEL_INPUTS` order."""
        return {name: getattr(self, name) for name in MODEL_INPUTS}

    def __len__(self) -> int:
        return self.features.shape[0]

    def __getitem__(self, idx) -> Tokens:
        """Select jets (int, slice or index array); G is kept."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(idx, idx + 1 if idx != -1 else None)
        return Tokens(**{name: getattr(self, name)[idx] for name in _ARRAYS}, zero_filled=self.zero_filled)

    @property
    def n_groups(self) -> int:
        """Padded group count G."""
        return self.features.shape[1]

    @staticmethod
    def concat(parts: Sequence[Tokens], pad_to_groups: int | None = None) -> Tokens:
        """Concatenate along jets, re-padding G to the largest (or ``pad_to_groups``).

        Raises:
            ValueError: empty list, or parts with different K/F, or G > pad_to_groups.
        """
        if not parts:
            msg = "Tokens.concat: got an empty list; expected at least one Tokens"
            raise ValueError(msg)
        kf = {p.features.shape[2:] for p in parts}
        if len(kf) != 1:
            msg = f"Tokens.concat: parts have different (K, F) {sorted(kf)}; expected one"
            raise ValueError(msg)
        G = max(p.n_groups for p in parts)
        if pad_to_groups is not None:
            if pad_to_groups < G:
                msg = f"Tokens.concat: pad_to_groups={pad_to_groups} < largest G={G}"
                raise ValueError(msg)
            G = pad_to_groups
        zero_filled = tuple(f for f in _FIELDS if any(f in p.zero_filled for p in parts))
        return Tokens(**{name: np.concatenate([_pad_g(getattr(p, name), name, G) for p in parts]) for name in _ARRAYS},
                      zero_filled=zero_filled)


def _pad_g(a: np.ndarray, name: str, G: int) -> np.ndarray:
    g = a.shape[1]
    if g == G:
        return a
    width = [(0, 0)] * a.ndim
    width[1] = (0, G - g)
    if name == "pair_features":
        width[2] = (0, G - g)
    return np.pad(a, width)


def tokenize(jets, config: TokenizerConfig | None = None, *, allow_missing: bool = False,
             n_threads: int | None = None) -> Tokens:
    """Tokenise an awkward array of jets.

    Args:
        jets: ``ak.Array`` of records with jagged ``px, py, pz, energy`` and, as the
            features require (``config.particle_fields``), jagged ``charge`` and the
            particle-type flags.
        config: tokeniser settings (default ``TokenizerConfig()``).
        allow_missing: set ``charge`` / flags that ``jets`` lacks to 0 (training on a format
            without particle identification); recorded in ``Tokens.zero_filled``. The default
            refuses them: a model trained with them would silently score differently.
        n_threads: Numba threads (see :func:`tokenize_flat`).

    Returns:
        :class:`Tokens`.

    Raises:
        MissingParticleFieldsError: a field the features need is absent (names it).
        UserInputError: not an array of jet records, NaN/inf (names jet and field).
    """
    import awkward as ak

    config = config or TokenizerConfig()
    if not isinstance(jets, ak.Array) or not ak.fields(jets):
        raise UserInputError(f"jets must be an awkward array of jet records (one per jet) with jagged particle fields "
                             f"{list(config.particle_fields)}; got {type(jets).__name__}"
                             + (f" of type {jets.type}" if isinstance(jets, ak.Array) else ""))
    fields = set(ak.fields(jets))
    need = config.particle_fields
    missing = [f for f in need if f not in fields]
    zero_fill = [f for f in missing if f in _ZERO_FILLABLE] if allow_missing else []
    if [f for f in missing if f not in zero_fill]:
        _raise_missing([f for f in missing if f not in zero_fill], config, sorted(fields), allow_missing)
    arrays: dict[str, Any] = {}
    for f in need:
        if f in zero_fill:
            continue
        col = jets[f]
        if col.ndim != 2:
            msg = f"jets field {f!r} has type {col.type}; expected a jagged list of numbers per jet"
            raise UserInputError(msg)
        arrays[f] = ak.to_numpy(ak.flatten(col, axis=1))
    offsets = np.zeros(len(jets) + 1, np.int64)
    np.cumsum(ak.to_numpy(ak.num(jets["px"], axis=1)), out=offsets[1:])
    px, py, pz, energy = (arrays.pop(f) for f in KINEMATIC_FIELDS)
    return tokenize_flat(px, py, pz, energy, offsets, config=config, n_threads=n_threads, zero_fill=zero_fill, **arrays)


def tokenize_flat(px, py, pz, energy, offsets, config: TokenizerConfig | None = None, *,
                  charge=None, isChargedHadron=None, isNeutralHadron=None, isPhoton=None,
                  isElectron=None, isMuon=None, zero_fill=(), n_threads: int | None = None) -> Tokens:
    """Tokenise jets given as flat per-particle arrays + offsets (no awkward needed).

    Args:
        px, py, pz, energy: (P,) arrays of all particles, jet after jet.
        offsets: (N+1,) integers, jet j owns particles ``offsets[j]:offsets[j+1]``.
        config: tokeniser settings.
        charge, isChargedHadron, ...: (P,) arrays; required when ``config``'s features use
            them (``config.particle_fields``), ignored otherwise.
        zero_fill: names of fields the caller declares absent, set to 0 (a model trained on a
            format without them, as its ``preprocess.json`` records). Never the four-momentum.
        n_threads: Numba threads over jets (the output does not depend on it). ``None`` =
            ``NUMBA_NUM_THREADS`` if that environment variable is set, else 1. Threads are
            opt-in because a parallel launch has process-wide side effects: with Numba's
            OpenMP layer a later ``fork()`` (DataLoader workers, fork-based process pools)
            aborts the child; with the workqueue layer concurrent launches abort (calls from
            several Python threads are serialised here: a call that finds another one running
            in parallel runs on one thread).

    Returns:
        :class:`Tokens`, finite everywhere.

    Raises:
        MissingParticleFieldsError: a field the features need is None and not in ``zero_fill``.
        UserInputError: bad offsets (not integers, not starting at 0, decreasing, past the
            arrays), a field of the wrong length, dtype (complex, strings, objects) or rank,
            NaN/inf naming the jet index and field, ``n_threads`` outside 1 ..
            ``NUMBA_NUM_THREADS``.
        NonFiniteFeaturesError: finite inputs whose features overflow (lists every such jet).
    """
    import numba

    config = config or TokenizerConfig()
    max_threads = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # numba sets it with globals() at import
    if n_threads is None:
        n_threads = max_threads if "NUMBA_NUM_THREADS" in os.environ else 1
    elif not (isinstance(n_threads, (int, np.integer)) and not isinstance(n_threads, bool) and 1 <= n_threads <= max_threads):
        msg = f"n_threads={n_threads!r}; expected an int in 1..{max_threads} (NUMBA_NUM_THREADS)"
        raise UserInputError(msg)
    offsets = validate_offsets(offsets)
    P = int(offsets[-1])
    given = dict(px=px, py=py, pz=pz, energy=energy, charge=charge, isChargedHadron=isChargedHadron,
                 isNeutralHadron=isNeutralHadron, isPhoton=isPhoton, isElectron=isElectron, isMuon=isMuon)
    zero_fill = tuple(zero_fill)
    bad_fill = [f for f in zero_fill if f not in _ZERO_FILLABLE]
    if bad_fill:
        msg = f"zero_fill={list(zero_fill)}: {bad_fill} cannot be zero-filled; expected a subset of {list(_ZERO_FILLABLE)}"
        raise UserInputError(msg)
    both = [f for f in zero_fill if given[f] is not None]
    if both:
        msg = f"fields {both} are given and also listed in zero_fill; pass one or the other"
        raise UserInputError(msg)
    need = config.particle_fields
    missing = [f for f in need if given[f] is None and f not in zero_fill]
    if missing:
        _raise_missing(missing, config, [f for f in _FIELDS if given[f] is not None], False)
    arrs = [_as_field(f, given[f], P) if f in need and given[f] is not None else None for f in _FIELDS]
    _check_finite(arrs, offsets)
    flags = np.zeros((len(FLAG_FIELDS), P))  # allocated only once the sizes are known to match
    for f in range(len(FLAG_FIELDS)):
        if arrs[5 + f] is not None:
            flags[f] = arrs[5 + f]
    charge = arrs[4] if arrs[4] is not None else np.zeros(P)

    counts = np.diff(offsets)
    n_groups = np.array([config.n_groups(int(n)) for n in np.unique(counts)], np.int64)
    n_groups = n_groups[np.searchsorted(np.unique(counts), counts)] if counts.size else np.zeros(0, np.int64)
    G = config.pad_to_groups if config.pad_to_groups is not None else int(n_groups.max(initial=0))
    N, K, F = counts.size, config.group_size, len(config.features)
    out = Tokens(
        features=np.zeros((N, G, K, F), np.float32), particle_mask=np.zeros((N, G, K), np.float32),
        group_mask=np.zeros((N, G), np.float32), centers=np.zeros((N, G, 2), np.float32),
        group_p4=np.zeros((N, G, 4), np.float32), pair_features=np.zeros((N, G, G, 4), np.float32),
        zero_filled=tuple(f for f in _FIELDS if f in zero_fill and f in need))
    feat_idx = np.array([RAW_FEATURES.index(f.name) for f in config.features], np.int64)
    centre = np.array([f.centre for f in config.features])
    scale = np.array([f.scale for f in config.features])
    clip = np.array([np.inf if f.clip is None else f.clip for f in config.features])
    args = (arrs[0], arrs[1], arrs[2], arrs[3], charge, flags, offsets, n_groups, G, K, feat_idx, centre, scale,
            clip, config.eps, out.features, out.particle_mask, out.group_mask, out.centers, out.group_p4,
            out.pair_features)
    if n_threads == 1 or N < 2 or not _PARALLEL.acquire(blocking=False):
        _kernels.tokenize_kernel(*args)
    else:
        try:
            # a few chunks per thread so that chunks of larger jets do not leave threads idle
            n_chunks = min(N, 4 * n_threads)
            previous = numba.get_num_threads()
            numba.set_num_threads(n_threads)
            try:
                _kernels.tokenize_kernel_parallel(*args, n_chunks)
            finally:
                numba.set_num_threads(previous)
        finally:
            _PARALLEL.release()
    _check_finite_output(out)
    return out


def _raise_missing(missing, config: TokenizerConfig, have, allow_missing: bool) -> None:
    hint = ("" if allow_missing or not set(missing) <= set(_ZERO_FILLABLE) else
            "; for training on a format without them pass allow_missing=True (zeros, recorded in Tokens.zero_filled)")
    msg = (
        f"jets lack particle fields {missing} that the tokeniser's features need (features {list(config.feature_names)}; "
        f"fields given: {list(have)}){hint}"
    )
    raise MissingParticleFieldsError(
        msg, missing)


def validate_offsets(offsets) -> np.ndarray:
    """Jet boundaries as a contiguous (N+1,) int64 array; refuses floats, other ranks, a start other than 0, decreasing values."""
    a = np.asarray(offsets)
    if a.dtype.kind not in "iu" or a.ndim != 1 or a.size < 1:
        msg = f"offsets must be a 1-d array of integers (N+1 jet boundaries); got dtype {a.dtype}, shape {a.shape}"
        raise UserInputError(msg)
    a = a.astype(np.int64)
    if a[0] != 0 or np.any(np.diff(a) < 0):
        msg = f"offsets must start at 0 and be non-decreasing; got {a[:10].tolist()}{'...' if a.size > 10 else ''}"
        raise UserInputError(msg)
    return np.ascontiguousarray(a)


def check_particle_field(name: str, value, n_particles: int) -> np.ndarray:
    """One flat particle field as an array (no copy when it is one already): (n_particles,) real numbers.

    Raises:
        UserInputError: another shape, or a dtype that is not float, int, unsigned or bool.
    """
    a = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if a.dtype.kind not in "fiub":
        msg = f"particle field {name!r} has dtype {a.dtype}; expected real numbers (float or int)"
        raise UserInputError(msg)
    if a.shape != (n_particles,):
        msg = f"particle field {name!r} has shape {a.shape}; expected ({n_particles},) from offsets[-1]"
        raise UserInputError(msg)
    return a


def _as_field(name: str, value, P: int) -> np.ndarray:
    """A (P,) float64 contiguous copy of one particle field (:func:`check_particle_field`)."""
    return np.ascontiguousarray(check_particle_field(name, value, P), dtype=np.float64)


def _check_finite_output(t: Tokens) -> None:
    """Raise :class:`NonFiniteFeaturesError` listing every jet whose tokens hold NaN/inf."""
    bad = np.zeros(len(t), bool)
    for name in _ARRAYS:
        a = getattr(t, name)
        if a.size:
            bad |= ~np.isfinite(a.reshape(len(t), -1)).all(axis=1)
    if bad.any():
        jets = np.flatnonzero(bad)
        msg = (
            f"finite inputs give NaN/inf features for {len(jets)} jet(s), first jet index {int(jets[0])} "
            "(momenta too large for the features' float64 arithmetic)"
        )
        raise NonFiniteFeaturesError(
            msg, jets)


def _check_finite(arrs, offsets) -> None:
    """Raise ValueError naming the first (jet, field) holding NaN/inf; None arrays skipped."""
    first = None
    for f, a in enumerate(arrs):
        if a is None:
            continue
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            jet = int(np.searchsorted(offsets, bad[0], side="right")) - 1
            if first is None or jet < first[0]:
                first = (jet, f)
    if first is not None:
        msg = f"non-finite value in field {_FIELDS[first[1]]!r} of jet index {first[0]}"
        raise UserInputError(msg)
