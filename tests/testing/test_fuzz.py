"""The bounded fuzz campaign (hepjepa.testing.fuzz): a few hundred seeded hostile cases per target.

Each target runs in its own worker process, restarted after a crash, so a segfault fails
this test instead of killing the run. Every case must end as documented: a valid input gives
a sane output, an invalid one the documented error naming the input or file. Bit flips that a
format cannot detect (no checksum over those bytes) are counted, not failed
(docs/architecture.md, "integrity checks"). The long campaign (>= 10,000 cases) is
python -m benchmarks.fuzz_campaign.
"""

from __future__ import annotations

import pytest

from hepjepa.testing import fuzz

#: cases per target: about two minutes for all four on 2 cores
CASES = {"producer": 300, "tokenizer": 300, "readers": 200, "jobs": 80}


@pytest.mark.parametrize("target", list(CASES))
def test_fuzz_target(target):
    r = fuzz.run_target(target, CASES[target], seed=2026, timeout_s=300)
    assert r["cases"] == CASES[target], r
    bad = {k: v for k, v in r["counts"].items() if k not in ("ok", "undetectable") and v}
    assert not bad, f"{target}: {bad}\n" + "\n".join(f"{k}: {e}" for k, ex in r["examples"].items() for e in ex)
    assert r["counts"]["ok"] >= 0.9 * CASES[target]
