"""hepjepa's error family: one base for every mistake in what a user passed in.

Every error that hepjepa raises because of an input (a file, a model directory, a config
value, an option, an array) derives from :class:`UserInputError`, and its message names the
value and what was expected. The command-line tools print such an error as one line and
exit non-zero (``--debug`` shows the traceback); anything else is a bug and keeps its
traceback. Each subclass also derives from the built-in type callers caught before
(``ValueError``, ``KeyError``, ``FileNotFoundError``), so existing ``except`` clauses hold.
"""

from __future__ import annotations

__all__ = [
    "FormatError",
    "HepjepaError",
    "MissingParticleFieldsError",
    "ModelNotFoundError",
    "UserInputError",
    "user_errors",
]


class HepjepaError(Exception):
    """Base of every error hepjepa raises on purpose."""


class UserInputError(HepjepaError, ValueError):
    """An input (file, model, option, config value, array) is not usable; the message says which."""


class FormatError(UserInputError):
    """A file is not in the format expected (wrong tree/key/columns/shape, unreadable or corrupt)."""


class ModelNotFoundError(UserInputError, FileNotFoundError):
    """A model directory or model file does not exist, or lacks ``model.onnx`` / ``preprocess.json``."""

    def __str__(self) -> str:  # FileNotFoundError(msg) prints plainly already; keep it so with errno unset
        return str(self.args[0]) if self.args else ""


class MissingParticleFieldsError(UserInputError, KeyError):
    """Jets lack per-particle fields that a tokeniser (or an exported model) needs.

    Attributes:
        missing: the absent field names.
    """

    def __init__(self, message: str, missing=()):
        super().__init__(message)
        self.missing = tuple(missing)

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types a command line reports as one line (a user's mistake, not a bug).

    :class:`UserInputError` and its subclasses, plus the OS's own "no such file" family,
    which is raised by ``open`` before hepjepa can name the input.
    """
    return (UserInputError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
