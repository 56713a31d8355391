"""Your own coffea processor with hepjepa scores: select FatJets, tag them, cut, fill a histogram.

The processor (between the markers) is the README's "ten-line processor", word for word (a test
keeps them equal). Run it on NanoAOD files (NanoAOD v15 or PFNano layout)::

    python examples/coffea_processor/analysis.py nano.root [more.root ...] [--model DIR] [-o top_msd.png]

It prints the cutflow per dataset and draws the soft-drop mass of the FatJets passing the cut.
"""

from __future__ import annotations

import argparse
import sys

import awkward as ak
import hist
from coffea import processor

from hepjepa.coffea import NanoAODSchema, ONNXJetTagger


# --- the ten-line processor (README) ---
class TopTagAnalysis(processor.ProcessorABC):
    def __init__(self, model=None):
        self.tagger = ONNXJetTagger(model)  # the shipped model, or an exported model directory

    def process(self, events):
        fatjets = events.FatJet[(events.FatJet.pt > 300) & (abs(events.FatJet.eta) < 2.4)]
        fatjets["probTbqq"] = self.tagger(fatjets).probTbqq  # None where a FatJet could not be tagged
        tops = fatjets[ak.fill_none(fatjets.probTbqq > 0.5, False)]
        h = hist.Hist.new.Reg(40, 0, 400, name="msd", label="soft-drop mass [GeV]").Double()
        h.fill(msd=ak.flatten(tops.msoftdrop))
        return {events.metadata["dataset"]: {"msd": h, "fatjets": ak.sum(ak.num(fatjets)), "tops": ak.sum(ak.num(tops))}}

    def postprocess(self, accumulator):
        return accumulator
# --- end of the ten-line processor ---


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="NanoAOD files; each is a dataset named by its stem")
    p.add_argument("--model", help="exported model directory (default: the shipped model)")
    p.add_argument("-o", "--output", default="top_msd.png", help="plot of the soft-drop mass after the cut")
    a = p.parse_args(argv)
    from pathlib import Path

    fileset = {Path(f).stem: {"files": {f: "Events"}} for f in a.files}
    runner = processor.Runner(processor.IterativeExecutor(status=False), schema=NanoAODSchema)
    out = runner(fileset, processor_instance=TopTagAnalysis(a.model))
    for ds, r in out.items():
        print(f"{ds}: {r['fatjets']} FatJets with pT > 300 GeV, |eta| < 2.4; {r['tops']} with probTbqq > 0.5")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(8, 7))
    for ds, r in out.items():
        r["msd"].plot1d(ax=ax, label=f"{ds} ({r['tops']} FatJets)")
    ax.set_ylabel("FatJets")
    ax.legend()
    fig.savefig(a.output, dpi=80, bbox_inches="tight")
    print(f"wrote {a.output}")
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
