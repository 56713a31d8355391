"""The ``fewshot`` kind of variant (benchmarks/variants/fewshot.yaml; issue 4): scratch vs JEPA
frozen vs JEPA fine-tuned on top (Tbqq) vs QCD of data/bench_top (20000 training jets, 2000 val,
5000 test) from 0.05 % (10 jets) to 100 % of the labels.

The backbone is pretrained first when its checkpoint is missing or unfinished (``hepjepa pretrain
--config benchmarks/configs/fewshot_pretrain.yaml`` + ``_grid.RECIPE``, ``pretrain_steps`` on
``_grid.unlabelled_files``: labels unused). Then every fraction x seed x mode is fine-tuned under
the fraction's budget (more seeds, ``low_fraction_seeds``, at <= 1 %: the draw of 10-200 jets moves
the accuracy by several points), with linear probes of the backbone and of a random-init one, and
the val-set sweep of the fine-tuning settings (``ft_sweep``) that chose LP-FT at <= 1 %. Writes
results/<name>[_quick].json and .png.

    python -m benchmarks.physics_compare --variant benchmarks/variants/fewshot.yaml [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import _grid, _plots
from benchmarks._common import ROOT, machine, write_json
from benchmarks._grid import FT, FT_FEW, RECIPE, ft_for

MODES = ("scratch", "frozen", "finetune")


def settings(v: dict, quick: bool = False) -> dict:
    """The variant's settings (its ``quick`` block over them with ``quick``), budgets as tuples keyed by float fraction."""
    s = {"probe": True, "max_jets": None, "max_eval_jets": None, "low_fraction_seeds": None, "ft_sweep": None, "previous_ft": {},
         **{k: x for k, x in v.items() if k != "quick"}, **((v.get("quick") or {}) if quick else {})}
    s["budget"] = {float(f): tuple(int(x) for x in b) for f, b in s["budget"].items()}
    s["fractions"] = [float(f) for f in s["fractions"]]
    return s


def seeds_for(s: dict, frac: float) -> list[int]:
    """The seeds of a fraction: ``low_fraction_seeds`` at fractions <= 1 %, else ``seeds``."""
    return s["low_fraction_seeds"] if frac <= 0.01 and s.get("low_fraction_seeds") else s["seeds"]


def jobs(s: dict) -> list[tuple]:
    return [(m, f, sd) for f in s["fractions"] for sd in seeds_for(s, f) for m in MODES]


def recorded(s: dict) -> dict:
    """The settings as the results JSON records them."""
    files = {k: [f"{s['data']}/{k}_{c}.root" for c in ("qcd", "tbqq")] for k in ("train", "val", "test")}
    return {"data": files, "fractions": s["fractions"], "seeds": s["seeds"], "seeds_per_fraction": {str(f): seeds_for(s, f) for f in s["fractions"]},
            "budget_per_fraction": {str(f): dict(zip(("batch_size", "max_epochs", "patience"), s["budget"][f])) for f in s["fractions"]},
            "finetune_hparams": FT, "finetune_hparams_at_le_1pct": FT_FEW}


def load_data(tok_cfg, max_jets: int | None, max_eval_jets: int | None, root: Path, splits=("train", "val", "test")) -> dict:
    """Tokenised top-vs-QCD sets of ``root`` (per file at most ``max_jets`` / ``max_eval_jets``), labels 0 = QCD, 1 = Tbqq."""
    from hepjepa.downstream.finetune import load_labelled_tokens, remap_labels
    from hepjepa.features.tokenize import Tokens
    from hepjepa.labels import JETCLASS_LABELS

    data = {}
    for split in splits:
        parts = [load_labelled_tokens([f], tok_cfg, max_jets if split == "train" else max_eval_jets) for f in _grid.bench_files(split, ("qcd", "tbqq"), root)]
        tok = Tokens.concat([p[0] for p in parts], pad_to_groups=tok_cfg.max_groups)
        data[split] = (tok, remap_labels(np.concatenate([p[1] for p in parts]), [JETCLASS_LABELS.index("label_QCD"), JETCLASS_LABELS.index("label_Tbqq")]))
    return data


