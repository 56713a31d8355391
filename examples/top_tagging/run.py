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

import argparse
import json
import sys
from pathlib import Path

from hepjepa._io import atomic_path
from hepjepa.analysis import bundled_sample, run_tag


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=300, help="jets per sample asked from the generator")
    p.add_argument("-o", "--output", default="top_tagging_out")
    p.add_argument("--model", help="exported model directory (default: the shipped model)")
    p.add_argument("--executor", default="iterative", choices=("iterative", "futures", "dask"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    out = Path(a.output)
    fileset = bundled_sample(a.events, directory=out / "samples", progress=not a.no_progress)
    s = run_tag(fileset, a.model, executor=a.executor, workers=a.workers, chunksize=5000, output=out,
                flavour="probTbqq", signal=8, background=0, progress=not a.no_progress)
    wp = s["working_point"]
    res = {"events": s["events"], "fatjets_tagged": s["fatjets_tagged"], "auc_top_vs_qcd": s["auc"],
           "top_efficiency": wp["eff_sig"] if wp else None, "score_cut": wp["score_cut"] if wp else None,
           "qcd_efficiency": wp["eff_bkg"] if wp else None, "qcd_rejection": wp["bkg_rejection"] if wp else None,
           "qcd_msd_js_distance": s["msd_js_distance"], "qcd_msd_ks_distance": s["msd_ks_distance"],
           "events_per_s": s["events_per_s"], "model_dir": s["model_dir"]}
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
    sys.exit(0)
