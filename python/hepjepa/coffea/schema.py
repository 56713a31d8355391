"""NanoEvents schemas whose FatJets carry their PF candidates through any selection.

coffea 2026.9 links FatJets to PF candidates only in ``PFNanoAODSchema`` and only by counts
(``FatJet_nConstituents``), which is wrong on real NanoAOD v15 files (FatJets with
``nConstituents > 0`` and no ``FatJetPFCand`` row exist in coffea's own ``nano_tt_v15.root``),
and ``NanoAODSchema`` has no link at all. These schemas add one field to every FatJet,

    ``FatJet.pfCandIdxG``: the global indices (into the chunk's PF-candidate collection,
    ``PFCands`` or ``PFCand``) of the FatJet's constituents, in the mapping's order,

built from the mapping rows by :func:`hepjepa.data.association.link` (the same function
``read_jets`` and ``hepjepa-run`` use; a broken row is ``-1``). Being a field of each FatJet,
it follows every selection, slice, sort or mask of ``events.FatJet``, in eager and virtual
mode, and ``events.FatJet._events()`` resolves it as coffea's own cross-references are.

Use::

    from coffea.nanoevents import NanoEventsFactory
    from hepjepa.coffea import NanoAODSchema
    events = NanoEventsFactory.from_root({"nano.root": "Events"}, schemaclass=NanoAODSchema).events()

or ``processor.Runner(..., schema=NanoAODSchema)``.
"""

from __future__ import annotations

import copy

import awkward as ak
import numpy as np
from coffea.nanoevents import transforms
from coffea.nanoevents.schemas import nanoaod as _nanoaod
from coffea.nanoevents.util import concat

from hepjepa.data.association import LAYOUTS, link

__all__ = ["LINK_FIELD", "NanoAODSchema", "PFNanoAODSchema"]

#: the field added to every FatJet (see the module docstring)
LINK_FIELD = "pfCandIdxG"
_TRANSFORM = "hepjepa_fatjet_pfcands"


def _fatjet_pfcands(stack) -> None:
    """coffea transform ``jet_idx,cand_idx,fatjet_offsets,pf_offsets,!hepjepa_fatjet_pfcands``.

    Pops the mapping's two jagged index columns and the FatJet / candidate offsets of the
    chunk; pushes one list of global candidate indices per FatJet (``-1`` = broken row).
    """
    pf_offsets = transforms.ensure_array(stack.pop())
    fj_offsets = transforms.ensure_array(stack.pop())
    cand_idx, jet_idx = stack.pop(), stack.pop()
    offsets, index = link(np.diff(fj_offsets), ak.to_numpy(ak.flatten(jet_idx)), ak.to_numpy(ak.num(jet_idx)),
                          ak.to_numpy(ak.flatten(cand_idx)), np.diff(pf_offsets))
    stack.append(ak.unflatten(index, np.diff(offsets)))


# coffea resolves a form key's "!name" step as an attribute of coffea.nanoevents.transforms; registering
# ours there (a new, prefixed name: nothing of coffea's is replaced) lets the schema use it like coffea's own
setattr(transforms, _TRANSFORM, _fatjet_pfcands)


def _link_form(branch_forms: dict, src: str = "FatJet") -> dict | None:
    """The form of ``<src>_pfCandIdxG`` for the first complete layout, or None when no layout is."""
    for lay in LAYOUTS:
        jet, cand = f"{lay.mapping}_{lay.jet_idx}", f"{lay.mapping}_{lay.cand_idx}"
        need = (jet, cand, f"n{src}", f"n{lay.pfcands}", f"{src}_pt")
        if not all(k in branch_forms for k in need):
            continue
        fj_offsets = transforms.counts2offsets_form(branch_forms[f"n{src}"])
        pf_offsets = transforms.counts2offsets_form(branch_forms[f"n{lay.pfcands}"])
        key = concat(branch_forms[jet]["form_key"], branch_forms[cand]["form_key"], fj_offsets["form_key"],
                     pf_offsets["form_key"], "!" + _TRANSFORM)
        outer = copy.deepcopy(branch_forms[f"{src}_pt"])  # a list per event, offsets of the FatJets
        outer["content"] = {
            "class": "ListOffsetArray", "offsets": "i64", "form_key": key,
            "content": {"class": "NumpyArray", "itemsize": 8, "format": "l", "primitive": "int64",
                        "form_key": concat(key, "!content"), "parameters": {}},
        }
        return outer
    return None


class _LinkMixin:
    """Adds ``FatJet_pfCandIdxG`` before coffea builds the collections."""

    def _build_collections(self, field_names, input_contents):
        branch_forms = dict(zip(field_names, input_contents, strict=True))
        form = _link_form(branch_forms)
        if form is not None:
            branch_forms[f"FatJet_{LINK_FIELD}"] = form
        return super()._build_collections(list(branch_forms), list(branch_forms.values()))


class NanoAODSchema(_LinkMixin, _nanoaod.NanoAODSchema):
    """coffea's ``NanoAODSchema`` + ``FatJet.pfCandIdxG`` (NanoAOD v15 and PFNano layouts alike)."""


class PFNanoAODSchema(_LinkMixin, _nanoaod.PFNanoAODSchema):
    """coffea's ``PFNanoAODSchema`` (its PFNano behaviours) + ``FatJet.pfCandIdxG``."""
