"""The one token loader of the downstream tasks: read jets, pick some, tokenise, keep a per-jet array beside them.

Fine-tuning (labels), regression (targets), the linear probe and the label-free ranking of
pretraining runs (``hepjepa.train.rank``) all read their jets through :func:`load_tokens`;
each says only which jets it keeps and what it keeps with them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hepjepa.errors import UserInputError

__all__ = ["batch", "load_tokens"]


def load_tokens(paths, tokenizer_config, *, select: Callable | None = None, max_jets: int | None = None,
                step_size: int = 10_000, per_file: bool = False, what: str = "jets"):
    """Tokenise the jets of ``paths`` that ``select`` keeps.

    Args:
        paths: files or globs (``hepjepa.data.iter_jets``).
        tokenizer_config: ``TokenizerConfig``; particle fields a format lacks are zero-filled and
            recorded (``Tokens.zero_filled``), as training does.
        select: ``select(chunk) -> (keep (n,) bool, values (n, ...))``: which jets to keep and the
            per-jet array kept with them (labels, targets); None keeps every jet and no values.
        max_jets: read at most this many jets (of each file with ``per_file``).
        step_size: jets per read.
        per_file: apply ``max_jets`` to every file (so every file's jets are in the sample).
        what: names the kept jets in the error when none are left.

    Returns:
        (Tokens, values concatenated or None).

    Raises:
        UserInputError: no file, or no jet kept.
    """
    from hepjepa.data import iter_jets
    from hepjepa.features import tokenize
    from hepjepa.features.tokenize import Tokens

    sources: Sequence = [[str(p)] for p in paths] if per_file else [paths]
    if per_file and not sources:
        msg = "no files given; expected at least one file of jets"
        raise UserInputError(msg)
    parts, values = [], []
    for src in sources:
        for chunk in iter_jets(src, step_size=step_size, max_jets=max_jets):
            if select is None:
                parts.append(tokenize(chunk, tokenizer_config, allow_missing=True))
                continue
            keep, vals = select(chunk)
            if not keep.any():
                continue
            parts.append(tokenize(chunk[keep], tokenizer_config, allow_missing=True))
            values.append(vals[keep])
    parts = [p for p in parts if len(p)]
    if not parts:
        msg = f"no {what} in {[str(p) for p in paths] if per_file else paths}"
        raise UserInputError(msg)
    return Tokens.concat(parts), (np.concatenate(values) if values else None)


def batch(tokens, idx: np.ndarray):
    """The five model inputs (torch) of jets ``idx``, cut to the largest real group count among them."""
    import torch

    from hepjepa.contract import MODEL_INPUTS

    gm = tokens.group_mask[idx]
    G = max(1, int(gm.sum(1).max()))
    out = []
    for name in MODEL_INPUTS:
        a = getattr(tokens, name)[idx]
        a = a[:, :G, :G] if name == "pair_features" else a[:, :G]
        out.append(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)))
    return tuple(out)
