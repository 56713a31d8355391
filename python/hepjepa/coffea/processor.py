"""``JEPATagProcessor``: tag FatJets of NanoAOD / PFNano events and fill ``hist.Hist``.

A thin user of :class:`hepjepa.coffea.ONNXJetTagger` (the one inference path): it tags
``events[src]`` as it is when ``process`` is called, so a subclass that selects FatJets
first (``events["FatJet"] = events.FatJet[cut]; return super().process(events)``) gets the
same per-jet scores as ``hepjepa-run`` on the whole file. Run it with the schema
``hepjepa.coffea.NanoAODSchema`` (``run_processor`` does).

It fills one histogram with axes dataset, truth flavour (``FatJet_truthLabel``; -1 when the
input has none), flavour name, score, FatJet pT and soft-drop mass, weighted by
``genWeight`` when present (``cutflow[dataset]["events_weighted"]`` counts those events).

Defined skips, each counted in ``out["cutflow"][dataset]`` and never filled (so no NaN
reaches a histogram), in this order of precedence: ``fatjets_without_pfcands``,
``fatjets_bad_association`` (its FatJet -> PF-candidate rows point outside the event),
``fatjets_nonfinite`` (FatJet pT or soft-drop mass NaN/inf),
``fatjets_nonfinite_constituents`` (a NaN/inf constituent, or features that overflow) and
``fatjets_nonfinite_score``; ``fatjets_tagged`` counts the filled ones, and
``fatjets == fatjets_tagged + the five skips``; ``events_without_fatjets`` counts events.
"""

from __future__ import annotations

import numpy as np
from coffea import processor

from hepjepa.coffea.tagger import ONNXJetTagger
from hepjepa.contract import DEFAULT_BATCH_SIZE

__all__ = ["CUTFLOW_KEYS", "JEPATagProcessor"]

#: the cutflow counters of one dataset, in the order they are reported
CUTFLOW_KEYS = ("events", "events_weighted", "events_without_fatjets", "fatjets", "fatjets_without_pfcands",
                "fatjets_bad_association", "fatjets_nonfinite", "fatjets_nonfinite_constituents",
                "fatjets_nonfinite_score", "fatjets_tagged")


class JEPATagProcessor(processor.ProcessorABC):
    """coffea processor tagging FatJets with an exported hepjepa model.

    Args:
        model_dir: exported model directory (``model.onnx`` + ``preprocess.json``); None = the shipped model.
        backend: ``cpp`` (C++ JetTagProducer) or ``onnxruntime``.
        intra_op_threads, batch_size: passed to :class:`ONNXJetTagger`.
        src: FatJet collection name.
    """

    def __init__(self, model_dir=None, backend: str = "cpp", intra_op_threads: int = 1,
                 batch_size: int = DEFAULT_BATCH_SIZE, src: str = "FatJet"):
        self.tagger = ONNXJetTagger(model_dir, src=src, backend=backend, intra_op_threads=intra_op_threads,
                                    batch_size=batch_size)
        self.src = src

    def _hist(self):
        import hist

        return (
            hist.Hist.new.StrCat([], name="dataset", label="dataset", growth=True)
            .IntCat([], name="truth", growth=True, label="truth class (-1 unknown)")
            .StrCat(list(self.tagger.flav_names), name="flavour", label="score name")
            .Reg(50, 0.0, 1.0, name="score", label="hepjepa score")
            .Reg(40, 200.0, 2000.0, name="pt", label="FatJet $p_T$ [GeV]")
            .Reg(40, 0.0, 400.0, name="msd", label="FatJet soft-drop mass [GeV]")
            .Weight(name="fatjet_scores", label="hepjepa scores of tagged FatJets")
        )

    def process(self, events):
        import awkward as ak

        dataset = events.metadata.get("dataset", "unknown")
        fj = events[self.src]
        tags = self.tagger.tag_fatjets(fj)
        present = tags.present
        flat = ak.flatten(fj, axis=1)
        if not present.all():
            flat = flat[present]
        n_jets = len(flat)
        flat_pt = ak.to_numpy(flat.pt).astype(np.float64)
        flat_msd = ak.to_numpy(flat.msoftdrop).astype(np.float64) if "msoftdrop" in flat.fields else np.full(n_jets, -1.0)
        truth = ak.to_numpy(flat.truthLabel).astype(np.int64) if "truthLabel" in flat.fields else np.full(n_jets, -1)
        n_events = len(events)
        weighted = "genWeight" in events.fields
        w_ev = ak.to_numpy(events.genWeight).astype(np.float64) if weighted else np.ones(n_events)
        per_event = ak.to_numpy(ak.num(fj, axis=1))
        w = np.repeat(w_ev, per_event)[present]
        status = tags.result.status
        finite = np.isfinite(flat_pt) & np.isfinite(flat_msd)
        # each skipped jet is counted once, in the first reason that applies (module docstring)
        reason = np.select([status == 1, status == 2, ~finite, status == 3, status == 4], [1, 2, 5, 3, 4], 0)
        n = np.bincount(reason, minlength=6)
        out = {"hist": self._hist(), "cutflow": {dataset: {
            "events": n_events, "events_weighted": n_events if weighted else 0,
            "events_without_fatjets": int((per_event == 0).sum()), "fatjets": int(n_jets),
            "fatjets_without_pfcands": int(n[1]), "fatjets_bad_association": int(n[2]), "fatjets_nonfinite": int(n[5]),
            "fatjets_nonfinite_constituents": int(n[3]), "fatjets_nonfinite_score": int(n[4]), "fatjets_tagged": int(n[0])}}}
        keep = np.flatnonzero(reason == 0)
        if len(keep):
            self.fill_hist(out["hist"], dataset, truth[keep], tags.result.scores[keep], flat_pt[keep], flat_msd[keep], w[keep])
        return out

    def fill_hist(self, h, dataset: str, truth: np.ndarray, scores: np.ndarray, pt: np.ndarray, msd: np.ndarray,
                  weight: np.ndarray | None = None) -> None:
        """Fill ``h`` once for all flavours: each jet enters once per flavour name with that score.

        One ``fill`` call with the jets repeated per flavour (instead of one call per
        flavour) halves the fixed cost of ``hist`` per chunk, which matters per event.

        Args:
            h: from ``_hist()``.
            dataset: dataset name.
            truth, pt, msd, weight: (n,) per tagged FatJet (weight None = 1).
            scores: (n, n_flav) finite scores, columns = ``self.tagger.flav_names``.
        """
        n, n_flav = scores.shape
        flav = np.repeat(np.asarray(self.tagger.flav_names, dtype=object), n)  # flavour-major, matches scores.T
        h.fill(dataset=dataset, truth=np.tile(truth, n_flav), flavour=flav, score=scores.T.reshape(-1),
               pt=np.tile(pt, n_flav), msd=np.tile(msd, n_flav), weight=None if weight is None else np.tile(weight, n_flav))

    def postprocess(self, accumulator):
        return accumulator