def run_one(blob: dict, mode: str, frac: float, seed: int, budget, data: dict, ft: dict) -> dict:
    """Train one tagger (mode, fraction, seed) and score it on the test set (and its accuracy on val)."""
    from benchmarks.physics_compare import metrics
    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.metrics import accuracy
    from hepjepa.downstream.splits import stratified_fraction

    (tr, ytr), val, (te, yte) = data["train"], data["val"], data["test"]
    sel = stratified_fraction(ytr, frac, seed=seed)
    (tagger, hist), cpu = _grid.cpu_time(_grid.train_jepa, blob, mode, frac, seed, budget, (tr[sel], ytr[sel]), val, ["label_QCD", "label_Tbqq"], ft)
    return {"mode": mode, "fraction": frac, "seed": seed, "n_train": int(len(sel)), **metrics(predict(tagger, te), yte, "top"),
            "best_epoch": hist["best_epoch"], "epochs_run": len(hist["val_loss"]), "best_val_loss": hist["best_val_loss"],
            "val_accuracy": accuracy(predict(tagger, val[0]), val[1]), "cpu_s": cpu, "ft": dict(ft)}


def _key(mode: str, frac: float, seed: int) -> str:
    return f"{mode}_f{frac:g}_s{seed}.json"


def val_sweep(blob: dict, data: dict, s: dict, out: Path, cache: Path) -> list[dict]:
    """Fine-tune with each ``ft_sweep`` setting (overrides of FT) at ``sweep_fractions``, seeds 0-2;
    VAL accuracy only (the test jets are not looked at). "current" is read from the grid's cached
    runs. Cached in ``out`` (JSON list of runs)."""
    rows = json.loads(out.read_text()) if out.is_file() else []
    done = {(r["setting"], r["fraction"], r["seed"]) for r in rows}
    for frac in s["sweep_fractions"]:
        for name, over in s["ft_sweep"].items():
            for seed in (0, 1, 2):
                if (name, frac, seed) in done:
                    continue
                cached = cache / _key("finetune", frac, seed)
                r = (json.loads(cached.read_text()) if name == "current" and cached.is_file()
                     else run_one(blob, "finetune", frac, seed, s["budget"][frac], data, {**FT, **over}))
                rows.append({"setting": name, "overrides": over, "fraction": frac, "seed": seed, "val_accuracy": r["val_accuracy"], "best_val_loss": r["best_val_loss"]})
                _grid.write_row(out, rows)
    return rows


