"""Per-jet scores survive what a user does to events.FatJet, on real CMS files and on generated NanoAOD.

The reference is ``hepjepa-run`` on the whole file. Every other path (the per-jet API on any
selection, slice, reorder or mask, eager or virtual, a JEPATagProcessor subclass that selects
FatJets first under a chunked coffea Runner, ``hepjepa tag``, the Python API) must give the
same score to the same FatJet (to 1e-5), and the untagged marker to the same FatJets.
The first test is the reproduction of the reported bug: a subclass selecting FatJets with
pT < 250 GeV on nano_tt_v15.root gave one jet in four a different score (0.0006 -> 0.905).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")
pytest.importorskip("coffea")

from coffea import processor  # noqa: E402
from coffea.nanoevents import NanoEventsFactory  # noqa: E402

from hepjepa.coffea import JEPATagProcessor, NanoAODSchema, ONNXJetTagger  # noqa: E402
from hepjepa.contract import UNTAGGED_SCORE  # noqa: E402
from hepjepa.deploy import JetTagger, shipped_model_dir  # noqa: E402

warnings.filterwarnings("ignore", message="Missing cross-reference", category=RuntimeWarning)
warnings.filterwarnings("ignore", message="Branch .* already exists", category=RuntimeWarning)

REAL = ("nano_tt_v15.root", "pfnano.root")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """NanoAOD from our own generator (PFNano layout) plus a synthetic file whose mapping is out of jet order."""
    from _synthetic import write_pfnano as _nano

    from hepjepa.generate import write_jets

    d = tmp_path_factory.mktemp("gen")
    write_jets("tbqq", 12, 5, d / "gen.root", format="nanoaod", progress=False)
    _nano(d / "synthetic.root", n_events=30, seed=9)
    return d


@pytest.fixture(scope="module", params=[*REAL, "gen.root", "synthetic.root"])
def sample(request, generated):
    from _samples import coffea_sample

    return coffea_sample(request.param) if request.param in REAL else str(generated / request.param)


_REFERENCE: dict = {}


def reference(path: str, tmp_path_factory=None) -> dict:
    """hepjepa-run on the whole file (shipped model): probTbqq per event, per FatJet (jagged), cached per file."""
    if path not in _REFERENCE:
        import tempfile
        from pathlib import Path

        from hepjepa.reco.run import load_config, run_process

        out = Path(tempfile.mkdtemp()) / "tags.root"
        cfg = Path(__file__).resolve().parents[2] / "reco" / "inference_cfg.py"
        summary = run_process(load_config(cfg, [f"inputFiles={path}", f"outputFile={out}"]), quiet=True)
        t = uproot.open(out)["Events"]
        _REFERENCE[path] = {"probTbqq": t["FatJet_jepaTags_probTbqq"].array(), "probQCD": t["FatJet_jepaTags_probQCD"].array(),
                            "summary": summary}
    return _REFERENCE[path]


def _events(path: str, mode: str):
    return NanoEventsFactory.from_root({path: "Events"}, schemaclass=NanoAODSchema, mode=mode).events()


def _as_ref(scores) -> np.ndarray:
    return ak.to_numpy(ak.flatten(ak.fill_none(scores, UNTAGGED_SCORE), axis=None)).astype(np.float64)


SELECTIONS = {
    "pt_below_250": lambda fj: fj.pt < 250,
    "reversed": lambda fj: (slice(None), slice(None, None, -1)),
    "eta_positive": lambda fj: fj.eta > 0,
    "argsort_phi": lambda fj: ak.argsort(fj.phi, axis=1),
    "leading_two": lambda fj: (slice(None), slice(None, 2)),
}


def test_reported_bug_subclass_selecting_fatjets(tmp_path):
    """The reproduction: a processor subclass cutting FatJet pT < 250 on nano_tt_v15.root under a chunked Runner."""
    from _samples import coffea_sample

    path = coffea_sample("nano_tt_v15.root")
    ref = reference(path)

    class Selecting(JEPATagProcessor):
        def process(self, events):
            events["FatJet"] = events.FatJet[events.FatJet.pt < 250]
            return super().process(events)

    proc = Selecting(shipped_model_dir())
    runner = processor.Runner(executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema, chunksize=37)
    out = runner({"tt": {"files": {path: "Events"}}}, processor_instance=proc)
    # the same histogram, filled from hepjepa-run's scores of the same FatJets
    fj = uproot.open(path)["Events"].arrays(["FatJet_pt", "FatJet_msoftdrop"])
    sel = fj.FatJet_pt < 250
    qcd, top = ak.flatten(ref["probQCD"][sel]), ak.flatten(ref["probTbqq"][sel])
    real = ak.to_numpy(top) != UNTAGGED_SCORE
    assert out["cutflow"]["tt"]["fatjets_tagged"] == int(real.sum()) > 20
    want = proc._hist()
    scores = np.stack([ak.to_numpy(qcd), ak.to_numpy(top)], axis=1)[real]
    gw = np.repeat(uproot.open(path)["Events"]["genWeight"].array(library="np"), ak.to_numpy(ak.num(fj.FatJet_pt[sel])))[real]
    proc.fill_hist(want, "tt", np.full(real.sum(), -1), scores, ak.to_numpy(ak.flatten(fj.FatJet_pt[sel]))[real],
                   ak.to_numpy(ak.flatten(fj.FatJet_msoftdrop[sel]))[real], gw)
    np.testing.assert_allclose(out["hist"].values(flow=True), want.values(flow=True), rtol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "virtual"])
def test_any_selection_gives_hepjepa_run_scores(sample, mode):
    ref = reference(sample)
    tagger = ONNXJetTagger()
    events = _events(sample, mode)
    fj = events.FatJet
    orig = ak.local_index(fj.pt)
    whole = tagger(events)
    np.testing.assert_allclose(_as_ref(whole.probTbqq), _as_ref(ref["probTbqq"]), atol=1e-5)
    for name, make in SELECTIONS.items():
        s = make(fj)
        got = tagger(fj[s])
        want = ref["probTbqq"][orig[s]]
        assert ak.to_list(ak.num(got)) == ak.to_list(ak.num(fj[s])), name
        np.testing.assert_allclose(_as_ref(got.probTbqq), _as_ref(want), atol=1e-5, err_msg=name)
    # masking (None FatJets stay None), and selecting events first
    masked = tagger(fj.mask[fj.pt > 300])
    keep = ak.to_numpy(ak.flatten(fj.pt > 300))
    flat = ak.flatten(masked.probTbqq)
    assert ak.all(ak.is_none(flat[~keep]))
    np.testing.assert_allclose(_as_ref(flat[keep]), _as_ref(ak.flatten(ref["probTbqq"])[keep]), atol=1e-5)
    ev_sel = ak.to_numpy(ak.num(fj) >= 2)
    np.testing.assert_allclose(_as_ref(tagger(events[ev_sel]).probTbqq), _as_ref(ref["probTbqq"][ev_sel]), atol=1e-5)


def test_chunking_and_paths_agree(sample, tmp_path):
    """Chunked Runner + a processor recording its scores, the Python API on read_jets, and hepjepa-run: one score per jet."""
    from hepjepa.data import read_jets

    ref = reference(sample)

    class Recording(JEPATagProcessor):
        def process(self, events):
            self.rows = []
            out = super().process(events)
            out["scores"] = self.rows
            return out

        def fill_hist(self, h, dataset, truth, scores, pt, msd, weight=None):
            self.rows.extend(zip(zip(pt.tolist(), msd.tolist()), scores[:, 1].tolist()))
            super().fill_hist(h, dataset, truth, scores, pt, msd, weight)

    # real CMS files have ~2000 branches: coffea spends ~1.5 s building each chunk's NanoEvents, so fewer chunks there
    real = any(sample.endswith(r) for r in REAL)
    for chunksize in ((4, 10_000) if sample.endswith("pfnano.root") else (64, 10_000)) if real else (1, 7, 10_000):
        runner = processor.Runner(executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema, chunksize=chunksize)
        out = runner({"x": {"files": {sample: "Events"}}}, processor_instance=Recording(shipped_model_dir()))
        t = uproot.open(sample)["Events"]
        key = list(zip(*(ak.to_numpy(ak.flatten(t[b].array())).astype(np.float64).tolist() for b in ("FatJet_pt", "FatJet_msoftdrop"))))
        assert len(set(key)) == len(key)  # (pT, soft-drop mass) names a FatJet in these files
        want = _as_ref(ref["probTbqq"])
        got = dict(out["scores"])
        tagged = want != UNTAGGED_SCORE
        assert len(out["scores"]) == tagged.sum(), chunksize  # untagged jets never filled, tagged ones once
        np.testing.assert_allclose([got[k] for k, t in zip(key, tagged) if t], want[tagged], atol=1e-5)
    # the Python API: the reader's jets in file order, JetTagger (C++ and onnxruntime)
    jets = read_jets(sample)
    for backend in ("cpp", "onnxruntime"):
        res = JetTagger(backend=backend).tag(jets)
        np.testing.assert_allclose(res.scores[:, 1], _as_ref(ref["probTbqq"]), atol=1e-5)
        assert res.counts()["tagged"] == ref["summary"]["jets_tagged"]


def test_hepjepa_tag_histogram_equals_hepjepa_run(tmp_path):
    """hepjepa tag on a real file fills exactly the scores hepjepa-run writes."""
    from _samples import coffea_sample
    from coffea.util import load

    from hepjepa.cli import main

    path = coffea_sample("nano_tt_v15.root")
    assert main(["tag", path, "-o", str(tmp_path / "o"), "--no-progress"]) == 0
    h = load(str(tmp_path / "o" / "hists.coffea"))["hist"]
    ref = reference(path)
    top = _as_ref(ref["probTbqq"])
    real = top != UNTAGGED_SCORE
    counts, _ = np.histogram(top[real], bins=h.axes["score"].edges)
    got = h[{"dataset": "nano_tt_v15", "flavour": "probTbqq"}].project("score")
    gw = np.repeat(uproot.open(path)["Events"]["genWeight"].array(library="np"), ak.to_numpy(ak.num(ref["probTbqq"])))
    wcounts, _ = np.histogram(top[real], bins=h.axes["score"].edges, weights=gw[real])
    np.testing.assert_allclose(got.values(), wcounts, rtol=1e-6)
    assert int(counts.sum()) == load(str(tmp_path / "o" / "hists.coffea"))["cutflow"]["nano_tt_v15"]["fatjets_tagged"]


def test_jets_without_constituents_marked_on_every_path():
    """nano_tt_v15.root has FatJets with nConstituents > 0 and no FatJetPFCand row: never a real-looking score."""
    from _samples import coffea_sample

    from hepjepa.data import read_jets

    path = coffea_sample("nano_tt_v15.root")
    ref = reference(path)
    t = uproot.open(path)["Events"]
    ncon = ak.to_numpy(ak.flatten(t["FatJet_nConstituents"].array()))
    jets = read_jets(path)
    empty = ak.to_numpy(ak.num(jets.px)) == 0
    assert empty.sum() == 2 and (ncon[empty] > 0).all()  # a count-based link would have given them constituents
    assert (_as_ref(ref["probTbqq"])[empty] == UNTAGGED_SCORE).all() and (_as_ref(ref["probQCD"])[empty] == UNTAGGED_SCORE).all()
    assert ref["summary"]["jets_skipped"]["no_constituents"] == 2
    res = JetTagger().tag(jets)
    assert (res.scores[empty] == UNTAGGED_SCORE).all() and res.counts()["no_constituents"] == 2
    scores = ak.flatten(ONNXJetTagger()(_events(path, "virtual")))
    assert ak.all(ak.is_none(scores.probTbqq[empty])) and not ak.any(ak.is_none(scores.probTbqq[~empty]))


def test_broken_link_marked_not_dropped(tmp_path):
    """A mapping row past its event's candidates or FatJets: those FatJets are marked and counted on every path."""
    from _synthetic import write_pfnano as _nano

    from hepjepa.data import FormatError, read_jets

    broken = {}

    def corrupt(data, rng):
        m = data["FatJetPFCands"]
        jidx, pidx = m.jetIdx.to_list(), m.pFCandsIdx.to_list()
        evs = [e for e in range(len(jidx)) if len(jidx[e]) >= 2]
        pidx[evs[0]][0] = 10_000  # past the event's candidates: that FatJet is broken
        jidx[evs[1]][0] = 7  # past the event's FatJets: every FatJet of that event is broken
        broken.update(cand_event=evs[0], jet_event=evs[1])
        data["FatJetPFCands"] = ak.zip({"jetIdx": ak.Array(jidx), "pFCandsIdx": ak.Array(pidx)})

    path = tmp_path / "broken.root"
    data = _nano(path, n_events=30, seed=4, corrupt=corrupt)
    with pytest.raises(FormatError, match="past the"):
        read_jets(str(path))  # training data must be exact
    ref = reference(str(path))
    n_broken = ref["summary"]["jets_skipped"]["bad_association"]
    njet = ak.to_numpy(ak.num(data["FatJet"].pt))
    e1 = broken["jet_event"]
    assert n_broken == 1 + njet[e1] and (ak.to_numpy(ref["probTbqq"][broken["cand_event"]]) == UNTAGGED_SCORE).sum() >= 1
    assert (ak.to_numpy(ref["probTbqq"][e1]) == UNTAGGED_SCORE).all()
    tags = ONNXJetTagger().tag_fatjets(_events(str(path), "eager").FatJet)
    assert tags.result.counts()["bad_association"] == n_broken
    np.testing.assert_allclose(_as_ref(tags.scores.probTbqq), _as_ref(ref["probTbqq"]), atol=1e-5)
    runner = processor.Runner(executor=processor.IterativeExecutor(status=False), schema=NanoAODSchema, chunksize=11)
    out = runner({"b": {"files": {str(path): "Events"}}}, processor_instance=JEPATagProcessor())
    assert out["cutflow"]["b"]["fatjets_bad_association"] == n_broken
