"""``ONNXJetTagger``: per-FatJet scores for a coffea analysis, jagged exactly like ``events.FatJet``.

coffea's ``ml_tools`` wraps TorchScript, Triton, XGBoost and TF models; this is the ONNX one,
built on :class:`hepjepa.deploy.JetTagger` (the one inference path: same tokeniser, same
C++ producer, same skips as ``hepjepa-run``). Like coffea's wrappers, the ONNX Runtime session
is created lazily in each worker and never pickled. Importing it does not import torch.

Example (in ``process(events)``, with events read by ``hepjepa.coffea.NanoAODSchema``)::

    tagger = ONNXJetTagger()                                   # the shipped model, or ONNXJetTagger("exported/")
    fatjets = events.FatJet[events.FatJet.pt > 300]            # any selection, slicing or sorting
    scores = tagger(fatjets)                                   # events * var * {probQCD: ?float32, ...}
    events["FatJet", "probTbqq"] = tagger(events)["probTbqq"]  # or tag all FatJets of the events

An untagged FatJet (no constituents, a broken link, a NaN/inf input or score) gets ``None``
(:mod:`hepjepa.contract`); ``ak.fill_none(scores.probTbqq > 0.5, False)`` is the cut that
never keeps one.
"""

from __future__ import annotations

import dataclasses

import awkward as ak
import numpy as np

from hepjepa.data.association import LAYOUTS, broken_jets, constituent_particles
from hepjepa.deploy.jet_tagger import JetTagger, TagResult
from hepjepa.errors import UserInputError

__all__ = ["FatJetTags", "ONNXJetTagger"]

_LINK_FIELD = "pfCandIdxG"  # = hepjepa.coffea.schema.LINK_FIELD (kept here so importing this needs no schema)


@dataclasses.dataclass
class FatJetTags:
    """The scores of a FatJet collection and why some FatJets were not tagged.

    Attributes:
        scores: awkward record array jagged like the FatJets, one ``?float32`` field per flavour
            (``None`` = untagged).
        result: the flat :class:`~hepjepa.deploy.TagResult` of the FatJets, event after event
            (masked-out FatJets are absent from it).
        present: (n_fatjets,) bool over the flattened FatJets: False where the user masked one out.
    """

    scores: ak.Array
    result: TagResult
    present: np.ndarray


