"""The long fuzz campaign: >= 10,000 seeded hostile cases over the producer, tokeniser, readers and jobs.

The same cases as tests/testing/test_fuzz.py (``hepjepa.testing.fuzz``), more of them. With
``--pythonpath DIR`` it measures another checkout (for example the commit before the hostile
inputs were handled: ``git worktree add /tmp/old <commit>`` and copy its built ``_core`` module
into ``/tmp/old/python/hepjepa/``), since the campaign only uses APIs every version has.

Writes ``benchmarks/results/fuzz_campaign.json`` (``--name`` to write another file):

    python -m benchmarks.fuzz_campaign --cases 2500 [--targets ...] [--pythonpath /tmp/old/python --name fuzz_campaign_before]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._common import ROOT, cli, machine, write_json

FUZZ = ROOT / "python" / "hepjepa" / "testing" / "fuzz.py"


def run(a) -> int:
    """Run the campaign in a subprocess and write the JSON."""
    env = dict(os.environ)
    if a.pythonpath:
        env["PYTHONPATH"] = a.pythonpath
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "r.json"
        # run as a script: the worker processes import the hepjepa of PYTHONPATH, not this checkout's
        subprocess.run([sys.executable, str(FUZZ), "--cases", str(a.cases), "--seed", str(a.seed), "--targets", *a.targets,
                        "--json", str(out)], env=env, check=True)
        results = json.loads(out.read_text())
    code = subprocess.run([sys.executable, "-c", "import hepjepa, sys; print(hepjepa.__file__)"], env=env,
                          capture_output=True, text=True).stdout.strip()
    total = {k: sum(r["counts"][k] for r in results) for k in results[0]["counts"]}
    res = {"machine": machine(), "hepjepa": code, "seed": a.seed, "cases_per_target": a.cases,
           "cases": sum(r["cases"] for r in results), "totals": total, "targets": results,
           "kinds": "ok: as documented; crash: the worker died; silent: an invalid input returned, or garbage (NaN, a "
                    "probability for an empty jet); untyped: another error type; unnamed: the documented type without "
                    "the input's name; refused: a valid input raised; undetectable: a changed value in bytes the format "
                    "does not checksum"}
    path = write_json(a.name, res, a.results)
    print(f"{res['cases']} cases: " + ", ".join(f"{v} {k}" for k, v in total.items() if v) + f"; wrote {path}")
    return 0


def _args(p):
    p.add_argument("--cases", type=int, default=2500, help="cases per target (4 targets: 2500 -> 10,000)")
    p.add_argument("--targets", nargs="+", default=["producer", "tokenizer", "readers", "jobs"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pythonpath", help="measure the hepjepa found here instead of the installed one")
    p.add_argument("--name", default="fuzz_campaign", help="results file name")


if __name__ == "__main__":
    raise SystemExit(cli(__doc__, {"fuzz_campaign": (_args, run)}))
