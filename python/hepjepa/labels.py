"""Jet classes: JetClass's ten labels, shared by the generator, readers, models and taggers.

The order is JetClass's own (Qu, Li, Qian 2022), so a class index means the same
thing in every file, model and histogram of this project.
"""

from __future__ import annotations

__all__ = ["JETCLASS_LABELS", "PROCESS_NAMES", "flav_name", "label_index"]

#: JetClass's one-hot label branches, in JetClass's order.
JETCLASS_LABELS: tuple[str, ...] = (
    "label_QCD",
    "label_Hbb",
    "label_Hcc",
    "label_Hgg",
    "label_H4q",
    "label_Hqql",
    "label_Zqq",
    "label_Wqq",
    "label_Tbqq",
    "label_Tbl",
)

#: CLI process names: JetClass's label names in lower case (``qcd``, ``hbb``, ... ``tbl``).
PROCESS_NAMES: tuple[str, ...] = tuple(lab.removeprefix("label_").lower() for lab in JETCLASS_LABELS)


def label_index(name: str) -> int:
    """Index of a class given as ``label_Tbqq``, ``Tbqq``, ``tbqq`` or ``probTbqq``.

    Raises:
        KeyError: naming the value and the valid choices.
    """
    key = name.removeprefix("label_").removeprefix("prob").lower()
    if key not in PROCESS_NAMES:
        import difflib

        close = difflib.get_close_matches(key, PROCESS_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        msg = f"unknown jet class {name!r}: expected one of {list(PROCESS_NAMES)}{hint}"
        raise KeyError(msg)
    return PROCESS_NAMES.index(key)


def flav_name(index_or_label: int | str) -> str:
    """CMSSW-style flavour name of a class: ``prob`` + JetClass label, e.g. ``probTbqq``."""
    i = index_or_label if isinstance(index_or_label, int) else label_index(index_or_label)
    return "prob" + JETCLASS_LABELS[i].removeprefix("label_")
