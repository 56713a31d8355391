"""Numba particle features and jet tokenisation (FPS centres + kNN groups + ParT pairs).

Example::

    from hepjepa.features import tokenize, TokenizerConfig
    tokens = tokenize(jets, TokenizerConfig(group_size=16, max_groups=32))
    inputs = tokens.model_inputs()   # features, particle_mask, group_mask, centers, pair_features
"""

from hepjepa.features.config import DEFAULT_FEATURES, RAW_FEATURES, FeatureSpec, TokenizerConfig
from hepjepa.features.tokenize import FLAG_FIELDS, MODEL_INPUTS, NonFiniteFeaturesError, Tokens, tokenize, tokenize_flat

__all__ = ["DEFAULT_FEATURES", "RAW_FEATURES", "FeatureSpec", "TokenizerConfig", "FLAG_FIELDS",
           "MODEL_INPUTS", "NonFiniteFeaturesError", "Tokens", "tokenize", "tokenize_flat"]
