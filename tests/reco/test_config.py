"""Job-config vocabulary, VarParsing overrides, pre-run validation, constituent gathering, output file."""

from __future__ import annotations

import numpy as np
import pytest

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")

from hepjepa.data import association
from hepjepa.reco import config as cms
from hepjepa.reco.run import load_config, main


def _write_nano(path, n_events=6, seed=1, pf="PFCands", mapname="FatJetPFCands", cidx="pFCandsIdx", tree="Events"):
    rng = np.random.default_rng(seed)
    njet = rng.integers(0, 3, n_events)
    npf = rng.integers(5, 30, n_events)
    jidx, pidx = [], []
    for nj, npp in zip(njet, npf):
        owner = rng.integers(-1, nj, npp) if nj else np.full(npp, -1)  # -1 = not in a FatJet
        sel = np.flatnonzero(owner >= 0)
        jidx.append(owner[sel].tolist())
        pidx.append(sel.tolist())
    pfc = {f: ak.unflatten(v, npf) for f, v in {
        "pt": rng.uniform(1, 50, npf.sum()).astype(np.float32), "eta": rng.normal(0, 1, npf.sum()).astype(np.float32),
        "phi": rng.uniform(-3, 3, npf.sum()).astype(np.float32), "mass": np.zeros(npf.sum(), np.float32),
        "pdgId": rng.choice([211, -211, 22, 130, 11, -13], npf.sum()).astype(np.int32)}.items()}
    data = {
        "run": np.ones(n_events, np.uint32), "luminosityBlock": np.ones(n_events, np.uint32),
        "event": np.arange(100, 100 + n_events, dtype=np.uint64),
        "FatJet": ak.zip({"pt": ak.unflatten(rng.uniform(300, 900, njet.sum()).astype(np.float32), njet)}),
        pf: ak.zip(pfc),
        mapname: ak.zip({"jetIdx": ak.Array(jidx), cidx: ak.Array(pidx)}),
    }
    with uproot.recreate(path) as f:
        f.mktree(tree, {k: getattr(v, "dtype", None) or v.type for k, v in data.items()}, counter_name=lambda c: f"n{c}",
                 field_name=lambda c, fld: f"{c}_{fld}")
        f[tree].extend(data)
    return data


def test_typed_parameters_and_clone():
    p = cms.EDProducer("JetTagProducer", model_dir=cms.string("m"), batch_size=cms.uint32(8))
    q = p.clone(batch_size=16, debug=True)
    assert q.value("batch_size") == 16 and q.value("debug") is True
    assert p.value("batch_size") == 8 and p.value("debug") is False  # the original is untouched
    with pytest.raises(cms.ConfigError, match="unknown parameter 'batch_sise'.*did you mean 'batch_size'"):
        p.clone(batch_sise=3)
    with pytest.raises(cms.ConfigError, match="'batch_size'.*uint32 expects int, got str"):
        p.clone(batch_size="3")
    with pytest.raises(cms.ConfigError, match="expects a value >= 0"):
        cms.uint32(-1)
    with pytest.raises(cms.ConfigError, match="expects int, got bool"):
        cms.int32(True)
    with pytest.raises(cms.ConfigError, match="expects cms.uint32, got cms.string"):
        p.batch_size = cms.string("x")
    assert cms.vstring("a", "b").value == ["a", "b"] and cms.vdouble([1, 2]).value == [1.0, 2.0]


def test_process_labels_options_and_errors():
    proc = cms.Process("T")
    proc.tags = cms.EDProducer("JetTagProducer", model_path=cms.string("x.onnx"))
    assert proc.tags.label == "tags"
    proc.options.numberOfThreads = 2
    with pytest.raises(cms.ConfigError, match="numberOfThreads must be an int >= 1"):
        proc.options.numberOfThreads = 0
    with pytest.raises(cms.ConfigError, match="unknown option 'numberOfStreams'"):
        proc.options.numberOfStreams = 2
    with pytest.raises(cms.ConfigError, match="unknown EDProducer type 'Nope'"):
        cms.EDProducer("Nope")
    with pytest.raises(cms.ConfigError, match="process.source is not set"):
        proc.validate()


