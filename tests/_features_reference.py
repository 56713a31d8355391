"""Slow, obviously correct pure-Python references for hepjepa.features kernels,
plus a vectorised NumPy tokeniser used by the benchmark."""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-8


def wrap(d):
    while d >= math.pi:
        d -= 2 * math.pi
    while d < -math.pi:
        d += 2 * math.pi
    return d


def eta_phi_pt(px, py, pz):
    pt = math.hypot(px, py)
    return math.asinh(pz / max(pt, EPS)), math.atan2(py, px), pt


def particle_features(px, py, pz, e, charge, flags):
    """List of 13-feature rows (deta/dphi w.r.t. the jet axis)."""
    jeta, jphi, jpt = eta_phi_pt(sum(px), sum(py), sum(pz))
    je = sum(e)
    rows = []
    for i in range(len(px)):
        eta, phi, pt = eta_phi_pt(px[i], py[i], pz[i])
        de, dp = eta - jeta, wrap(phi - jphi)
        rows.append([de, dp, math.log(max(pt, EPS)), math.log(max(e[i], EPS)),
                     math.log(max(pt / max(jpt, EPS), EPS)), math.log(max(e[i] / max(je, EPS), EPS)),
                     math.hypot(de, dp), charge[i]] + [flags[f][i] for f in range(5)])
    return rows


def dist2(eta, phi, a, b):
    return (eta[a] - eta[b]) ** 2 + wrap(phi[a] - phi[b]) ** 2


def fps(eta, phi, pt, c):
    n = len(eta)
    if c == 0:
        return []
    start = max(range(n), key=lambda i: (pt[i], -i))
    chosen = [start]
    while len(chosen) < c:
        d = [min(dist2(eta, phi, i, s) for s in chosen) for i in range(n)]
        chosen.append(max(range(n), key=lambda i: (d[i], -i)))
    return chosen


def knn(eta, phi, centres, k):
    return [sorted(range(len(eta)), key=lambda i: (dist2(eta, phi, i, c), i))[:k] for c in centres]


def pair_features(p4s):
    ng = len(p4s)
    out = [[[0.0] * 4 for _ in range(ng)] for _ in range(ng)]
    for a in range(ng):
        for b in range(ng):
            if a == b:
                continue
            pa, pb = p4s[a], p4s[b]
            pta, ptb = math.hypot(pa[0], pa[1]), math.hypot(pb[0], pb[1])
            ya = 0.5 * math.log(max(pa[3] + pa[2], EPS) / max(pa[3] - pa[2], EPS))
            yb = 0.5 * math.log(max(pb[3] + pb[2], EPS) / max(pb[3] - pb[2], EPS))
            dr = math.hypot(ya - yb, wrap(math.atan2(pa[1], pa[0]) - math.atan2(pb[1], pb[0])))
            s = [pa[q] + pb[q] for q in range(4)]
            m2 = s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2
            out[a][b] = [math.log(max(dr, EPS)), math.log(max(min(pta, ptb) * dr, EPS)),
                         math.log(max(min(pta, ptb) / max(pta + ptb, EPS), EPS)), math.log(max(m2, EPS))]
    return out


def tokenize_jet(px, py, pz, e, charge, flags, config):
    """Reference tokenisation of one jet -> dict of unpadded per-group lists."""
    from hepjepa.features.config import RAW_FEATURES

    n = len(px)
    c = config.n_groups(n)
    raw = particle_features(px, py, pz, e, charge, flags)
    eta = [r[0] for r in raw]
    phi = [r[1] for r in raw]
    pt = [math.hypot(px[i], py[i]) for i in range(n)]
    cen = fps(eta, phi, pt, c)
    nb = knn(eta, phi, cen, config.group_size)
    feats, p4s = [], []
    for g, ci in enumerate(cen):
        rows = []
        for i in nb[g]:
            row = []
            for spec in config.features:
                r = RAW_FEATURES.index(spec.name)
                v = eta[i] - eta[ci] if r == 0 else wrap(phi[i] - phi[ci]) if r == 1 else raw[i][r]
                v = (v - spec.centre) * spec.scale
                if spec.clip is not None:
                    v = min(max(v, -spec.clip), spec.clip)
                row.append(v)
            rows.append(row)
        feats.append(rows)
        p4s.append([sum(px[i] for i in nb[g]), sum(py[i] for i in nb[g]), sum(pz[i] for i in nb[g]), sum(e[i] for i in nb[g])])
    return dict(centres=cen, members=nb, features=feats, centers=[(eta[c_], phi[c_]) for c_ in cen],
                group_p4=p4s, pair=pair_features(p4s))


