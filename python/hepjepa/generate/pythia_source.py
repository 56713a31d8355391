"""Pythia 8 event source: configured, seeded, silenced; events come in batches via ``nextBatch``."""

from __future__ import annotations

import hashlib
import os

from hepjepa.errors import UserInputError
from hepjepa.generate.processes import ProcessSpec

__all__ = ["SEED_MAX", "block_seed", "make_pythia"]

#: Pythia accepts Random:seed only in 1..900000000 (larger values are silently ignored).
SEED_MAX = 900_000_000


def block_seed(seed: int, process: str, block: int) -> int:
    """Seed of one block, a pure function of (run seed, process, block index), in 1..SEED_MAX."""
    digest = hashlib.sha256(f"{seed}/{process}/{block}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % SEED_MAX + 1


def make_pythia(spec: ProcessSpec, seed: int, pt_hat_min: float = 450.0, mpi: bool = True):
    """A silenced, initialised Pythia for one class.

    Args:
        spec: the class's settings.
        seed: Pythia seed, 1..SEED_MAX.
        pt_hat_min: lower cut on the hard process pT (GeV).
        mpi: multi-parton interactions on/off.

    Returns:
        pythia8mc.Pythia, initialised.

    Raises:
        ValueError: seed out of range. RuntimeError: a setting rejected or init failure.
    """
    if not 1 <= seed <= SEED_MAX:
        msg = f"Pythia seed {seed} out of range: expected 1..{SEED_MAX}"
        raise UserInputError(msg)
    # a stray PYTHIA8DATA makes Pythia abort: the wheel knows its own data path
    os.environ.pop("PYTHIA8DATA", None)
    try:
        import pythia8mc
    except ImportError as err:
        msg = f"generating events needs pythia8mc ({err}); install the generator extra: pip install 'hepjepa[generator]'"
        raise UserInputError(msg) from err

    pythia = pythia8mc.Pythia("", False)
    lines = ["Beams:eCM = 13000.", "Next:numberCount = 0", "Print:quiet = on", "Random:setSeed = on",
             f"Random:seed = {seed}", f"PhaseSpace:pTHatMin = {pt_hat_min}",
             f"PartonLevel:MPI = {'on' if mpi else 'off'}", "HadronLevel:all = on", *spec.settings]
    for line in lines:
        if not pythia.readString(line):
            msg = f"Pythia rejected setting {line!r} for process {spec.name!r}"
            raise RuntimeError(msg)
    if not pythia.init():
        msg = f"Pythia init failed for process {spec.name!r}"
        raise RuntimeError(msg)
    return pythia
