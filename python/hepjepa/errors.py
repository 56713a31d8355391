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
    "InputFileError",
    "MissingFieldsError",
    "MissingParticleFieldsError",
    "ModelNotFoundError",
    "UserInputError",
    "user_errors",
]


class HepjepaError(Exception):
    """Base of every error hepjepa raises on purpose."""


class UserInputError(HepjepaError, ValueError):
    """An input (file, model, option, config value, array) is not usable; the message says which."""


class InputFileError(UserInputError):
    """An input file (or fileset) cannot be used: missing, unreadable, of the wrong kind; the message names it."""


class FormatError(InputFileError):
    """A file is not in the format expected (wrong tree/key/columns/shape, unreadable or damaged)."""


class MissingFieldsError(FormatError, KeyError):
    """A file lacks branches/columns/arrays the reader or job needs: the one type for it, everywhere.

    Attributes:
        path: the file (or the input, as the message names it).
        missing: the names that are absent.
        near: for each missing name, the closest names present in the file.
    """

    def __init__(self, path, fmt: str, missing, available=(), message: str | None = None):
        import difflib

        self.path = str(path)
        self.format = fmt
        self.missing = list(missing)
        available = list(available)
        # case-insensitive: 'Y' is the near match of 'y'
        lower: dict[str, str] = {}
        for a in available:
            lower.setdefault(a.lower(), a)
        self.near = {m: [lower[c] for c in difflib.get_close_matches(m.lower(), list(lower), n=3, cutoff=0.6)] for m in self.missing}
        if message is None:
            hints = "; ".join(f"{m!r} -> did you mean {n}?" for m, n in self.near.items() if n)
            shown = self.missing if len(self.missing) <= 12 else self.missing[:12] + [f"... ({len(self.missing)} in all)"]
            message = f"{self.path}: not a {fmt} file, missing {shown}" + (f" ({hints})" if hints else "")
        super().__init__(message)

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


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
