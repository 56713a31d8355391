"""The HEP-JEPA model: PointNet group tokens, transformer backbone with registers and pairwise bias, predictor, JEPA."""

from hepjepa.model.config import BackboneConfig, ConfigError, JEPAConfig, PredictorConfig
from hepjepa.model.encoder import Backbone

__all__ = ["Backbone", "BackboneConfig", "ConfigError", "JEPAConfig", "PredictorConfig"]
