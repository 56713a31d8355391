"""Numba kernels on flat float64 arrays + offsets (no awkward inside njit).

Every kernel is deterministic: ties are broken by the lower particle index.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "N_RAW", "particle_features", "jet_axis", "fps", "fps_dist", "knn", "knn_from_dist", "pair_features",
    "tokenize_kernel", "check_finite",
]

N_RAW = 13  # len(config.RAW_FEATURES)
_PI = math.pi
_TWO_PI = 2.0 * math.pi


@numba.njit(cache=True, inline="always")
def _wrap(dphi):
    # map to [-pi, pi) so jets straddling phi = +-pi look like any other jet; inputs are
    # differences of angles in [-pi, pi], so a branch beats the (slow) float modulo
    while dphi >= _PI:
        dphi -= _TWO_PI
    while dphi < -_PI:
        dphi += _TWO_PI
    return dphi


@numba.njit(cache=True)
def check_finite(arrays, offsets):
    """Return (jet index, field index) of the first non-finite value, or (-1, -1)."""
    n_jets = offsets.shape[0] - 1
    for j in range(n_jets):
        for f in range(len(arrays)):
            a = arrays[f]
            for i in range(offsets[j], offsets[j + 1]):
                if not math.isfinite(a[i]):
                    return j, f
    return -1, -1


@numba.njit(cache=True)
def jet_axis(px, py, pz, e, eps):
    """Jet four-vector sum -> (eta, phi, pt, energy); eta guarded for pt -> 0."""
    jx = px.sum(); jy = py.sum(); jz = pz.sum(); je = e.sum()
    jpt = math.sqrt(jx * jx + jy * jy)
    jeta = math.asinh(jz / max(jpt, eps))
    jphi = math.atan2(jy, jx)
    return jeta, jphi, jpt, je


@numba.njit(cache=True)
def particle_features(px, py, pz, e, charge, flags, eps, out):
    """Raw features of one jet's particles w.r.t. the jet axis.

    Args:
        px, py, pz, e, charge: (n,) float64.
        flags: (5, n) float64 particle-type flags.
        eps: log / division guard.
        out: (n, N_RAW) float64, filled in :data:`config.RAW_FEATURES` order, with
            deta/dphi relative to the *jet axis* (made centre-relative later).
    Returns:
        (pt_jet, E_jet).
    """
    jeta, jphi, jpt, je = jet_axis(px, py, pz, e, eps)
    for i in range(px.shape[0]):
        pt = math.sqrt(px[i] * px[i] + py[i] * py[i])
        eta = math.asinh(pz[i] / max(pt, eps))
        phi = math.atan2(py[i], px[i])
        de = eta - jeta
        dp = _wrap(phi - jphi)
        out[i, 0] = de
        out[i, 1] = dp
        out[i, 2] = math.log(max(pt, eps))
        out[i, 3] = math.log(max(e[i], eps))
        out[i, 4] = math.log(max(pt / max(jpt, eps), eps))
        out[i, 5] = math.log(max(e[i] / max(je, eps), eps))
        out[i, 6] = math.sqrt(de * de + dp * dp)
        out[i, 7] = charge[i]
        for f in range(5):
            out[i, 8 + f] = flags[f, i]
    return jpt, je


@numba.njit(cache=True)
def fps(eta, phi, pt, c):
    """Farthest-point sampling of ``c`` centres in (eta, phi), phi wrapped.

    Starts at the leading-pT particle (lowest index on ties); each next centre is the
    particle farthest from all chosen ones (lowest index on ties). Returns (c,) int64.
    """
    return fps_dist(eta, phi, pt, c)[0]


@numba.njit(cache=True)
def fps_dist(eta, phi, pt, c):
    """:func:`fps` that also returns the (c, n) squared distances centre -> particle,
    which are exactly the distances kNN needs (computed once, shared)."""
    n = eta.shape[0]
    out = np.empty(c, np.int64)
    dist = np.empty((c, n))
    if c == 0:
        return out, dist
    start = 0
    for i in range(1, n):
        if pt[i] > pt[start]:
            start = i
    mind = np.full(n, np.inf)
    cur = start
    for g in range(c):
        out[g] = cur
        best = -1.0
        nxt = 0
        ce = eta[cur]; cp = phi[cur]
        for i in range(n):
            de = eta[i] - ce
            dp = _wrap(phi[i] - cp)
            d = de * de + dp * dp
            dist[g, i] = d
            if d < mind[i]:
                mind[i] = d
            if mind[i] > best:
                best = mind[i]
                nxt = i
        cur = nxt
    return out, dist


@numba.njit(cache=True)
def knn(eta, phi, centres, k):
    """The k nearest particles (incl. itself) of each centre; ties by lower index.

    Returns (c, min(k, n)) int64, each row sorted by (distance, index).
    """
    n = eta.shape[0]
    c = centres.shape[0]
    dist = np.empty((c, n))
    for g in range(c):
        ce = eta[centres[g]]; cp = phi[centres[g]]
        for i in range(n):
            de = eta[i] - ce
            dp = _wrap(phi[i] - cp)
            dist[g, i] = de * de + dp * dp
    return knn_from_dist(dist, k)


@numba.njit(cache=True)
def knn_from_dist(dist, k):
    """k smallest entries of each row of ``dist`` (c, n), ties by lower index."""
    c, n = dist.shape
    kk = min(k, n)
    out = np.empty((c, kk), np.int64)
    bd = np.empty(kk)
    bi = np.empty(kk, np.int64)
    for g in range(c):
        m = 0
        for i in range(n):
            d = dist[g, i]
            if m == kk and d >= bd[kk - 1]:
                continue  # strict <: an equal distance keeps the earlier (lower) index
            # insertion into the sorted top-k list; i grows so ties keep index order
            p = m if m < kk else kk - 1
            while p > 0 and bd[p - 1] > d:
                if p < kk:
                    bd[p] = bd[p - 1]; bi[p] = bi[p - 1]
                p -= 1
            bd[p] = d; bi[p] = i
            if m < kk:
                m += 1
        out[g, :] = bi[:kk]
    return out


@numba.njit(cache=True)
def pair_features(p4, ng, eps, out):
    """ParT pairwise features between the first ``ng`` rows of ``p4`` (G, 4).

    out[a, b] = (ln dR, ln kT, ln z, ln m^2) with dR in (rapidity, phi),
    kT = min(pT) dR, z = min(pT)/(pT_a + pT_b), m^2 = (p_a + p_b)^2, each log of
    max(value, eps). The diagonal and every pair with a padded group stay 0.
    """
    G = p4.shape[0]
    pt = np.empty(G); rap = np.empty(G); phi = np.empty(G)
    for a in range(ng):
        pt[a] = math.sqrt(p4[a, 0] ** 2 + p4[a, 1] ** 2)
        # rapidity guarded: E - |pz| can round to <= 0 for massless collinear sums
        num = max(p4[a, 3] + p4[a, 2], eps)
        den = max(p4[a, 3] - p4[a, 2], eps)
        rap[a] = 0.5 * math.log(num / den)
        phi[a] = math.atan2(p4[a, 1], p4[a, 0])
    for a in range(ng):
        for b in range(ng):
            if a == b:
                continue
            dy = rap[a] - rap[b]
            dp = _wrap(phi[a] - phi[b])
            dr = math.sqrt(dy * dy + dp * dp)
            ptmin = min(pt[a], pt[b])
            kt = ptmin * dr
            z = ptmin / max(pt[a] + pt[b], eps)
            ex = p4[a, 0] + p4[b, 0]; ey = p4[a, 1] + p4[b, 1]
            ez = p4[a, 2] + p4[b, 2]; ee = p4[a, 3] + p4[b, 3]
            m2 = ee * ee - ex * ex - ey * ey - ez * ez
            out[a, b, 0] = math.log(max(dr, eps))
            out[a, b, 1] = math.log(max(kt, eps))
            out[a, b, 2] = math.log(max(z, eps))
            out[a, b, 3] = math.log(max(m2, eps))


@numba.njit(cache=True)
def tokenize_kernel(px, py, pz, e, charge, flags, offsets, n_groups, G, k,
                    feat_idx, centre, scale, clip, eps,
                    features, particle_mask, group_mask, centers, group_p4, pair):
    """Tokenise all jets into preallocated zeroed outputs (float32).

    Args:
        px, py, pz, e, charge: flat (P,) float64; flags: (5, P) float64.
        offsets: (N+1,) int64; n_groups: (N,) int64 group count per jet.
        G, k: padded group count and group size.
        feat_idx: (F,) int64 indices into the raw features; centre/scale/clip: (F,).
        features (N,G,k,F), particle_mask (N,G,k), group_mask (N,G), centers (N,G,2),
        group_p4 (N,G,4), pair (N,G,G,4): outputs, zero-initialised.
    """
    n_jets = offsets.shape[0] - 1
    F = feat_idx.shape[0]
    for j in range(n_jets):
        s = offsets[j]; t = offsets[j + 1]
        n = t - s
        c = n_groups[j]
        if n == 0:
            continue
        raw = np.empty((n, N_RAW))
        particle_features(px[s:t], py[s:t], pz[s:t], e[s:t], charge[s:t], flags[:, s:t], eps, raw)
        eta = raw[:, 0].copy(); phi = raw[:, 1].copy()
        pt = np.empty(n)
        for i in range(n):
            pt[i] = math.sqrt(px[s + i] ** 2 + py[s + i] ** 2)
        cen, dist = fps_dist(eta, phi, pt, c)
        nb = knn_from_dist(dist, k)
        p4 = np.zeros((G, 4))
        for g in range(c):
            ci = cen[g]
            group_mask[j, g] = 1.0
            centers[j, g, 0] = eta[ci]
            centers[j, g, 1] = phi[ci]
            for m in range(nb.shape[1]):
                i = nb[g, m]
                particle_mask[j, g, m] = 1.0
                for f in range(F):
                    r = feat_idx[f]
                    if r == 0:
                        v = eta[i] - eta[ci]
                    elif r == 1:
                        v = _wrap(phi[i] - phi[ci])
                    else:
                        v = raw[i, r]
                    v = (v - centre[f]) * scale[f]
                    if v > clip[f]:
                        v = clip[f]
                    elif v < -clip[f]:
                        v = -clip[f]
                    features[j, g, m, f] = v
                p4[g, 0] += px[s + i]; p4[g, 1] += py[s + i]
                p4[g, 2] += pz[s + i]; p4[g, 3] += e[s + i]
            for q in range(4):
                group_p4[j, g, q] = p4[g, q]
        pf = np.zeros((G, G, 4))
        pair_features(p4, c, eps, pf)
        for a in range(c):
            for b in range(c):
                for q in range(4):
                    pair[j, a, b, q] = pf[a, b, q]
