"""Ablations and recipe selection (issue 4): what in the pretraining makes a useful representation?

Every variant is pretrained with ``hepjepa pretrain`` at the same step budget on the same unlabelled
jets (``fewshot.unlabelled_files``: data/bench's ten classes plus data/bench_top's training jets),
from ``benchmarks/configs/fewshot_pretrain.yaml`` plus the variant's ``--set`` overrides:

- the issue's ablations: contiguous vs random masking, pairwise physics bias on/off, registers on/off;
- recipe variants: more and smaller groups (harder prediction, finer tokens), four target blocks
  (I-JEPA), a smaller context, a bigger target block, a wider encoder.

Each is scored on top vs QCD of data/bench_top (20000 training jets):

- frozen linear probe (logistic regression on the pooled embeddings) at 0.1 % ... 100 % of the
  training jets, 3 seeds (the subset drawn by ``hepjepa.downstream.splits`` with the seed), scored
  on the val jets AND on the test jets. The recipe of fewshot.py is chosen on the val columns only;
- optionally (``--finetune``) a fine-tuned class-attention tagger at 1 % (3 seeds) with the budget
  and hyper-parameters of benchmarks/fewshot.py, early stopping on val, scored on test.

A random-init backbone of the baseline architecture is probed too (the floor a pretraining must
beat). Writes benchmarks/results/ablations[_quick].json with every command and run.

    python benchmarks/ablations.py --quick                        # minutes (a slice of data/bench)
    python benchmarks/ablations.py --variants baseline groups24   # pretrain + probe some (cached)
    python benchmarks/ablations.py                                # every variant, then the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import ROOT, machine, write_json  # noqa: E402
from fewshot import (  # noqa: E402
    BENCH,
    FT,
    PY,
    QUICK_BUDGET,
    RECIPE,
    TOP,
    TOP_BUDGET,
    _history,
    backbone_blob,
    load_data,
    pretrain,
    pretrain_summary,
    run_one,
    summarise,
    unlabelled_files,
)

#: One line of overrides each from the baseline (contiguous masking, pairwise bias on, 8 registers,
#: groups of 8 particles, at most 12 groups, one target block of 15-20 % of the groups).
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    "random_masking": ["masks.strategy=random"],
    "no_pair_bias": ["model.backbone.pair_bias=false"],
    "no_registers": ["model.backbone.num_registers=0"],
    "groups24": ["data.tokenizer.max_groups=24"],
    "k4_groups32": ["data.tokenizer.group_size=4", "data.tokenizer.max_groups=32"],
    "four_target_blocks": ["masks.n_targets=4"],
    "four_targets_ctx60": RECIPE,  # the recipe fewshot.py pretrains with (best on val)
    "big_target": ["masks.target_scale=[0.3, 0.45]"],
    "wide": ["model.backbone.embed_dim=128", "model.predictor.embed_dim=64"],
}
SETTINGS = {
    "quick": {"data": BENCH, "steps": 60, "seeds": [0, 1], "fractions": [0.01, 1.0], "finetune_fraction": 0.01, "budget": QUICK_BUDGET,
              "max_jets": 600, "max_eval_jets": 200},
    "full": {"data": TOP, "steps": 1500, "seeds": [0, 1, 2], "fractions": [0.001, 0.01, 0.1, 1.0], "finetune_fraction": 0.01, "budget": TOP_BUDGET,
             "max_jets": None, "max_eval_jets": None},
}


def probe_rows(blob: dict, data: dict, variant: str, init: str, fractions, seeds) -> list[dict]:
    """Linear probes of one backbone (pretrained weights, or random init) on val and on test."""
    import torch

    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.probe import linear_probe
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.downstream.tagger import build_tagger

    tagger = build_tagger(blob["backbone_config"], {"kind": "linear"}, ["label_QCD", "label_Tbqq"], blob["tokenizer"],
                          mode="frozen" if init == "pretrained" else "scratch", backbone_state=blob["state"] if init == "pretrained" else None, seed=0)
    with torch.no_grad():
        emb = {k: predict(tagger, data[k][0], embeddings=True) for k in ("train", "val", "test")}
    rows = []
    for frac in fractions:
        for seed in seeds:
            sel = stratified_fraction(data["train"][1], frac, seed=seed)
            row = {"variant": variant, "init": init, "eval": "linear_probe", "fraction": frac, "seed": seed}
            for split in ("val", "test"):
                r = linear_probe(emb["train"][sel], data["train"][1][sel], emb[split], data[split][1], seed=seed)
                row[f"{split}_accuracy"], row[f"{split}_auc"] = r["accuracy"], r["auc"][1]
            rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small run for a functional check")
    ap.add_argument("--work", default=None, help="working folder (default data/bench_runs/ablations_top or ablations_quick)")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--finetune", action="store_true", help="also fine-tune each variant at the finetune fraction (3 seeds)")
    ap.add_argument("--no-report", action="store_true", help="only pretrain + evaluate the variants (for parallel processes)")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    name = "quick" if a.quick else "full"
    s = SETTINGS[name]
    # ablations_top: the runs before the large top set (data/bench_runs/ablations) used other data and steps
    work = Path(a.work) if a.work else ROOT / "data" / "bench_runs" / f"ablations{'_quick' if a.quick else '_top'}"
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    t0 = time.time()
    from hepjepa.atomic import atomic_path
    from hepjepa.features import TokenizerConfig

    rows, pre, datas = [], {}, {}
    log.append(f"{shlex.join([PY, *sys.argv])}  # in-process pretraining, probes and fine-tunes below")
    for variant in a.variants:
        ck = pretrain(work / variant, log, s["steps"], [f"data.train={json.dumps(unlabelled_files(a.quick))}", "run.checkpoint_every=500", *VARIANTS[variant]])
        pre[variant] = pretrain_summary(ck)
        blob = backbone_blob(ck)
        key = json.dumps(blob["tokenizer"], sort_keys=True)
        if key not in datas:  # tokenise once per tokenizer config
            datas[key] = load_data(TokenizerConfig.from_dict(blob["tokenizer"]), s["max_jets"], s["max_eval_jets"], root=s["data"])
        data = datas[key]
        cache = work / variant / "eval.json"
        vrows = json.loads(cache.read_text()) if cache.is_file() else []
        if not any(r["eval"] == "linear_probe" for r in vrows):
            vrows = probe_rows(blob, data, variant, "pretrained", s["fractions"], s["seeds"])
            if variant == "baseline":
                vrows += probe_rows(blob, data, "random_init", "random", s["fractions"], s["seeds"])
        # cached fine-tunes count only if they ran with the current FT hyper-parameters
        vrows = [r for r in vrows if r["eval"] != "finetune" or r.get("ft_hparams") == FT]
        if a.finetune and not any(r["eval"] == "finetune" for r in vrows):
            for seed in s["seeds"]:
                f = s["finetune_fraction"]
                r = run_one(blob, "finetune", f, seed, s["budget"][f], data)
                vrows.append({"variant": variant, "init": "pretrained", "eval": "finetune", "fraction": f, "seed": seed, "ft_hparams": FT,
                              "test_accuracy": r["accuracy"], "test_auc": r["auc"], "val_accuracy": r["val_accuracy"], "cpu_s": r["cpu_s"]})
        with atomic_path(cache) as tmp:
            Path(tmp).write_text(json.dumps(vrows, indent=1))
        rows += vrows
        for r in summarise(vrows, ("variant", "eval", "fraction"), ("val_accuracy", "test_accuracy", "test_auc")):
            print(json.dumps(r), flush=True)
    if a.no_report:
        return 0
    summary = summarise(rows, ("variant", "eval", "fraction"), ("val_accuracy", "val_auc", "test_accuracy", "test_auc"))
    out = {"mode": name, "task": "top (Tbqq) vs QCD", "data": str(Path(s["data"]).relative_to(ROOT)), "pretrain_steps": s["steps"],
           "unlabelled_files": [str(Path(f).relative_to(ROOT)) for f in unlabelled_files(a.quick)],
           "variants": {v: VARIANTS[v] for v in pre}, "fractions": s["fractions"], "seeds": s["seeds"],
           "finetune_hparams": FT, "n_jets": {k: int(len(v[1])) for k, v in data.items()}, "pretraining": pre, "commands": log, "command_history": _history(),
           "summary": summary, "runs": rows, "wall_s_this_invocation": time.time() - t0,
           "machine": {**machine(), "loadavg": os.getloadavg(), "torch": torch.__version__,
                       "note": "2-core machine, two experiment processes at once; 1 torch thread each"}}
    path = write_json(f"ablations{'_quick' if a.quick else ''}", out)
    _table(summary)
    print(f"wrote {path}")
    return 0


def _table(summary: list[dict]) -> None:
    def cell(v, e, f, m):
        r = next((x for x in summary if x["variant"] == v and x["eval"] == e and x["fraction"] == f), None)
        return f"{r[m + '_mean']:.3f}±{r[m + '_std']:.3f}" if r and m + "_mean" in r else "-"

    fr = sorted({r["fraction"] for r in summary})
    ft = sorted({r["fraction"] for r in summary if r["eval"] == "finetune"})
    print("| variant | " + " | ".join(f"probe {f:g} val acc | probe {f:g} test acc" for f in fr) + "".join(f" | finetune {f:g} test acc" for f in ft) + " |")
    for v in dict.fromkeys(r["variant"] for r in summary):
        print(f"| {v} | " + " | ".join(f"{cell(v, 'linear_probe', f, 'val_accuracy')} | {cell(v, 'linear_probe', f, 'test_accuracy')}" for f in fr)
              + "".join(f" | {cell(v, 'finetune', f, 'test_accuracy')}" for f in ft) + " |")


if __name__ == "__main__":
    sys.exit(main())