def tokenize_numpy(px, py, pz, e, offsets, k=16, min_groups=1, max_groups=32):
    """Vectorised NumPy tokeniser (raw features, FPS, kNN, group p4, pair features)
    over jets one at a time, vectorised over particles — the benchmark's baseline."""
    outs = []
    for j in range(len(offsets) - 1):
        s, t = offsets[j], offsets[j + 1]
        x, y, z, en = px[s:t], py[s:t], pz[s:t], e[s:t]
        n = t - s
        if n == 0:
            outs.append(None)
            continue
        pt = np.hypot(x, y)
        jpt = np.hypot(x.sum(), y.sum())
        eta = np.arcsinh(z / np.maximum(pt, EPS)) - np.arcsinh(z.sum() / max(jpt, EPS))
        phi = np.arctan2(y, x) - np.arctan2(y.sum(), x.sum())
        phi = (phi + np.pi) % (2 * np.pi) - np.pi
        raw = np.stack([eta, phi, np.log(np.maximum(pt, EPS)), np.log(np.maximum(en, EPS)),
                        np.log(np.maximum(pt / jpt, EPS)), np.log(np.maximum(en / en.sum(), EPS)),
                        np.hypot(eta, phi)], 1)
        c = min(n, max(min_groups, min(max_groups, -(-2 * n // k))))
        cen = [int(np.argmax(pt))]
        mind = np.full(n, np.inf)
        for _ in range(c - 1):
            dp = (phi - phi[cen[-1]] + np.pi) % (2 * np.pi) - np.pi
            mind = np.minimum(mind, (eta - eta[cen[-1]]) ** 2 + dp ** 2)
            cen.append(int(np.argmax(mind)))
        cen = np.array(cen)
        dp = (phi[None, :] - phi[cen, None] + np.pi) % (2 * np.pi) - np.pi
        d = (eta[None, :] - eta[cen, None]) ** 2 + dp ** 2
        nb = np.argsort(d, axis=1, kind="stable")[:, :k]
        feats = raw[nb].copy()
        feats[..., 0] -= eta[cen, None]
        feats[..., 1] = (feats[..., 1] - phi[cen, None] + np.pi) % (2 * np.pi) - np.pi
        p4 = np.stack([x[nb].sum(1), y[nb].sum(1), z[nb].sum(1), en[nb].sum(1)], 1)
        gpt = np.hypot(p4[:, 0], p4[:, 1])
        rap = 0.5 * np.log(np.maximum(p4[:, 3] + p4[:, 2], EPS) / np.maximum(p4[:, 3] - p4[:, 2], EPS))
        gphi = np.arctan2(p4[:, 1], p4[:, 0])
        dphi = (gphi[:, None] - gphi[None, :] + np.pi) % (2 * np.pi) - np.pi
        dr = np.hypot(rap[:, None] - rap[None, :], dphi)
        ptmin = np.minimum(gpt[:, None], gpt[None, :])
        s4 = p4[:, None, :] + p4[None, :, :]
        m2 = s4[..., 3] ** 2 - (s4[..., :3] ** 2).sum(-1)
        pair = np.log(np.maximum(np.stack([dr, ptmin * dr, ptmin / np.maximum(gpt[:, None] + gpt[None, :], EPS), m2], -1), EPS))
        outs.append((feats, p4, pair))
    return outs