def _cfg(tmp_path, src_file, model_dir, extra=""):
    cfg = tmp_path / "job_cfg.py"
    cfg.write_text(f"""
from hepjepa.reco import config as cms
process = cms.Process("T")
process.source = cms.Source("NanoAODSource", fileNames=cms.vstring({str(src_file)!r}), chunkSize=cms.uint32(2))
process.jepaTags = cms.EDProducer("JetTagProducer", model_dir=cms.string({str(model_dir)!r}))
process.p = cms.Path(process.jepaTags)
process.out = cms.OutputModule("RootOutput", fileName=cms.string({str(tmp_path / 'out.root')!r}))
{extra}
""")
    return cfg


def test_config_errors_before_first_event(tmp_path, capsys):
    src = tmp_path / "in.root"
    _write_nano(src)
    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(cms.ConfigError, match=r"jepaTags \(JetTagProducer\): parameter 'model_dir'.*model.onnx does not exist"):
        load_config(_cfg(tmp_path, src, model))
    with pytest.raises(cms.ConfigError, match=r"Source source \(NanoAODSource\): parameter 'fileNames': no such file"):
        load_config(_cfg(tmp_path, tmp_path / "missing.root", model))
    with pytest.raises(cms.ConfigError, match="unknown parameter 'modelDir'"):
        load_config(_cfg(tmp_path, src, model, "process.jepaTags.modelDir = 'x'"))
    with pytest.raises(cms.ConfigError, match="parameter 'batch_size'.*got float"):
        load_config(_cfg(tmp_path, src, model, "process.jepaTags.batch_size = 2.5"))
    # VarParsing: overrides are applied before validation, errors are typed
    with pytest.raises(cms.ConfigError, match="'fileNames': no such file 'nope.root'"):
        load_config(_cfg(tmp_path, src, model), ["inputFiles=nope.root"])
    with pytest.raises(cms.ConfigError, match="maxEvents='ten': expected int"):
        load_config(_cfg(tmp_path, src, model), ["maxEvents=ten"])
    with pytest.raises(cms.ConfigError, match="unknown command-line option 'outfile'"):
        load_config(_cfg(tmp_path, src, model), ["outfile=x.root"])
    assert main([str(_cfg(tmp_path, src, model))]) == 1
    assert "model.onnx does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out.root").exists()


def test_varparsing_apply():
    proc = cms.Process("T")
    proc.source = cms.Source("NanoAODSource", fileNames=cms.vstring("a.root"))
    proc.out = cms.OutputModule("RootOutput")
    cms.VarParsing().parseArguments(["inputFiles=b.root,c.root", "outputFile=o.root", "maxEvents=7"]).apply(proc)
    assert proc.source.value("fileNames") == ["b.root", "c.root"]
    assert proc.out.value("fileName") == "o.root" and proc.maxEvents == 7


@pytest.mark.parametrize("naming", ["PFNano", "NanoAODv15"])
def test_constituents_match_reference_loop(tmp_path, naming):
    lay = next(x for x in association.LAYOUTS if x.name == naming)
    src = tmp_path / "in.root"
    data = _write_nano(src, n_events=8, pf=lay.pfcands, mapname=lay.mapping, cidx=lay.cand_idx)
    arrays = uproot.open(src)["Events"].arrays()
    assert association.detect_layout(uproot.open(src)["Events"].keys()) == lay
    con = association.fatjet_constituents(arrays, lay)
    k = 0
    for ev in range(8):
        jidx = np.asarray(data[lay.mapping].jetIdx[ev])
        cidx = np.asarray(data[lay.mapping][lay.cand_idx][ev])
        for j in range(int(data["FatJet"].pt[ev].__len__())):
            members = cidx[jidx == j]
            a, b = con["offsets"][k], con["offsets"][k + 1]
            pt = np.asarray(data[lay.pfcands].pt[ev])[members]
            phi = np.asarray(data[lay.pfcands].phi[ev])[members]
            np.testing.assert_allclose(con["px"][a:b], pt * np.cos(phi), rtol=1e-5)
            k += 1
    assert k == len(con["n_constituents"]) and not con["bad_association"].any()