def run(v: dict, a: argparse.Namespace) -> int:
    import torch

    from hepjepa.features import TokenizerConfig

    s = settings(v, a.quick)
    work = Path(a.work) if a.work else ROOT / s["work"]
    log: list[str] = []
    t0 = time.time()
    ck = ROOT / s["backbone"]
    ck = _grid.pretrain(ck.parent, log, s["pretrain_steps"], [f"data.train={json.dumps(_grid.unlabelled_files(a.quick))}", *RECIPE])
    blob = _grid.backbone_blob(ck)
    data = load_data(TokenizerConfig.from_dict(blob["tokenizer"]), s["max_jets"], s["max_eval_jets"], ROOT / s["data"])
    log.append(f"{shlex.join([sys.executable, '-m', 'benchmarks.physics_compare', *a.argv])}  # in-process fine-tuning + evaluation of every run below")
    cache, grid = work / "runs", jobs(s)

    def job(j):
        r = run_one(blob, *j, s["budget"][j[1]], data, ft_for(j[1]))
        _grid.write_row(cache / _key(*j), r)
        print(f"{r['mode']:>8} f={r['fraction']:<6g} seed={r['seed']} n={r['n_train']:<5} acc={r['accuracy']:.4f} auc={r['auc']:.4f} cpu={r['cpu_s']:.0f}s", flush=True)

    todo = [j for j in grid if not (cache / _key(*j)).is_file()]
    if todo and a.report_only:
        raise FileNotFoundError(f"--report-only: {len(todo)} runs not cached under {cache}, e.g. {_key(*todo[0])}")
    _grid.run_jobs(job, todo, a.workers)
    sweep = work / "ft_sweep_val.json"
    if s["ft_sweep"] and not a.report_only:
        val_sweep(blob, data, s, sweep, cache)
    rows = [json.loads((cache / _key(*j)).read_text()) for j in grid]
    probes = [r for init in ("pretrained", "random") for r in _grid.linear_probes(blob, data, init, s["fractions"], s["seeds"], {"test": ""})] if s["probe"] else []
    summary = _grid.summarise(rows, ("mode", "fraction"))
    gain = _gain(summary)
    prev = {}
    for folder, hp in s["previous_ft"].items():
        runs = [json.loads(f.read_text()) for f in sorted((work / folder).glob("*.json"))]
        if runs:
            prev[folder] = {"hparams": hp, "summary": _grid.summarise(runs, ("mode", "fraction")), "runs": runs}
    sw = json.loads(sweep.read_text()) if sweep.is_file() else None
    out = {"mode": "quick" if a.quick else "full", "task": "top (Tbqq) vs QCD", **recorded(s), "n_jets": {k: int(len(x[1])) for k, x in data.items()},
           "pretraining": _grid.pretrain_summary(ck), "commands": log, "command_history": _grid.history(), "summary": summary,
           "finetune_minus_scratch_accuracy": {str(f): g for f, g in gain.items()},
           "goal_4_points_at_le_1pct": {str(f): g["mean"] >= 0.04 for f, g in gain.items() if f <= 0.01},
           "linear_probe": _grid.summarise(probes, ("init", "fraction"), ("accuracy", "auc")) if probes else [], "linear_probe_runs": probes,
           "runs": rows, "total_cpu_s_finetune": float(sum(r["cpu_s"] for r in rows)), "wall_s_this_invocation": time.time() - t0,
           "machine": {**machine(), "loadavg": os.getloadavg(), "torch": torch.__version__,
                       "note": "2-core machine, two or three experiment processes at once; fine-tunes ran with 1 torch thread each"},
           "finetune_hparam_selection": {"previous_runs": prev, "val_sweep": sw,
                                         "val_sweep_summary": _grid.summarise(sw, ("setting", "fraction"), ("val_accuracy",)) if sw else None,
                                         "sweep_command": f"python -m benchmarks.physics_compare --variant {_grid.rel(a.variant)} (ft_sweep: val accuracy only)"}}
    path = write_json(f"{s['name']}{'_quick' if a.quick else ''}", out)
    _plots.plot_fewshot(summary, path.with_suffix(".png"), group_key="mode", order=MODES, metrics=("accuracy", "auc"),
                        xlabel=f"label fraction of the {out['n_jets']['train']} top/QCD training jets", legend_title="top vs QCD, mean ± std over seeds")
    print(json.dumps(out["finetune_minus_scratch_accuracy"], indent=1))
    print(f"wrote {path}")
    return 0


def _gain(summary: list[dict]) -> dict[float, dict]:
    """Fine-tuned minus scratch mean accuracy per fraction (with the std of the difference of means)."""
    by = {(r["mode"], r["fraction"]): r for r in summary}
    out = {}
    for (mode, f), r in by.items():
        if mode == "finetune" and ("scratch", f) in by:
            sc = by[("scratch", f)]
            out[f] = {"mean": r["accuracy_mean"] - sc["accuracy_mean"],
                      "stderr": float(np.sqrt((r["accuracy_std"] ** 2 + sc["accuracy_std"] ** 2) / max(1, r["n_seeds"])))}
    return out
