"""Export a tagger checkpoint to ``DIR/model.onnx`` + ``DIR/preprocess.json``.

The checkpoint must be rebuildable alone by ``hepjepa.downstream.tagger``
(a ``Tagger`` with its config, tokenizer config and class list inside).
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="tagger checkpoint (.pt)")
    parser.add_argument("-o", "--output", required=True, help="output directory")
    parser.add_argument("--trace-groups", type=int, default=8, help="group count used for the trace (dynamic in the graph)")


def run(args: argparse.Namespace) -> int:
    from hepjepa.deploy.export import export_onnx
    from hepjepa.downstream import tagger as tagger_mod  # contract: a checkpoint is rebuildable alone

    loader = getattr(tagger_mod, "load_tagger", None) or getattr(tagger_mod.Tagger, "from_checkpoint", None)
    if loader is None:
        msg = "hepjepa.downstream.tagger offers neither load_tagger() nor Tagger.from_checkpoint()"
        raise RuntimeError(msg)
    model = loader(args.checkpoint)
    from hepjepa.labels import flav_name

    tok = model.tokenizer_config
    tok_dict = tok.to_dict() if hasattr(tok, "to_dict") else dict(tok)
    classes = getattr(model, "classes", None) or model.class_names
    pre = export_onnx(
        model, args.output, tokenizer_config=tok_dict, flav_names=[flav_name(c) for c in classes],
        group_size=tok_dict["group_size"], n_features=model.n_features, n_groups=args.trace_groups,
        model_config=getattr(model, "config_dict", lambda: {})(),
        zero_filled_fields=getattr(model, "zero_filled_fields", []),
    )
    print(f"wrote {args.output}/model.onnx and preprocess.json ({len(pre['flav_names'])} flavours)")
    return 0
