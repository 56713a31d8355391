"""The ``ablations`` kind of variant (benchmarks/variants/ablations.yaml; issue 4): what in the
pretraining makes a useful representation?

Every entry of ``pretraining`` (``--set`` overrides of benchmarks/configs/fewshot_pretrain.yaml:
the issue's ablations, contiguous vs random masking, pairwise bias and registers on/off, and
recipe variants) is pretrained at the same ``pretrain_steps`` on the same unlabelled jets
(``_grid.unlabelled_files``), then scored on top vs QCD of ``data`` by a frozen linear probe at each
label fraction and seed, on the val jets (which choose the recipe, ``_grid.RECIPE``) and on the test
jets; a random-init backbone of the baseline architecture is probed too (the floor). With a
``finetune_fraction`` each variant is also fine-tuned there (the budget of that fraction). Writes
results/<name>[_quick].json with every command and run.

    python -m benchmarks.physics_compare --variant benchmarks/variants/ablations.yaml [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from benchmarks import _grid
from benchmarks._common import ROOT, machine, write_json
from benchmarks._grid import FT
from benchmarks.fewshot import load_data, run_one


def settings(v: dict, quick: bool = False) -> dict:
    s = {"max_jets": None, "max_eval_jets": None, "finetune_fraction": None, "budget": {},
         **{k: x for k, x in v.items() if k != "quick"}, **((v.get("quick") or {}) if quick else {})}
    s["budget"] = {float(f): tuple(b) for f, b in s["budget"].items()}
    return s


def jobs(s: dict) -> list[tuple]:
    """The (variant, init, eval, fraction, seed) of every row the variant records."""
    probed = [(p, "pretrained") for p in s["pretraining"]] + ([("random_init", "random")] if "baseline" in s["pretraining"] else [])
    out = [(name, init, "linear_probe", f, sd) for name, init in probed for f in s["fractions"] for sd in s["seeds"]]
    if s["finetune_fraction"]:
        out += [(p, "pretrained", "finetune", s["finetune_fraction"], sd) for p in s["pretraining"] for sd in s["seeds"]]
    return out


def run(v: dict, a: argparse.Namespace) -> int:
    import torch

    from hepjepa.features import TokenizerConfig

    s = settings(v, a.quick)
    work = Path(a.work) if a.work else ROOT / s["work"]
    log = [f"{shlex.join([sys.executable, '-m', 'benchmarks.physics_compare', *a.argv])}  # in-process pretraining, probes and fine-tunes below"]
    t0 = time.time()
    torch.set_num_threads(1)
    rows, pre, datas = [], {}, {}
    for variant, sets in s["pretraining"].items():
        ck = _grid.pretrain(work / variant, log, s["pretrain_steps"], [f"data.train={json.dumps(_grid.unlabelled_files(a.quick))}", "run.checkpoint_every=500", *sets])
        pre[variant] = _grid.pretrain_summary(ck)
        blob = _grid.backbone_blob(ck)
        key = json.dumps(blob["tokenizer"], sort_keys=True)
        if key not in datas:  # tokenise once per tokenizer config
            datas[key] = load_data(TokenizerConfig.from_dict(blob["tokenizer"]), s["max_jets"], s["max_eval_jets"], ROOT / s["data"])
        data = datas[key]
        cache = work / variant / "eval.json"
        vrows = json.loads(cache.read_text()) if cache.is_file() else []
        if not any(r["eval"] == "linear_probe" for r in vrows):
            splits = {"val": "val_", "test": "test_"}
            vrows = _grid.linear_probes(blob, data, "pretrained", s["fractions"], s["seeds"], splits, variant=variant)
            if variant == "baseline":
                vrows += _grid.linear_probes(blob, data, "random", s["fractions"], s["seeds"], splits, variant="random_init")
        # cached fine-tunes count only if they ran with the current FT hyper-parameters
        vrows = [r for r in vrows if r["eval"] != "finetune" or r.get("ft_hparams") == FT]
        f = s["finetune_fraction"]
        if f and not any(r["eval"] == "finetune" for r in vrows):
            for seed in s["seeds"]:
                r = run_one(blob, "finetune", f, seed, s["budget"][f], data, FT)
                vrows.append({"variant": variant, "init": "pretrained", "eval": "finetune", "fraction": f, "seed": seed, "ft_hparams": FT,
                              "test_accuracy": r["accuracy"], "test_auc": r["auc"], "val_accuracy": r["val_accuracy"], "cpu_s": r["cpu_s"]})
        _grid.write_row(cache, vrows)
        rows += vrows
    summary = _grid.summarise(rows, ("variant", "eval", "fraction"), ("val_accuracy", "val_auc", "test_accuracy", "test_auc"))
    out = {"mode": "quick" if a.quick else "full", "task": "top (Tbqq) vs QCD", "data": s["data"], "pretrain_steps": s["pretrain_steps"],
           "unlabelled_files": [_grid.rel(f) for f in _grid.unlabelled_files(a.quick)], "variants": {p: s["pretraining"][p] for p in pre},
           "fractions": s["fractions"], "seeds": s["seeds"], "finetune_hparams": FT, "n_jets": {k: int(len(x[1])) for k, x in data.items()},
           "pretraining": pre, "commands": log, "command_history": _grid.history(), "summary": summary, "runs": rows,
           "wall_s_this_invocation": time.time() - t0,
           "machine": {**machine(), "loadavg": os.getloadavg(), "torch": torch.__version__,
                       "note": "2-core machine, two experiment processes at once; 1 torch thread each"}}
    path = write_json(f"{s['name']}{'_quick' if a.quick else ''}", out)
    for r in summary:
        print(json.dumps(r))
    print(f"wrote {path}")
    return 0
