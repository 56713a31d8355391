"""Pythia 8 settings per JetClass class: which hard process makes which jet class.

Each class is made by a process whose resonance recoils against something invisible
or a jet, with ``PhaseSpace:pTHatMin`` below the jet window so the resonance is boosted
into 500 < pT < 1000 GeV. See docs/generator.md for the physics.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from hepjepa.errors import UserInputError
from hepjepa.labels import PROCESS_NAMES

__all__ = ["ProcessSpec", "PROCESSES", "get_process", "resolve_processes"]

_COMMON_DECAYS_Z_INVISIBLE = ["23:onMode = off", "23:onIfAny = 12 14 16"]
_HZ = ["HiggsSM:ffbar2HZ = on", "25:m0 = 125.0", *_COMMON_DECAYS_Z_INVISIBLE, "25:onMode = off"]
_TT = ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off"]


@dataclass(frozen=True)
class ProcessSpec:
    """One class's generator recipe.

    Attributes:
        name: CLI process name (JetClass label in lower case).
        settings: Pythia ``readString`` lines specific to this class.
        resonance: |PDG id| of the resonance the jet must contain (0 for QCD).
        n_leptons: charged leptons required among the decay products (Hqql, Tbl: 1).
    """

    name: str
    settings: tuple[str, ...]
    resonance: int
    n_leptons: int = 0


PROCESSES: dict[str, ProcessSpec] = {
    # QCD dijets: every jet in the window is QCD; quark/gluon origin from the nearest outgoing parton.
    "qcd": ProcessSpec("qcd", ("HardQCD:all = on",), 0),
    # H recoiling against Z -> nu nu: the only visible hard object is the Higgs.
    "hbb": ProcessSpec("hbb", (*_HZ, "25:onIfAny = 5"), 25),
    "hcc": ProcessSpec("hcc", (*_HZ, "25:onIfAny = 4"), 25),
    "hgg": ProcessSpec("hgg", (*_HZ, "25:onIfAny = 21"), 25),
    # H -> W W* -> 4q: both W forced hadronic.
    "h4q": ProcessSpec("h4q", (*_HZ, "25:onIfAny = 24", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"), 25),
    # H -> W W* -> l nu q q': W to quarks or e/mu/tau; events with exactly one leptonic W kept by matching.
    "hqql": ProcessSpec("hqql", (*_HZ, "25:onIfAny = 24", "24:onMode = off", "24:onIfAny = 1 2 3 4 5 11 13 15"), 25, 1),
    # Z + jet (pure Z, no photon) and W + jet with hadronic decays.
    "zqq": ProcessSpec("zqq", ("WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
                               "WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"), 23),
    "wqq": ProcessSpec("wqq", ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on",
                               "24:onMode = off", "24:onIfAny = 1 2 3 4 5"), 24),
    # ttbar: all-hadronic for t -> bqq', semi/dileptonic W decays to e/mu/tau for t -> b l nu.
    "tbqq": ProcessSpec("tbqq", (*_TT, "24:onIfAny = 1 2 3 4 5"), 6),
    "tbl": ProcessSpec("tbl", (*_TT, "24:onIfAny = 11 13 15"), 6, 1),
}
assert tuple(PROCESSES) == PROCESS_NAMES, "process table must follow JetClass's label order"


def get_process(name: str) -> ProcessSpec:
    """The recipe of one class.

    Raises:
        ValueError: unknown name, with the closest valid choice.
    """
    key = name.lower()
    if key not in PROCESSES:
        close = difflib.get_close_matches(key, [*PROCESSES, "all"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"unknown process {name!r}: expected one of {[*PROCESSES, 'all']}{hint}"
        raise UserInputError(msg)
    return PROCESSES[key]


def resolve_processes(name: str) -> list[ProcessSpec]:
    """``all`` -> the ten classes in JetClass order, else the one named class."""
    return list(PROCESSES.values()) if name.lower() == "all" else [get_process(name)]
