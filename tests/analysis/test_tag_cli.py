"""hepjepa tag (hepjepa.analysis.tag_cli + _summary + _sample): outputs, consistency, bad input."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")
torch = pytest.importorskip("torch")
pytest.importorskip("coffea")

from _synthetic import export_tiny  # tiny model + synthetic PFNano events
from _synthetic import write_pfnano as _nano

from hepjepa.analysis import TagInputError, _summary, run_tag, tag_cli


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("tag")
    export_tiny(d / "model")
    data = {"a": _nano(d / "a.root", seed=3), "b": _nano(d / "b.root", seed=4)}
    return d, data


def _args(**kw):
    p = argparse.ArgumentParser()
    tag_cli.add_arguments(p)
    argv = kw.pop("argv", [])
    a = p.parse_args(argv)
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_cli_outputs_consistent(setup, capsys):
    d, data = setup
    out = d / "out"
    rc = tag_cli.run(_args(argv=[str(d / "a.root"), str(d / "b.root"), "--model", str(d / "model"),
                                 "-o", str(out), "--chunksize", "15", "--no-progress"]))
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    n_fat = sum(int(ak.sum(ak.num(x["FatJet"]))) for x in data.values())
    assert s["events"] == 40 and s["fatjets"] == n_fat
    assert s["datasets"] == ["a", "b"]
    no_fat = sum(int(ak.sum(ak.num(x["FatJet"]) == 0)) for x in data.values())
    assert sum(c["events_without_fatjets"] for c in s["cutflow"].values()) == no_fat
    assert 0.0 <= s["auc"] <= 1.0 and np.isfinite(s["events_per_s"])
    for f in ("hists.coffea", "hists.root", "scores.png", "roc.png", "msd.png"):
        assert (out / f).stat().st_size > 0
    printed = capsys.readouterr().out
    assert f"events 40  FatJets {n_fat}" in printed and "AUC" in printed
    assert f"skipped (never filled): {no_fat} events without FatJets" in printed

    import hist
    from coffea.util import load

    h = load(str(out / "hists.coffea"))["hist"]
    # AUC again, independently: Mann-Whitney on binned counts (ties in a bin count half)
    sig = h[{"flavour": "probTbqq", "truth": hist.loc(8)}].project("score").values()
    bkg = h[{"flavour": "probTbqq", "truth": hist.loc(0)}].project("score").values()
    below = np.concatenate([[0], np.cumsum(bkg)[:-1]])
    mw = float(np.sum(sig * (below + bkg / 2)) / (sig.sum() * bkg.sum()))
    assert s["auc"] == pytest.approx(mw, rel=1e-9)
    # ROOT projections: one per dataset (never summed across datasets), the coffea histogram's weighted counts,
    # with titles, axis labels and the provenance of the model
    with uproot.open(out / "hists.root") as f:
        per_ds = {ds: f[f"{ds}/score_probTbqq_truth8"] for ds in ("a", "b")}
        for ds, th1 in per_ds.items():
            want = h[{"dataset": ds, "flavour": "probTbqq", "truth": hist.loc(8)}].project("score").values()
            np.testing.assert_allclose(th1.values(), want, rtol=1e-6)
            assert th1.title == f"{ds}: probTbqq of FatJets with truth 8" and th1.axis().member("fTitle") == "hepjepa score"
        np.testing.assert_allclose(sum(t.values() for t in per_ds.values()), sig, rtol=1e-6)
        prov = json.loads(f["provenance"])
    pre = json.loads((d / "model" / "preprocess.json").read_text())
    assert prov["model_sha256"] == pre["sha256"]["onnx"] == s["provenance"]["model_sha256"]
    assert prov["tokenizer"] == pre["tokenizer"] and prov["hepjepa_version"]
    assert load(str(out / "hists.coffea"))["provenance"] == s["provenance"]
    wp = s["working_point"]
    assert abs(wp["eff_sig"] - 0.5) <= 0.5
    # weighted by genWeight: the effective numbers of jets, (sum w)^2 / sum w^2
    var = h[{"flavour": "probTbqq", "truth": hist.loc(0)}].project("score").variances()
    c = wp["cut_bin"]
    assert wp["bkg_total"] == pytest.approx(bkg.sum() ** 2 / var.sum())
    assert wp["bkg_passing"] == pytest.approx(bkg[c:].sum() ** 2 / var[c:].sum())
    if wp["bkg_passing"] >= 10:
        assert wp["bkg_rejection"] >= 1.0 and "AUC" in printed
    else:
        assert wp["bkg_rejection"] is None and wp["bkg_rejection_lower_limit_95"] >= 1.0 and "too few for a value" in printed
    assert sum(s["msd_background_before"]) >= sum(s["msd_background_after"]) > 0


def test_roc_auc_reference():
    sig = np.array([0.0, 1, 2, 7])
    bkg = np.array([5.0, 3, 2, 0])
    es, eb = _summary.binned_roc(sig, bkg)
    np.testing.assert_allclose(es, [1, 1, 0.9, 0.7, 0])
    np.testing.assert_allclose(eb, [1, 0.5, 0.2, 0, 0])
    # perfect separation gives 1, identical distributions give 0.5
    assert _summary.auc(*_summary.binned_roc(np.array([0, 0, 3.0]), np.array([4.0, 0, 0]))) == pytest.approx(1.0)
    assert _summary.auc(*_summary.binned_roc(bkg, bkg)) == pytest.approx(0.5)
    wp = _summary.working_point(es, eb, np.array([0, 0.25, 0.5, 0.75, 1.0]), 0.7)
    assert wp["score_cut"] == 0.75 and wp["bkg_rejection"] == float("inf")
    assert _summary.js_distance(sig + 1, sig + 1) == pytest.approx(0.0, abs=1e-7)
    assert _summary.js_distance(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)
    assert _summary.ks_distance(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="background 0"):
        _summary.binned_roc(sig, np.zeros(4))


def test_working_point_statistics():
    """The working point reports how many background jets pass it; with too few, a limit instead of a value."""
    edges = np.linspace(0, 1, 5)
    sig = np.array([0.0, 10, 40, 50])
    # one QCD jet of 300 passes the cut at 50% signal efficiency: "rejection 300" is not a result
    bkg = np.array([290.0, 9, 0, 1])
    wp = _summary.working_point(*_summary.binned_roc(sig, bkg), edges, 0.5, bkg, bkg.copy())
    assert wp["score_cut"] == 0.75 and wp["bkg_passing"] == pytest.approx(1) and wp["bkg_total"] == pytest.approx(300)
    assert wp["bkg_rejection"] is None
    # Clopper-Pearson one-sided 95%: eff_b < 0.0157 for 1 of 300, so the rejection is > 63.6
    assert wp["bkg_rejection_lower_limit_95"] == pytest.approx(1 / 0.015724, rel=1e-3)
    # 20 of 4000 pass: a value with its 68% interval
    bkg = np.array([3900.0, 60, 20, 20])
    wp = _summary.working_point(*_summary.binned_roc(sig, bkg), edges, 0.5, bkg, bkg.copy())
    assert wp["bkg_rejection"] == pytest.approx(200) and wp["bkg_passing"] == pytest.approx(20)
    lo, hi = wp["bkg_rejection_interval_68"]
    assert lo < 200 < hi and hi / lo > 1.2
    # weights: effective counts (sum w)^2 / sum w^2 decide, not the weighted sum
    wp = _summary.working_point(*_summary.binned_roc(sig, bkg * 100), edges, 0.5, bkg * 100, bkg * 1e4)
    assert wp["bkg_passing"] == pytest.approx(20) and wp["bkg_rejection"] == pytest.approx(200)


def test_bad_inputs(setup, tmp_path):
    d, _ = setup
    model = d / "model"
    with pytest.raises(TagInputError, match="does not exist"):
        run_tag({"x": {"files": {str(tmp_path / "nope.root"): "Events"}}}, model, output=tmp_path / "o", progress=False)
    with pytest.raises(TagInputError, match="no tree 'Evts'.*'Events'"):
        run_tag({"x": {"files": {str(d / "a.root"): "Evts"}}}, model, output=tmp_path / "o", progress=False)
    data = _nano(tmp_path / "c.root")
    del data["FatJetPFCands"]
    with uproot.recreate(tmp_path / "bad.root") as f:
        f.mktree("Events", {k: getattr(v, "dtype", None) or v.type for k, v in data.items()},
                 counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
        f["Events"].extend(data)
    with pytest.raises(TagInputError, match=r"no FatJet -> PF-candidate link.*lacks \['FatJetPFCands_jetIdx'"):
        run_tag({"x": {"files": {str(tmp_path / "bad.root"): "Events"}}}, model, output=tmp_path / "o", progress=False)
    with uproot.recreate(tmp_path / "empty.root") as f:
        f.mktree("Events", {"run": np.uint32})
    with pytest.raises(TagInputError, match="no input file has events"):
        run_tag({"x": {"files": {str(tmp_path / "empty.root"): "Events"}}}, model, output=tmp_path / "o", progress=False)
    with pytest.raises(TagInputError, match="no score 'probHbb'.*probQCD"):
        run_tag({"x": {"files": {str(d / "a.root"): "Events"}}}, model, flavour="probHbb", output=tmp_path / "o", progress=False)
    with pytest.raises(TagInputError, match="matches no file"):
        tag_cli._fileset_from_globs([str(tmp_path / "*.nothing")], "Events")
    with pytest.raises(TagInputError, match="unknown executor 'spark'"):
        tag_cli._executor("spark", 1, False)
    with pytest.raises(TagInputError, match="workers must be >= 1, got 0"):
        tag_cli._executor("futures", 0, False)
    (tmp_path / "fs.json").write_text("{not json")
    with pytest.raises(TagInputError, match="not valid JSON"):
        tag_cli.load_fileset(tmp_path / "fs.json")


def test_empty_file_skipped_and_fileset_json(setup, tmp_path):
    d, _ = setup
    with uproot.recreate(tmp_path / "empty.root") as f:
        f.mktree("Events", {"run": np.uint32})
    (tmp_path / "fs.json").write_text(json.dumps({"a": [str(d / "a.root"), str(tmp_path / "empty.root")]}))
    fs = tag_cli.load_fileset(tmp_path / "fs.json")
    s = run_tag(fs, d / "model", output=tmp_path / "o", chunksize=50, progress=False)
    assert s["files_skipped"] == [{"file": str(tmp_path / "empty.root"), "dataset": "a", "tree": "Events", "reason": "empty tree (0 events)"}]
    assert s["events"] == 20


def test_bundled_sample_cached(tmp_path, monkeypatch):
    from hepjepa.analysis import _sample

    calls = []

    def fake_write(process, n_jets, seed, path, format, progress, workers):
        # the generator itself is tested in test_generate; here: naming, caching, seeds
        calls.append((process, n_jets, seed, format))
        path.write_bytes(b"x")

    monkeypatch.setattr("hepjepa.generate.write_jets", fake_write)
    monkeypatch.setenv("HEPJEPA_CACHE", str(tmp_path / "cache"))
    fs = _sample.bundled_sample(12, progress=False)
    assert sorted(fs) == ["qcd", "ttbar"] and calls == [("tbqq", 12, 1101, "nanoaod"), ("qcd", 12, 2202, "nanoaod")]
    assert all(p.startswith(str(tmp_path / "cache" / "samples")) for ds in fs.values() for p in ds["files"])
    assert _sample.bundled_sample(12, progress=False) == fs and len(calls) == 2  # reused, not regenerated
    with pytest.raises(ValueError, match="positive integer, got 0"):
        _sample.bundled_sample(0)


def test_cli_user_errors_are_one_line(setup, tmp_path, capsys):
    """hepjepa tag: a directory input uses its *.root; --model model.onnx works; mistakes are one line, exit 1."""
    from hepjepa.cli import main

    d, _ = setup
    model = d / "model"
    # a directory: its *.root files, one dataset each
    assert main(["tag", str(d), "--model", str(model / "model.onnx"), "-o", str(tmp_path / "o"), "--no-progress", "--chunksize", "50"]) == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["datasets"] == ["a", "b"]
    capsys.readouterr()
    empty = tmp_path / "nothing_here"
    empty.mkdir()
    cases = [
        ([str(d / "a.root"), "--model", str(tmp_path / "nope")], "model directory '.*nope' does not exist"),
        ([str(empty)], "is a directory with no \\*.root files"),
        ([str(d / "a.root"), "--model", str(d)], "model.onnx.* not found"),
        ([str(d / "a.root"), "--flavour", "probHbb"], "no score 'probHbb'"),
    ]
    for argv, msg in cases:
        rc = main(["tag", *argv, "-o", str(tmp_path / "x"), "--no-progress"] + ([] if "--model" in argv else ["--model", str(model)]))
        err = capsys.readouterr().err
        assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        assert err.startswith("hepjepa tag: error: ") and __import__("re").search(msg, err), (msg, err)
    with pytest.raises(TagInputError):  # --debug: the traceback, for a bug report
        main(["--debug", "tag", str(empty), "-o", str(tmp_path / "x")])


def test_nanoaod_without_pf_candidates_names_both_layouts(setup, tmp_path, capsys):
    from _samples import coffea_sample

    from hepjepa.cli import main

    d, _ = setup
    rc = main(["tag", coffea_sample("nano_dy.root"), "--model", str(d / "model"), "-o", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "no FatJet -> PF-candidate link" in err and "PFNano: PFCands_*" in err and "NanoAODv15: PFCand_*" in err

