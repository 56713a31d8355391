"""Quark vs gluon: QCD jets with the generator's parton truth, scored by the model's probQCD.

One command::

    python examples/quark_gluon/run.py --events 300 -o qg_out [--model DIR]

The shipped tagger has no quark/gluon output, so this measures how well its QCD score
(``probQCD``) separates quark jets from gluon jets (truth: ``FatJet_isQuark``, 1 quark,
0 gluon, -1 no parton match) - not a dedicated q/g tagger. Writes ``results.json`` with the
AUC (quark = signal), the working point at 50% quark efficiency and the gluon rejection.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hepjepa._io import atomic_path
from hepjepa.analysis import bundled_sample, run_tag
from hepjepa.coffea import JEPATagProcessor

QG_SEED = 3303


class QuarkGluonProcessor(JEPATagProcessor):
    """``JEPATagProcessor`` whose truth axis holds ``FatJet_isQuark`` (1 quark, 0 gluon, -1 none)."""

    def process(self, events):
        if "isQuark" not in events[self.src].fields:
            raise KeyError(f"input has no {self.src}_isQuark branch: quark/gluon truth needs hepjepa generate's NanoAOD")
        events[self.src, "truthLabel"] = events[self.src].isQuark
        return super().process(events)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=300, help="QCD jets asked from the generator")
    p.add_argument("-o", "--output", default="quark_gluon_out")
    p.add_argument("--model", help="exported model directory (default: the shipped model)")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    out = Path(a.output)
    fileset = bundled_sample(a.events, directory=out / "samples", progress=not a.no_progress,
                             processes={"qcd": ("qcd", QG_SEED)})
    s = run_tag(fileset, a.model, chunksize=5000, output=out, flavour="probQCD", signal=1, background=0,
                progress=not a.no_progress, processor_class=QuarkGluonProcessor,
                class_names={1: "quark", 0: "gluon", -1: "no parton"})
    wp = s["working_point"]
    res = {"events": s["events"], "fatjets_tagged": s["fatjets_tagged"], "score": "probQCD",
           "auc_quark_vs_gluon": s["auc"], "quark_efficiency": wp["eff_sig"] if wp else None,
           "gluon_rejection": wp["bkg_rejection"] if wp else None, "score_cut": wp["score_cut"] if wp else None,
           "model_dir": s["model_dir"]}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
    sys.exit(0)
