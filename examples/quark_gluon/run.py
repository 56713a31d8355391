"""Quark vs gluon: QCD jets with the generator's parton truth, scored by the model's probQCD.

One command::

    python examples/quark_gluon/run.py --events 300 -o qg_out [--model DIR]

The shipped tagger has no quark/gluon output, so this measures how well its QCD score
(``probQCD``) separates quark jets from gluon jets (truth: ``FatJet_isQuark``, 1 quark,
0 gluon, -1 no parton match) - not a dedicated q/g tagger. Writes ``results.json`` with the
AUC (quark = signal), the working point at 50% quark efficiency and the gluon rejection with
how many gluon jets pass (a lower limit on the rejection when fewer than ten do).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/_examples_common.py
from _examples_common import parser, run_example  # noqa: E402

from hepjepa.coffea import JEPATagProcessor  # noqa: E402

QG_SEED = 3303


class QuarkGluonProcessor(JEPATagProcessor):
    """``JEPATagProcessor`` whose truth axis holds ``FatJet_isQuark`` (1 quark, 0 gluon, -1 none)."""

    def process(self, events):
        if "isQuark" not in events[self.src].fields:
            raise KeyError(f"input has no {self.src}_isQuark branch: quark/gluon truth needs hepjepa generate's NanoAOD")
        events[self.src, "truthLabel"] = events[self.src].isQuark
        return super().process(events)


def main(argv=None) -> dict:
    a = parser(__doc__, events=300, output="quark_gluon_out").parse_args(argv)

    def results(s, wp):
        return {"score": "probQCD", "auc_quark_vs_gluon": s["auc"], "quark_efficiency": wp.get("eff_sig"),
                "gluon_passing": wp.get("bkg_passing"), "gluon_total": wp.get("bkg_total"),
                "gluon_rejection": wp.get("bkg_rejection"), "gluon_rejection_interval_68": wp.get("bkg_rejection_interval_68"),
                "gluon_rejection_lower_limit_95": wp.get("bkg_rejection_lower_limit_95"), "score_cut": wp.get("score_cut")}

    return run_example(a, {"qcd": ("qcd", QG_SEED)}, results, flavour="probQCD", signal=1, background=0,
                       processor_class=QuarkGluonProcessor, class_names={1: "quark", 0: "gluon", -1: "no parton"})


if __name__ == "__main__":
    main()
    sys.exit(0)
