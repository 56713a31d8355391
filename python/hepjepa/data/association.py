"""The FatJet -> PF-candidate link of NanoAOD-like events: the one implementation.

Real CMS files store the constituents of each FatJet as a separate table of mapping rows
(``FatJetPFCands`` in PFNano, ``FatJetPFCand`` in NanoAOD v15): row m says that candidate
``cand_idx[m]`` of the event belongs to FatJet ``jet_idx[m]`` of the same event. Counts such
as ``FatJet_nConstituents`` cannot replace it (in NanoAOD v15 some FatJets with
``nConstituents > 0`` have no mapping row), so every consumer goes through :func:`link`:
``read_jets`` (strict: a broken row is a :class:`FormatError`), ``hepjepa-run`` (uproot
arrays) and the coffea schema's cross-reference (``hepjepa.coffea.NanoAODSchema``), whose
per-FatJet index lists then follow any selection a user makes.

A broken row is marked, not dropped: in the per-jet index lists a ``-1`` stands for a row
whose candidate index lies outside the event's candidates, and every FatJet of an event with
a row pointing past its FatJets gets a ``-1`` (the event's link does not match its FatJets).
Such jets are never tagged (status ``bad_association``, see :mod:`hepjepa.contract`).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepjepa.errors import FormatError, MissingFieldsError

from ._common import flags_from_pdgid

__all__ = [
    "LAYOUTS",
    "check_particle_branches",
    "PF_KINEMATICS",
    "Layout",
    "broken_jets",
    "constituent_particles",
    "detect_layout",
    "fatjet_constituents",
    "flat_counts",
    "charge_from_pdgid",
    "link",
    "pf_particles",
]

#: PF-candidate kinematics every layout must provide.
PF_KINEMATICS: tuple[str, ...] = ("pt", "eta", "phi", "mass")


@dataclass(frozen=True)
class Layout:
    """Branch naming of one NanoAOD flavour: PF collection, mapping table and its two index columns."""

    name: str
    pfcands: str  # PF candidate collection
    mapping: str  # FatJet -> candidate table
    jet_idx: str  # column of ``mapping``: FatJet index in the event
    cand_idx: str  # column of ``mapping``: candidate index in the event

    def branches(self, src: str = "FatJet") -> list[str]:
        """Flat branch names this layout needs for the FatJet collection ``src`` (counters included, as NanoAOD has them)."""
        return ([f"n{src}", f"{self.mapping}_{self.jet_idx}", f"{self.mapping}_{self.cand_idx}"]
                + [f"{self.pfcands}_{v}" for v in PF_KINEMATICS] + [f"n{self.mapping}", f"n{self.pfcands}"])

    def particle_branches(self, fields) -> list[str]:
        """The candidate branches that give the particle fields ``fields`` (a model's required fields).

        The particle-type flags need ``pdgId``; ``charge`` needs ``charge`` or, failing it, ``pdgId``.
        """
        fields = set(fields)
        need = []
        if fields & {"isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"}:
            need.append(f"{self.pfcands}_pdgId")
        if "charge" in fields and not need:
            need.append(f"{self.pfcands}_charge|{self.pfcands}_pdgId")
        return need

    def optional_branches(self, keys) -> list[str]:
        """The candidate branches read when present (``pdgId`` for the particle flags, ``charge``)."""
        keys = set(keys)
        return [b for b in (f"{self.pfcands}_pdgId", f"{self.pfcands}_charge") if b in keys]


#: The layouts real CMS files use (coffea's own test files have one of each).
LAYOUTS: tuple[Layout, ...] = (
    Layout("PFNano", "PFCands", "FatJetPFCands", "jetIdx", "pFCandsIdx"),
    Layout("NanoAODv15", "PFCand", "FatJetPFCand", "jetIdx", "pfCandIdx"),
)


def detect_layout(keys, src: str = "FatJet", pfcands: str = "", where: str = "input") -> Layout:
    """The layout whose branches are all in ``keys`` (flat branch names such as ``PFCand_pt``).

    Args:
        keys: branch names of a tree (or ``coll_field`` names of NanoEvents).
        src: FatJet collection name.
        pfcands: restrict to the layout with this PF collection name ("" = any).
        where: names the input in the error (file and tree).

    Raises:
        MissingFieldsError: no layout is complete; names what the closest one lacks and
            both supported layouts.
    """
    keys = set(keys)
    candidates = [lay for lay in LAYOUTS if not pfcands or lay.pfcands == pfcands]
    if not candidates:
        raise MissingFieldsError(where, "NanoAOD", [f"{pfcands}_pt"], keys,
                                 message=f"unknown PF collection {pfcands!r}; expected one of {[lay.pfcands for lay in LAYOUTS]}")
    if f"{src}_pt" not in keys:
        raise MissingFieldsError(where, "NanoAOD", [f"{src}_pt"], keys, message=f"{where} has no {src} collection (no branch {src}_pt)")
    missing = {lay.name: [b for b in lay.branches(src) if b not in keys] for lay in candidates}
    for lay in candidates:
        if not missing[lay.name]:
            return lay
    best = min(candidates, key=lambda lay: len(missing[lay.name]))
    supported = "; ".join(f"{lay.name}: {lay.pfcands}_* + {lay.mapping}_{lay.jet_idx}/{lay.cand_idx}" for lay in LAYOUTS)
    raise MissingFieldsError(
        where, "NanoAOD", missing[best.name], keys,
        message=f"{where} has no {src} -> PF-candidate link: the closest layout, {best.name}, lacks {missing[best.name]} "
                f"(supported layouts: {supported})")


def check_particle_branches(layout: Layout, fields, keys, where: str) -> None:
    """Refuse, before any event is read, an input whose candidates cannot give the particle fields a model needs.

    Raises:
        MissingFieldsError: naming the input, the branches and the fields that need them.
    """
    keys = set(keys)
    missing = [alt.split("|")[0] for alt in layout.particle_branches(fields) if not any(b in keys for b in alt.split("|"))]
    if missing:
        raise MissingFieldsError(where, "NanoAOD", missing, keys, message=(
            f"{where} lacks {missing}, which the model needs for its particle fields {sorted(set(fields) - set(('px', 'py', 'pz', 'energy')))} "
            "(it was trained with them; preprocess.json 'particle_fields')"))


def link(n_jets, jet_idx, n_rows, cand_idx, n_cands, *, strict: bool = False, where: str = "input",
         first_event: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-FatJet lists of global candidate indices from a chunk's mapping rows.

    Args:
        n_jets: (E,) FatJets per event.
        jet_idx, cand_idx: (M,) the mapping rows of all events, event after event (flat).
        n_rows: (E,) mapping rows per event.
        n_cands: (E,) PF candidates per event.
        strict: raise on the first broken row instead of marking it.
        where: names the input in errors (file and branch).
        first_event: entry number of the chunk's first event (for errors).

    Returns:
        (offsets (J + 1,) int64, index (L,) int64): FatJet j (global, event after event) owns
        ``index[offsets[j]:offsets[j + 1]]``, global candidate positions (event offset + local
        index) in the order of the mapping rows; ``-1`` marks a broken row (see module doc).

    Raises:
        FormatError: ``strict`` and a row points outside its event's FatJets or candidates,
            naming ``where`` and the event.
    """
    n_jets = np.asarray(n_jets, dtype=np.int64)
    n_rows = np.asarray(n_rows, dtype=np.int64)
    n_cands = np.asarray(n_cands, dtype=np.int64)
    for name, c in (("FatJet", n_jets), ("mapping-row", n_rows), ("candidate", n_cands)):
        if c.size and c.min() < 0:  # a damaged counter branch
            e = int(np.flatnonzero(c < 0)[0])
            msg = f"{where}: event {first_event + e} has {int(c[e])} {name}s: a count cannot be negative (damaged file?)"
            raise FormatError(msg)
    j_local = np.asarray(jet_idx).astype(np.int64, copy=False)
    c_local = np.asarray(cand_idx).astype(np.int64, copy=False)
    if not (len(n_jets) == len(n_rows) == len(n_cands)) or n_rows.sum() != len(j_local) or len(j_local) != len(c_local):
        msg = (
            f"{where}: mapping of {len(j_local)}/{len(c_local)} rows does not match its counts "
            f"({int(n_rows.sum())} rows in {len(n_rows)} events)"
        )
        raise FormatError(msg)
    ev = np.repeat(np.arange(len(n_jets)), n_rows)  # (M,) event of each row
    bad_j = (j_local < 0) | (j_local >= n_jets[ev])
    bad_c = (c_local < 0) | (c_local >= n_cands[ev])
    if strict and (bad_j.any() or bad_c.any()):
        m = int(np.flatnonzero(bad_j | bad_c)[0])
        e = int(ev[m])
        if bad_j[m]:
            msg = (
                f"{where}: event {first_event + e} maps a candidate to FatJet {int(j_local[m])}, "
                f"but it has {int(n_jets[e])} FatJets"
            )
            raise FormatError(msg)
        msg = (
            f"{where}: event {first_event + e} points to candidate {int(c_local[m])}, "
            f"past the {int(n_cands[e])} candidates"
        )
        raise FormatError(msg)
    jet_off = np.concatenate([[0], np.cumsum(n_jets)])
    cand_off = np.concatenate([[0], np.cumsum(n_cands)])
    ok = ~bad_j
    owner = (jet_off[ev] + j_local)[ok]  # global FatJet of each attributable row
    value = np.where(bad_c, -1, cand_off[ev] + c_local)[ok]
    # every FatJet of an event with a row pointing past its FatJets: one -1 entry each
    broken_events = np.unique(ev[bad_j])
    if broken_events.size:
        extra = np.concatenate([np.arange(jet_off[e], jet_off[e + 1]) for e in broken_events])
        owner = np.concatenate([owner, extra])
        value = np.concatenate([value, np.full(len(extra), -1, np.int64)])
    order = np.argsort(owner, kind="stable")  # group by FatJet, keep the file's row order inside one
    counts = np.bincount(owner, minlength=int(jet_off[-1])).astype(np.int64)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), value[order].astype(np.int64)


