"""Tests of hepjepa.generate: physics sanity, formats, determinism, atomicity, errors."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

import hepjepa.generate as gen
from hepjepa.generate.clustering import nsubjettiness
from hepjepa.labels import JETCLASS_LABELS, PROCESS_NAMES

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def qcd():
    return gen.generate_jets("qcd", 30, seed=7)


@pytest.fixture(scope="module")
def top():
    return gen.generate_jets("tbqq", 30, seed=7)


def test_qcd_labels_window_and_quark_gluon(qcd):
    assert len(qcd) == 30
    assert np.all(qcd.label == 0)
    pt = ak.to_numpy(qcd.jet_pt)
    assert np.all((pt > 500) & (pt < 1000)) and np.all(np.abs(qcd.jet_eta) < 2)
    iq = ak.to_numpy(qcd.qcd_is_quark)
    assert set(iq) <= {-1, 0, 1} and (iq == 1).any() and (iq == 0).any()
    # constituents add up to the jet (up to float32 rounding)
    assert np.allclose(ak.sum(qcd.part_energy, axis=1), qcd.jet_energy, rtol=1e-4)


def test_top_matching_and_sdmass(top, qcd):
    assert np.all(top.label == PROCESS_NAMES.index("tbqq"))
    assert 120 < np.mean(top.jet_sdmass) < 220
    assert np.mean(qcd.jet_sdmass) < np.mean(top.jet_sdmass)
    # three-prong tops: tau3/tau2 lower on average than QCD
    r_top = np.mean(top.jet_tau3 / top.jet_tau2)
    r_qcd = np.mean(qcd.jet_tau3 / np.maximum(qcd.jet_tau2, 1e-9))
    assert r_top < r_qcd
    assert 30 < np.mean(ak.num(top.part_px)) < 200


def test_nsubjettiness_reference():
    # two hard, well-separated particles: tau1 > 0, tau2 == 0 (each particle its own axis)
    import vector

    vector.register_awkward()
    pt = np.array([300.0, 200.0])
    eta = np.array([0.0, 0.4])
    phi = np.array([0.0, 0.3])
    p = ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": np.zeros(2)}, with_name="Momentum4D")
    c = ak.Array([ak.to_list(ak.zip({"px": p.px, "py": p.py, "pz": p.pz, "E": p.E}))])
    tau = nsubjettiness(c, 4, 0.8)
    axis_eta, axis_phi = 0.4 * 200 / 500, 0.3 * 200 / 500  # kT-merged axis lies close to the pT-weighted centre
    d = np.hypot(eta - axis_eta, phi - axis_phi)
    assert tau[0, 0] == pytest.approx((pt * d).sum() / (500 * 0.8), rel=0.05)
    assert tau[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert tau[0, 2] == 0.0 and tau[0, 3] == 0.0  # fewer particles than axes


def test_flat_kinematics_bit_identical_to_vector():
    """The numpy kinematics of blocks/clustering equal vector's Momentum4D properties bit for bit
    (the generator's output for a seed must not change when awkward/vector calls are replaced)."""
    import vector

    from hepjepa.generate.blocks import _pt_eta_phi_mass, _px_py_pz_e
    from hepjepa.generate.clustering import _eta_phi

    vector.register_awkward()
    rng = np.random.default_rng(4)
    x, y, z = rng.normal(0, 30, (3, 500))
    x[:3] = y[:3] = 0.0
    z[:3] = [5.0, -5.0, 0.0]  # on the beam axis: eta = +-inf, and 0/0
    t = np.sqrt(x**2 + y**2 + z**2 + rng.uniform(-0.5, 2, 500) ** 2 * np.sign(rng.normal(size=500)))
    t = np.nan_to_num(t, nan=1.0)
    v = ak.zip({"px": x, "py": y, "pz": z, "e": t}, with_name="Momentum4D")
    for mine, ref in zip(_pt_eta_phi_mass(x, y, z, t), (v.pt, v.eta, v.phi, v.mass)):
        np.testing.assert_array_equal(mine, ak.to_numpy(ref))
    np.testing.assert_array_equal(_eta_phi(x, y, z)[0], ak.to_numpy(v.eta))
    pt, eta, phi, mass = (ak.to_numpy(a)[3:] for a in (v.pt, v.eta, v.phi, v.mass))
    w = ak.zip({"pt": pt, "eta": eta, "phi": phi, "mass": mass}, with_name="Momentum4D")
    for mine, ref in zip(_px_py_pz_e(pt, eta, phi, mass), (w.px, w.py, w.pz, w.E)):
        np.testing.assert_array_equal(mine, ak.to_numpy(ref))


def test_nsubjettiness_mixed_constituent_counts():
    """Jets with 1..6 constituents in one call: each jet's taus equal those of the jet alone."""
    rng = np.random.default_rng(8)
    jets = []
    for n in (6, 1, 3, 5, 2, 4):
        pt, eta, phi = rng.uniform(10, 100, n), rng.normal(0, 0.3, n), rng.normal(0, 0.3, n)
        jets.append({"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta),
                     "E": pt * np.cosh(eta)})
    c = ak.Array([{k: list(v) for k, v in j.items()} for j in jets])
    c = ak.zip({k: c[k] for k in ("px", "py", "pz", "E")})
    tau = nsubjettiness(c, 4, 0.8)
    for i in range(len(jets)):
        np.testing.assert_array_equal(tau[i], nsubjettiness(c[i:i + 1], 4, 0.8)[0])
        n = len(jets[i]["px"])
        for k in range(1, 5):  # tau_k > 0 while k < n; ~0 with one axis per particle; 0 beyond
            if k < n:
                assert tau[i, k - 1] > 0, (n, k)
            elif k == n:
                assert tau[i, k - 1] == pytest.approx(0.0, abs=1e-6), (n, k)
            else:
                assert tau[i, k - 1] == 0.0, (n, k)


def test_seed_determinism_and_workers(monkeypatch):
    # two blocks of 3: the smallest split where worker scheduling could reorder or reseed blocks
    monkeypatch.setattr(gen, "BLOCK_SIZE", 3)
    a = gen.generate_jets("qcd", 6, seed=11, workers=1)
    b = gen.generate_jets("qcd", 6, seed=11, workers=2)
    c = gen.generate_jets("qcd", 3, seed=12, workers=1)  # one block: compared with a's first block
    assert ak.to_list(a.jet_pt) == ak.to_list(b.jet_pt)
    assert ak.to_list(a.part_px) == ak.to_list(b.part_px)
    assert ak.to_list(a.event) == ak.to_list(b.event)
    assert ak.to_list(a.jet_pt[:3]) != ak.to_list(c.jet_pt)


def test_detector_changes_particles():
    truth = gen.generate_jets("wqq", 5, seed=3, detector=False)
    reco = gen.generate_jets("wqq", 5, seed=3, detector=True)
    assert np.all(truth.label == PROCESS_NAMES.index("wqq"))
    # same events, smeared: the particle content differs
    assert ak.to_list(truth.part_px[0]) != ak.to_list(reco.part_px[0])


def test_jetclass_layout(tmp_path, qcd):
    import uproot

    from hepjepa.generate.writers import write_jetclass

    path = tmp_path / "jc.root"
    write_jetclass(qcd, path)
    tree = uproot.open(path)["tree"]
    expected = ["part_" + n for n in ("px py pz energy deta dphi d0val d0err dzval dzerr charge isChargedHadron "
                                       "isNeutralHadron isPhoton isElectron isMuon").split()]
    expected += ["jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_nparticles", "jet_sdmass",
                 "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4", *JETCLASS_LABELS, "aux_qcd_is_quark"]
    assert set(expected) <= set(tree.keys())
    arr = tree.arrays(expected)
    assert str(arr.type.content) .count("var * float32") == 16
    for name in expected[16:]:
        assert arr[name].type.content.primitive == "float32", name
    assert np.all(arr.label_QCD == 1) and np.all(arr.label_Tbl == 0)
    # deta/dphi relative to the jet axis: small inside an R=0.8 jet
    # (anti-kT clusters in rapidity, so a few soft massive particles sit slightly beyond 0.8 in eta)
    dr = np.hypot(ak.flatten(arr.part_deta), ak.flatten(arr.part_dphi))
    assert np.quantile(dr, 0.99) < 0.8 and ak.max(abs(arr.part_dphi)) < 0.9
    assert np.all(arr.jet_nparticles == ak.num(arr.part_px))
    flags = arr.part_isChargedHadron + arr.part_isNeutralHadron + arr.part_isPhoton + arr.part_isElectron + arr.part_isMuon
    assert ak.all(flags == 1)


def test_nanoaod_readable_by_coffea(tmp_path):
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    path = tmp_path / "nano.root"
    jets = gen.write_jets("zqq", 6, seed=5, path=path, format="nanoaod")
    events = NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=PFNanoAODSchema, mode="eager").events()
    fj = events.FatJet
    assert ak.sum(ak.num(fj)) == len(jets)
    assert ak.sum(fj.truthLabel == PROCESS_NAMES.index("zqq")) >= 6
    assert set(ak.to_numpy(ak.flatten(fj.truthLabel))) <= {-1, PROCESS_NAMES.index("zqq")}
    cons = fj.constituents.pf
    assert ak.all(ak.num(cons, axis=2) == fj.nConstituents)
    # the linked constituents are the jet's own: their pT sum is close to the jet pT
    sum_pt = ak.flatten(ak.sum(cons.pt, axis=2))
    assert np.all(np.asarray(sum_pt) >= 0.95 * np.asarray(ak.flatten(fj.pt)))


