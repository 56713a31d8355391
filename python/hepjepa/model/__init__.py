"""The HEP-JEPA model: PointNet group tokens, transformer backbone with registers and pairwise bias, predictor, JEPA."""

from hepjepa.model.checkpoint import load_backbone, load_checkpoint, save_checkpoint
from hepjepa.model.config import BackboneConfig, ConfigError, JEPAConfig, PredictorConfig
from hepjepa.model.encoder import Backbone
from hepjepa.model.jepa import JEPA, ema_momentum
from hepjepa.model.predictor import Predictor

__all__ = [
    "Backbone", "BackboneConfig", "ConfigError", "JEPA", "JEPAConfig", "Predictor", "PredictorConfig",
    "ema_momentum", "load_backbone", "load_checkpoint", "save_checkpoint",
]
