"""Electric charge from PDG ids, vectorised with a lookup over the few distinct ids in a batch."""

from __future__ import annotations

import functools

import numpy as np

from hepjepa.errors import UserInputError


@functools.cache
def _charge_one(pid: int) -> float:
    from particle import Particle

    try:
        charge = Particle.from_pdgid(pid).charge
    except Exception as err:  # noqa: BLE001 - re-raised with the offending id
        msg = f"no charge known for PDG id {pid}"
        raise UserInputError(msg) from err
    if charge is None:
        msg = f"no charge known for PDG id {pid}"
        raise UserInputError(msg)
    return float(charge)


def charge_of(pid: np.ndarray) -> np.ndarray:
    """Charge (float32) of each PDG id in ``pid``."""
    uniq, inv = np.unique(pid, return_inverse=True)
    return np.array([_charge_one(int(u)) for u in uniq], np.float32)[inv]
