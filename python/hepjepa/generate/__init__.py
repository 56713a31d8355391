"""Jets from first principles: Pythia 8 + detector response + FastJet, written as JetClass or NanoAOD.

Public API::

    from hepjepa.generate import generate_jets, write_jets
    jets = generate_jets("tbqq", n_jets=100, seed=1)          # ak.Array of jet records
    write_jets("all", 1000, seed=1, path="jets.root", format="jetclass", workers=2)

Work is split into fixed-size blocks of jets per class, each seeded from (seed, class,
block index), so the output for a seed is the same for any number of workers.
"""

from hepjepa.generate.clustering import JetCuts
from hepjepa.generate.jets import BLOCK_SIZE, FORMATS, generate_jets, write_jets
from hepjepa.generate.processes import PROCESSES

__all__ = ["BLOCK_SIZE", "FORMATS", "JetCuts", "PROCESSES", "generate_jets", "write_jets"]
