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
from typing import Sequence

import numpy as np

from hepjepa.features import _kernels
from hepjepa.features.config import RAW_FEATURES, TokenizerConfig

__all__ = ["Tokens", "tokenize", "tokenize_flat", "FLAG_FIELDS", "MODEL_INPUTS"]

FLAG_FIELDS: tuple[str, ...] = ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")
MODEL_INPUTS: tuple[str, ...] = ("features", "particle_mask", "group_mask", "centers", "pair_features")
_FIELDS = ("px", "py", "pz", "energy", "charge") + FLAG_FIELDS
#: held while a parallel kernel runs: Numba's workqueue layer aborts on concurrent launches
_PARALLEL = threading.Lock()


@dataclasses.dataclass
class Tokens:
    """Padded tokens of N jets (see docs/architecture.md for the contract).

    Attributes:
        features: float32 (N, G, K, F). particle_mask: float32 (N, G, K).
        group_mask: float32 (N, G). centers: float32 (N, G, 2).
        group_p4: float32 (N, G, 4). pair_features: float32 (N, G, G, 4).
    """

    features: np.ndarray
    particle_mask: np.ndarray
    group_mask: np.ndarray
    centers: np.ndarray
    group_p4: np.ndarray
    pair_features: np.ndarray

    def model_inputs(self) -> dict[str, np.ndarray]:
        """The five model / ONNX inputs, in :data:`MODEL_INPUTS` order."""
        return {name: getattr(self, name) for name in MODEL_INPUTS}

    def __len__(self) -> int:
        return self.features.shape[0]

    def __getitem__(self, idx) -> "Tokens":
        """Select jets (int, slice or index array); G is kept."""
        if isinstance(idx, (int, np.integer)):
            idx = slice(idx, idx + 1 if idx != -1 else None)
        return Tokens(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @property
    def n_groups(self) -> int:
        """Padded group count G."""
        return self.features.shape[1]

    @staticmethod
    def concat(parts: Sequence["Tokens"], pad_to_groups: int | None = None) -> "Tokens":
        """Concatenate along jets, re-padding G to the largest (or ``pad_to_groups``).

        Raises:
            ValueError: empty list, or parts with different K/F, or G > pad_to_groups.
        """
        if not parts:
            raise ValueError("Tokens.concat: got an empty list; expected at least one Tokens")
        kf = {p.features.shape[2:] for p in parts}
        if len(kf) != 1:
            raise ValueError(f"Tokens.concat: parts have different (K, F) {sorted(kf)}; expected one")
        G = max(p.n_groups for p in parts)
        if pad_to_groups is not None:
            if pad_to_groups < G:
                raise ValueError(f"Tokens.concat: pad_to_groups={pad_to_groups} < largest G={G}")
            G = pad_to_groups
        return Tokens(**{f.name: np.concatenate([_pad_g(getattr(p, f.name), f.name, G) for p in parts])
                         for f in dataclasses.fields(Tokens)})


def _pad_g(a: np.ndarray, name: str, G: int) -> np.ndarray:
    g = a.shape[1]
    if g == G:
        return a
    width = [(0, 0)] * a.ndim
    width[1] = (0, G - g)
    if name == "pair_features":
        width[2] = (0, G - g)
    return np.pad(a, width)


def tokenize(jets, config: TokenizerConfig | None = None, *, n_threads: int | None = None) -> Tokens:
    """Tokenise an awkward array of jets.

    Args:
        jets: ``ak.Array`` of records with jagged ``px, py, pz, energy`` and optional
            jagged ``charge`` and particle-type flags (absent -> zeros).
        config: tokeniser settings (default ``TokenizerConfig()``).
        n_threads: Numba threads (see :func:`tokenize_flat`).
    Returns:
        :class:`Tokens`.
    Raises:
        KeyError: a required field is missing. ValueError: NaN/inf (names jet and field).
    """
    import awkward as ak

    fields = set(ak.fields(jets))
    missing = [f for f in ("px", "py", "pz", "energy") if f not in fields]
    if missing:
        raise KeyError(f"jets lack fields {missing}; have {sorted(fields)}")
    offsets = np.zeros(len(jets) + 1, np.int64)
    np.cumsum(ak.to_numpy(ak.num(jets.px, axis=1)), out=offsets[1:])
    extras = {f: ak.to_numpy(ak.flatten(jets[f], axis=1)) for f in ("charge",) + FLAG_FIELDS if f in fields}
    return tokenize_flat(*(ak.to_numpy(ak.flatten(jets[f], axis=1)) for f in ("px", "py", "pz", "energy")),
                         offsets, config=config, n_threads=n_threads, **extras)


def tokenize_flat(px, py, pz, energy, offsets, config: TokenizerConfig | None = None, *,
                  charge=None, isChargedHadron=None, isNeutralHadron=None, isPhoton=None,
                  isElectron=None, isMuon=None, n_threads: int | None = None) -> Tokens:
    """Tokenise jets given as flat per-particle arrays + offsets (no awkward needed).

    Args:
        px, py, pz, energy: (P,) arrays of all particles, jet after jet.
        offsets: (N+1,) ints, jet j owns particles ``offsets[j]:offsets[j+1]``.
        config: tokeniser settings.
        charge, isChargedHadron, ...: optional (P,) arrays (None -> zeros).
        n_threads: Numba threads over jets (the output does not depend on it). ``None`` =
            ``NUMBA_NUM_THREADS`` if that environment variable is set, else 1. Threads are
            opt-in because a parallel launch has process-wide side effects: with Numba's
            OpenMP layer a later ``fork()`` (DataLoader workers, fork-based process pools)
            aborts the child; with the workqueue layer concurrent launches abort (calls from
            several Python threads are serialised here: a call that finds another one running
            in parallel runs on one thread).
    Returns:
        :class:`Tokens`.
    Raises:
        ValueError: bad offsets/lengths, NaN/inf naming the jet index and field, or
            ``n_threads`` outside 1 .. ``NUMBA_NUM_THREADS``.
    """
    import numba

    config = config or TokenizerConfig()
    max_threads = numba.config.NUMBA_NUM_THREADS
    if n_threads is None:
        n_threads = max_threads if "NUMBA_NUM_THREADS" in os.environ else 1
    elif not (isinstance(n_threads, (int, np.integer)) and 1 <= n_threads <= max_threads):
        raise ValueError(f"n_threads={n_threads!r}; expected an int in 1..{max_threads} (NUMBA_NUM_THREADS)")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError(f"offsets must be 1-d, start at 0 and be non-decreasing; got {offsets[:10]}...")
    P = int(offsets[-1])
    given = dict(px=px, py=py, pz=pz, energy=energy, charge=charge, isChargedHadron=isChargedHadron,
                 isNeutralHadron=isNeutralHadron, isPhoton=isPhoton, isElectron=isElectron, isMuon=isMuon)
    arrs = []
    flags = np.zeros((len(FLAG_FIELDS), P))
    for name in _FIELDS:
        a = given[name]
        if a is None:
            arrs.append(None)
            continue
        a = np.ascontiguousarray(a, dtype=np.float64)
        if a.shape != (P,):
            raise ValueError(f"field {name!r} has shape {a.shape}; expected ({P},) from offsets[-1]")
        arrs.append(a)
    _check_finite(arrs, offsets)
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
        group_p4=np.zeros((N, G, 4), np.float32), pair_features=np.zeros((N, G, G, 4), np.float32))
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
    return out


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
        raise ValueError(f"non-finite value in field {_FIELDS[first[1]]!r} of jet index {first[0]}")
