"""Jets from a batch of Pythia events: FastJet anti-kT, truth matching, soft drop, N-subjettiness.

Soft drop (beta=0, z_cut=0.1, R0=0.8) uses the wheel's ``exclusive_jets_softdrop_grooming``
(fastjet contrib's SoftDrop, C/A reclustering). The wheel exposes no Nsubjettiness
plugin, so tau_N is computed here with numpy on exclusive-kT axes (FastJet's kT
reclustering, ``exclusive_jets(N)``), unnormalised measure beta=1, R0=0.8, divided by
sum pT * R0 (the normalisation of the contrib's ``NormalizedMeasure``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import awkward as ak
import numpy as np

from ..errors import UserInputError

__all__ = ["DEFAULT_CUTS", "JetCuts", "cluster_jets", "nsubjettiness", "softdrop_mass", "hard_partons"]


@dataclass(frozen=True)
class JetCuts:
    """Jet definition and window (GeV)."""

    r: float = 0.8
    pt_min: float = 500.0
    pt_max: float = 1000.0
    abs_eta_max: float = 2.0


#: the jet definition and window used unless one is given (frozen: safe as a shared default)
DEFAULT_CUTS = JetCuts()


def _fastjet():
    try:
        import fastjet
    except ImportError as err:
        msg = f"clustering jets needs fastjet ({err}); install the generator extra: pip install 'hepjepa[generator]'"
        raise UserInputError(msg) from err

    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)
    return fastjet


def cluster_jets(particles: ak.Array, cuts: JetCuts = JetCuts()):
    """Anti-kT jets per event inside the window.

    Args:
        particles: (events, var) records with px, py, pz, E (Momentum4D).

    Returns:
        (jets, constituent_index): (events, var jets) four-vectors and
        (events, var jets, var) indices into ``particles``.
    """
    fastjet = _fastjet()
    cs = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, cuts.r))
    jets = cs.inclusive_jets(min_pt=cuts.pt_min)
    idx = cs.constituent_index(min_pt=cuts.pt_min)
    jets = ak.with_name(jets, "Momentum4D")
    sel = (jets.pt < cuts.pt_max) & (abs(jets.eta) < cuts.abs_eta_max)
    return jets[sel], idx[sel]


def softdrop_mass(constituents: ak.Array, r0: float = 0.8) -> np.ndarray:
    """Soft-drop mass (beta=0, z_cut=0.1) per jet; constituents is (jets, var) px/py/pz/E."""
    fastjet = _fastjet()
    if len(constituents) == 0:
        return np.zeros(0, np.float32)
    cs = fastjet.ClusterSequence(constituents, fastjet.JetDefinition(fastjet.cambridge_algorithm, r0))
    with warnings.catch_warnings():
        # the wheel warns about dcut for every algorithm; C/A is the one SoftDrop expects
        warnings.simplefilter("ignore", UserWarning)
        sd = cs.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=r0)
    return np.nan_to_num(ak.to_numpy(sd.msoftdrop).astype(np.float32))


def nsubjettiness(constituents: ak.Array, n_max: int = 4, r0: float = 0.8) -> np.ndarray:
    """Normalised tau_1..tau_n_max per jet, exclusive-kT axes; (jets, n_max) float32, 0 when N > n_particles."""
    fastjet = _fastjet()
    constituents = ak.with_name(constituents, "Momentum4D")
    out = np.zeros((len(constituents), n_max), np.float32)
    n = ak.to_numpy(ak.num(constituents))
    # (J, M) zero-padded pt, eta, phi from the flat columns (numpy, not vector on jagged)
    flat = ak.flatten(constituents)
    x, y, z = (ak.to_numpy(flat[f]).astype(np.float64, copy=False) for f in ("px", "py", "pz"))
    rows = np.repeat(np.arange(len(n)), n)
    cols = np.arange(len(x)) - np.repeat(np.cumsum(n) - n, n)
    shape = (len(n), max(n.max(initial=1), 1))
    pt, eta, phi = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    pt[rows, cols] = np.sqrt(x**2 + y**2)
    eta[rows, cols], phi[rows, cols] = _eta_phi(x, y, z)
    norm = pt.sum(axis=1) * r0
    # one kT clustering serves every N: jets are grouped by min(n, n_max) (nearly all jets
    # have >= n_max constituents) and exclusive_jets(N) is read off the same sequence, N by N
    cap = np.minimum(n, n_max)
    for m in range(n_max, 0, -1):
        ok = np.flatnonzero(cap == m)
        if len(ok) == 0:
            continue
        cs = fastjet.ClusterSequence(constituents[ok], fastjet.JetDefinition(fastjet.kt_algorithm, r0))
        for k in range(1, m + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # spurious dcut warning of the wheel, even for kT
                axes = ak.flatten(cs.exclusive_jets(n_jets=k))  # k axes per jet, jet after jet
            aeta, aphi = _eta_phi(*(ak.to_numpy(axes[f]).astype(np.float64, copy=False) for f in ("px", "py", "pz")))
            aeta = aeta.reshape(len(ok), 1, k)  # (J', 1, k)
            aphi = aphi.reshape(len(ok), 1, k)
            dphi = (phi[ok][:, :, None] - aphi + np.pi) % (2 * np.pi) - np.pi
            dr = np.sqrt((eta[ok][:, :, None] - aeta) ** 2 + dphi**2).min(axis=2)  # (J', M)
            out[ok, k - 1] = (pt[ok] * dr).sum(axis=1) / norm[ok]
    return out


def hard_partons(event_prt, spec_resonance: int, n_leptons: int):
    """Per event, the resonances of the requested kind and their visible decay products.

    Works on the hard-process part of the record (|status| 21..29), a handful of
    particles per event, so the Python loop is per event, not per particle.

    Returns:
        list over events of (resonances, outgoing_partons): resonances is a list of
        (eta, phi, [(eta, phi), ...] decay products) that satisfy the class's decay
        (n_leptons charged leptons); outgoing_partons is [(eta, phi, pdg)] of status-23
        partons (for QCD quark/gluon origin).
    """
    counts = ak.to_numpy(ak.num(event_prt.status))
    starts = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    status = ak.to_numpy(ak.flatten(event_prt.status))
    # only the hard-process entries and the decay chains they point to are read, so the
    # flat columns stay numpy and just those entries become Python numbers
    ids = ak.to_numpy(ak.flatten(event_prt.id))
    d1s = ak.to_numpy(ak.flatten(event_prt.daughter1))
    d2s = ak.to_numpy(ak.flatten(event_prt.daughter2))
    p = ak.flatten(event_prt.p)
    x, y, z = (ak.to_numpy(p[f]) for f in ("px", "py", "pz"))
    hard = np.flatnonzero((np.abs(status) >= 21) & (np.abs(status) <= 29))
    hard_event = np.searchsorted(starts, hard, side="right") - 1
    per_event = np.split(hard, np.searchsorted(hard_event, np.arange(1, len(counts))))
    # first the record is walked with indices only; eta/phi are then computed, vectorised,
    # for just the rows used (hard process + decay chains), not for the whole event record
    found = []
    for ev, rows in enumerate(per_event):
        s0 = int(starts[ev])

        def products(j, s0=s0):  # s0 bound now: the closure is only called within this event
            # recurse through intermediate resonances (W from top, W from H) to quarks/leptons;
            # j and the daughter indices are positions within the event, as in Pythia's record
            a, b = int(d1s[s0 + j]), int(d2s[s0 + j])
            kids = range(a, b + 1) if a > 0 and b >= a else ([a] if a > 0 else [])
            res = []
            for c in kids:
                ac = abs(int(ids[s0 + c]))
                # follow recoil copies of the resonance (e.g. top 22 -> 44 -> 62) and W/Z to their decays
                if ac in (23, 24) or ac == abs(int(ids[s0 + j])):
                    res += products(c)
                elif ac in (12, 14, 16):
                    continue
                else:
                    res.append((s0 + c, ac))
            return res

        reso = []
        partons = []
        for r in rows.tolist():
            st, pid = abs(int(status[r])), int(ids[r])
            if st == 23 and (abs(pid) <= 5 or pid == 21):
                partons.append((r, abs(pid)))
            if spec_resonance and abs(pid) == spec_resonance and st == 22:
                prods = products(r - s0)
                nlep = sum(1 for q in prods if q[1] in (11, 13, 15))
                if nlep == n_leptons and prods:
                    reso.append((r, [q[0] for q in prods]))
        found.append((reso, partons))
    need = sorted({r for reso, partons in found for r0, kids in reso for r in (r0, *kids)}
                  | {r for _, partons in found for r, _ in partons})
    need_idx = np.array(need, np.int64)
    etas, phis = _eta_phi(x[need_idx], y[need_idx], z[need_idx])
    where = {r: (float(e), float(f)) for r, e, f in zip(need, etas, phis, strict=True)}
    return [([(*where[r0], [where[k] for k in kids]) for r0, kids in reso],
             [(*where[r], pid) for r, pid in partons]) for reso, partons in found]


def _eta_phi(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudorapidity and azimuth with vector's expressions (its ``xy_z`` eta and ``xy``
    phi), so values are bit-identical to ``Momentum4D.eta`` / ``.phi`` on the same input."""
    inf, nan = np.inf, np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.nan_to_num(np.arcsinh(z / np.sqrt(x**2 + y**2)),
                            nan=np.nan_to_num((z != 0) * inf, posinf=nan), posinf=inf, neginf=-inf)
    return eta, np.arctan2(y, x)


def delta_r(eta1, phi1, eta2, phi2):
    """Distance in (eta, phi) with phi wrap-around."""
    dphi = (np.asarray(phi1) - phi2 + np.pi) % (2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - eta2, dphi)
