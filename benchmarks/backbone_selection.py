"""The ``backbone_selection`` kind of variant (benchmarks/variants/backbone_selection.yaml; issue 6):
can a pretraining run be chosen without labels?

Two pretraining runs of one recipe that differ only in their seed can fine-tune very differently
with few labels. For every finished pretraining run of ``benchmarks.pretrain_variant_backbone``
(data/bench_runs/backbone_top*; a *family* is one recipe with several seeds) this measures

1. label-free numbers: the effective rank of the pooled target-encoder embeddings on fixed held-out
   jets (``hepjepa.train.rank``: data/bench's val jets, ``jets_per_file`` per class, on
   ``max_groups`` groups, the fine-tuning group count) and the final JEPA loss;
2. what they should predict: top vs QCD fine-tuned at ``fractions`` over ``seeds`` on ``max_groups``
   groups, minus our architecture from scratch on the same jets and seeds (paired by seed; scratch
   from the physics runs of ``scratch_variant``). The fine-tunes are physics runs of the variant
   ``few10_<run>_g24ft`` (cached per run, so only missing runs are trained);
3. the rule "keep the run with the highest effective rank" against a random pick (the family mean)
   and the best run in hindsight, per family; Spearman correlations of rank and loss with the gain.

Writes results/backbone_selection.json and .png.

    python -m benchmarks.physics_compare --variant benchmarks/variants/backbone_selection.yaml [--report-only]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import _grid, _plots
from benchmarks._common import machine, write_json


def run_tag(run_dir: Path) -> str:
    """backbone_top -> base; backbone_top_<tag> -> <tag> (pool2_seed1, g24, ...)."""
    return "base" if run_dir.name == "backbone_top" else run_dir.name[len("backbone_top_"):]


def family_seed(tag: str) -> tuple[str, int]:
    """pool2_seed3 -> (pool2, 3); pool2 -> (pool2, 0); base_seed1 -> (base, 1)."""
    fam, sep, s = tag.rpartition("_seed")
    return (fam, int(s)) if sep and s.isdigit() else (tag, 0)


def fewshot_variant(tag: str, v: dict, ck: Path) -> dict:
    """The physics variant whose runs are the few-shot fine-tunes of pretraining run ``tag``."""
    return {"name": f"few10_{tag}_g24ft", "backbone": _grid.rel(ck), "max_groups": v["max_groups"], "seeds": list(v["seeds"]),
            "runs": [{"task": "top", "models": ["finetune"], "fractions": list(v["fractions"])}]}


def load_row(runs: Path, var: str, model: str, frac: float, seed: int, max_groups: int, ck: Path | None) -> dict | None:
    """A cached physics row of variant ``var`` made on ``max_groups`` groups from backbone ``ck`` (any when None), else None."""
    f = runs / f"physics_{var}" / "runs" / f"top_{model}_f{frac:g}_s{seed}.json"
    if not f.is_file():
        return None
    row = json.loads(f.read_text())
    return None if row.get("max_groups") != max_groups or (ck is not None and row.get("backbone") != _grid.rel(ck)) else row


def spearman(x, y) -> float | None:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic) if len(x) >= 3 else None


def run(v: dict, a: argparse.Namespace) -> int:
    from benchmarks import physics_compare
    from hepjepa.train.rank import rank_checkpoints

    t0 = time.time()
    fracs, seeds, groups, runs_dir = v["fractions"], v["seeds"], v["max_groups"], _grid.RUNS
    val = sorted(_grid.BENCH.glob("val_*.root"))
    if len(val) != 10:
        raise FileNotFoundError(f"expected data/bench/val_<class>.root for the ten classes, found {len(val)}; run benchmarks/make_bench_data.sh")
    found = sorted(runs_dir.glob("backbone_top*/checkpoint.pt"))
    # every pretraining run that finished its schedule; an unfinished one is not comparable
    ranks = {Path(r.checkpoint): r for r in (rank_checkpoints(found, val, v["jets_per_file"], groups) if found else []) if r.complete}
    if not ranks:
        raise FileNotFoundError(f"no finished pretraining run under {runs_dir}/backbone_top*; run `python -m benchmarks.pretrain_variant_backbone`")
    rows = {}
    for ck in sorted(ranks):
        var = fewshot_variant(run_tag(ck.parent), v, ck)
        rows[ck] = {(f, s): load_row(runs_dir, var["name"], "finetune", f, s, groups, ck) for f in fracs for s in seeds}
        missing = [f"top_finetune_f{f:g}_s{s}" for (f, s), r in rows[ck].items() if r is None]
        if missing and not a.report_only:  # trained by the physics grid (its cache, its JSON)
            physics_compare.run(var, argparse.Namespace(quick=False, work=None, workers=a.workers, report_only=False, rerun=missing, argv=a.argv))
            rows[ck] = {(f, s): load_row(runs_dir, var["name"], "finetune", f, s, groups, ck) for f in fracs for s in seeds}
    scratch = {(f, s): load_row(runs_dir, v["scratch_variant"], "scratch", f, s, groups, None) for f in fracs for s in seeds}
    if any(x is None for x in scratch.values()):
        raise FileNotFoundError(f"scratch rows of variant {v['scratch_variant']} ({groups} groups, seeds {seeds}) missing; run its variant file")
    runs = []
    for ck in sorted(ranks):
        tag, r = run_tag(ck.parent), ranks[ck]
        fam, seed = family_seed(tag)
        log = json.loads((ck.parent / "log.json").read_text()) if (ck.parent / "log.json").is_file() else []
        row = {"run": tag, "family": fam, "pretrain_seed": seed, "checkpoint": _grid.rel(ck), "effective_rank": r.effective_rank,
               "final_loss": r.final_loss, "log_rank_last_5pct": float(np.mean([x["effective_rank"] for x in log[-max(1, len(log) // 20):]])) if log else None,
               "pretrain_steps": r.step, "fewshot": {}}
        for f in fracs:
            ft = [rows[ck][f, s] for s in seeds]
            if any(x is None for x in ft):
                row["fewshot"][f"{f:g}"] = None
                continue
            d_acc = np.array([x["accuracy"] - scratch[f, s]["accuracy"] for x, s in zip(ft, seeds)])
            d_auc = np.array([x["auc"] - scratch[f, s]["auc"] for x, s in zip(ft, seeds)])
            row["fewshot"][f"{f:g}"] = {
                "accuracy_mean": float(np.mean([x["accuracy"] for x in ft])), "auc_mean": float(np.mean([x["auc"] for x in ft])),
                "gain_accuracy_points": 100 * float(d_acc.mean()), "gain_accuracy_sem": 100 * float(d_acc.std(ddof=1) / np.sqrt(len(d_acc))),
                "gain_auc": float(d_auc.mean()), "gain_auc_sem": float(d_auc.std(ddof=1) / np.sqrt(len(d_auc)))}
        runs.append(row)
    out = {
        "question": "does the effective rank of held-out embeddings (no labels) pick the pretraining run that fine-tunes best with few labels?",
        "rank_measure": {"jets": f"data/bench val, {v['jets_per_file']} per class, ten classes", "n_jets": next(iter(ranks.values())).n_jets,
                         "max_groups": groups, "embedding": "Tagger.embed: mean and max over the target encoder's tokens (2 x embed_dim)",
                         "code": "hepjepa.train.rank"},
        "fewshot_task": {"task": "top vs QCD (data/bench)", "fractions": list(fracs), "seeds": list(seeds), "max_groups": groups,
                         "reference": f"scratch rows of physics_compare variant {v['scratch_variant']}, paired by seed",
                         "gain": f"JEPA fine-tuned minus scratch accuracy in points, mean and standard error over the {len(seeds)} seeds"},
        "runs": runs, **select(runs, fracs), "wall_s": time.time() - t0, "machine": machine(),
    }
    path = write_json(v["name"], out)
    _plots.backbone_selection(out, path.with_suffix(".png"))
    print(json.dumps({"families": out["families"], "correlations": out["correlations"]}, indent=1))
    print(f"wrote {path}")
    return 0


def select(runs: list[dict], fracs) -> dict:
    """Per family of >= 2 finished runs: the runs kept by the highest effective rank, by the lowest
    and by the highest final JEPA loss (a partly collapsed run predicts its targets too easily, so a
    low loss is a warning sign), and their few-shot gains against a random pick and hindsight;
    Spearman correlations over all runs."""
    done = [r for r in runs if all(r["fewshot"].get(f"{f:g}") for f in fracs)]

    def gain(r, f):
        return r["fewshot"][f"{f:g}"]["gain_accuracy_points"]

    families = {}
    for fam in sorted({r["family"] for r in done}):
        rs = sorted((r for r in done if r["family"] == fam), key=lambda r: r["pretrain_seed"])
        if len(rs) < 2:
            continue
        sel = max(rs, key=lambda r: r["effective_rank"])
        low, high = min(rs, key=lambda r: r["final_loss"]), max(rs, key=lambda r: r["final_loss"])
        families[fam] = {"runs": [r["run"] for r in rs], "selected_by_rank": sel["run"], "selected_by_lowest_loss": low["run"],
                         "selected_by_highest_loss": high["run"], **{
            f"{f:g}": {"gain_selected_by_rank": gain(sel, f), "gain_lowest_loss": gain(low, f), "gain_highest_loss": gain(high, f),
                       "gain_random_pick_mean": float(np.mean([gain(r, f) for r in rs])), "gain_best_in_hindsight": max(gain(r, f) for r in rs),
                       "gain_worst": min(gain(r, f) for r in rs), "spearman_rank_gain": spearman([r["effective_rank"] for r in rs], [gain(r, f) for r in rs])}
            for f in fracs}}
    corr = {f"{f:g}": {"spearman_rank_gain_all_runs": spearman([r["effective_rank"] for r in done], [gain(r, f) for r in done]),
                       "spearman_loss_gain_all_runs": spearman([r["final_loss"] for r in done], [gain(r, f) for r in done])} for f in fracs}
    return {"families": families, "correlations": corr, "n_runs_without_fewshot": len(runs) - len(done)}
