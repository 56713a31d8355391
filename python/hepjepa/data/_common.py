"""Helpers shared by the format modules: building jet records from flat arrays."""

from __future__ import annotations

import contextlib

import awkward as ak
import numpy as np

from ._errors import FormatError


def flags_from_pdgid(pdgid: np.ndarray, charge: np.ndarray) -> dict[str, np.ndarray]:
    """Particle-type flags (float32 0/1) from flat PDG ids and charges, as JetClass defines them.

    Electrons are |id| 11, muons 13, photons 22; the rest are hadrons, charged or neutral by charge.
    """
    a = np.abs(pdgid)
    is_e = a == 11
    is_mu = a == 13
    is_ph = a == 22
    had = ~(is_e | is_mu | is_ph)
    return {
        "isChargedHadron": (had & (charge != 0)).astype(np.float32),
        "isNeutralHadron": (had & (charge == 0)).astype(np.float32),
        "isPhoton": is_ph.astype(np.float32),
        "isElectron": is_e.astype(np.float32),
        "isMuon": is_mu.astype(np.float32),
    }


def jagged_record(counts: np.ndarray, particles: dict[str, np.ndarray], scalars: dict[str, np.ndarray]) -> ak.Array:
    """Zip flat per-particle arrays (split by ``counts``) and per-jet scalars into one record per jet."""
    counts = np.asarray(counts, dtype=np.int64)
    fields = {k: ak.unflatten(np.asarray(v), counts) for k, v in particles.items()}
    fields.update({k: np.asarray(v) for k, v in scalars.items()})
    return ak.zip(fields, depth_limit=1)


@contextlib.contextmanager
def open_tree(path: str, fmt: str, tree: str):
    """The TTree ``tree`` of the ROOT file ``path`` (a context: the file closes after it), a
    :class:`FormatError` naming the file when it is not ROOT or has no such tree."""
    with open_root(path, f"{fmt} ROOT") as f:
        if tree not in f:
            msg = f"{path}: not a {fmt} file, no TTree {tree!r} (keys: {list(f.keys())[:10]})"
            raise FormatError(msg)
        yield f[tree]


def open_root(path: str, fmt: str):
    """``uproot.open`` that turns "not a ROOT file" into a :class:`FormatError` naming the expected format."""
    import uproot

    try:
        return uproot.open(path)
    except (ValueError, OSError) as e:
        msg = f"{path}: not a ROOT file, expected {fmt} ({e})"
        raise FormatError(msg) from e
