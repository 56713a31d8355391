"""Can a pretraining run be chosen without labels? Effective rank vs few-shot fine-tuning (issue 6).

Two pretraining runs of one recipe that differ only in their seed can fine-tune very differently
with few labels (physics_compare_few10_pool2*_g24ft: from 7 points worse than scratch to 6 points
better). This script measures, for every finished pretraining run of benchmarks/pretrain_variant_backbone.py
(data/bench_runs/backbone_top*; a *family* is one recipe with several seeds):

1. label-free numbers: the effective rank of the pooled target-encoder embeddings on fixed held-out
   jets (``hepjepa.train.rank``: data/bench's val jets, 200 per class of all ten, tokenised into 24
   groups, the fine-tuning group count), the final JEPA loss and the per-batch rank of the
   pretraining log;
2. what they are meant to predict: top vs QCD fine-tuned with 0.5 % and 1 % of the labels (16 and 30
   jets), 10 seeds, on 24 groups, minus our architecture from scratch on the same jets and seeds
   (paired by seed). The runs are physics_compare.py's variants ``few10_<run>_g24ft`` (cached per
   run, so only missing runs are trained; scratch from ``SCRATCH_VARIANT``);
3. the rule "keep the run with the highest effective rank" against a random pick (the family
   mean) and the best run in hindsight, per family; Spearman correlations of rank and loss with
   the few-shot gain.

Writes benchmarks/results/backbone_selection.json and backbone_selection.png.

    python benchmarks/backbone_selection.py              # trains missing few-shot runs (~1.3 min per pretraining run on 2 cores)
    python benchmarks/backbone_selection.py --report-only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _plots  # noqa: E402
from _common import ROOT, machine, write_json  # noqa: E402

RUNS = ROOT / "data" / "bench_runs"
FRACTIONS = (0.005, 0.01)
SEEDS = tuple(range(10))
MAX_GROUPS = 24
JETS_PER_FILE = 200
#: the variant whose scratch rows (24 groups, SEEDS, FRACTIONS) every run is compared with
SCRATCH_VARIANT = "few10_pool2_seed1_g24ft"


def run_tag(run_dir: Path) -> str:
    """backbone_top -> base; backbone_top_<tag> -> <tag> (pool2_seed1, g24, ...)."""
    return "base" if run_dir.name == "backbone_top" else run_dir.name[len("backbone_top_"):]


def family_seed(tag: str) -> tuple[str, int]:
    """pool2_seed3 -> (pool2, 3); pool2 -> (pool2, 0); base_seed1 -> (base, 1)."""
    fam, sep, s = tag.rpartition("_seed")
    return (fam, int(s)) if sep and s.isdigit() else (tag, 0)


def variant(tag: str) -> str:
    return f"few10_{tag}_g24ft"


def run_key(model: str, frac: float, seed: int) -> str:
    return f"top_{model}_f{frac:g}_s{seed}"


def load_row(var: str, model: str, frac: float, seed: int, ck: Path | None) -> dict | None:
    """A cached physics_compare row of the variant made as this script needs it (24 groups, this backbone), else None."""
    f = RUNS / f"physics_{var}" / "runs" / f"{run_key(model, frac, seed)}.json"
    if not f.is_file():
        return None
    row = json.loads(f.read_text())
    if row.get("max_groups") != MAX_GROUPS or (ck is not None and row.get("backbone") != str(ck.relative_to(ROOT))):
        return None
    return row


def train_missing(ck: Path, tag: str, workers: int) -> None:
    """Fine-tune the variant's missing (fraction, seed) runs through physics_compare.py (its cache, its JSON)."""
    missing = [run_key("finetune", f, s) for f in FRACTIONS for s in SEEDS if load_row(variant(tag), "finetune", f, s, ck) is None]
    if not missing:
        return
    cmd = [sys.executable, str(ROOT / "benchmarks" / "physics_compare.py"), "--name", variant(tag), "--backbone", str(ck.relative_to(ROOT)),
           "--max-groups", str(MAX_GROUPS), "--seeds", *map(str, SEEDS), "--workers", str(workers), "--rerun", *missing]
    print(f"[{tag}] training {len(missing)} few-shot runs", flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def spearman(x, y) -> float | None:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic) if len(x) >= 3 else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report-only", action="store_true", help="train nothing: report the cached few-shot runs")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from hepjepa.train.rank import rank_checkpoints

    t0 = time.time()
    val = sorted((ROOT / "data" / "bench").glob("val_*.root"))
    if len(val) != 10:
        raise FileNotFoundError(f"expected data/bench/val_<class>.root for the ten classes, found {len(val)}; run benchmarks/make_bench_data.sh")
    found = sorted(RUNS.glob("backbone_top*/checkpoint.pt"))
    # every pretraining run that finished its schedule (RankResult.complete); an unfinished one is not comparable
    ranks = {Path(r.checkpoint): r for r in (rank_checkpoints(found, val, JETS_PER_FILE, MAX_GROUPS) if found else []) if r.complete}
    cks = sorted(ranks)
    if not cks:
        raise FileNotFoundError(f"no finished pretraining run under {RUNS}/backbone_top*; run benchmarks/pretrain_variant_backbone.py")
    if not a.report_only:
        for ck in cks:
            train_missing(ck, run_tag(ck.parent), a.workers)
    scratch = {(f, s): load_row(SCRATCH_VARIANT, "scratch", f, s, None) for f in FRACTIONS for s in SEEDS}
    if any(v is None for v in scratch.values()):
        raise FileNotFoundError(f"scratch rows of variant {SCRATCH_VARIANT} (24 groups, seeds {SEEDS}) missing; run it with physics_compare.py")
    runs = []
    for ck in cks:
        tag = run_tag(ck.parent)
        fam, seed = family_seed(tag)
        r = ranks[ck]
        log = json.loads((ck.parent / "log.json").read_text()) if (ck.parent / "log.json").is_file() else []
        row = {"run": tag, "family": fam, "pretrain_seed": seed, "checkpoint": str(ck.relative_to(ROOT)), "effective_rank": r.effective_rank,
               "final_loss": r.final_loss, "log_rank_last_5pct": float(np.mean([x["effective_rank"] for x in log[-max(1, len(log) // 20):]])) if log else None,
               "pretrain_steps": r.step, "fewshot": {}}
        for f in FRACTIONS:
            ft = [load_row(variant(tag), "finetune", f, s, ck) for s in SEEDS]
            if any(x is None for x in ft):
                row["fewshot"][f"{f:g}"] = None
                continue
            d_acc = np.array([x["accuracy"] - scratch[f, s]["accuracy"] for x, s in zip(ft, SEEDS)])
            d_auc = np.array([x["auc"] - scratch[f, s]["auc"] for x, s in zip(ft, SEEDS)])
            row["fewshot"][f"{f:g}"] = {
                "accuracy_mean": float(np.mean([x["accuracy"] for x in ft])), "auc_mean": float(np.mean([x["auc"] for x in ft])),
                "gain_accuracy_points": 100 * float(d_acc.mean()), "gain_accuracy_sem": 100 * float(d_acc.std(ddof=1) / np.sqrt(len(d_acc))),
                "gain_auc": float(d_auc.mean()), "gain_auc_sem": float(d_auc.std(ddof=1) / np.sqrt(len(d_auc)))}
        runs.append(row)
    done = [r for r in runs if all(r["fewshot"][f"{f:g}"] for f in FRACTIONS)]

    def gain(r, f):
        return r["fewshot"][f"{f:g}"]["gain_accuracy_points"]

    families = {}
    for fam in sorted({r["family"] for r in done}):
        rs = sorted((r for r in done if r["family"] == fam), key=lambda r: r["pretrain_seed"])
        if len(rs) < 2:
            continue
        sel = max(rs, key=lambda r: r["effective_rank"])
        # the final JEPA loss both ways: lowest (what one would naively keep) and highest (a partly
        # collapsed run predicts its targets too easily, so a low loss is a warning sign here)
        low_loss, high_loss = min(rs, key=lambda r: r["final_loss"]), max(rs, key=lambda r: r["final_loss"])
        families[fam] = {"runs": [r["run"] for r in rs], "selected_by_rank": sel["run"], "selected_by_lowest_loss": low_loss["run"],
                         "selected_by_highest_loss": high_loss["run"], **{
            f"{f:g}": {"gain_selected_by_rank": gain(sel, f), "gain_lowest_loss": gain(low_loss, f), "gain_highest_loss": gain(high_loss, f),
                       "gain_random_pick_mean": float(np.mean([gain(r, f) for r in rs])), "gain_best_in_hindsight": max(gain(r, f) for r in rs),
                       "gain_worst": min(gain(r, f) for r in rs), "spearman_rank_gain": spearman([r["effective_rank"] for r in rs], [gain(r, f) for r in rs])}
            for f in FRACTIONS}}
    corr = {f"{f:g}": {"spearman_rank_gain_all_runs": spearman([r["effective_rank"] for r in done], [gain(r, f) for r in done]),
                       "spearman_loss_gain_all_runs": spearman([r["final_loss"] for r in done], [gain(r, f) for r in done])} for f in FRACTIONS}
    out = {
        "question": "does the effective rank of held-out embeddings (no labels) pick the pretraining run that fine-tunes best with few labels?",
        "rank_measure": {"jets": "data/bench val, 200 per class, ten classes", "n_jets": next(iter(ranks.values())).n_jets, "max_groups": MAX_GROUPS,
                         "embedding": "Tagger.embed: mean and max over the target encoder's tokens (2 x embed_dim)", "code": "hepjepa.train.rank"},
        "fewshot_task": {"task": "top vs QCD (data/bench)", "fractions": list(FRACTIONS), "seeds": list(SEEDS), "max_groups": MAX_GROUPS,
                         "reference": f"scratch rows of physics_compare variant {SCRATCH_VARIANT}, paired by seed",
                         "gain": "JEPA fine-tuned minus scratch accuracy in points, mean and standard error over the 10 seeds"},
        "runs": runs, "families": families, "correlations": corr,
        "n_runs_without_fewshot": len(runs) - len(done), "wall_s": time.time() - t0, "machine": machine(),
    }
    path = write_json("backbone_selection", out)
    _plots.backbone_selection(out, path.with_suffix(".png"))
    for r in sorted(runs, key=lambda r: -r["effective_rank"]):
        g = "  ".join(f"{f:g}: {gain(r, f):+5.1f}" if r in done else "" for f in FRACTIONS)
        print(f"{r['run']:<16} rank {r['effective_rank']:6.1f}  loss {r['final_loss']:.3f}  gain (points) {g}")
    print(json.dumps({"families": families, "correlations": corr}, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