def test_missing_branches_listed(tmp_path):
    with pytest.raises(association.MissingFieldsError, match=r"lacks \['FatJetPFCands_jetIdx'\].*supported layouts: PFNano.*NanoAODv15"):
        association.detect_layout(["nFatJet", "nFatJetPFCands", "nPFCands", "FatJet_pt", "FatJetPFCands_pFCandsIdx"]
                                  + [f"PFCands_{f}" for f in association.PF_KINEMATICS])


def test_full_run_output_branches_and_order(tmp_path, capsys):
    import hepjepa

    try:
        _ = hepjepa.JetTagProducer
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"C++ bridge not available: {exc}")
    torch = pytest.importorskip("torch")
    from hepjepa.deploy import export_onnx
    from hepjepa.features import TokenizerConfig

    tok = TokenizerConfig(group_size=4, max_groups=6)
    n_feat = len(tok.feature_names)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(n_feat, 2)

        def forward(self, features, particle_mask, group_mask, centers, pair_features):
            h = (self.lin(features) * particle_mask.unsqueeze(-1)).sum((1, 2))  # (B, 2)
            return torch.softmax(h + centers.sum((1, 2)).unsqueeze(-1) + pair_features.sum((1, 2, 3)).unsqueeze(-1)
                                 * 0.0 + group_mask.sum(1, keepdim=True) * 0.0, dim=-1)  # (B, 2)

    model_dir = tmp_path / "model"
    export_onnx(Tiny(), model_dir, tokenizer_config=tok.to_dict(), flav_names=["probQCD", "probTbqq"],
                group_size=4, n_features=n_feat, n_groups=4)
    src = tmp_path / "in.root"
    _write_nano(src, n_events=9)
    out = tmp_path / "o2.root"
    assert main([str(_cfg(tmp_path, src, model_dir)), f"outputFile={out}", "maxEvents=7"]) == 0
    assert "TimeReport" in capsys.readouterr().out
    t_in, t_out = uproot.open(src)["Events"], uproot.open(out)["Events"]
    for b in ("run", "luminosityBlock", "event"):
        np.testing.assert_array_equal(t_out[b].array(library="np"), t_in[b].array(library="np")[:7])
    s = t_out.arrays(["FatJet_jepaTags_probQCD", "FatJet_jepaTags_probTbqq"])
    assert ak.to_list(ak.num(s.FatJet_jepaTags_probQCD)) == ak.to_list(t_in["nFatJet"].array()[:7])
    q, t = ak.flatten(s.FatJet_jepaTags_probQCD), ak.flatten(s.FatJet_jepaTags_probTbqq)
    real = q >= 0
    np.testing.assert_allclose(ak.to_numpy(q[real] + t[real]), 1.0, atol=1e-5)
    assert not np.any(np.isnan(ak.to_numpy(q)))


def test_reader_and_reco_share_one_gathering(tmp_path):
    """read_jets (strict) and hepjepa-run (non-strict) give the same constituents, flags included."""
    from hepjepa.data import read_jets

    src = tmp_path / "in.root"
    _write_nano(src, n_events=10, seed=5)
    jets = read_jets(str(src))
    arrays = uproot.open(src)["Events"].arrays()
    con = association.fatjet_constituents(arrays, association.detect_layout(arrays.fields))
    assert len(jets) == len(con["n_constituents"])
    np.testing.assert_array_equal(ak.to_numpy(ak.num(jets.px)), con["n_constituents"])
    for f in ("px", "py", "pz", "energy", "charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"):
        np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets[f])), con[f], err_msg=f)
    # PDG-derived charge: pi+ (211) +1, e- (11) -1, mu+ (-13) +1, photons 0
    pid = ak.to_numpy(ak.flatten(jets.pdgId))
    want = np.select([pid == 211, pid == -211, pid == 11, pid == -13], [1.0, -1.0, -1.0, 1.0], 0.0)
    np.testing.assert_array_equal(con["charge"], want)


