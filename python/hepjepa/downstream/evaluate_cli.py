"""Metrics and plots of a tagger on a test set.

Example:
    hepjepa evaluate out/tagger.pt --test test.root -o eval/

Writes ``metrics.json`` (accuracy, macro accuracy, one-vs-rest AUC, rejection 1/eB at
eS = 30/50/99% of each class vs QCD; classes named ``probQCD``, ``probTbqq``, ... as in the
exported model's preprocess.json), ``roc.png``, ``confusion.png``, ``tsne.png``.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="tagger checkpoint (hepjepa finetune's tagger.pt)")
    parser.add_argument("--test", nargs="+", required=True, help="test files (any supported format)")
    parser.add_argument("--max-jets", type=int, default=None)
    parser.add_argument("--tsne-max", type=int, default=2000, help="jets in the t-SNE plot")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, help="output directory")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from hepjepa.downstream.evaluate import evaluate_scores
    from hepjepa.downstream.finetune import load_labelled_tokens, predict, remap_labels
    from hepjepa.downstream.tagger import load_tagger
    from hepjepa.features import TokenizerConfig
    from hepjepa.labels import label_index

    tagger = load_tagger(args.checkpoint)
    tokens, labels = load_labelled_tokens(args.test, TokenizerConfig.from_dict(tagger.tokenizer_config), args.max_jets)
    class_idx = [label_index(c) for c in tagger.classes]
    keep = np.isin(labels, class_idx)
    if not keep.all():
        print(f"evaluate: dropping {int((~keep).sum())} jets of classes the tagger does not know")
    tokens, y = tokens[np.flatnonzero(keep)], remap_labels(labels[keep], class_idx)
    scores = predict(tagger, tokens)
    emb = predict(tagger, tokens, embeddings=True)
    rep = evaluate_scores(scores, y, list(tagger.classes), args.output, embeddings=emb, seed=args.seed, tsne_max=args.tsne_max)
    print(f"accuracy {rep['accuracy']:.4f}, macro accuracy {rep['macro_accuracy']:.4f}, AUC {rep['auc']}; wrote {args.output}")
    return 0
