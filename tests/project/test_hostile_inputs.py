"""Hostile inputs on the Python side: damaged files, hostile configs, half-written outputs, kills.

One regression test per finding of the fuzz campaign (the C++ producer's own findings are in
tests/bridge/test_producer.py / test_runtime.py; the bounded campaign itself in tests/testing/test_fuzz.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")

from hepjepa.data import FormatError, read_jets  # noqa: E402
from hepjepa.testing import fuzz  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """One small valid file per format (the fuzz campaign's own)."""
    fuzz._BASES.clear()
    return fuzz._base_files(tmp_path_factory.mktemp("bases"))


def _mangle(src: Path, dst: Path, how: str, at: float = 0.5, n: int = 64) -> Path:
    raw = bytearray(src.read_bytes())
    i = int(len(raw) * at)
    if how == "truncate":
        raw = raw[:i]
    elif how == "flip":
        raw[i] ^= 0xFF
    else:
        raw[i:i + n] = bytes(min(n, len(raw) - i))
    dst.write_bytes(bytes(raw))
    return dst


@pytest.mark.parametrize("fmt", ["jetclass", "nanoaod", "toptagging", "quarkgluon", "quarkgluon_compressed", "e2e"])
@pytest.mark.parametrize("at", [0.1, 0.5, 0.9])
def test_truncated_files_are_format_errors_naming_the_file(bases, tmp_path, fmt, at):
    src, ref = bases[fmt]
    bad = _mangle(src, tmp_path / f"bad{src.suffix}", "truncate", at)
    with pytest.raises(FormatError) as err:
        read_jets(str(bad), format=fmt.replace("_compressed", ""))
    assert str(bad) in str(err.value)


def test_flipped_bits_caught_where_the_format_has_a_checksum(bases, tmp_path):
    """npz (a memory-mapped member too) and parquet with page checksums: a flipped bit in the values is an error."""
    src, ref = bases["quarkgluon"]  # np.savez: stored, memory-mapped members
    raw = bytearray(src.read_bytes())
    x_at = raw.find(b"X.npy") + 400  # inside X's data
    raw[x_at] ^= 0x01
    (tmp_path / "qg.npz").write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="X.npy fails its CRC-32 check"):
        read_jets(str(tmp_path / "qg.npz"), format="quarkgluon")
    src, ref = bases["e2e"]  # written with write_page_checksum=True
    caught = 0
    for at in np.linspace(0.05, 0.6, 12):
        bad = _mangle(src, tmp_path / "e.parquet", "flip", float(at))
        try:
            jets = read_jets(str(bad), format="e2e")
        except FormatError as e:
            caught += 1
            assert str(bad) in str(e)
        else:
            assert fuzz._same_jets(jets, ref), f"flip at {at:.2f} changed values silently"
    assert caught >= 6


def test_damaged_hdf5_is_an_error_not_a_segfault(bases, tmp_path):
    """A zeroed range in a Top Tagging file's metadata killed the process (signal 11) inside pd.HDFStore."""
    src, _ = bases["toptagging"]
    raw = bytearray(src.read_bytes())
    raw[874:874 + 75] = bytes(75)  # the campaign's case: the HDF5 library crashes on it
    bad = tmp_path / "bad.h5"
    bad.write_bytes(bytes(raw))
    code = f"from hepjepa.data import read_jets\ntry:\n    read_jets({str(bad)!r})\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"the reader died: {r.returncode} {r.stderr[-500:]}"
    assert r.stdout.startswith("FormatError") and str(bad) in r.stdout


def _job(tmp_path, inputs, *extra):
    from hepjepa.reco.run import main

    out = tmp_path / "out.root"
    rc = main(["inference_cfg.py", f"inputFiles={','.join(map(str, inputs))}", f"outputFile={out}", *extra])
    return rc, out


def test_hepjepa_run_damaged_inputs(bases, tmp_path, capsys):
    """A truncated ROOT file: one line naming it, no output; among good files: skipped and reported."""
    src, _ = bases["nanoaod"]
    bad = _mangle(src, tmp_path / "trunc.root", "truncate", 0.3)
    rc, out = _job(tmp_path, [bad])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err and str(bad) in err and not out.exists()
    rc, out = _job(tmp_path, [src, bad])
    assert rc == 0 and "skipped " + str(bad) in capsys.readouterr().out
    assert uproot.open(out)["Events"].num_entries == uproot.open(src)["Events"].num_entries


