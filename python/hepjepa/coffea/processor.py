"""``JEPATagProcessor``: tag FatJets of NanoAOD / PFNano events and fill ``hist.Hist``.

Reads FatJets and their PF candidates (PFNano ``PFCands``/``FatJetPFCands`` or NanoAOD
v15 ``PFCand``/``FatJetPFCand``), computes group features with
``hepjepa.features.tokenize_flat`` (the training code), runs :class:`ONNXJetTagger`
and fills one histogram with axes dataset, truth flavour (``FatJet_truthLabel``;
-1 when the input has none), flavour name, score, FatJet pT and soft-drop mass,
weighted by ``genWeight`` when present.

Defined skips, each counted in ``out["cutflow"][dataset]`` and never filled (so no NaN
reaches a histogram): ``events_without_fatjets``, ``fatjets_without_pfcands``,
``fatjets_nonfinite`` (FatJet pT or soft-drop mass NaN/inf),
``fatjets_nonfinite_constituents`` (a PF candidate with NaN/inf pT, eta, phi or mass) and
``fatjets_nonfinite_score``; ``fatjets_tagged`` counts the filled ones, and
``fatjets == fatjets_tagged + the four FatJet skips``.
"""

from __future__ import annotations

import numpy as np
from coffea import processor

from hepjepa.coffea.onnx_wrapper import ONNXJetTagger
from hepjepa.deploy import DEFAULT_BATCH_SIZE
from hepjepa.reco import _nanoaod

__all__ = ["JEPATagProcessor"]


class JEPATagProcessor(processor.ProcessorABC):
    """coffea processor tagging FatJets with an exported hepjepa model.

    Args:
        model_dir: exported model directory (``model.onnx`` + ``preprocess.json``).
        backend: ``cpp`` (C++ JetTagProducer) or ``onnxruntime``.
        intra_op_threads, batch_size: passed to :class:`ONNXJetTagger`.
        src: FatJet collection name.
    """

    def __init__(self, model_dir, backend: str = "cpp", intra_op_threads: int = 1, batch_size: int = DEFAULT_BATCH_SIZE, src: str = "FatJet"):
        from hepjepa.features import TokenizerConfig

        self.tagger = ONNXJetTagger(model_dir, intra_op_threads=intra_op_threads, batch_size=batch_size, backend=backend)
        self.tok_config = TokenizerConfig.from_dict(self.tagger.preprocess["tokenizer"])
        self.src = src

    def _hist(self):
        import hist

        return (
            hist.Hist.new.StrCat([], name="dataset", growth=True)
            .IntCat([], name="truth", growth=True, label="truth class (-1 unknown)")
            .StrCat(self.tagger.flav_names, name="flavour")
            .Reg(50, 0.0, 1.0, name="score")
            .Reg(40, 200.0, 2000.0, name="pt", label="FatJet $p_T$ [GeV]")
            .Reg(40, 0.0, 400.0, name="msd", label="soft-drop mass [GeV]")
            .Weight()
        )

    def process(self, events):
        import awkward as ak

        from hepjepa.features import tokenize_flat

        dataset = events.metadata.get("dataset", "unknown")
        fields = set(events.fields)
        keys = set()
        for coll in fields:
            sub = events[coll]
            if hasattr(sub, "fields") and sub.fields:
                keys |= {f"{coll}_{f}" for f in sub.fields}
                keys.add(f"n{coll}")
        scheme = _nanoaod.detect_scheme(keys, self.src)
        pf, jb, cb = scheme
        mapcoll, jfield = jb.split("_", 1)
        cfield = cb.split("_", 1)[1]
        fj = events[self.src]
        arrays = {
            f"n{self.src}": ak.to_numpy(ak.num(fj)),
            jb: events[mapcoll][jfield], cb: events[mapcoll][cfield],
            **{f"{pf}_{f}": events[pf][f] for f in _nanoaod.PF_FIELDS},
        }
        if "charge" in events[pf].fields:
            arrays[f"{pf}_charge"] = events[pf].charge
        con = _nanoaod.fatjet_constituents(arrays, scheme, self.src)
        n_events = len(events)
        flat_pt = ak.to_numpy(ak.flatten(fj.pt)).astype(np.float64)
        flat_msd = ak.to_numpy(ak.flatten(fj.msoftdrop)).astype(np.float64) if "msoftdrop" in fj.fields else np.full(len(flat_pt), -1.0)
        truth = ak.to_numpy(ak.flatten(fj.truthLabel)).astype(np.int64) if "truthLabel" in fj.fields else np.full(len(flat_pt), -1)
        w_ev = ak.to_numpy(events.genWeight).astype(np.float64) if "genWeight" in fields else np.ones(n_events)
        w = np.repeat(w_ev, con["n_jets_per_event"])
        ncon = con["n_constituents"]
        finite = np.isfinite(flat_pt) & np.isfinite(flat_msd)
        has_pf = ncon > 0
        bad_con = _nanoaod.nonfinite_jets(con)
        # each skipped jet is counted once, in the first reason that applies
        keep = np.flatnonzero(has_pf & finite & ~bad_con)
        h = self._hist()
        out = {"hist": h, "cutflow": {dataset: {
            "events": n_events, "events_without_fatjets": int((con["n_jets_per_event"] == 0).sum()),
            "fatjets": int(len(ncon)), "fatjets_without_pfcands": int((~has_pf).sum()),
            "fatjets_nonfinite": int((has_pf & ~finite).sum()),
            "fatjets_nonfinite_constituents": int((has_pf & finite & bad_con).sum()),
            "fatjets_nonfinite_score": 0, "fatjets_tagged": 0}}}
        if len(keep) == 0:
            return out
        part, offsets = _nanoaod.select_jets(con, keep)
        flags = {k: part[k] for k in ("charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")}
        tokens = tokenize_flat(part["px"], part["py"], part["pz"], part["energy"], offsets, self.tok_config, **flags)
        scores = self.tagger(**tokens.model_inputs())  # (n_keep, n_flav), numpy path
        good = np.all(np.isfinite(scores), axis=1)
        out["cutflow"][dataset]["fatjets_nonfinite_score"] = int((~good).sum())
        out["cutflow"][dataset]["fatjets_tagged"] = int(good.sum())
        keep, scores = keep[good], scores[good]
        self.fill_hist(h, dataset, truth[keep], scores, flat_pt[keep], flat_msd[keep], w[keep])
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
