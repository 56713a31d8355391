"""Small synthetic inputs the tests of several layers share: a PFNano-like NanoAOD file, a
JetClass-format jets file, and a tiny tagger with the model's input signature (exportable to ONNX
in a second)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch
import uproot


def write_pfnano(path, n_events=20, seed=3, corrupt=None):
    """Write a small PFNano-like file; ``corrupt(data, rng)`` may edit the arrays before writing."""
    rng = np.random.default_rng(seed)
    njet = rng.integers(0, 3, n_events)
    npf = rng.integers(5, 40, n_events)
    jidx, pidx = [], []
    for nj, npp in zip(njet, npf):
        owner = rng.integers(-1, nj, npp) if nj else np.full(npp, -1)
        sel = np.flatnonzero(owner >= 0)
        jidx.append(owner[sel].tolist())
        pidx.append(sel.tolist())
    n = int(npf.sum())
    pfc = {f: ak.unflatten(v, npf) for f, v in {
        "pt": rng.uniform(1, 50, n).astype(np.float32), "eta": rng.normal(0, 0.3, n).astype(np.float32),
        "phi": rng.normal(0, 0.3, n).astype(np.float32), "mass": np.zeros(n, np.float32),
        "pdgId": rng.choice([211, -211, 22, 130, 11, -13], n).astype(np.int32)}.items()}
    nj = int(njet.sum())
    data = {
        "run": np.ones(n_events, np.uint32), "luminosityBlock": np.ones(n_events, np.uint32),
        "event": np.arange(n_events, dtype=np.uint64), "genWeight": rng.uniform(0.5, 1.5, n_events).astype(np.float32),
        "FatJet": ak.zip({f: ak.unflatten(v, njet) for f, v in {
            "pt": rng.uniform(300, 900, nj).astype(np.float32), "eta": rng.normal(0, 1, nj).astype(np.float32),
            "phi": rng.uniform(-3, 3, nj).astype(np.float32), "mass": rng.uniform(10, 200, nj).astype(np.float32),
            "msoftdrop": rng.uniform(10, 200, nj).astype(np.float32), "truthLabel": rng.choice([0, 8], nj).astype(np.int32)}.items()}),
        "PFCands": ak.zip(pfc),
        "FatJetPFCands": ak.zip({"jetIdx": ak.Array(jidx), "pFCandsIdx": ak.Array(pidx)}),
    }
    if corrupt is not None:
        corrupt(data, rng)
    with uproot.recreate(path) as f:
        f.mktree("Events", {k: getattr(v, "dtype", None) or v.type for k, v in data.items()},
                 counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}")
        f["Events"].extend(data)
    return data


class Tiny(torch.nn.Module):
    def __init__(self, n_feat):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(n_feat, 2)
        self.c = torch.nn.Linear(2, 2)

    def forward(self, features, particle_mask, group_mask, centers, pair_features):
        h = (self.lin(features) * particle_mask.unsqueeze(-1)).sum(2)  # (B, G, 2)
        h = h + self.c(centers) * group_mask.unsqueeze(-1)  # (B, G, 2)
        h = h.sum(1) / group_mask.sum(1, keepdim=True) + 0.01 * pair_features.sum((1, 2, 3)).unsqueeze(-1)  # (B, 2)
        return torch.softmax(h, dim=-1)  # (B, 2)


def write_jetclass_jets(path, n=96, seed=0):
    """JetClass-format ROOT file of jets: two prongs of collimated particles (learnable structure)."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(20, 40, n)
    px, py, pz, e = [], [], [], []
    for c in counts:
        pt0 = rng.uniform(500, 800)
        prong = rng.integers(0, 2, c)
        deta = rng.normal(0, 0.05, c) + np.where(prong, 0.2, -0.1) * rng.uniform(0.5, 1.5)
        dphi = rng.normal(0, 0.05, c) + np.where(prong, -0.15, 0.1)
        pt = pt0 * rng.dirichlet(np.ones(c))
        eta, phi = deta, 1.0 + dphi
        px.append(pt * np.cos(phi)); py.append(pt * np.sin(phi)); pz.append(pt * np.sinh(eta)); e.append(pt * np.cosh(eta))
    arr = {k: ak.Array([v.astype(np.float32) for v in vals]) for k, vals in zip(("part_px", "part_py", "part_pz", "part_energy"), (px, py, pz, e))}
    with uproot.recreate(path) as f:
        f.mktree("tree", {k: "var * float32" for k in arr})
        f["tree"].extend(arr)
    return str(path)


def export_tiny(model_dir):
    """Export :class:`Tiny` as a top-vs-QCD tagger (probQCD, probTbqq) with small tokeniser settings
    (4 particles a group, at most 6 groups) into ``model_dir`` (model.onnx + preprocess.json).

    Returns:
        (model_dir, its TokenizerConfig).
    """
    from hepjepa.deploy import export_onnx
    from hepjepa.features import TokenizerConfig

    tok = TokenizerConfig(group_size=4, max_groups=6)
    nf = len(tok.feature_names)
    export_onnx(Tiny(nf), model_dir, tokenizer_config=tok.to_dict(), flav_names=["probQCD", "probTbqq"],
                group_size=4, n_features=nf, n_groups=4)
    return model_dir, tok
