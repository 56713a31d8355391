"""Typed errors of the readers: each names the file and what was expected."""

from __future__ import annotations

from hepjepa.errors import FormatError, MissingFieldsError

__all__ = ["FormatError", "MissingFieldsError", "UnknownFormatError"]


class UnknownFormatError(FormatError):
    """The format could not be guessed from the file, or a ``format=`` name is unknown."""


def check_fields(path, fmt: str, required, available) -> None:
    """Raise :class:`MissingFieldsError` when any of ``required`` is not in ``available``."""
    have = set(available)
    missing = [r for r in required if r not in have]
    if missing:
        raise MissingFieldsError(path, fmt, missing, available)
