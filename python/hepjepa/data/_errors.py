"""Typed errors of the readers: each names the file and what was expected."""

from __future__ import annotations

import difflib

from hepjepa.errors import FormatError

__all__ = ["FormatError", "MissingFieldsError", "UnknownFormatError"]


class UnknownFormatError(FormatError):
    """The format could not be guessed from the file, or a ``format=`` name is unknown."""


class MissingFieldsError(FormatError):
    """Branches/columns/arrays required by a format are absent from a file.

    Attributes:
        path: the file.
        missing: the names that are absent.
        near: for each missing name, the closest names present in the file.
    """

    def __init__(self, path, fmt: str, missing, available):
        self.path = str(path)
        self.format = fmt
        self.missing = list(missing)
        available = list(available)
        # case-insensitive: 'Y' is the near match of 'y'
        lower = {}
        for a in available:
            lower.setdefault(a.lower(), a)
        self.near = {m: [lower[c] for c in difflib.get_close_matches(m.lower(), list(lower), n=3, cutoff=0.6)] for m in self.missing}
        hints = "; ".join(f"{m!r} -> did you mean {n}?" for m, n in self.near.items() if n)
        shown = self.missing if len(self.missing) <= 12 else self.missing[:12] + [f"... ({len(self.missing)} in all)"]
        msg = f"{self.path}: not a {fmt} file, missing {shown}"
        if hints:
            msg += f" ({hints})"
        super().__init__(msg)


def check_fields(path, fmt: str, required, available) -> None:
    """Raise :class:`MissingFieldsError` when any of ``required`` is not in ``available``."""
    have = set(available)
    missing = [r for r in required if r not in have]
    if missing:
        raise MissingFieldsError(path, fmt, missing, available)