@pytest.mark.slow
def test_all_processes_equal_counts():
    # ten Pythia inits + one 50-event batch each: ~20 s on a loaded 2-core machine
    jets = gen.generate_jets("all", 1, seed=2)
    assert ak.to_list(jets.label) == list(range(10))
    assert len(np.unique(ak.to_numpy(jets.event))) == 10  # event ids unique across class blocks


def test_atomic_write_leaves_nothing(tmp_path, qcd, monkeypatch):
    import uproot

    from hepjepa.generate import writers

    path = tmp_path / "fail.root"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(uproot.WritableDirectory, "mktree", boom)
    with pytest.raises(OSError, match="disk full"):
        writers.write_jetclass(qcd, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(process="tbqqq", n_jets=1, seed=1), "did you mean 'tbqq'"),
        (dict(process="qcd", n_jets=0, seed=1), "n_jets must be a positive"),
        (dict(process="qcd", n_jets=1, seed=0), "seed must be an integer in 1..900000000"),
        (dict(process="qcd", n_jets=1, seed=900_000_001), "900000001"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gen.generate_jets(**kwargs)


def test_cli_bad_format_and_run(tmp_path):
    from hepjepa.cli import main

    with pytest.raises(SystemExit):
        main(["generate", "--process", "qcd", "--n-jets", "1", "--format", "parquet", "-o", str(tmp_path / "x")])
    assert main(["generate", "--process", "qcd", "--n-jets", "2", "--seed", "4", "-o", str(tmp_path / "q.root")]) == 0
    assert (tmp_path / "q.root").exists()
