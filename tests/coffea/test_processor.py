"""JEPATagProcessor under coffea's Runner (Iterative, Futures, Dask executors), the per-jet ONNXJetTagger, bad input."""

from __future__ import annotations

import numpy as np
import pytest

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")
torch = pytest.importorskip("torch")
pytest.importorskip("coffea")

from _synthetic import Tiny, export_tiny
from _synthetic import write_pfnano as _nano
from coffea import processor

from hepjepa.coffea import JEPATagProcessor, NanoAODSchema, ONNXJetTagger


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("coffea")
    export_tiny(d / "model")
    _nano(d / "a.root", seed=3)
    _nano(d / "b.root", seed=4)
    return d


def _run(d, executor, chunksize=7):
    runner = processor.Runner(executor=executor, schema=NanoAODSchema, chunksize=chunksize)
    fileset = {"ttbar": {"files": {str(d / "a.root"): "Events"}}, "qcd": {"files": {str(d / "b.root"): "Events"}}}
    return runner(fileset, processor_instance=JEPATagProcessor(d / "model", backend="onnxruntime"))


def _canonical(h):
    import hist

    out = {}
    for ds in h.axes["dataset"]:
        for t in h.axes["truth"]:
            sub = h[{"dataset": ds, "truth": hist.loc(t)}]
            out[(ds, t)] = (sub.values(), sub.variances())
    return out


