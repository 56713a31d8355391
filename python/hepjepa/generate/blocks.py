"""One block of jets of one class: Pythia batch -> detector -> FastJet -> matching -> records.

A block is the unit of parallel work and of seeding: its content is a pure function of
(run seed, process, block index), so the output does not depend on the worker count.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from hepjepa.generate.clustering import DEFAULT_CUTS, JetCuts, _eta_phi, cluster_jets, delta_r, hard_partons, nsubjettiness, softdrop_mass
from hepjepa.generate.detector import DetectorConfig, apply_detector
from hepjepa.generate.processes import get_process
from hepjepa.generate.pythia_source import block_seed, make_pythia
from hepjepa.labels import PROCESS_NAMES

__all__ = ["generate_block"]

_INVISIBLE = (12, 14, 16)


def generate_block(process: str, n_jets: int, seed: int, block: int, detector: bool = True,
                   cuts: JetCuts = DEFAULT_CUTS, batch_events: int = 50, mpi: bool = True,
                   keep_unmatched: bool = False) -> ak.Array:
    """Exactly ``n_jets`` labelled jets of one class (events in order, jets within an event by pT).

    Args:
        process: class name (``qcd``, ``tbqq``, ...).
        n_jets: jets to return (> 0).
        seed: run seed; the block's Pythia and detector seeds derive from (seed, process, block).
        block: block index.
        detector: smear particles (True) or keep truth-level particles.
        keep_unmatched: keep jets of signal processes that fail matching (label -1), and
            whole events (NanoAOD); ``n_jets`` then counts labelled jets.

    Returns:
        ak.Array of jet records (fields in ``_jet_records``), plus ``event`` (index of the
        event within the block) for NanoAOD grouping.
    """
    import vector

    vector.register_awkward()
    spec = get_process(process)
    bseed = block_seed(seed, spec.name, block)
    pythia = make_pythia(spec, bseed, mpi=mpi)
    rng = np.random.default_rng(bseed)
    label = PROCESS_NAMES.index(spec.name)
    pieces, have, event_offset = [], 0, 0
    while have < n_jets:
        events = pythia.nextBatch(batch_events)
        recs = _jets_of_batch(events, spec, label, rng, detector, cuts, keep_unmatched)
        recs = ak.with_field(recs, recs.event + event_offset, "event")
        event_offset += len(events)
        pieces.append(recs)
        have += int(np.sum(ak.to_numpy(recs.label) >= 0))
    out = ak.concatenate(pieces)
    labelled = np.flatnonzero(ak.to_numpy(out.label) >= 0)
    if not keep_unmatched:
        return out[:n_jets]
    # keep whole events up to the one holding the n-th labelled jet
    last_event = int(out.event[labelled[n_jets - 1]])
    return out[ak.to_numpy(out.event) <= last_event]


def _jets_of_batch(events, spec, label, rng, detector, cuts, keep_unmatched):
    prt = events.prt
    # visible final state selected on the flat numpy columns that are needed (masking the
    # whole jagged record would copy all its fields); kinematics with vector's expressions,
    # so bit-identical to Momentum4D .pt/.eta/.phi/.mass
    n_all = ak.to_numpy(ak.num(prt.status))
    status = ak.to_numpy(ak.flatten(prt.status))
    ids = ak.to_numpy(ak.flatten(prt.id))
    aid = np.abs(ids)
    fin = (status > 0) & (aid != 12) & (aid != 14) & (aid != 16)
    counts = np.bincount(np.repeat(np.arange(len(n_all)), n_all)[fin], minlength=len(n_all))
    p = ak.flatten(prt.p)
    pt, eta, phi, mass = _pt_eta_phi_mass(*(ak.to_numpy(p[f])[fin] for f in ("px", "py", "pz", "e")))
    pid = ids[fin]
    charge = _charge(pid)
    if detector:
        pt, eta, phi, mass, keep = apply_detector(pt, eta, phi, mass, pid, charge, rng, DetectorConfig())
    else:
        keep = np.ones(len(pt), bool)
    ev_idx = np.repeat(np.arange(len(counts)), counts)[keep]
    new_counts = np.bincount(ev_idx, minlength=len(counts))
    px, py, pz, energy = _px_py_pz_e(pt[keep], eta[keep], phi[keep], mass[keep])
    p4 = ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": energy}, with_name="Momentum4D"), new_counts)
    pid, charge = pid[keep], charge[keep]
    jets, cidx = cluster_jets(p4, cuts)

    truth = hard_partons(prt, spec.resonance, spec.n_leptons)
    njet = ak.to_numpy(ak.num(jets))
    jeta, jphi = ak.to_numpy(ak.flatten(jets.eta)), ak.to_numpy(ak.flatten(jets.phi))
    jev = np.repeat(np.arange(len(njet)), njet)
    labels = np.full(len(jeta), -1, np.int32)
    is_quark = np.full(len(jeta), -1, np.int32)
    for j, (e, a, b) in enumerate(zip(jev, jeta, jphi, strict=True)):
        reso, partons = truth[e]
        if spec.resonance == 0:
            labels[j] = label
            if partons:
                d = delta_r(a, b, np.array([x[0] for x in partons]), np.array([x[1] for x in partons]))
                k = int(np.argmin(d))
                if d[k] < cuts.r:
                    is_quark[j] = int(partons[k][2] != 21)
        else:
            for reta, rphi, prods in reso:
                if delta_r(a, b, reta, rphi) < cuts.r and all(delta_r(a, b, x, y) < cuts.r for x, y in prods):
                    labels[j] = label
                    break
    # constituents as flat numpy gathers (one index array for every column), not awkward
    # jagged indexing of each column: jet j's constituents are event jev[j]'s particles cidx
    flat_idx = ak.flatten(cidx, axis=1)  # (jets, var) indices within the event
    nc = ak.to_numpy(ak.num(flat_idx)) if len(jev) else np.zeros(0, np.int64)
    starts = np.cumsum(new_counts) - new_counts
    glob = ak.to_numpy(ak.flatten(flat_idx)).astype(np.int64) + np.repeat(starts[jev], nc) if len(jev) \
        else np.zeros(0, np.int64)
    jet_of = np.repeat(np.arange(len(jev)), nc)
    # order constituents by decreasing pT, as JetClass does: a stable sort within each jet, ties
    # in input order (what ak.argsort(ascending=False) gives); pT with vector's expression
    cpt = np.sqrt(px[glob] ** 2 + py[glob] ** 2)
    glob = glob[np.lexsort((-cpt, jet_of))]
    fj = ak.flatten(jets)
    keep_j = np.ones(len(labels), bool) if keep_unmatched else labels >= 0
    sel = glob[keep_j[jet_of]]
    nck = nc[keep_j]
    c = ak.unflatten(ak.zip({"px": px[sel], "py": py[sel], "pz": pz[sel], "E": energy[sel]}, with_name="Momentum4D"),
                     nck)
    sd = softdrop_mass(c, cuts.r) if keep_j.any() else np.zeros(0, np.float32)
    tau = nsubjettiness(c, 4, cuts.r) if keep_j.any() else np.zeros((0, 4), np.float32)
    fjk = fj[keep_j]
    return ak.zip({
        "event": jev[keep_j].astype(np.int64),
        "label": labels[keep_j],
        "qcd_is_quark": is_quark[keep_j],
        "jet_pt": ak.to_numpy(fjk.pt).astype(np.float32),
        "jet_eta": ak.to_numpy(fjk.eta).astype(np.float32),
        "jet_phi": ak.to_numpy(fjk.phi).astype(np.float32),
        "jet_energy": ak.to_numpy(fjk.E).astype(np.float32),
        "jet_mass": ak.to_numpy(fjk.mass).astype(np.float32),
        "jet_sdmass": sd,
        "jet_tau1": tau[:, 0], "jet_tau2": tau[:, 1], "jet_tau3": tau[:, 2], "jet_tau4": tau[:, 3],
        "part_px": ak.unflatten(px[sel].astype(np.float32), nck),
        "part_py": ak.unflatten(py[sel].astype(np.float32), nck),
        "part_pz": ak.unflatten(pz[sel].astype(np.float32), nck),
        "part_energy": ak.unflatten(energy[sel].astype(np.float32), nck),
        "part_pid": ak.unflatten(pid[sel].astype(np.int32), nck),
        "part_charge": ak.unflatten(charge[sel].astype(np.float32), nck),
    }, depth_limit=1)


def _pt_eta_phi_mass(x, y, z, t):
    """(pt, eta, phi, mass) of flat (px, py, pz, E) arrays with vector's ``xy_z_t``
    expressions (rho, eta, phi, tau), so the values equal ``Momentum4D`` properties bit for bit."""
    eta, phi = _eta_phi(x, y, z)
    squared = t**2 - (x**2 + y**2 + z**2)
    return np.sqrt(x**2 + y**2), eta, phi, np.copysign(np.sqrt(np.absolute(squared)), squared)


def _px_py_pz_e(pt, eta, phi, mass):
    """(px, py, pz, E) of flat (pt, eta, phi, mass) arrays with vector's ``rhophi_eta_tau``
    expressions, so the values equal ``Momentum4D(pt, eta, phi, mass).px`` ... bit for bit."""
    expmeta = np.exp(-eta)
    invsintheta = 0.5 * (1 + expmeta**2) / expmeta
    mag2 = pt**2 * invsintheta**2
    energy = np.sqrt(np.maximum(np.copysign(mass**2, mass) + mag2, 0))
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), energy


def _charge(pid: np.ndarray) -> np.ndarray:
    """Electric charge of visible final-state particles from the PDG id (vectorised via particle table)."""
    from hepjepa.generate._charges import charge_of

    return charge_of(pid)
