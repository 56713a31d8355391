"""coffea tooling: per-FatJet scores (``ONNXJetTagger``), schemas whose FatJets keep their PF
candidates through any selection, the ``JEPATagProcessor`` and a checked ``processor.Runner``.

Imported explicitly (``from hepjepa.coffea import ONNXJetTagger``) since coffea is heavy; it
does not import torch.
"""

from hepjepa.coffea.processor import CUTFLOW_KEYS, JEPATagProcessor
from hepjepa.coffea.runner import EXECUTORS, check_fileset, make_executor, run_processor
from hepjepa.coffea.schema import LINK_FIELD, NanoAODSchema, PFNanoAODSchema
from hepjepa.coffea.tagger import FatJetTags, ONNXJetTagger
from hepjepa.errors import InputFileError

__all__ = ["CUTFLOW_KEYS", "EXECUTORS", "FatJetTags", "InputFileError", "JEPATagProcessor", "LINK_FIELD", "NanoAODSchema",
           "ONNXJetTagger", "PFNanoAODSchema", "check_fileset", "make_executor", "run_processor"]