def test_fast_flatten_equals_awkward():
    """The offsets/content fast path of the gathering equals ak.flatten/ak.num (also on sliced arrays)."""
    from hepjepa.data.association import flat_counts

    a = ak.Array([[1.0, 2.0], [], [3.0, 4.0, 5.0], [6.0]])
    for sub in (a, a[1:3], a[2:3], a[3:], a[[3, 0]]):
        flat, counts = flat_counts(sub)
        np.testing.assert_array_equal(flat, ak.to_numpy(ak.flatten(sub)))
        np.testing.assert_array_equal(counts, ak.to_numpy(ak.num(sub)))


def test_link_marks_broken_rows():
    """A row past the event's candidates marks its jet; a row past the event's FatJets marks every jet of it."""
    # event 0: 2 jets, 3 candidates; rows (jet, cand): (1, 0), (0, 2), (0, 5 -> past the candidates)
    # event 1: 1 jet, 2 candidates; rows: (0, 1), (3 -> past the FatJets, 0)
    offsets, index = association.link([2, 1], [1, 0, 0, 0, 3], [3, 2], [0, 2, 5, 1, 0], [3, 2])
    np.testing.assert_array_equal(offsets, [0, 2, 3, 5])
    np.testing.assert_array_equal(index, [2, -1, 0, 4, -1])  # jet 0: cand 2 then broken; jet 1: cand 0; jet 2: cand 3+1, broken
    np.testing.assert_array_equal(association.broken_jets(offsets, index), [True, False, True])
    with pytest.raises(association.FormatError, match="event 0 points to candidate 5, past the 3 candidates"):
        association.link([2, 1], [1, 0, 0, 0, 3], [3, 2], [0, 2, 5, 1, 0], [3, 2], strict=True)


def test_nonfinite_constituents_scored_minus_one(tmp_path, capsys):
    """hepjepa-run: a FatJet with a NaN/inf constituent gets score -1 (never NaN) and is counted."""
    pytest.importorskip("torch")
    from _synthetic import export_tiny

    from hepjepa.reco.run import run_process

    export_tiny(tmp_path / "model")
    src = tmp_path / "in.root"
    data = _write_nano(src, n_events=12, seed=7)
    # poison: the first PF candidate of the first mapped FatJet gets pt = NaN
    m = data["FatJetPFCands"]
    ev = int(np.flatnonzero(ak.to_numpy(ak.num(m.jetIdx)) > 0)[0])
    pt = ak.to_list(data["PFCands"].pt)
    pt[ev][int(m.pFCandsIdx[ev][0])] = float("nan")
    bad_jet = (ev, int(m.jetIdx[ev][0]))
    data["PFCands"] = ak.zip({**{f: data["PFCands"][f] for f in data["PFCands"].fields}, "pt": ak.Array(pt)})
    with uproot.recreate(src) as f:
        f.mktree("Events", {k: getattr(v, "dtype", None) or v.type for k, v in data.items()}, counter_name=lambda c: f"n{c}",
                 field_name=lambda c, fld: f"{c}_{fld}")
        f["Events"].extend(data)
    process = load_config(_cfg(tmp_path, src, tmp_path / "model"), [f"outputFile={tmp_path / 'o.root'}"])
    summary = run_process(process, quiet=True)
    assert summary["jets_nonfinite_constituents"] == 1 and summary["jets_skipped"]["nonfinite_input"] == 1
    q = uproot.open(tmp_path / "o.root")["Events"]["FatJet_jepaTags_probQCD"].array()
    assert not np.isnan(ak.to_numpy(ak.flatten(q))).any()
    assert q[bad_jet[0]][bad_jet[1]] == -1.0