def pf_particles(pt, eta, phi, mass, pdgId=None, charge=None) -> dict[str, np.ndarray]:
    """Tokeniser particle fields from PF-candidate kinematics (flat arrays, one entry per constituent).

    Args:
        pt, eta, phi, mass: (P,) candidate kinematics (GeV).
        pdgId: (P,) PDG ids, for the particle-type flags (and the charge when ``charge`` is None).
        charge: (P,) electric charge (PFNano has it; NanoAOD v15 ``PFCand`` does not).

    Returns:
        ``px, py, pz, energy`` float32 (computed in float64), plus ``charge`` when the charge or
        the PDG id is known, plus ``pdgId`` and the five particle-type flags (``hepjepa.contract.FLAG_FIELDS``)
        when the PDG id is known. A field the input cannot give is absent, never zero.
    """
    pt, eta, phi, mass = (np.asarray(a, dtype=np.float64) for a in (pt, eta, phi, mass))
    with np.errstate(over="ignore", invalid="ignore"):  # overflow -> inf, caught as a non-finite input downstream
        out = {
            "px": (pt * np.cos(phi)).astype(np.float32),
            "py": (pt * np.sin(phi)).astype(np.float32),
            "pz": (pt * np.sinh(eta)).astype(np.float32),
            "energy": np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2).astype(np.float32),
        }
    pid = None if pdgId is None else np.asarray(pdgId).astype(np.int64)
    q = np.asarray(charge, dtype=np.float64) if charge is not None else (charge_from_pdgid(pid) if pid is not None else None)
    if q is not None:
        out["charge"] = q.astype(np.float32)
    if pid is not None:
        assert q is not None  # with a PDG id, q is the given charge or charge_from_pdgid(pid)
        out["pdgId"] = pid
        out.update(flags_from_pdgid(pid, q))
    return out


