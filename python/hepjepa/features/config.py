"""Tokeniser configuration: group sizes and the particle features, declared in data.

The resolved config is saved in checkpoints and in ``preprocess.json`` of exported
models, so ``to_dict()``/``from_dict()`` (``hepjepa.config.Config``) round-trip exactly and
reject unknown keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

from hepjepa.config import Config, ConfigError

__all__ = ["FeatureSpec", "TokenizerConfig", "RAW_FEATURES", "DEFAULT_FEATURES"]

#: Raw per-particle features the kernels compute, in kernel order. ``deta``/``dphi``
#: are relative to the *group centre* (Point-MAE style); everything else is relative
#: to the jet axis (``dR``) or absolute (``log_pt``, ``log_e``, ``charge``, flags).
RAW_FEATURES: tuple[str, ...] = (
    "deta", "dphi", "log_pt", "log_e", "log_pt_rel", "log_e_rel", "dR",
    "charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon",
)


@dataclasses.dataclass(frozen=True)
class FeatureSpec(Config):
    """One input feature: normalised value = clip((raw - centre) * scale, -clip, clip).

    Args:
        name: one of :data:`RAW_FEATURES`.
        centre: subtracted first.
        scale: multiplied after subtracting ``centre``.
        clip: symmetric bound on the normalised value; ``None`` = no clipping.
    """

    name: str
    centre: float = 0.0
    scale: float = 1.0
    clip: float | None = None

    def __post_init__(self) -> None:
        if self.name not in RAW_FEATURES:
            msg = f"unknown feature {self.name!r}; expected one of {RAW_FEATURES}"
            raise ConfigError(msg)
        for f in ("centre", "scale", "clip"):  # 0 and 0.0 are one setting: one JSON form, one fingerprint
            v = getattr(self, f)
            if isinstance(v, bool) or not (v is None and f == "clip" or isinstance(v, (int, float))):
                msg = f"feature {self.name!r}: {f}={v!r}; expected a number"
                raise ConfigError(msg)
            if v is not None:
                object.__setattr__(self, f, float(v))
        for f in ("centre", "scale"):
            if not math.isfinite(getattr(self, f)):
                msg = f"feature {self.name!r}: {f}={getattr(self, f)!r} must be finite"
                raise ConfigError(msg)
        if self.clip is not None and not (self.clip > 0):
            msg = f"feature {self.name!r}: clip={self.clip!r} must be > 0 or None"
            raise ConfigError(msg)


# Centres/scales follow ParT's preprocessing for AK8-like jets (pT 500-1000 GeV).
DEFAULT_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("deta", 0.0, 1.0 / 0.8, 5.0),
    FeatureSpec("dphi", 0.0, 1.0 / 0.8, 5.0),
    FeatureSpec("log_pt", 1.7, 0.7, 5.0),
    FeatureSpec("log_e", 2.0, 0.7, 5.0),
    FeatureSpec("log_pt_rel", -4.7, 0.7, 5.0),
    FeatureSpec("log_e_rel", -4.7, 0.7, 5.0),
    FeatureSpec("dR", 0.2, 4.0, 5.0),
    FeatureSpec("charge"),
    FeatureSpec("isChargedHadron"),
    FeatureSpec("isNeutralHadron"),
    FeatureSpec("isPhoton"),
    FeatureSpec("isElectron"),
    FeatureSpec("isMuon"),
)


@dataclasses.dataclass(frozen=True)
class TokenizerConfig(Config):
    """How jets become groups of particles.

    Group count rule: a jet with n particles gets
    ``c = min(n, clip(ceil(2 n / group_size), min_groups, max_groups))`` groups
    (0 for n = 0), so the k-NN groups cover every particle about twice.

    Args:
        group_size: k, particles per group (kNN incl. the centre).
        min_groups: lower bound on c (for jets with at least that many particles).
        max_groups: upper bound on c.
        pad_to_groups: fixed G for the output; ``None`` = the largest c in the batch.
        features: the particle features and their normalisation.
        eps: guard for logs and divisions.
    """

    group_size: int = 16
    min_groups: int = 1
    max_groups: int = 32
    pad_to_groups: int | None = None
    features: tuple[FeatureSpec, ...] = DEFAULT_FEATURES
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if not (isinstance(self.group_size, int) and self.group_size >= 1):
            msg = f"group_size={self.group_size!r}; expected an int >= 1"
            raise ConfigError(msg)
        if not (isinstance(self.min_groups, int) and self.min_groups >= 1):
            msg = f"min_groups={self.min_groups!r}; expected an int >= 1"
            raise ConfigError(msg)
        if not (isinstance(self.max_groups, int) and self.max_groups >= self.min_groups):
            msg = f"max_groups={self.max_groups!r}; expected an int >= min_groups={self.min_groups}"
            raise ConfigError(msg)
        if self.pad_to_groups is not None and not (isinstance(self.pad_to_groups, int) and self.pad_to_groups >= self.max_groups):
            msg = f"pad_to_groups={self.pad_to_groups!r}; expected None or an int >= max_groups={self.max_groups}"
            raise ConfigError(msg)
        if not self.features:
            msg = "features is empty; expected at least one FeatureSpec"
            raise ConfigError(msg)
        object.__setattr__(self, "features", tuple(FeatureSpec.from_dict(f) for f in self.features))
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            msg = f"duplicate feature names in {names}"
            raise ConfigError(msg)
        if not (self.eps > 0):
            msg = f"eps={self.eps!r}; expected > 0"
            raise ConfigError(msg)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the F features, in output order."""
        return tuple(f.name for f in self.features)

    @property
    def particle_fields(self) -> tuple[str, ...]:
        """Per-particle input fields these features read, in ``hepjepa.contract.PARTICLE_FIELDS`` order.

        The four-momentum always; ``charge`` and each particle-type flag only when a feature of
        that name is used (a feature list without them needs no particle identification).
        """
        from hepjepa.contract import KINEMATIC_FIELDS, PARTICLE_FIELDS

        used = set(self.feature_names)
        return tuple(f for f in PARTICLE_FIELDS if f in KINEMATIC_FIELDS or f in used)

    def n_groups(self, n: int) -> int:
        """Group count c for a jet with ``n`` particles (see class docstring)."""
        if n <= 0:
            return 0
        c = max(self.min_groups, min(self.max_groups, -(-2 * n // self.group_size)))
        return min(c, n)

    def fingerprint(self) -> str:
        """Stable 16-hex-digit hash of the resolved config (sorted-key JSON, sha256)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
