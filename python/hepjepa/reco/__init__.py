"""CMSSW-like job configs (``FWCore.ParameterSet.Config`` in miniature) and ``hepjepa-run``.

A job config is a Python file that builds ``process``::

    from hepjepa.reco import config as cms
    process = cms.Process("TAG")
    process.source = cms.Source("NanoAODSource", fileNames=cms.vstring("a.root"))
    process.jepaTags = cms.EDProducer("JetTagProducer", model_dir=cms.string("model/"))
    process.p = cms.Path(process.jepaTags)
    process.out = cms.OutputModule("RootOutput", fileName=cms.string("out.root"))
"""

from hepjepa.reco.config import (
    ConfigError,
    EDProducer,
    OutputModule,
    Path,
    Process,
    Source,
    VarParsing,
)

__all__ = ["ConfigError", "EDProducer", "OutputModule", "Path", "Process", "Source", "VarParsing"]
