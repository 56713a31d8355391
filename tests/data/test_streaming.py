"""Streaming: chunk sizes, max_jets, and the resumable shuffle buffer."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest

from hepjepa.data import ShuffleBuffer, iter_jets, read_jets, shuffled


@pytest.fixture
def qg_files(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for k, n in enumerate((23, 11)):
        X = np.zeros((n, 5, 4))
        X[:, :3, 0] = rng.uniform(1, 10, (n, 3))
        X[:, :3, 3] = 211
        # pz-free id in y so each jet is traceable: use is_quark pattern plus unique pt
        X[:, 0, 0] = np.arange(n) + 100 * (k + 1)
        y = np.arange(n) % 2
        p = tmp_path / f"qg{k}.npz"
        np.savez(p, X=X, y=y)
        paths.append(p)
    return paths


def _ids(chunks):
    return [int(round(float(v))) for c in chunks for v in ak.to_numpy(ak.firsts(np.hypot(c.px, c.py)))]


def test_chunk_sizes_and_max_jets(qg_files):
    chunks = list(iter_jets(qg_files, step_size=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3, 5, 5, 1]
    assert _ids(chunks) == list(range(100, 123)) + list(range(200, 211))
    assert len(read_jets(qg_files, max_jets=13, step_size=5)) == 13
    assert sum(len(c) for c in iter_jets(qg_files, step_size=4, max_jets=24)) == 24
    with pytest.raises(ValueError, match="step_size"):
        next(iter_jets(qg_files, step_size=0))


def test_shuffle_is_permutation_and_deterministic(qg_files):
    a = _ids(shuffled(iter_jets(qg_files, step_size=4), buffer_size=8, seed=1))
    b = _ids(shuffled(iter_jets(qg_files, step_size=4), buffer_size=8, seed=1))
    c = _ids(shuffled(iter_jets(qg_files, step_size=4), buffer_size=8, seed=2))
    assert sorted(a) == list(range(100, 123)) + list(range(200, 211))
    assert a == b
    assert a != c
    assert a != sorted(a)


@pytest.mark.parametrize("stop_after", [1, 3, 7])
def test_shuffle_resume_continues_exactly(qg_files, stop_after):
    full = _ids(shuffled(iter_jets(qg_files, step_size=4), buffer_size=8, seed=5))
    sb = ShuffleBuffer(8, seed=5)
    it = sb(iter_jets(qg_files, step_size=4))
    head = [next(it) for _ in range(stop_after)]
    state = json.loads(json.dumps(sb.state_dict()))  # small and serialisable
    assert state["emitted"] == sum(len(c) for c in head)
    sb2 = ShuffleBuffer(8, seed=5)
    sb2.load_state_dict(state)
    tail = list(sb2(iter_jets(qg_files, step_size=4)))
    assert _ids(head) + _ids(tail) == full
    with pytest.raises(ValueError, match="different seed"):
        ShuffleBuffer(8, seed=6).load_state_dict(state)


def test_entry_start_npz_first_file_only(qg_files):
    chunks = list(iter_jets(qg_files, step_size=5, entry_start=20))
    assert _ids(chunks) == [120, 121, 122] + list(range(200, 211))
    # past the end of the first file: it is skipped
    assert _ids(iter_jets(qg_files, step_size=5, entry_start=23)) == list(range(200, 211))
    with pytest.raises(ValueError, match="entry_start"):
        next(iter_jets(qg_files, entry_start=-1))


def _jetclass_file(path, n=30):
    import uproot

    pt = np.arange(n, dtype=np.float32) + 1.0  # the jet's index is readable back from its pt
    parts = {f"part_{k}": ak.Array([np.full(2, v, np.float32) for v in pt]) for k in ("px", "py", "pz", "energy")}
    with uproot.recreate(path) as f:
        f.mktree("tree", {**{k: "var * float32" for k in parts}, "jet_pt": "float32"})
        f["tree"].extend({**parts, "jet_pt": pt})
    return str(path)


def test_entry_start_jetclass_root_seeks(tmp_path):
    # uproot.iterate ignores entry_start; iter_jets must still start at the entry
    p = _jetclass_file(tmp_path / "jc.root")
    got = [ak.to_numpy(c.jet_pt).tolist() for c in iter_jets(p, step_size=4, entry_start=25)]
    assert got == [[26.0, 27.0, 28.0, 29.0], [30.0]]
    assert list(iter_jets(p, step_size=4, entry_start=30)) == []
    tail = ak.concatenate(list(iter_jets([p, p], step_size=7, entry_start=28)))
    assert ak.to_numpy(tail.jet_pt).tolist() == [29.0, 30.0] + [float(i) for i in range(1, 31)]
