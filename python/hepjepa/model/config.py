"""Typed model configs: dataclasses that reject unknown keys by name, with YAML I/O."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepjepa.errors import UserInputError

__all__ = ["BackboneConfig", "PredictorConfig", "JEPAConfig", "ConfigError", "from_dict", "load_yaml", "save_yaml"]


class ConfigError(UserInputError, KeyError):
    """An unknown key or an invalid value in a config."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


@dataclass
class BackboneConfig:
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
        if self.attention not in ("softmax", "linear"):
            raise ConfigError(f"attention={self.attention!r}: expected 'softmax' or 'linear'")
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}")
        if self.pair_bias and self.attention == "linear":
            raise ConfigError("pair_bias=True needs attention='softmax': linear attention never forms the G x G matrix a bias would add to")
        for name in ("num_features", "embed_dim", "depth", "num_heads", "pointnet_hidden"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)}: expected >= 1")
        if self.num_registers < 0:
            raise ConfigError(f"num_registers={self.num_registers}: expected >= 0")


@dataclass
class PredictorConfig:
    """The (narrower) JEPA predictor."""

    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"predictor embed_dim={self.embed_dim} is not divisible by num_heads={self.num_heads}")


@dataclass
class JEPAConfig:
    """Backbone + predictor + EMA schedule."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    ema_start: float = 0.996
    ema_end: float = 1.0


def from_dict(cls: type, data: dict[str, Any] | None, where: str = ""):
    """Build dataclass ``cls`` from a dict, recursing into nested dataclass fields.

    Raises:
        ConfigError: on a key that ``cls`` does not have (named, with the valid ones).
    """
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(k, fields, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown key {where + k!r} in {cls.__name__}{hint}; valid keys: {sorted(fields)}")
    kwargs = {}
    for k, v in data.items():
        sub = _dataclass_type(cls, k)
        kwargs[k] = from_dict(sub, v, f"{where}{k}.") if sub is not None and isinstance(v, dict) else _coerce(fields[k], v, where + k)
    return cls(**kwargs)


def _coerce(f: dataclasses.Field, v: Any, name: str) -> Any:
    """Check/convert a value against its field's default type (YAML reads '3e-4' as a string)."""
    default = f.default if f.default is not dataclasses.MISSING else None
    if isinstance(default, bool):
        if not isinstance(v, bool):
            raise ConfigError(f"{name}={v!r}: expected true or false")
        return v
    if isinstance(default, float):
        try:
            return float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={v!r}: expected a number") from None
    if isinstance(default, int) and not (isinstance(v, int) and not isinstance(v, bool)):
        raise ConfigError(f"{name}={v!r}: expected an integer")
    if isinstance(default, str) and not isinstance(v, str):
        raise ConfigError(f"{name}={v!r}: expected a string")
    return v


def _dataclass_type(cls: type, name: str):
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        obj = f.default_factory()  # type: ignore[misc]
        if dataclasses.is_dataclass(obj):
            return type(obj)
    return None


def to_dict(cfg) -> dict[str, Any]:
    """Plain nested dict of a config dataclass."""
    return dataclasses.asdict(cfg)


def load_yaml(cls: type, path: str | Path):
    """Read a YAML file into config ``cls`` (unknown keys raise ConfigError)."""
    import yaml

    with open(path) as fh:
        return from_dict(cls, yaml.safe_load(fh) or {})


def save_yaml(cfg, path: str | Path) -> None:
    """Write a config dataclass to YAML atomically."""
    import yaml

    from hepjepa._io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        yaml.safe_dump(to_dict(cfg), fh, sort_keys=False)


for _c in (BackboneConfig, PredictorConfig, JEPAConfig):
    _c.to_dict = to_dict  # type: ignore[attr-defined]
    _c.from_dict = classmethod(lambda c, d: from_dict(c, d))  # type: ignore[attr-defined]
__all__.append("to_dict")
