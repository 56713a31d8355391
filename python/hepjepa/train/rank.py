"""Label-free comparison of pretraining runs: effective rank (RankMe) of held-out embeddings.

JEPA pretraining can settle in a partly collapsed solution: the latent-space loss goes *down*
(the targets are easier to predict when they vary along fewer directions) while the embeddings
carry less of the jet. Two runs of one recipe that differ only in their seed can then fine-tune
very differently with few labels (benchmarks/results/backbone_selection.json measures it). The
effective rank of the embeddings (Roy & Vetterli 2007; as a selection criterion "RankMe",
Garrido et al. 2023) sees the difference without a single label, so "pretrain a few seeds, keep
the highest rank" is a recipe a user can follow on unlabelled data alone.

Measured here, unlike the per-batch rank in the pretraining log, on a fixed set of held-out jets
(the same jets for every checkpoint), through the pooled embedding the tagger heads consume
(``Tagger.embed``: mean and max over the target encoder's tokens), so it is deterministic and
comparable between runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from hepjepa.errors import UserInputError

if TYPE_CHECKING:
    from hepjepa.features import Tokens

__all__ = ["RankResult", "load_unlabelled_tokens", "embedding_rank", "rank_checkpoints"]


@dataclass(frozen=True)
class RankResult:
    """Effective rank of one checkpoint's pooled embeddings on the held-out jets."""

    checkpoint: str
    effective_rank: float  # of the (N, 2D) pooled embeddings; at most min(N, 2D)
    dim: int  # 2D
    n_jets: int
    max_groups: int  # groups per jet the tokeniser allowed
    final_loss: float | None  # last logged pretraining loss (None if the checkpoint has no log)
    step: int  # optimiser steps the checkpoint has made ...
    total_steps: int  # ... of its schedule's (step < total_steps: an unfinished run, not comparable)

    @property
    def complete(self) -> bool:
        return self.step >= self.total_steps

    def to_dict(self) -> dict:
        return {**self.__dict__, "complete": self.complete}


def load_unlabelled_tokens(files: Sequence[str | Path], tokenizer_config, jets_per_file: int) -> Tokens:
    """Tokenise the first ``jets_per_file`` jets of every file (labels, if any, are ignored).

    Taking the same number from each file keeps every file's jets (e.g. every JetClass class, one
    per file) in the sample, where the first N jets of the concatenation would be one class.

    Raises:
        ValueError: ``jets_per_file`` < 1, no files, or no jets read.
    """
    from hepjepa.downstream.tokens import load_tokens

    if not isinstance(jets_per_file, (int, np.integer)) or jets_per_file < 1:
        msg = f"jets_per_file={jets_per_file!r}; expected an int >= 1"
        raise UserInputError(msg)
    tokens, _ = load_tokens(files, tokenizer_config, max_jets=int(jets_per_file), per_file=True, what="jets read")
    return tokens


@torch.no_grad()
def embedding_rank(checkpoint: str | Path, tokens, batch_size: int = 256) -> float:
    """Effective rank of the pooled target-encoder embeddings of ``tokens`` (already tokenised).

    Raises:
        ValueError: fewer than 2 jets, or the backbone gives non-finite embeddings (a diverged run).
    """
    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.tagger import build_tagger
    from hepjepa.model.checkpoint import load_backbone, load_checkpoint
    from hepjepa.model.config import to_dict
    from hepjepa.train.pretrain import effective_rank

    if len(tokens) < 2:
        msg = f"{len(tokens)} jets; the effective rank needs at least 2"
        raise UserInputError(msg)
    bb = load_backbone(checkpoint)
    tok = load_checkpoint(checkpoint)["config"]["data"]["tokenizer"]
    # The frozen tagger gives the pooled embedding through the one masked_pool implementation the
    # heads use; its linear head is never called.
    tagger = build_tagger(to_dict(bb.config), {"kind": "linear"}, ["a", "b"], tok, mode="frozen", backbone_state=bb.state_dict(), seed=0)
    emb = predict(tagger, tokens, batch_size=batch_size, embeddings=True)
    if not np.isfinite(emb).all():
        msg = f"checkpoint {checkpoint} gives non-finite embeddings on {len(tokens)} jets (a diverged pretraining run?)"
        raise UserInputError(msg)
    return effective_rank(torch.from_numpy(emb).double())


def rank_checkpoints(checkpoints: Sequence[str | Path], files: Sequence[str | Path], jets_per_file: int = 200,
                     max_groups: int | None = None, progress: bool = True) -> list[RankResult]:
    """Effective rank of each checkpoint on the same held-out jets, highest first.

    Every checkpoint tokenises the jets with its own pretraining tokeniser (with ``max_groups``
    over it if given, e.g. the group count it will be fine-tuned with); runs whose tokenisers
    agree share one tokenisation.

    Raises:
        FileNotFoundError: a checkpoint that does not exist.
        ValueError: no checkpoints, a checkpoint without a tokeniser config, or see ``embedding_rank``.
    """
    from tqdm.auto import tqdm

    from hepjepa.features import TokenizerConfig
    from hepjepa.model.checkpoint import load_checkpoint

    if not checkpoints:
        msg = "no checkpoints given; expected at least one pretraining checkpoint"
        raise UserInputError(msg)
    paths = [Path(c) for c in checkpoints]
    for p in paths:
        if not p.is_file():
            msg = f"pretraining checkpoint {p} not found"
            raise FileNotFoundError(msg)
    cache: dict[str, Tokens] = {}
    out = []
    for p in tqdm(paths, desc="effective rank", unit="ckpt", disable=not progress):
        ck = load_checkpoint(p)
        cfg_all = ck.get("config", {})
        tok = dict(cfg_all.get("data", {}).get("tokenizer") or {})
        if not tok:
            msg = f"checkpoint {p} stores no data.tokenizer config; is it a `hepjepa pretrain` checkpoint?"
            raise UserInputError(msg)
        if max_groups is not None:
            tok["max_groups"] = int(max_groups)
        cfg = TokenizerConfig.from_dict(tok)
        key = repr(sorted(cfg.to_dict().items()))
        if key not in cache:
            cache[key] = load_unlabelled_tokens(files, cfg, jets_per_file)
        tokens = cache[key]
        log = ck.get("log") or []
        out.append(RankResult(str(p), embedding_rank(p, tokens), 2 * int(cfg_all["model"]["backbone"]["embed_dim"]), len(tokens),
                              cfg.max_groups, float(log[-1]["loss"]) if log else None, int(ck.get("step", 0)), int(cfg_all["optim"]["total_steps"])))
    return sorted(out, key=lambda r: -r.effective_rank)
