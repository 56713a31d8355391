"""Real CMS files for the tests: coffea's own test samples, taken from its source distribution.

Not a conftest: imported explicitly (``from _samples import coffea_sample``). The sdist of
coffea==2026.9.0 (30 MB, from PyPI) is downloaded once and the files it holds are cached in
``~/.cache/hepjepa/samples/coffea-2026.9.0/``; a test is skipped only if PyPI is unreachable.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

VERSION = "2026.9.0"
#: the files the tests use: NanoAOD v15 (PFCand / FatJetPFCand), PFNano (PFCands / FatJetPFCands) and its
#: RNTuple twin, NanoAOD without PF candidates, and an empty NanoAOD
FILES = ("nano_tt_v15.root", "pfnano.root", "pfnano_rntuple.root", "nano_dy.root", "nano_dy_empty.root")


def coffea_sample(name: str) -> str:
    """Path of ``tests/samples/<name>`` of coffea's sdist (downloaded and cached on first use)."""
    if name not in FILES:
        raise ValueError(f"unknown coffea sample {name!r}; known: {FILES}")
    cache = Path.home() / ".cache" / "hepjepa" / "samples" / f"coffea-{VERSION}"
    target = cache / name
    if target.is_file():
        return str(target)
    cache.mkdir(parents=True, exist_ok=True)
    dl = cache / "sdist"
    if not list(dl.glob("coffea-*.tar.gz")):
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            f"coffea=={VERSION}", "-d", str(dl), "-q"], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.skip(f"pip could not fetch coffea=={VERSION}'s sdist from PyPI: {r.stderr.strip()[-300:]}")
    (sdist,) = list(dl.glob("coffea-*.tar.gz"))
    with tarfile.open(sdist) as tf:
        for m in tf.getmembers():
            base = m.name.rsplit("/", 1)[-1]
            if "/tests/samples/" in m.name and base in FILES and not (cache / base).is_file():
                tmp = cache / f".{base}.part"
                tmp.write_bytes(tf.extractfile(m).read())
                tmp.replace(cache / base)
    return str(target)