def charge_from_pdgid(pid: np.ndarray) -> np.ndarray:
    """Electric charge of PF candidates from PDG ids (NanoAOD v15 ``PFCand`` has no charge branch)."""
    a = np.abs(pid)
    sign = np.sign(pid).astype(np.float64)
    charged = np.isin(a, (211, 321, 2212, 11, 13))
    # PDG: a positive id is a particle; e- and mu- (11, 13) carry charge -1, pi+ K+ p (211, 321, 2212) +1
    return np.where(charged, np.where(np.isin(a, (11, 13)), -sign, sign), 0.0)


def fatjet_constituents(arrays, layout, src: str = "FatJet", *, where: str = "input", first_event: int = 0,
                        strict: bool = False) -> dict[str, np.ndarray]:
    """The particle fields of every FatJet's constituents in a chunk of events (flat, FatJet after FatJet).

    Used by ``read_jets`` (``strict``) and ``hepjepa-run``: the link is :func:`link`, the
    fields :func:`pf_particles`.

    Args:
        arrays: branch name -> jagged (E, ...) arrays of one chunk (``uproot`` arrays or a dict).
        layout: from :func:`detect_layout`.
        src: FatJet collection name.
        where, first_event: name the input and the chunk's first entry in errors.
        strict: a broken mapping row raises :class:`FormatError`; else it is marked (see below).

    Returns:
        the particle fields of :func:`pf_particles` (P,), plus
        ``n_constituents`` (J,), ``offsets`` (J + 1,), ``n_jets_per_event`` (E,) and, when not
        ``strict``, ``bad_association`` (J,) bool: FatJets whose mapping rows are broken (their
        particles are not used; see :mod:`hepjepa.data.association`).
    """
    fields = arrays.fields if hasattr(arrays, "fields") else list(arrays)
    pf, mapping = layout.pfcands, layout.mapping
    njet = np.asarray(arrays[f"n{src}"], dtype=np.int64)
    pt, n_pf = flat_counts(arrays[f"{pf}_pt"])
    j_local, n_map = flat_counts(arrays[f"{mapping}_{layout.jet_idx}"])
    c_local, _ = flat_counts(arrays[f"{mapping}_{layout.cand_idx}"])
    offsets, index = link(njet, j_local, n_map, c_local, n_pf, strict=strict, where=where, first_event=first_event)
    cands = {v: (pt if v == "pt" else flat_counts(arrays[f"{pf}_{v}"])[0])
             for v in PF_KINEMATICS + ("pdgId", "charge") if v == "pt" or f"{pf}_{v}" in fields}
    out = constituent_particles(cands, index)
    out["n_constituents"] = np.diff(offsets)
    out["offsets"] = offsets
    out["n_jets_per_event"] = njet
    if not strict:
        out["bad_association"] = broken_jets(offsets, index)
    return out