def test_zero_events_write_an_empty_tree(bases, tmp_path):
    """maxEvents=0, and a file with no events: an output with the Events tree (0 entries), not a tree-less file."""
    src, _ = bases["nanoaod"]
    rc, out = _job(tmp_path, [src], "maxEvents=0")
    assert rc == 0
    t = uproot.open(out)["Events"]
    assert t.num_entries == 0 and {"run", "event", "FatJet_jepaTags_probTbqq"} <= set(t.keys())
    empty = tmp_path / "empty.root"
    data = uproot.open(src)["Events"].arrays()[:0]
    with uproot.recreate(empty) as f:
        f["Events"] = {k: data[k] for k in data.fields}
    rc, out = _job(tmp_path, [empty])
    assert rc == 0 and uproot.open(out)["Events"].num_entries == 0


def test_rntuple_and_ttree_give_the_same_scores(tmp_path):
    """coffea's PFNano test file as TTree and as RNTuple: hepjepa-run and hepjepa tag read both alike."""
    from _samples import coffea_sample

    from hepjepa.cli import main

    tt, rn = coffea_sample("pfnano.root"), coffea_sample("pfnano_rntuple.root")
    outs = []
    for src in (tt, rn):
        rc, out = _job(tmp_path, [src])
        assert rc == 0
        outs.append(uproot.open(out)["Events"]["FatJet_jepaTags_probTbqq"].array())
        out.rename(tmp_path / f"{Path(src).stem}.tags.root")
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(outs[0])), ak.to_numpy(ak.flatten(outs[1])), atol=1e-6)
    assert main(["tag", rn, "-o", str(tmp_path / "tag"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "tag" / "summary.json").read_text())["fatjets_tagged"] == 24


def test_hostile_preprocess_json_is_one_line(tmp_path, capsys):
    """preprocess.json nested 100,000 deep: a typed error (RecursionError traceback before), one line from both CLIs."""
    from hepjepa.cli import main
    from hepjepa.deploy import PreprocessMismatchError, load_preprocess, shipped_model_dir

    d = tmp_path / "model"
    d.mkdir()
    (d / "model.onnx").write_bytes((shipped_model_dir() / "model.onnx").read_bytes())
    (d / "preprocess.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PreprocessMismatchError, match="nested too deeply"):
        load_preprocess(d)
    from _samples import coffea_sample

    assert main(["tag", coffea_sample("pfnano.root"), "--model", str(d), "-o", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nested too deeply" in err
    rc, _ = _job(tmp_path, [coffea_sample("pfnano.root")], f"modelDir={d}")
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err


def test_outputs_get_the_umask_permissions(tmp_path):
    from hepjepa.atomic import atomic_path

    old = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600


def test_killed_writer_leaves_nothing_the_next_one_keeps(tmp_path):
    """SIGKILL mid-write leaves a hidden temporary file; the next writer of that output removes it. SIGTERM cleans up at once."""
    code = ("import sys, time\nfrom hepjepa.atomic import atomic_path\n"
            "from hepjepa.cli import _exit_on_sigterm\n_exit_on_sigterm()\n"
            "with atomic_path(sys.argv[1]) as tmp:\n    tmp.write_text('partial'); print('ready', flush=True); time.sleep(60)\n")
    for sig in (signal.SIGKILL, signal.SIGTERM):
        target = tmp_path / f"out_{sig}.json"
        p = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(sig)
        p.wait(timeout=30)
        left = list(tmp_path.glob(f".{target.name}.*"))
        assert not target.exists()
        if sig == signal.SIGTERM:
            assert left == [] and p.returncode == 128 + signal.SIGTERM
        else:
            assert len(left) == 1
            from hepjepa.atomic import atomic_path

            with atomic_path(target) as tmp:
                tmp.write_text("{}")
            assert list(tmp_path.glob(f".{target.name}.*")) == [] and target.read_text() == "{}"


def test_export_killed_halfway_leaves_the_old_pair(tmp_path, monkeypatch):
    """An export that dies between writing model.onnx and preprocess.json: the directory keeps its previous, matching pair."""
    torch = pytest.importorskip("torch")
    from _synthetic import Tiny

    from hepjepa.deploy import export, export_onnx, validate_preprocess
    from hepjepa.features import TokenizerConfig

    tok = TokenizerConfig(group_size=4, max_groups=6)
    kw = dict(tokenizer_config=tok.to_dict(), flav_names=["probQCD", "probTbqq"], group_size=4, n_features=len(tok.feature_names))
    export_onnx(Tiny(len(tok.feature_names)), tmp_path / "m", **kw)
    before = {f: (tmp_path / "m" / f).read_bytes() for f in ("model.onnx", "preprocess.json")}

    class Boom(RuntimeError):
        pass

    def die(*a, **k):
        raise Boom("killed")

    torch.manual_seed(5)
    other = Tiny(len(tok.feature_names))
    torch.nn.init.normal_(other.lin.weight)
    monkeypatch.setattr(export, "config_sha256", die)  # dies after model.onnx is written, before preprocess.json
    with pytest.raises(Boom):
        export_onnx(other, tmp_path / "m", **kw)
    assert {f: (tmp_path / "m" / f).read_bytes() for f in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary directory left
    validate_preprocess(tmp_path / "m" / "model.onnx", tmp_path / "m" / "preprocess.json")


def test_missing_branches_name_the_file(tmp_path):
    from hepjepa.data import MissingFieldsError

    src = tmp_path / "nomap.root"
    with uproot.recreate(src) as f:
        f.mktree("Events", {"FatJet": ak.zip({"pt": ak.Array([[600.0]])}).type})
        f["Events"].extend({"FatJet": ak.zip({"pt": ak.Array([[600.0]])})})
    with pytest.raises(MissingFieldsError) as err:
        read_jets(str(src))
    assert str(src) in str(err.value) and "FatJetPFCands_jetIdx" in str(err.value)


def test_jet_tagger_takes_the_producers_status(tmp_path):
    """A jet with no real group and a jet whose score overflows: marked with their reasons on both backends, never scored."""
    pytest.importorskip("torch")
    from _synthetic import export_tiny

    from hepjepa.deploy import JetTagger
    from hepjepa.deploy.export import example_inputs

    _, tok = export_tiny(tmp_path / "m")
    nf = len(tok.feature_names)
    x = example_inputs(4, 4, nf, batch=3, seed=2)
    x["group_mask"][1] = 0.0  # no real group
    x["particle_mask"][1] = 0.0
    x["features"][1] = 0.0
    x["pair_features"][2] = 3e38  # finite, but their sum, and so the score, overflows
    for backend in ("cpp", "onnxruntime"):
        scores, status = JetTagger(tmp_path / "m", backend=backend).run_with_status(x)
        assert status.tolist() == [0, 1, 4], backend
        assert (scores[1:] == -1).all() and np.isfinite(scores).all() and abs(scores[0].sum() - 1) < 1e-5


def test_sha256_mismatch_refused_with_an_opt_out(tmp_path):
    """A model.onnx changed after export is refused by every path; verify_sha256=False is the explicit opt-out."""
    pytest.importorskip("torch")
    import shutil

    from hepjepa.deploy import JetTagger, PreprocessMismatchError, shipped_model_dir

    d = tmp_path / "m"
    shutil.copytree(shipped_model_dir(), d)
    raw = bytearray((d / "model.onnx").read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 64] = bytes(64)  # 64 zeroed weight bytes
    (d / "model.onnx").write_bytes(bytes(raw))
    with pytest.raises(PreprocessMismatchError, match="sha256"):
        JetTagger(d)
    import hepjepa

    with pytest.raises(RuntimeError, match="sha256"):
        hepjepa.JetTagProducer(model_path=str(d / "model.onnx"), preprocess_json=str(d / "preprocess.json"))
    t = JetTagger(d, verify_sha256=False)  # loads: the user said so
    assert t.verify_sha256 is False


def test_old_readme_snippet_points_to_the_right_form_and_marks_empty_jets():
    """The old README path (tokenize with default settings, then the producer): an error naming the fix; empty jets -1."""
    from _samples import coffea_sample

    import hepjepa
    from hepjepa.deploy import JetTagger, shipped_model_dir
    from hepjepa.features import TokenizerConfig, tokenize

    d = shipped_model_dir()
    jets = read_jets(coffea_sample("nano_tt_v15.root"))  # two FatJets have no PF-candidate rows
    producer = hepjepa.JetTagProducer(model_path=str(d / "model.onnx"), preprocess_json=str(d / "preprocess.json"))
    with pytest.raises(ValueError, match=r"axis 2 must be 8; tokenise with the model's own settings.*JetTagger"):
        producer.produce(tokenize(jets, TokenizerConfig()).model_inputs())
    tagger = JetTagger(d)
    scores = producer.produce(tokenize(jets, tagger.tokenizer).model_inputs())
    empty = ak.to_numpy(ak.num(jets.px)) == 0
    assert empty.sum() == 2 and (scores[empty] == -1).all()  # was probQCD 0.998 for such a jet
    np.testing.assert_allclose(scores, tagger.tag(jets).scores, atol=1e-6)