class ONNXJetTagger(JetTagger):
    """An exported hepjepa tagger for coffea analyses (see the module docstring).

    Args:
        model: exported model directory (or its ``model.onnx``); None = the shipped model.
        src: the FatJet collection tagged when called with whole events.
        backend, intra_op_threads, batch_size, preprocess_json: as :class:`hepjepa.deploy.JetTagger`.

    Call it with events (tags ``events[src]``), with a FatJet collection (any selection of
    ``events.FatJet``), or with plain jet records (``read_jets`` output: one score record per jet).
    """

    def __init__(self, model=None, *, src: str = "FatJet", **kwargs):
        super().__init__(model, **kwargs)
        self.src = src

    def __call__(self, jets) -> ak.Array:
        """Scores of ``jets`` (events, FatJets or plain jet records), ``None`` where untagged."""
        _refuse_dask(jets)
        if isinstance(jets, ak.Array) and jets.ndim == 1 and self.src in ak.fields(jets) and "px" not in ak.fields(jets):
            return self.tag_fatjets(jets[self.src]).scores
        if isinstance(jets, ak.Array) and jets.ndim == 2:
            return self.tag_fatjets(jets).scores
        return self.tag(jets).to_awkward()

    def tag_fatjets(self, fatjets) -> FatJetTags:
        """Tag a NanoEvents FatJet collection (events * var * FatJet), any selection applied.

        Raises:
            UserInputError: the FatJets carry no ``pfCandIdxG`` link (events not read with
                ``hepjepa.coffea.NanoAODSchema``, or a file without PF candidates), or are not
                NanoEvents.
        """
        _refuse_dask(fatjets)
        if not isinstance(fatjets, ak.Array) or fatjets.ndim != 2:
            msg = (
                f"expected a FatJet collection (events * var * FatJet), got "
                f"{type(fatjets).__name__}{' of type ' + str(fatjets.type) if isinstance(fatjets, ak.Array) else ''}"
            )
            raise UserInputError(msg)
        events = _original_events(fatjets)
        layout = next((lay for lay in LAYOUTS if lay.pfcands in events.fields and lay.mapping in events.fields), None)
        where = str(getattr(events, "metadata", {}).get("filename") or "the events")
        if _LINK_FIELD not in ak.fields(fatjets) or layout is None:
            msg = f"{where}: {_no_link_message(events, layout)}"
            raise UserInputError(msg)
        n_per_event = ak.to_numpy(ak.num(fatjets, axis=1))
        flat = ak.flatten(fatjets, axis=1)  # (n_fatjets,) ?FatJet
        present = ak.to_numpy(~ak.is_none(flat)) if _has_option(flat) else np.ones(len(flat), bool)
        real = flat[present] if not present.all() else flat
        idx = real[_LINK_FIELD]  # (n_real,) var * int64 global candidate indices, -1 = broken row
        counts = ak.to_numpy(ak.num(idx, axis=1)).astype(np.int64)
        gidx = ak.to_numpy(ak.flatten(idx, axis=1)).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        pf = events[layout.pfcands]
        cands = {v: ak.to_numpy(ak.flatten(pf[v], axis=1)) for v in ("pt", "eta", "phi", "mass", "pdgId", "charge")
                 if v in pf.fields}
        particles = constituent_particles(cands, gidx)
        bad = broken_jets(offsets, gidx)
        try:
            result = self.tag_particles(particles, offsets, bad_association=bad)
        except UserInputError as e:
            msg = f"{where}: {layout.pfcands}: {e}"
            raise UserInputError(msg) from e
        scores = result.to_awkward()
        if not present.all():  # put the masked-out FatJets back, as None
            slot = np.full(len(present), -1, np.int64)
            slot[present] = np.arange(int(present.sum()))
            scores = scores[ak.mask(slot, present)]
        return FatJetTags(scores=ak.unflatten(scores, n_per_event), result=result, present=present)


def _refuse_dask(x) -> None:
    if type(x).__module__.startswith("dask_awkward"):
        msg = (
            "dask-awkward arrays (NanoEventsFactory mode='dask') are not supported by ONNXJetTagger; "
            "read eager or virtual NanoEvents, and scale out with processor.Runner(executor=DaskExecutor(...))"
        )
        raise UserInputError(msg)


def _has_option(a: ak.Array) -> bool:
    return isinstance(a.type.content, ak.types.OptionType)


def _original_events(fatjets: ak.Array) -> ak.Array:
    """The unsliced NanoEvents the FatJets came from (where their global indices point)."""
    try:
        return fatjets._events()
    except (AttributeError, KeyError) as e:
        msg = (
            "the FatJets are not NanoEvents (no events factory behind them); read the file with "
            "NanoEventsFactory.from_root(..., schemaclass=hepjepa.coffea.NanoAODSchema) or under "
            "processor.Runner(schema=hepjepa.coffea.NanoAODSchema)"
        )
        raise UserInputError(msg) from e


def _no_link_message(events: ak.Array, layout) -> str:
    if layout is None:
        have = sorted(f for f in events.fields if "PF" in f or f.startswith("FatJet"))
        supported = "; ".join(f"{lay.name}: {lay.pfcands} + {lay.mapping} ({lay.jet_idx}, {lay.cand_idx})" for lay in LAYOUTS)
        return (f"the events have no FatJet -> PF-candidate link (collections present: {have}); "
                f"hepjepa needs the FatJets' PF candidates, in one of the layouts {supported}")
    return (f"events.FatJet has no '{_LINK_FIELD}' field, the FatJet -> {layout.pfcands} link that follows selections: "
            "read the events with schema hepjepa.coffea.NanoAODSchema (or PFNanoAODSchema), e.g. "
            "processor.Runner(..., schema=hepjepa.coffea.NanoAODSchema)")
