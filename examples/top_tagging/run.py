"""Top tagging on ttbar (Tbqq) vs QCD NanoAOD-like events with the shipped hepjepa model.

One command::

    python examples/top_tagging/run.py --events 300 -o top_out [--model DIR]

Generates (or reuses) ttbar and QCD samples with fixed seeds, runs ``hepjepa tag``'s job
under coffea, and writes ``results.json``: AUC of probTbqq (top vs QCD truth), the working
point at 50% top efficiency with its QCD rejection, and the QCD soft-drop mass sculpting
check (JS and KS distance of the QCD msd distribution before/after that cut), plus the
histograms and PNGs of ``hepjepa tag``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/_examples_common.py
from _examples_common import parser, run_example  # noqa: E402


def main(argv=None) -> dict:
    a = parser(__doc__, events=300, output="top_tagging_out", executors=True).parse_args(argv)

    def results(s, wp):
        return {"auc_top_vs_qcd": s["auc"], "top_efficiency": wp.get("eff_sig"), "score_cut": wp.get("score_cut"),
                "qcd_efficiency": wp.get("eff_bkg"), "qcd_rejection": wp.get("bkg_rejection"),
                "qcd_msd_js_distance": s["msd_js_distance"], "qcd_msd_ks_distance": s["msd_ks_distance"],
                "events_per_s": s["events_per_s"]}

    return run_example(a, None, results, executor=a.executor, workers=a.workers,
                       flavour="probTbqq", signal=8, background=0)


if __name__ == "__main__":
    main()
    sys.exit(0)
