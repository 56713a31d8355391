"""The README's "Using it" commands and snippets, run in order in an empty folder (tiny sizes), so it cannot drift.

Every ``bash`` and ``python`` block between ``<!-- readme-test:begin -->`` and
``<!-- readme-test:end -->`` runs as written, in order, in one empty folder, except for the
sizes in :data:`TINY` (jets, steps, epochs: the README's own sizes take minutes each on 2
cores, and the test needs only the chain of files to hold). Each later command uses what an
earlier one made, so a path that changes in one place and not in the other fails here. The
ten-line processor in the README must also be ``examples/coffea_processor/analysis.py``'s,
word for word.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: README size -> the size the test runs (pattern, replacement), applied to every command
TINY = [
    (r"--n-jets 2000\b", "--n-jets 40"),
    (r"--n-jets 500\b", "--n-jets 16"),
    (r"--n-jets 100\b", "--n-jets 3"),
    (r"--config pretrain_small\b", "--config pretrain_tiny"),
    (r"optim\.total_steps=\d+", "optim.total_steps=4"),
    (r"--epochs \d+", "--epochs 1"),
]


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of the fenced blocks of the tested region, in order."""
    region = text.split("<!-- readme-test:begin -->", 1)[1].split("<!-- readme-test:end -->", 1)[0]
    return re.findall(r"```(bash|python)\n(.*?)```", region, flags=re.S)


def tiny(code: str) -> str:
    for pat, rep in TINY:
        code = re.sub(pat, rep, code)
    return code


def test_readme_region_exists_and_covers_the_workflow():
    bs = blocks(README.read_text())
    text = "\n".join(code for _, code in bs)
    for cmd in ("hepjepa generate", "hepjepa pretrain", "torchrun", "hepjepa rank", "hepjepa finetune", "hepjepa evaluate",
                "hepjepa probe", "hepjepa regress", "hepjepa export", "hepjepa-run", "hepjepa tag", "ONNXJetTagger", "JetTagger"):
        assert cmd in text, cmd
    for pat, _ in TINY:
        assert re.search(pat, text), f"TINY pattern {pat!r} matches nothing in the README: update the test"


def test_ten_line_processor_is_the_example():
    example = (ROOT / "examples" / "coffea_processor" / "analysis.py").read_text()
    body = example.split("# --- the ten-line processor (README) ---\n", 1)[1].split("# --- end of the ten-line processor ---", 1)[0]
    assert body.strip() in README.read_text(), "README's processor differs from examples/coffea_processor/analysis.py"


def test_ten_line_processor_on_real_cms_files(tmp_path):
    """The example processor on coffea's real NanoAOD v15 and PFNano files."""
    pytest.importorskip("coffea")
    from _samples import coffea_sample

    files = [coffea_sample("nano_tt_v15.root"), coffea_sample("pfnano.root")]
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "coffea_processor" / "analysis.py"), *files,
                        "-o", str(tmp_path / "msd.png")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "nano_tt_v15: 8 FatJets with pT > 300 GeV" in r.stdout and "pfnano: 21 FatJets" in r.stdout
    assert (tmp_path / "msd.png").stat().st_size > 0


@pytest.mark.slow
def test_using_it_runs_in_order_in_an_empty_folder(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               MPLBACKEND="Agg", HEPJEPA_CACHE=str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    for i, (lang, code) in enumerate(blocks(README.read_text())):
        code = tiny(code)
        if lang == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", code]
        else:
            (work / f"_snippet{i}.py").write_text(code)
            cmd = [sys.executable, f"_snippet{i}.py"]
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"README block {i} ({lang}) failed:\n{code}\n--- stdout\n{r.stdout[-2000:]}\n--- stderr\n{r.stderr[-4000:]}"
