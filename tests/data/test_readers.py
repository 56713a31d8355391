"""Readers: small files faithful to each public format, written here and read back."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uproot

from hepjepa.data import FormatError, MissingFieldsError, UnknownFormatError, guess_format, labels, read_jets
from hepjepa.labels import JETCLASS_LABELS, label_index

RNG = np.random.default_rng(7)
JC_PART = ["part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi", "part_d0val", "part_d0err", "part_dzval",
           "part_dzerr", "part_charge", "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon"]
JC_JET = ["jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_nparticles", "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4"]


def _massless(n):
    pt = RNG.uniform(1, 50, n)
    eta = RNG.uniform(-1, 1, n)
    phi = RNG.uniform(-0.5, 0.5, n)
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)


def write_jetclass(path, n_jets=20, drop=()):
    counts = RNG.integers(1, 30, n_jets)
    px, py, pz, e = _massless(counts.sum())
    data = {}
    for b in JC_PART:
        v = {"part_px": px, "part_py": py, "part_pz": pz, "part_energy": e}.get(b, RNG.integers(0, 2, counts.sum()).astype(float))
        data[b] = ak.unflatten(v.astype(np.float32), counts)
    jpx, jpy = ak.sum(data["part_px"], axis=1), ak.sum(data["part_py"], axis=1)
    for b in JC_JET:
        data[b] = RNG.uniform(0, 1, n_jets).astype(np.float32)
    data["jet_pt"] = np.hypot(ak.to_numpy(jpx), ak.to_numpy(jpy)).astype(np.float32)
    data["jet_nparticles"] = counts.astype(np.float32)
    cls = RNG.integers(0, 10, n_jets)
    for i, lab in enumerate(JETCLASS_LABELS):
        data[lab] = (cls == i)
    data["aux_qcd_is_quark"] = RNG.integers(0, 2, n_jets).astype(np.int32)
    for d in drop:
        data.pop(d)
    with uproot.recreate(path) as f:
        # JetClass stores the jagged branches with a per-branch counter, as uproot writes them
        f.mktree("tree", {k: v.type.content if isinstance(v, ak.Array) and v.ndim == 2 else np.asarray(v).dtype for k, v in data.items()})
        f["tree"].extend({k: v for k, v in data.items()})
    return data, cls, counts


def test_jetclass_roundtrip(tmp_path):
    path = tmp_path / "jc.root"
    data, cls, counts = write_jetclass(path)
    jets = read_jets(path)
    assert len(jets) == 20
    assert guess_format(str(path)) == "jetclass"
    np.testing.assert_array_equal(ak.num(jets.px), counts)
    np.testing.assert_array_equal(labels(jets), cls)
    assert labels(jets, names=True)[0] == JETCLASS_LABELS[cls[0]]
    pt = np.hypot(ak.to_numpy(ak.sum(jets.px, axis=1)), ak.to_numpy(ak.sum(jets.py, axis=1)))
    np.testing.assert_allclose(pt, ak.to_numpy(jets.jet_pt), rtol=1e-5)
    assert jets.px.type.content.content.primitive == "float32"
    for f in ("charge", "isChargedHadron", "isMuon", "jet_sdmass", "jet_tau4", "aux_qcd_is_quark"):
        assert f in jets.fields
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.isMuon)), ak.to_numpy(ak.flatten(data["part_isMuon"])))


def test_jetclass_missing_branch_names_file_and_near_match(tmp_path):
    path = tmp_path / "bad.root"
    write_jetclass(path, drop=["part_energy"])
    with pytest.raises(MissingFieldsError) as err:
        read_jets(path)
    assert "part_energy" in str(err.value) and str(path) in str(err.value)
    assert err.value.missing == ["part_energy"]


def test_toptagging_padding_and_labels(tmp_path):
    n, nmax = 12, 200
    counts = RNG.integers(1, 40, n)
    cols = {}
    flat = _massless(counts.sum())
    arrs = {k: np.zeros((n, nmax)) for k in ("E", "PX", "PY", "PZ")}
    offs = np.concatenate([[0], np.cumsum(counts)])
    for j in range(n):
        s = slice(offs[j], offs[j + 1])
        arrs["PX"][j, : counts[j]], arrs["PY"][j, : counts[j]], arrs["PZ"][j, : counts[j]], arrs["E"][j, : counts[j]] = (a[s] for a in flat)
    for i in range(nmax):
        for p in ("E", "PX", "PY", "PZ"):
            cols[f"{p}_{i}"] = arrs[p][:, i].astype(np.float32)
    for c in ("truthE", "truthPX", "truthPY", "truthPZ"):
        cols[c] = np.ones(n)
    cols["ttv"] = np.zeros(n, dtype=np.int64)
    sig = RNG.integers(0, 2, n)
    cols["is_signal_new"] = sig
    path = tmp_path / "top.h5"
    pd.DataFrame(cols).to_hdf(path, key="table", mode="w")
    jets = read_jets(path, step_size=5)
    np.testing.assert_array_equal(ak.num(jets.energy), counts)
    np.testing.assert_array_equal(labels(jets), np.where(sig == 1, label_index("Tbqq"), label_index("QCD")))
    assert ak.all(jets.energy > 0)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(jets.px, axis=1)), arrs["PX"].sum(axis=1), rtol=1e-4)
    assert "ttv" in jets.fields
    # missing column
    bad = tmp_path / "bad.h5"
    pd.DataFrame({k: v for k, v in cols.items() if k != "is_signal_new"}).to_hdf(bad, key="table", mode="w")
    with pytest.raises(MissingFieldsError, match="is_signal_new"):
        read_jets(bad)


def _qg_file(path, n=15, maxp=30, compressed=False):
    ids = np.array([211, -211, 321, -321, 2212, -2212, 2112, -2112, 130, 22, 11, -11, 13, -13])
    X = np.zeros((n, maxp, 4))
    counts = RNG.integers(1, maxp, n)
    for j in range(n):
        c = counts[j]
        X[j, :c, 0] = RNG.uniform(0.5, 100, c)
        X[j, :c, 1] = RNG.uniform(-2, 2, c)
        X[j, :c, 2] = RNG.uniform(0, 2 * np.pi, c)
        X[j, :c, 3] = RNG.choice(ids, c)
    y = RNG.integers(0, 2, n).astype(float)
    (np.savez_compressed if compressed else np.savez)(path, X=X, y=y)
    return X, y, counts


@pytest.mark.parametrize("compressed", [False, True])
def test_quarkgluon_rapidity_roundtrip(tmp_path, compressed):
    path = tmp_path / "qg.npz"
    X, y, counts = _qg_file(path, compressed=compressed)
    jets = read_jets(path, step_size=4)
    np.testing.assert_array_equal(ak.num(jets.px), counts)
    np.testing.assert_array_equal(ak.to_numpy(jets.is_quark), y.astype(int))
    assert set(labels(jets)) == {label_index("QCD")}
    e, pz = ak.to_numpy(ak.flatten(jets.energy)).astype(float), ak.to_numpy(ak.flatten(jets.pz)).astype(float)
    rap = 0.5 * np.log((e + pz) / (e - pz))
    real = X[:, :, 0] > 0
    np.testing.assert_allclose(rap, X[real][:, 1], atol=2e-4)
    pt = np.hypot(ak.to_numpy(ak.flatten(jets.px)), ak.to_numpy(ak.flatten(jets.py)))
    np.testing.assert_allclose(pt, X[real][:, 0], rtol=1e-5)
    pid = X[real][:, 3]
    m2 = e**2 - pz**2 - pt**2
    protons = np.abs(pid) == 2212
    np.testing.assert_allclose(np.sqrt(np.clip(m2[protons], 0, None)), 0.938, rtol=0.05)
    ch = ak.to_numpy(ak.flatten(jets.charge))
    np.testing.assert_array_equal(ch[pid == 211], 1)
    np.testing.assert_array_equal(ch[pid == 11], -1)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.isPhoton)), (pid == 22).astype(np.float32))
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.isNeutralHadron)), np.isin(np.abs(pid), [2112, 130]).astype(np.float32))


def test_quarkgluon_compressed_streams_in_chunks(tmp_path, monkeypatch):
    """A compressed .npz is decompressed chunk by chunk: never read whole, same jets as in one go."""
    from hepjepa.data import _quarkgluon

    path = tmp_path / "qg.npz"
    X, y, counts = _qg_file(path, n=23, compressed=True)
    whole = read_jets(path)

    def no_whole_read(*args, **kwargs):
        raise AssertionError("compressed X was read whole")

    monkeypatch.setattr(np.lib.format, "read_array", no_whole_read)
    reads = []
    original = _quarkgluon._NpyStream._read
    monkeypatch.setattr(_quarkgluon._NpyStream, "_read", lambda self, pos, k: reads.append(k) or original(self, pos, k))
    chunks = list(_quarkgluon.iter_file(str(path), step_size=5, entry_start=2))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 1]
    # y (23 numbers) is read once; X only ever one chunk at a time (2 skipped rows, then 5s)
    assert reads[0] == 23 and reads[1:] == [2, 5, 5, 5, 5, 1]
    got = ak.concatenate(chunks)
    for f in ("px", "py", "pz", "energy", "charge", "is_quark"):
        assert ak.all(got[f] == whole[f][2:]), f
    np.testing.assert_array_equal(ak.num(got.px), counts[2:])
    # a truncated member is a FormatError naming the file, not a short read
    import zipfile

    raw = tmp_path / "raw.npy"
    np.save(raw, X)
    cut = tmp_path / "cut.npz"
    with zipfile.ZipFile(cut, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("X.npy", raw.read_bytes()[:-200])
        zf.writestr("y.npy", _npy_bytes(y))
    with pytest.raises(FormatError, match="cut.npz.*ends after row"):
        list(_quarkgluon.iter_file(str(cut), step_size=5))


def _npy_bytes(a):
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_quarkgluon_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((2, 3, 4)), Y=np.zeros(2))
    with pytest.raises(MissingFieldsError) as err:
        read_jets(path)
    assert err.value.missing == ["y"] and err.value.near["y"] == ["Y"]
    path2 = tmp_path / "shape.npz"
    np.savez(path2, X=np.ones((2, 3, 3)), y=np.zeros(2))
    with pytest.raises(FormatError, match=r"\(n_jets, max_particles, 4\)"):
        read_jets(path2)


def _nano_file(path, naming="pfnano", n_events=6):
    cand, mapping, cidx = ("PFCands", "FatJetPFCands", "pFCandsIdx") if naming == "pfnano" else ("PFCand", "FatJetPFCand", "pfCandIdx")
    npf = RNG.integers(3, 25, n_events)
    njet = RNG.integers(0, 3, n_events)
    pf = {v: ak.unflatten(RNG.uniform(1, 50, npf.sum()).astype(np.float32), npf) for v in ("pt", "eta", "phi", "mass")}
    pf["eta"] = ak.unflatten(RNG.uniform(-2, 2, npf.sum()).astype(np.float32), npf)
    pf["mass"] = ak.unflatten(np.full(npf.sum(), 0.1396, np.float32), npf)
    pf["pdgId"] = ak.unflatten(RNG.choice([211, -211, 22, 130, 11, 13], npf.sum()).astype(np.int32), npf)
    pf["charge"] = ak.unflatten(np.zeros(npf.sum(), np.int32), npf)
    # each candidate goes to a random jet or none; mapping written out of jet order to test the sort
    jet_idx, cand_idx, truth = [], [], []
    for e in range(n_events):
        assign = RNG.integers(-1, njet[e], npf[e]) if njet[e] else np.full(npf[e], -1)
        keep = np.nonzero(assign >= 0)[0][::-1]
        jet_idx.append(assign[keep])
        cand_idx.append(keep)
        truth.append(RNG.integers(-1, 10, njet[e]))
    fj = {"pt": ak.Array([RNG.uniform(500, 900, k).astype(np.float32) for k in njet]),
          "msoftdrop": ak.Array([RNG.uniform(0, 200, k).astype(np.float32) for k in njet]),
          "truthLabel": ak.Array([t.astype(np.int32) for t in truth])}
    fjpf = {"jetIdx": ak.Array([j.astype(np.int32) for j in jet_idx]), cidx: ak.Array([c.astype(np.int32) for c in cand_idx])}
    with uproot.recreate(path) as f:
        f.mktree("Events", {"run": np.uint32, "luminosityBlock": np.uint32, "event": np.uint64,
                            "FatJet": ak.zip(fj).type, cand: ak.zip(pf).type, mapping: ak.zip(fjpf).type})
        f["Events"].extend({"run": np.ones(n_events, np.uint32), "luminosityBlock": np.ones(n_events, np.uint32),
                            "event": np.arange(n_events, dtype=np.uint64), "FatJet": ak.zip(fj), cand: ak.zip(pf), mapping: ak.zip(fjpf)})
    return pf, fj, jet_idx, cand_idx, njet


@pytest.mark.parametrize("naming", ["pfnano", "v15"])
def test_nanoaod_fatjets_with_constituents(tmp_path, naming):
    path = tmp_path / "nano.root"
    pf, fj, jet_idx, cand_idx, njet = _nano_file(path, naming)
    assert guess_format(str(path)) == "nanoaod"
    jets = read_jets(path, step_size=2)
    assert len(jets) == njet.sum()
    k = 0
    for e in range(len(njet)):
        for j in range(njet[e]):
            rec = jets[k]
            assert rec.event_index == e and rec.fatjet_index == j
            mine = cand_idx[e][jet_idx[e] == j]  # file order within the jet
            pt = np.asarray(pf["pt"][e])[mine]
            np.testing.assert_allclose(np.hypot(ak.to_numpy(rec.px), ak.to_numpy(rec.py)), pt, rtol=1e-5)
            assert rec.label == max(int(fj["truthLabel"][e][j]), -1)
            assert rec.jet_sdmass == fj["msoftdrop"][e][j]
            k += 1
    assert {"isPhoton", "charge", "FatJet_pt", "jet_pt"} <= set(jets.fields)


def test_nanoaod_missing_mapping(tmp_path):
    path = tmp_path / "nomap.root"
    pf = ak.zip({"pt": ak.Array([[1.0, 2.0]]), "eta": ak.Array([[0.0, 0.1]]), "phi": ak.Array([[0.0, 0.1]]), "mass": ak.Array([[0.0, 0.0]])})
    with uproot.recreate(path) as f:
        f.mktree("Events", {"FatJet": ak.zip({"pt": ak.Array([[600.0]])}).type, "PFCands": pf.type})
        f["Events"].extend({"FatJet": ak.zip({"pt": ak.Array([[600.0]])}), "PFCands": pf})
    with pytest.raises(MissingFieldsError) as err:
        read_jets(path)
    assert "FatJetPFCands_jetIdx" in err.value.missing and str(path) in str(err.value)


def _e2e_file(path, n=7, side=125, row_group_size=3):
    img = np.zeros((n, 3, side, side), np.float32)
    mask = RNG.random(img.shape) < 0.002
    img[mask] = RNG.uniform(0.1, 20, mask.sum())
    table = pa.table({
        "X_jets": pa.array([[[list(r) for r in ch] for ch in jet] for jet in img], type=pa.list_(pa.list_(pa.list_(pa.float32())))),
        "pt": RNG.uniform(70, 200, n), "m0": RNG.uniform(5, 30, n), "y": RNG.integers(0, 2, n).astype(float),
    })
    pq.write_table(table, path, row_group_size=row_group_size)
    return img, table


def test_e2e_pixels_become_particles(tmp_path):
    path = tmp_path / "e2e.parquet"
    img, table = _e2e_file(path)
    jets = read_jets(path, step_size=2)
    assert len(jets) == 7
    np.testing.assert_array_equal(ak.num(jets.energy), (img > 0).reshape(7, -1).sum(axis=1))
    np.testing.assert_allclose(ak.to_numpy(ak.sum(jets.energy, axis=1)), img.sum(axis=(1, 2, 3)), rtol=1e-4)
    np.testing.assert_array_equal(ak.to_numpy(jets.is_quark), table["y"].to_numpy().astype(int))
    np.testing.assert_allclose(ak.to_numpy(jets.jet_pt), table["pt"].to_numpy(), rtol=1e-6)
    # massless: E^2 = p^2
    e, px, py, pz = (ak.to_numpy(ak.flatten(jets[f])).astype(float) for f in ("energy", "px", "py", "pz"))
    np.testing.assert_allclose(e**2, px**2 + py**2 + pz**2, rtol=1e-4)
    # channel flags: ECAL pixels are photons
    j, ch, r, c = np.nonzero(img > 0)
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.isPhoton)), (ch == 0).astype(np.float32))
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.isChargedHadron)), (ch == 2).astype(np.float32))
    # pixel centre: eta of the pixel row, phi of the column, at ECAL-crystal pitch (0.0174, 2 pi / 360)
    eta = np.arcsinh(pz / np.hypot(px, py))
    np.testing.assert_allclose(eta, (r - 62) * 0.0174, atol=1e-4)
    np.testing.assert_allclose(np.arctan2(py, px), (c - 62) * 2 * np.pi / 360, atol=1e-5)


def test_e2e_missing_column(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"X_jet": [[[[1.0]]]], "pt": [1.0], "m0": [1.0], "y": [1.0]}), path)
    with pytest.raises(MissingFieldsError) as err:
        read_jets(path)
    assert err.value.missing == ["X_jets"] and err.value.near["X_jets"] == ["X_jet"]


def test_wrong_format_and_globs(tmp_path):
    path = tmp_path / "qg.npz"
    _qg_file(path)
    with pytest.raises(FormatError, match="qg.npz"):
        read_jets(path, format="jetclass")
    with pytest.raises(UnknownFormatError, match="did you mean 'jetclass'"):
        read_jets(path, format="jetclas")
    with pytest.raises(FileNotFoundError, match=r"nothing\*.root|\*\.root"):
        read_jets(str(tmp_path / "nothing*.root"))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(UnknownFormatError, match=".txt"):
        read_jets(tmp_path / "x.txt")
    _qg_file(tmp_path / "qg2.npz", n=5)
    both = read_jets(str(tmp_path / "qg*.npz"))
    assert len(both) == 20
    assert len(read_jets([path, tmp_path / "qg2.npz"], max_jets=17)) == 17


@pytest.mark.parametrize("fmt", ["jetclass", "nanoaod"])
def test_root_readers_start_at_entry(tmp_path, fmt):
    # module-level uproot.iterate ignores entry_start; the readers must seek for real
    from hepjepa.data import _jetclass, _nanoaod

    path = tmp_path / f"{fmt}.root"
    if fmt == "nanoaod":
        _nano_file(path, n_events=12)
        reader = _nanoaod.iter_file
    else:
        n = 9
        with uproot.recreate(path) as f:
            f["tree"] = {"part_px": ak.Array([[float(i)] for i in range(n)]), "part_py": ak.Array([[1.0]] * n),
                         "part_pz": ak.Array([[0.5]] * n), "part_energy": ak.Array([[10.0 + i] for i in range(n)]),
                         "jet_pt": np.arange(n, dtype=np.float32)}
        reader = _jetclass.iter_file
    whole = ak.concatenate(list(reader(str(path), step_size=3)))
    key = "event_index" if fmt == "nanoaod" else "jet_pt"
    start = 5
    tail = ak.concatenate(list(reader(str(path), step_size=3, entry_start=start)))
    expect = whole[ak.to_numpy(whole[key]) >= start]
    assert ak.to_list(tail[key]) == ak.to_list(expect[key]) and len(tail) > 0
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(tail.px)), ak.to_numpy(ak.flatten(expect.px)))
