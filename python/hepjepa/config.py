"""The one typed config base: dataclasses with ``from_dict`` / ``to_dict`` / YAML, unknown keys refused by name.

Every config of the project (model, tokeniser, pretraining, fine-tuning, heads) is a
dataclass deriving from :class:`Config`. Values are checked against the fields' type hints
(YAML's ``3e-4`` string becomes a float, ``True`` is not an integer), nested configs are built
recursively, and a key that does not exist raises :class:`ConfigError` naming it, its place
(``optim.lrr``) and the closest valid key.

Example::

    @dataclasses.dataclass
    class OptimConfig(Config):
        lr: float = 1e-3

    OptimConfig.from_dict({"lrr": 1})   # ConfigError: unknown key 'lrr' in OptimConfig (did you mean 'lr'?) ...
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, TypeVar, cast

from hepjepa.errors import UserInputError

__all__ = ["Config", "ConfigError", "from_dict", "load_yaml", "save_yaml", "to_dict"]

_C = TypeVar("_C", bound="Config")


class ConfigError(UserInputError, KeyError):
    """An unknown key or an invalid value in a config; the message names it and what was expected."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class Config:
    """Base of the project's config dataclasses (subclasses are ``@dataclasses.dataclass``)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Self | None = None, *, where: str = "") -> Self:
        """Build from a (nested) mapping; missing keys take their defaults.

        Args:
            data: the values (``to_dict()`` output, a YAML document); None = all defaults; an
                instance of ``cls`` is returned as it is.
            where: dotted prefix naming this config inside a larger one, for messages.

        Raises:
            ConfigError: a key the config does not have, a value of the wrong type, or one its
                ``__post_init__`` refuses (each names the key).
        """
        if data is None:
            data = {}
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            msg = (
                f"{where.rstrip('.') or cls.__name__}: expected a mapping of {cls.__name__} keys, "
                f"got {type(data).__name__} {str(data)[:80]}"
            )
            raise ConfigError(msg)
        # subclasses are dataclasses (the base is not, so the checker cannot see it)
        fields = {f.name: f for f in dataclasses.fields(cast(Any, cls)) if f.init}
        unknown = [k for k in data if k not in fields]
        if unknown:
            k = str(unknown[0])
            close = difflib.get_close_matches(k, list(fields), n=1)
            hint = f" (did you mean {where + close[0]!r}?)" if close else ""
            msg = f"unknown key {where + k!r} in {cls.__name__}{hint}; valid keys: {sorted(fields)}"
            raise ConfigError(msg)
        hints = typing.get_type_hints(cls)
        kwargs = {k: _coerce(hints.get(k, Any), v, f"{where}{k}") for k, v in data.items()}
        try:
            return cls(**kwargs)
        except ConfigError:
            raise
        except (TypeError, ValueError) as e:
            msg = f"{where.rstrip('.') or cls.__name__}: {e}"
            raise ConfigError(msg) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists): JSON and YAML safe; ``from_dict`` inverts it."""
        return _plain(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_yaml(cls, path: str | Path) -> Self:
        """Read a YAML file (unknown keys raise :class:`ConfigError`)."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as e:
            msg = f"{path}: not valid YAML ({' '.join(str(e).split())[:200]})"
            raise ConfigError(msg) from None
        return cls.from_dict(data)

    def to_yaml(self, path: str | Path) -> None:
        """Write the resolved config to YAML atomically."""
        import yaml

        from hepjepa.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            yaml.safe_dump(self.to_dict(), fh, sort_keys=False)


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _coerce(hint, v: Any, name: str) -> Any:
    """``v`` checked (and converted where lossless) against the type hint of field ``name``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return v
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _coerce(a, v, name)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{name}={v!r}: expected one of {inner}")
    if isinstance(hint, type) and issubclass(hint, Config):
        return hint.from_dict(v, where=f"{name}.")
    if origin in (tuple, list):
        if not isinstance(v, (list, tuple)):
            msg = f"{name}={v!r}: expected a list"
            raise ConfigError(msg)
        item = args[0] if args else Any
        out = [_coerce(item, x, f"{name}[{i}]") for i, x in enumerate(v)]
        return tuple(out) if origin is tuple else out
    if origin is dict or hint is dict:
        if not isinstance(v, Mapping):
            msg = f"{name}={v!r}: expected a mapping"
            raise ConfigError(msg)
        return dict(v)
    if hint is bool:
        if not isinstance(v, bool):
            msg = f"{name}={v!r}: expected true or false"
            raise ConfigError(msg)
        return v
    if hint is int:
        if not (isinstance(v, int) and not isinstance(v, bool)):
            msg = f"{name}={v!r}: expected an integer"
            raise ConfigError(msg)
        return v
    if hint is float:
        if isinstance(v, bool):
            msg = f"{name}={v!r}: expected a number"
            raise ConfigError(msg)
        try:
            return float(v)
        except (TypeError, ValueError):
            msg = f"{name}={v!r}: expected a number"
            raise ConfigError(msg) from None
    if hint is str:
        if not isinstance(v, str):
            msg = f"{name}={v!r}: expected a string"
            raise ConfigError(msg)
        return v
    return v


# -- function forms, for call sites that hold a class rather than an instance
def from_dict(cls: type[_C], data: Mapping[str, Any] | _C | None, where: str = "") -> _C:
    """``cls.from_dict(data)`` for a :class:`Config` subclass."""
    return cls.from_dict(data, where=where)


def to_dict(cfg: Config) -> dict[str, Any]:
    """``cfg.to_dict()``."""
    return cfg.to_dict()


def load_yaml(cls: type[_C], path: str | Path) -> _C:
    """``cls.from_yaml(path)``."""
    return cls.from_yaml(path)


def save_yaml(cfg: Config, path: str | Path) -> None:
    """``cfg.to_yaml(path)``."""
    cfg.to_yaml(path)
