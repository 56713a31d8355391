"""Typed model configs (``hepjepa.config.Config``): unknown keys refused by name, YAML I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from hepjepa.config import Config, ConfigError, from_dict, load_yaml, save_yaml, to_dict

__all__ = ["BackboneConfig", "PredictorConfig", "JEPAConfig", "ConfigError", "from_dict", "load_yaml", "save_yaml", "to_dict"]


@dataclass
class BackboneConfig(Config):
    """The context/target encoder.

    Attributes:
        num_features: F, per-particle input features (from the tokeniser).
        pointnet_hidden: width of the PointNet shared MLP.
        embed_dim: D, token width.
        depth: number of pre-norm transformer blocks.
        num_heads: attention heads (embed_dim % num_heads == 0).
        mlp_ratio: hidden width of each block's MLP, in units of embed_dim.
        num_registers: R register tokens prepended to the groups.
        attention: "softmax" (exact, supports the pairwise bias) or "linear" (O(G)).
        pair_bias: embed the 4 ParT pairwise features into one bias per head.
        pair_hidden: hidden width of the pairwise-feature MLP.
        dropout: dropout inside the blocks.
    """

    num_features: int = 13
    pointnet_hidden: int = 64
    embed_dim: int = 128
    depth: int = 6
    num_heads: int = 4
    mlp_ratio: float = 4.0
    num_registers: int = 8
    attention: str = "softmax"
    pair_bias: bool = True
    pair_hidden: int = 32
    dropout: float = 0.0

    def __post_init__(self) -> None:
        from hepjepa.model.backends import BACKENDS

        if self.attention not in BACKENDS:
            msg = f"attention={self.attention!r}: expected one of {sorted(BACKENDS)}"
            raise ConfigError(msg)
        if self.embed_dim % self.num_heads:
            msg = f"embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}"
            raise ConfigError(msg)
        if self.pair_bias and not BACKENDS[self.attention].takes_bias:
            msg = (
                f"pair_bias=True needs an attention backend that takes a bias (softmax): {self.attention!r} "
                f"{BACKENDS[self.attention].doc}"
            )
            raise ConfigError(msg)
        for name in ("num_features", "embed_dim", "depth", "num_heads", "pointnet_hidden"):
            if getattr(self, name) < 1:
                msg = f"{name}={getattr(self, name)}: expected >= 1"
                raise ConfigError(msg)
        if self.num_registers < 0:
            msg = f"num_registers={self.num_registers}: expected >= 0"
            raise ConfigError(msg)


@dataclass
class PredictorConfig(Config):
    """The (narrower) JEPA predictor."""

    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            msg = f"predictor embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}"
            raise ConfigError(msg)


@dataclass
class JEPAConfig(Config):
    """Backbone + predictor + EMA schedule."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    ema_start: float = 0.996
    ema_end: float = 1.0
