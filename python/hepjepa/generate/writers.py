"""Writers: JetClass ROOT layout (one jet per entry) and NanoAOD/PFNano-like events, atomically."""

from __future__ import annotations

import os

import awkward as ak
import numpy as np

from hepjepa.atomic import atomic_path
from hepjepa.labels import JETCLASS_LABELS

__all__ = ["write_jetclass", "write_nanoaod", "jetclass_arrays", "nanoaod_arrays"]

_CHUNK = 10_000  # entries per extend: bounded baskets and memory


def jetclass_arrays(jets: ak.Array) -> dict:
    """Branch -> array in JetClass's layout (names and types as the public files).

    Extra, namespaced branch: ``aux_qcd_is_quark`` (1 quark, 0 gluon, -1 not QCD or no parton).
    """
    px, py, pz, e = jets.part_px, jets.part_py, jets.part_pz, jets.part_energy
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    phi = np.arctan2(py, px)
    # relative to the jet axis, as JetClass's part_deta / part_dphi
    jeta = jets.jet_eta
    deta = eta - jeta
    dphi = (phi - jets.jet_phi + np.pi) % (2 * np.pi) - np.pi
    apid = abs(jets.part_pid)
    q = jets.part_charge
    f32 = lambda x: ak.values_astype(x, np.float32)  # noqa: E731
    zero = f32(px * 0)
    out = {
        "part_px": f32(px), "part_py": f32(py), "part_pz": f32(pz), "part_energy": f32(e),
        "part_deta": f32(deta), "part_dphi": f32(dphi),
        # no tracking simulation: impact parameters 0, errors 0 as JetClass's neutral particles
        "part_d0val": zero, "part_d0err": zero, "part_dzval": zero, "part_dzerr": zero,
        "part_charge": f32(q),
        "part_isChargedHadron": f32((q != 0) & (apid != 11) & (apid != 13)),
        "part_isNeutralHadron": f32((q == 0) & (apid != 22)),
        "part_isPhoton": f32(apid == 22),
        "part_isElectron": f32(apid == 11),
        "part_isMuon": f32(apid == 13),
    }
    for name in ("jet_pt", "jet_eta", "jet_phi", "jet_energy"):
        out[name] = ak.to_numpy(jets[name]).astype(np.float32)
    out["jet_nparticles"] = ak.to_numpy(ak.num(px)).astype(np.float32)
    out["jet_sdmass"] = ak.to_numpy(jets.jet_sdmass).astype(np.float32)
    for k in range(1, 5):
        out[f"jet_tau{k}"] = ak.to_numpy(jets[f"jet_tau{k}"]).astype(np.float32)
    lab = ak.to_numpy(jets.label)
    for i, name in enumerate(JETCLASS_LABELS):
        out[name] = (lab == i).astype(np.float32)  # JetClass stores one-hot labels as float
    out["aux_qcd_is_quark"] = ak.to_numpy(jets.qcd_is_quark).astype(np.float32)
    return out


def write_jetclass(jets: ak.Array, path: str | os.PathLike) -> None:
    """Write jets (``generate_jets`` records) as a JetClass ROOT file, tree ``tree``, atomically."""
    import uproot

    flat = jetclass_arrays(jets)
    # one record "part" -> branches part_px, ... sharing one counter "npart"
    arrays = {"part": ak.zip({k.removeprefix("part_"): v for k, v in flat.items() if k.startswith("part_")})}
    arrays |= {k: v for k, v in flat.items() if not k.startswith("part_")}
    types = {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in arrays.items()}
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            tree = f.mktree("tree", types, title="JetClass-like jets from hepjepa generate")
            for start in range(0, len(jets), _CHUNK):
                tree.extend({k: v[start:start + _CHUNK] for k, v in arrays.items()})


def nanoaod_arrays(jets: ak.Array) -> dict:
    """Events in NanoAOD/PFNano's flat layout from jets with ``event`` ids (sorted).

    PFCands holds the FatJets' constituents (jet after jet, each by decreasing pT), so
    ``FatJetPFCands`` is ordered by jet, as coffea's PFNanoAODSchema needs to link them.
    """
    ev = ak.to_numpy(jets.event).astype(np.int64)
    uniq, first, counts = np.unique(ev, return_index=True, return_counts=True)
    px, py, pz, e = jets.part_px, jets.part_py, jets.part_pz, jets.part_energy
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-9))
    phi = np.arctan2(py, px)
    mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0))
    ncon = ak.to_numpy(ak.num(px))
    fat = {
        "pt": ak.to_numpy(jets.jet_pt), "eta": ak.to_numpy(jets.jet_eta), "phi": ak.to_numpy(jets.jet_phi),
        "mass": ak.to_numpy(jets.jet_mass), "msoftdrop": ak.to_numpy(jets.jet_sdmass),
        "nConstituents": ncon.astype(np.int32),
        **{f"tau{k}": ak.to_numpy(jets[f"jet_tau{k}"]) for k in range(1, 5)},
        "truthLabel": ak.to_numpy(jets.label).astype(np.int32),
        "isQuark": ak.to_numpy(jets.qcd_is_quark).astype(np.int32),
    }
    fat = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in fat.items()}
    fatjet = ak.unflatten(ak.zip(fat), counts)
    # PF candidates per event = concatenation of its jets' constituents
    pf_flat = ak.zip({"pt": ak.flatten(pt), "eta": ak.flatten(eta), "phi": ak.flatten(phi),
                      "mass": ak.flatten(mass), "pdgId": ak.flatten(jets.part_pid),
                      "charge": ak.values_astype(ak.flatten(jets.part_charge), np.int32)})
    pf_flat = ak.zip({k: (ak.values_astype(pf_flat[k], np.float32) if k in ("pt", "eta", "phi", "mass") else pf_flat[k])
                      for k in pf_flat.fields})
    pf_per_event = np.add.reduceat(ncon, first) if len(ncon) else np.zeros(0, np.int64)
    pfcands = ak.unflatten(pf_flat, pf_per_event)
    # jet index within its event, for each constituent
    jet_in_event = np.arange(len(ev)) - np.repeat(first, counts)
    jet_idx = np.repeat(jet_in_event, ncon).astype(np.int32)
    cand_start = np.repeat(np.cumsum(np.concatenate([[0], ncon]))[:-1] - np.repeat(np.cumsum(np.concatenate([[0], pf_per_event]))[:-1], counts), ncon)
    pf_idx = (np.arange(int(ncon.sum())) - np.repeat(np.cumsum(np.concatenate([[0], ncon]))[:-1], ncon) + cand_start).astype(np.int32)
    mapping = ak.unflatten(ak.zip({"jetIdx": jet_idx, "pFCandsIdx": pf_idx}), pf_per_event)
    n = len(uniq)
    return {
        "run": np.ones(n, np.uint32),
        "luminosityBlock": np.ones(n, np.uint32),
        "event": (uniq + 1).astype(np.uint64),
        "FatJet": fatjet,
        "PFCands": pfcands,
        "FatJetPFCands": mapping,
    }


def write_nanoaod(jets: ak.Array, path: str | os.PathLike) -> None:
    """Write NanoAOD/PFNano-like events (tree ``Events``) atomically."""
    import uproot

    arrays = nanoaod_arrays(jets)
    types = {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in arrays.items()}
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            tree = f.mktree("Events", types, title="Events")
            n = len(arrays["run"])
            for start in range(0, n, _CHUNK):
                tree.extend({k: v[start:start + _CHUNK] for k, v in arrays.items()})
