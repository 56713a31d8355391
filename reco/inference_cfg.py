"""Job config: tag the FatJets of NanoAOD-like files with the shipped hepjepa model.

Run it with ``hepjepa-run inference_cfg.py inputFiles=a.root,b.root outputFile=tags.root
maxEvents=1000 [modelDir=exported/]`` (the name finds this file wherever hepjepa is
installed; ``hepjepa-run --print-config inference_cfg.py > my_cfg.py`` starts your own).
Output: ``FatJet_jepaTags_probQCD``, ... per FatJet (-1 for a FatJet that could not be
tagged), the event ids, and ``provenance``.
"""

from hepjepa.contract import DEFAULT_BATCH_SIZE
from hepjepa.deploy import shipped_model_dir
from hepjepa.reco import config as cms

process = cms.Process("JEPATAG")
process.options.numberOfThreads = 1
process.maxEvents = -1

process.source = cms.Source(
    "NanoAODSource",
    fileNames=cms.untracked.vstring(),  # set with inputFiles=...
    treeName=cms.string("Events"),
    chunkSize=cms.uint32(1000),
)

process.jepaTags = cms.EDProducer(
    "JetTagProducer",
    src=cms.string("FatJet"),
    pfcands=cms.string(""),  # auto: PFCands (PFNano) or PFCand (NanoAOD v15)
    model_dir=cms.string(str(shipped_model_dir())),
    batch_size=cms.uint32(DEFAULT_BATCH_SIZE),
    intra_op_threads=cms.uint32(1),
)

process.p = cms.Path(process.jepaTags)
process.out = cms.OutputModule("RootOutput", fileName=cms.string("jepa_tags.root"), treeName=cms.string("Events"))