@pytest.mark.slow
def test_executors_identical(setup):
    from distributed import Client, LocalCluster

    it = _run(setup, processor.IterativeExecutor())
    fu = _run(setup, processor.FuturesExecutor(workers=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, Client(cl) as client:
        da = _run(setup, processor.DaskExecutor(client=client))
    h = it["hist"]
    assert h.sum().value > 0 and not np.isnan(h.values()).any()
    for other in (fu, da):
        assert _canonical(other["hist"]).keys() == _canonical(h).keys()
        for key, (v, var) in _canonical(h).items():  # growth categories may arrive in another order
            np.testing.assert_allclose(_canonical(other["hist"])[key][0], v, rtol=1e-6)
            np.testing.assert_allclose(_canonical(other["hist"])[key][1], var, rtol=1e-6)
        assert other["cutflow"] == it["cutflow"]
    cf = it["cutflow"]["ttbar"]
    assert cf["events"] == 20 and cf["fatjets_tagged"] + cf["fatjets_without_pfcands"] == cf["fatjets"]
    # both flavours filled once per tagged jet, weights from genWeight (not unit)
    assert h[{"dataset": "ttbar", "flavour": "probQCD"}].sum().value != cf["fatjets_tagged"]


def test_per_jet_api_matches_torch_and_pickles(setup):
    """ONNXJetTagger(events.FatJet): jagged like the FatJets, scores = the torch model on the same tokens."""
    import pickle

    from coffea.nanoevents import NanoEventsFactory

    from hepjepa.data import read_jets
    from hepjepa.features import tokenize

    path = str(setup / "a.root")
    events = NanoEventsFactory.from_root({path: "Events"}, schemaclass=NanoAODSchema, mode="eager").events()
    tagger = ONNXJetTagger(setup / "model", backend="onnxruntime")
    scores = tagger(events.FatJet)
    assert ak.to_list(ak.num(scores)) == ak.to_list(ak.num(events.FatJet))
    assert scores.fields == ["probQCD", "probTbqq"] and str(scores.type).endswith("{probQCD: ?float32, probTbqq: ?float32}")
    jets = read_jets(path)
    has = ak.to_numpy(ak.num(jets.px)) > 0
    tok = tokenize(jets[has], tagger.tokenizer)
    ref = Tiny(len(tagger.tokenizer.feature_names))(*(torch.from_numpy(v) for v in tok.model_inputs().values())).detach().numpy()
    got = ak.to_numpy(ak.flatten(scores.probTbqq))[has]
    np.testing.assert_allclose(got, ref[:, 1], atol=1e-5)
    assert ak.all(ak.is_none(ak.flatten(scores.probTbqq)[~has]))  # jets without constituents: None, not a score
    assert ak.to_list(tagger(events)) == ak.to_list(scores)  # whole events: their FatJets
    clone = pickle.loads(pickle.dumps(tagger))  # the session is not pickled, rebuilt lazily
    assert clone._session is None and ak.to_list(clone(events.FatJet)) == ak.to_list(scores)


def test_plain_coffea_schema_refused_with_the_fix(setup):
    """coffea's own NanoAODSchema has no FatJet -> PF-candidate link: an error that says which schema to use."""
    from coffea.nanoevents import NanoAODSchema as CoffeaSchema
    from coffea.nanoevents import NanoEventsFactory

    from hepjepa.errors import UserInputError

    events = NanoEventsFactory.from_root({str(setup / "a.root"): "Events"}, schemaclass=CoffeaSchema, mode="eager").events()
    with pytest.raises(UserInputError, match="hepjepa.coffea.NanoAODSchema"):
        ONNXJetTagger(setup / "model")(events.FatJet)


@pytest.mark.slow
def test_real_cms_pfnano_file(setup):
    from _samples import coffea_sample

    path = coffea_sample("pfnano.root")
    runner = processor.Runner(executor=processor.IterativeExecutor(), schema=NanoAODSchema)
    out = runner({"pfnano": {"files": {path: "Events"}}}, processor_instance=JEPATagProcessor(setup / "model", backend="onnxruntime"))
    cf = out["cutflow"]["pfnano"]
    assert cf["events"] == 10 and cf["fatjets"] == 24
    assert cf["fatjets_tagged"] > 0 and not np.isnan(out["hist"].values()).any()
    assert out["hist"].sum().value > 0


def _expected_cutflow(data):
    """Skip counts by a plain loop over the written arrays (reference for the processor)."""
    c = {"events": 0, "events_without_fatjets": 0, "fatjets": 0, "fatjets_without_pfcands": 0, "fatjets_nonfinite": 0,
         "fatjets_nonfinite_constituents": 0, "fatjets_tagged": 0, "fatjets_bad_association": 0}
    weights = 0.0
    for ev in range(len(data["event"])):
        c["events"] += 1
        fj = data["FatJet"][ev]
        c["events_without_fatjets"] += len(fj) == 0
        jidx = np.asarray(data["FatJetPFCands"].jetIdx[ev])
        pidx = np.asarray(data["FatJetPFCands"].pFCandsIdx[ev])
        kin = np.stack([np.asarray(data["PFCands"][v][ev], dtype=np.float64) for v in ("pt", "eta", "phi", "mass")])
        for j in range(len(fj)):
            c["fatjets"] += 1
            members = pidx[jidx == j]
            if len(members) == 0:
                c["fatjets_without_pfcands"] += 1
            elif not (np.isfinite(fj.pt[j]) and np.isfinite(fj.msoftdrop[j])):
                c["fatjets_nonfinite"] += 1
            elif not np.isfinite(kin[:, members]).all():
                c["fatjets_nonfinite_constituents"] += 1
            else:
                c["fatjets_tagged"] += 1
                weights += float(data["genWeight"][ev])
    return c, weights


def _poison(data, rng):
    """NaN/inf in some PF candidates' kinematics and in one FatJet's soft-drop mass."""
    npf = ak.num(data["PFCands"])
    flat = {v: ak.to_numpy(ak.flatten(data["PFCands"][v])).copy() for v in data["PFCands"].fields}
    idx = rng.choice(len(flat["pt"]), size=12, replace=False)
    flat["pt"][idx[:4]] = np.nan
    flat["eta"][idx[4:8]] = np.inf
    flat["mass"][idx[8:]] = -np.inf
    data["PFCands"] = ak.zip({k: ak.unflatten(v, npf) for k, v in flat.items()})
    nfj = ak.num(data["FatJet"])
    msd = ak.to_numpy(ak.flatten(data["FatJet"].msoftdrop)).copy()
    msd[0] = np.nan
    data["FatJet"] = ak.zip({**{f: data["FatJet"][f] for f in data["FatJet"].fields}, "msoftdrop": ak.unflatten(msd, nfj)})
    # the last FatJet of the last event with FatJets loses its PF candidates
    m = data["FatJetPFCands"]
    jidx, pidx = m.jetIdx.to_list(), m.pFCandsIdx.to_list()
    ev = int(np.flatnonzero(ak.to_numpy(nfj) > 0)[-1])
    last = int(nfj[ev]) - 1
    keep = [i for i, j in enumerate(jidx[ev]) if j != last]
    jidx[ev], pidx[ev] = [jidx[ev][i] for i in keep], [pidx[ev][i] for i in keep]
    data["FatJetPFCands"] = ak.zip({"jetIdx": ak.Array(jidx), "pFCandsIdx": ak.Array(pidx)})


def test_bad_kinematics_and_empty_jets_skipped_with_counts(setup, tmp_path):
    """NaN/inf constituents, non-finite msd, events without FatJets, FatJets without PFCands: counted, never filled."""
    data = _nano(tmp_path / "nan.root", n_events=40, seed=11, corrupt=_poison)
    want, w_tagged = _expected_cutflow(data)
    assert want["fatjets_nonfinite_constituents"] > 0 and want["fatjets_without_pfcands"] > 0
    assert want["events_without_fatjets"] > 0 and want["fatjets_nonfinite"] == 1
    runner = processor.Runner(executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema, chunksize=13)
    out = runner({"bad": {"files": {str(tmp_path / "nan.root"): "Events"}}},
                 processor_instance=JEPATagProcessor(setup / "model", backend="cpp"))
    cf = out["cutflow"]["bad"]
    assert {k: cf[k] for k in want} == want and cf["fatjets_nonfinite_score"] == 0
    h = out["hist"]
    assert np.isfinite(h.values(flow=True)).all() and np.isfinite(h.variances(flow=True)).all()
    for name in ("probQCD", "probTbqq"):  # each tagged jet filled once per flavour, with its event weight
        assert h[{"flavour": name}].sum(flow=True).value == pytest.approx(w_tagged, rel=1e-5)


def test_run_processor_wrong_tree_and_empty_file(setup, tmp_path):
    """The Runner path (hepjepa.coffea.run_processor): typed errors naming file and tree; empty files skipped."""
    from hepjepa.coffea import InputFileError, run_processor

    proc = JEPATagProcessor(setup / "model", backend="cpp")
    good = str(setup / "a.root")
    with pytest.raises(InputFileError, match=rf"'{good}' has no tree 'Evts'; trees in the file: \['Events'\]"):
        run_processor({"x": {"files": {good: "Evts"}}}, proc, progress=False)
    empty = str(tmp_path / "empty.root")
    with uproot.recreate(empty) as f:
        f.mktree("Events", {"run": np.uint32})
    with pytest.raises(InputFileError, match="no input file has events"):
        run_processor({"x": {"files": {empty: "Events"}}}, proc, progress=False)
    out, skipped = run_processor({"x": {"files": {good: "Events", empty: "Events"}}}, proc, progress=False)
    assert skipped == [{"file": empty, "dataset": "x", "tree": "Events", "reason": "empty tree (0 events)"}]
    assert out["cutflow"]["x"]["events"] == 20
    with pytest.raises(InputFileError, match=r"'nope.root' does not exist"):
        run_processor({"x": {"files": {"nope.root": "Events"}}}, proc, progress=False)


def test_no_progress_silences_coffea_bars(setup, tmp_path, capsys):
    from hepjepa.coffea import run_processor

    proc = JEPATagProcessor(setup / "model", backend="cpp")
    # fresh files: coffea caches file metadata, and a cached file is not "Preprocessed" again
    _nano(tmp_path / "q.root", seed=21)
    _nano(tmp_path / "l.root", seed=22)
    run_processor({"x": {"files": {str(tmp_path / "q.root"): "Events"}}}, proc, progress=False)
    quiet = capsys.readouterr()
    assert "Preprocessing" not in quiet.out + quiet.err and "Processing" not in quiet.out + quiet.err
    run_processor({"x": {"files": {str(tmp_path / "l.root"): "Events"}}}, proc, progress=True)
    loud = capsys.readouterr()
    assert "Preprocessing" in loud.out + loud.err  # the bar exists, so the check above can fail


@pytest.mark.slow
def test_dask_scheduler_address_option(setup):
    """--scheduler: the Dask executor connects to a given scheduler and gives the iterative result."""
    from distributed import LocalCluster

    from hepjepa.coffea import make_executor, run_processor

    fs = {"a": {"files": {str(setup / "a.root"): "Events"}}}
    proc = JEPATagProcessor(setup / "model", backend="cpp")
    ref, _ = run_processor(fs, proc, "iterative", chunksize=7, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        exe, handles = make_executor("dask", 1, False, scheduler=cl.scheduler_address)
        try:
            assert exe.client.scheduler.address == cl.scheduler_address
            out, _ = run_processor(fs, proc, exe, chunksize=7, progress=False)
        finally:
            for h in handles:
                h.close()
    assert out["cutflow"] == ref["cutflow"]
    np.testing.assert_allclose(out["hist"].values(flow=True), ref["hist"].values(flow=True), rtol=1e-6)