def constituent_particles(cands: dict, index: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`pf_particles` of the candidates ``index`` (global positions; -1 = broken row, filled arbitrarily).

    Args:
        cands: flat (P,) candidate columns of the chunk: ``pt, eta, phi, mass`` and optionally
            ``pdgId``, ``charge``.
        index: (L,) from :func:`link`.
    """
    take = np.where(index < 0, 0, index)
    g = {v: (c[take] if len(c) else np.zeros(len(take), c.dtype)) for v, c in cands.items()}
    return pf_particles(g["pt"], g["eta"], g["phi"], g["mass"], pdgId=g.get("pdgId"), charge=g.get("charge"))


def broken_jets(offsets: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(J,) bool: FatJets with a broken mapping row (a -1 in ``index``)."""
    counts = np.diff(offsets)
    jet_of = np.repeat(np.arange(len(counts)), counts)
    return np.bincount(jet_of[index < 0], minlength=len(counts)) > 0


def flat_counts(a) -> tuple[np.ndarray, np.ndarray]:
    """(flat content (n,), counts (E,)) of a jagged (E, var) array of numbers.

    Reads a plain in-memory ``ListOffsetArray`` directly (offsets + content): ``ak.flatten``
    and ``ak.num`` cost ~0.1 ms each whatever the size, which dominates a one-event chunk
    (the per-event latency path). Anything else (virtual/lazy arrays, other layouts) takes
    the generic awkward route.
    """
    layout = a.layout if isinstance(a, ak.Array) else None
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(layout.content, ak.contents.NumpyArray):
        off, data = layout.offsets.data, layout.content.data
        if isinstance(off, np.ndarray) and isinstance(data, np.ndarray) and data.ndim == 1:
            return data[off[0]:off[-1]], np.diff(off).astype(np.int64)
    return ak.to_numpy(ak.flatten(a)), ak.to_numpy(ak.num(a)).astype(np.int64)
