"""The contract between hepjepa's layers: names and constants every layer imports from here.

One module, no dependencies, so that the readers, the tokeniser, the model, the exporter, the
C++ producer's Python side, ``hepjepa-run``, the coffea tools and ``hepjepa tag`` all agree
by construction (docs/architecture.md, "contract").

The untaggable-jet marker
-------------------------
A jet that cannot be tagged (no constituents, a NaN/inf input, an inconsistent
FatJet -> PF-candidate link, a non-finite score) never gets a real-looking score. It gets

* :data:`UNTAGGED_SCORE` (-1) in every score column of NumPy arrays and ROOT outputs
  (``hepjepa-run``'s ``FatJet_<label>_<flav>`` branches, :class:`hepjepa.deploy.TagResult`);
* ``None`` in awkward outputs (``hepjepa.coffea.ONNXJetTagger``), so a cut on a score
  never selects it silently;

and its reason is one of :data:`TAG_STATUS` (counted in every summary). Later outputs
(embeddings, regression targets) use the same marker.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FLAG_FIELDS",
    "KINEMATIC_FIELDS",
    "MASK_NEG",
    "MODEL_INPUTS",
    "PARTICLE_FIELDS",
    "TAG_STATUS",
    "UNTAGGED_SCORE",
]

#: The five model (and ONNX) inputs, in graph order; ``Tokens.model_inputs()`` returns them so.
MODEL_INPUTS: tuple[str, ...] = ("features", "particle_mask", "group_mask", "centers", "pair_features")

#: The additive "minus infinity" that masks padding in attention, pooling and heads: finite so that
#: ONNX export and fully padded rows stay NaN-free, and small enough in magnitude to survive fp16
#: (max 65504), while exp(MASK_NEG) is exactly 0 in float32.
MASK_NEG = -1e4

#: Per-particle four-momentum fields (GeV) every tokeniser needs.
KINEMATIC_FIELDS: tuple[str, ...] = ("px", "py", "pz", "energy")
#: Particle-type flags, as JetClass defines them (0/1 per particle).
FLAG_FIELDS: tuple[str, ...] = ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")
#: Every per-particle field a tokeniser may read, in kernel order.
PARTICLE_FIELDS: tuple[str, ...] = KINEMATIC_FIELDS + ("charge",) + FLAG_FIELDS

#: Jets per ONNX Runtime call where a caller passes more (the C++ producer's ``batch_size``
#: default, which cpp/src/JetTagProducer.cc repeats). Measured on the shipped model, 1 thread,
#: 1024 jets in: sub-batches of 64 / 128 / 256 / 512 ran at 11.6k / 11.5k / 11.1k / 10.1k
#: jets/s. Past ~256 jets the activations spill out of the core's L2 cache.
DEFAULT_BATCH_SIZE = 128

#: Score written for a jet that could not be tagged (every flavour column).
UNTAGGED_SCORE = -1.0

#: Per-jet tagging status codes (int8) -> name; 0 is the only one with a real score.
TAG_STATUS: dict[int, str] = {
    0: "tagged",
    1: "no_constituents",        # the jet has no PF candidates (or the file links none to it)
    2: "bad_association",        # its FatJet -> PF-candidate link points outside the event's collections
    3: "nonfinite_input",        # a NaN/inf particle field, or features that overflow to NaN/inf
    4: "nonfinite_score",        # the model returned NaN/inf for it
}
