"""Top tagging on ttbar (Tbqq) vs QCD NanoAOD-like events with the shipped hepjepa model.

One command::

    python examples/top_tagging/run.py --events 300 -o top_out [--model DIR]

Generates (or reuses) ttbar and QCD samples with fixed seeds (QCD: ten times ``--events``
unless ``--background-events`` says otherwise, so that some QCD jets pass the cut), runs
``hepjepa tag``'s job under coffea, and writes ``results.json``: AUC of probTbqq (top vs QCD
truth), the working point at 50% top efficiency with its QCD rejection and how many QCD jets
pass it (a lower limit on the rejection when fewer than ten do), and the QCD soft-drop mass
sculpting check (JS and KS distance of the QCD msd distribution before/after that cut), plus
the histograms and PNGs of ``hepjepa tag``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/_examples_common.py
from _examples_common import parser, run_example  # noqa: E402


def main(argv=None) -> dict:
    p = parser(__doc__, events=300, output="top_tagging_out", executors=True)
    p.add_argument("--background-events", type=int, help="QCD jets asked from the generator (default: 10 x --events)")
    a = p.parse_args(argv)

    def results(s, wp):
        return {"auc_top_vs_qcd": s["auc"], "top_efficiency": wp.get("eff_sig"), "score_cut": wp.get("score_cut"),
                "qcd_efficiency": wp.get("eff_bkg"), "qcd_efficiency_interval_68": wp.get("eff_bkg_interval_68"),
                "qcd_passing": wp.get("bkg_passing"), "qcd_total": wp.get("bkg_total"),
                "qcd_rejection": wp.get("bkg_rejection"), "qcd_rejection_interval_68": wp.get("bkg_rejection_interval_68"),
                "qcd_rejection_lower_limit_95": wp.get("bkg_rejection_lower_limit_95"),
                "qcd_msd_js_distance": s["msd_js_distance"], "qcd_msd_ks_distance": s["msd_ks_distance"],
                "events_per_s": s["events_per_s"]}

    return run_example(a, None, results, background_jets=a.background_events or 10 * a.events,
                       executor=a.executor, workers=a.workers, flavour="probTbqq", signal=8, background=0)


if __name__ == "__main__":
    main()
    sys.exit(0)
