"""Few-shot benchmark (issue 4): scratch vs JEPA frozen vs JEPA fine-tuned at several label fractions.

Data (``benchmarks/make_bench_data.sh``, JetClass ROOT layout): the ten-class set data/bench and the
large top-vs-QCD set data/bench_top (10000 + 10000 training jets, 1000 + 1000 val, 2500 + 2500 test;
the header of make_bench_data.sh has its command).

1. Pretrain a backbone self-supervised on every unlabelled training jet (:func:`unlabelled_files`:
   data/bench's ten classes plus data/bench_top's training jets, labels unused) with
   ``hepjepa pretrain --config benchmarks/configs/fewshot_pretrain.yaml`` (skipped when ``--backbone``
   names an existing checkpoint, or when the run folder already holds a finished one).
2. Top (Tbqq) vs QCD on data/bench_top: a stratified label fraction of the 20000 training jets
   chosen by ``hepjepa.downstream.splits.stratified_fraction`` with the run seed (0.1 % = 20 jets,
   1 % = 200); val = the val files (early stopping on val loss, best-val weights kept); test = the
   5000 test jets. (The quick mode uses a slice of data/bench instead.)
3. For every fraction x seed x mode (scratch = same architecture, random init; frozen; finetune)
   train a class-attention tagger with ``hepjepa.downstream.finetune`` under the same budget
   (batch size, max epochs, patience) per fraction, and score the test set.
4. Diagnostics: a linear probe (logistic regression on pooled embeddings) of the pretrained
   backbone vs the same backbone at random init, and the pretraining collapse monitors.

The pretraining recipe (``fewshot_pretrain.yaml``) was chosen with ``benchmarks/pretrain_sweep.py``
on the val jets only (``results/pretrain_sweep.json``).

Writes benchmarks/results/fewshot[_quick].json (per mode/fraction: accuracy, AUC, 1/eB at
eS=0.5 and 0.3, mean and std over seeds, and every run) and fewshot[_quick].png. Runs are
cached (one JSON per run under the work folder), so an interrupted run continues.

    python benchmarks/fewshot.py --quick      # a few minutes on 2 CPU cores
    python benchmarks/fewshot.py              # the full run (numbers in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _plots  # noqa: E402
from _common import ROOT, machine, write_json  # noqa: E402

PY = sys.executable
BENCH = ROOT / "data" / "bench"
TOP = ROOT / "data" / "bench_top"
CLASSES = ("qcd", "tbqq", "tbl", "wqq", "zqq", "hbb", "hcc", "hgg", "h4q", "hqql")
PRETRAIN_CONFIG = ROOT / "benchmarks" / "configs" / "fewshot_pretrain.yaml"
MODES = ("scratch", "frozen", "finetune")
#: Label fractions and seeds shared with the issue-6 peer comparison: keep them.
FRACTIONS = (0.005, 0.01, 0.05, 0.2, 1.0)
SEEDS = (0, 1, 2)

#: Training budget per label fraction, the same for every mode: (batch size, max epochs, patience).
#: Small fractions get small batches and many epochs (a 30-jet epoch is 2 steps); patience counts
#: epochs without a val-loss improvement.
BUDGET = {0.005: (16, 150, 30), 0.01: (16, 100, 25), 0.05: (32, 60, 15), 0.2: (64, 25, 6), 1.0: (64, 12, 4)}
QUICK_BUDGET = {0.01: (16, 20, 10), 1.0: (64, 3, 3)}
#: The same on data/bench_top's 20000 training jets (0.1 % = 20 jets ... 100 %): fewer epochs where
#: an epoch is long, so the 100 % runs cost minutes, not an hour, on one core.
TOP_FRACTIONS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.2, 1.0)
TOP_BUDGET = {0.0005: (8, 150, 30), 0.001: (16, 150, 30), 0.005: (16, 100, 20), 0.01: (32, 80, 15), 0.05: (64, 40, 8), 0.2: (64, 15, 4), 1.0: (128, 6, 2)}

#: The pretraining recipe: fewshot_pretrain.yaml + these overrides, the variant ("four_targets_ctx60")
#: with the best val-set linear probe at 20 / 100 / 200 labels in benchmarks/ablations.py.
RECIPE = ["masks.n_targets=4", "masks.context_scale=[0.5, 0.7]"]
FULL_PRETRAIN_STEPS = 6000

SETTINGS = {
    "quick": {"data": BENCH, "fractions": [0.01, 1.0], "seeds": [0, 1], "budget": QUICK_BUDGET, "pretrain_steps": 100, "max_jets": 600, "max_eval_jets": 200},
    # 5 seeds where a run sees at most 200 labelled jets: the draw of 10-200 jets moves the
    # accuracy by several points, more than the effect measured (decided before those runs)
    "full": {"data": TOP, "fractions": list(TOP_FRACTIONS), "seeds": list(SEEDS), "low_fraction_seeds": [0, 1, 2, 3, 4], "budget": TOP_BUDGET, "pretrain_steps": FULL_PRETRAIN_STEPS, "max_jets": None, "max_eval_jets": None},
}

#: Fine-tuning hyper-parameters, chosen on the val set (never the test set): on data/bench at 1%
#: labels, backbone_lr_scale 1.0 / layer_decay 1.0 (val acc 0.841) beat 0.3 / 0.75 (0.818).
FT = {"lr": 1e-3, "backbone_lr_scale": 1.0, "layer_decay": 1.0, "weight_decay": 0.01, "head": "class_attention"}
#: At fractions <= 1 % (the long, small-batch budgets) fine-tuning starts with 10 head-only
#: epochs (LP-FT): on data/bench_top's val jets (``--val-sweep``, 3 seeds) it scored 0.867 / 0.869
#: at 0.1 % / 0.5 % against 0.829 / 0.877 without (mean 0.868 vs 0.853; backbone lr x0.3: 0.852,
#: x0.1: 0.850). The plain-FT runs of those fractions are kept in runs_ft_plain and reported.
FT_FEW = {**FT, "head_warmup_epochs": 10}
#: Where the runs of earlier fine-tuning hyper-parameters are kept (reported, not summarised).
PREVIOUS_FT = {"runs_ft_lr0.3_ld0.75": {"backbone_lr_scale": 0.3, "layer_decay": 0.75}, "runs_ft_plain": {"head_warmup_epochs": 0}}


def ft_for(frac: float) -> dict:
    """The fine-tuning hyper-parameters of a label fraction: FT_FEW at <= 1 %, else FT."""
    return FT_FEW if frac <= 0.01 else FT


def sh(cmd: list[str], log: list[str]) -> None:
    """Run a command, record it in ``log``, fail loudly."""
    log.append(shlex.join(cmd))
    print("+", log[-1], flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def bench_files(split: str, classes=CLASSES, root: Path | None = None) -> list[str]:
    """<root>/<split>_<class>.root for ``classes`` (root: data/bench); raise if one is missing."""
    out = [Path(root or BENCH) / f"{split}_{c}.root" for c in classes]
    missing = [str(p) for p in out if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"bench data missing {missing}; run `bash benchmarks/make_bench_data.sh` first (see its header for data/bench_top)")
    return [str(p) for p in out]


def unlabelled_files(quick: bool = False) -> list[str]:
    """Pretraining jets: data/bench's ten classes plus data/bench_top's training jets (full mode, when generated)."""
    files = bench_files("train")
    top = [str(TOP / f"train_{c}.root") for c in ("qcd", "tbqq")]
    return files if quick else files + [f for f in top if Path(f).is_file()]


def pretrain(out_dir: Path, log: list[str], steps: int | None = None, overrides: list[str] = (), config: Path = PRETRAIN_CONFIG,
             threads: int = 1) -> Path:
    """Pretrain (``threads`` torch threads, default 1) unless ``out_dir/checkpoint.pt`` is complete; resume a partial one.

    Returns:
        The checkpoint path.
    """
    import torch

    ck = out_dir / "checkpoint.pt"
    sets = [f"run.out_dir={out_dir}", *overrides]
    if steps:
        sets += [f"optim.total_steps={steps}", f"optim.warmup_steps={max(1, steps // 20)}"]
    resume = []
    if ck.is_file():
        blob = torch.load(ck, map_location="cpu", weights_only=False)
        if blob["step"] >= blob["config"]["optim"]["total_steps"]:
            return ck
        resume = ["--resume"]
    # In this process with 1 torch thread: on the loaded 2-core machine the same run as a
    # `hepjepa pretrain` subprocess was measured 10-15x slower in CPU time (cause not found).
    from hepjepa.train.pretrain import load_config
    from hepjepa.train.pretrain import pretrain as run_pretrain

    log.append(shlex.join(["hepjepa", "pretrain", "--config", str(config), *resume, "--set", *sets]) + f"  # run in-process, torch.set_num_threads({threads})")
    print("+", log[-1], flush=True)
    torch.set_num_threads(threads)
    run_pretrain(load_config(config, sets), resume=bool(resume))
    return ck


def pretrain_summary(ck: Path) -> dict:
    """Recipe + collapse monitors of a pretraining checkpoint (loss, target std, effective rank)."""
    import torch

    blob = torch.load(ck, map_location="cpu", weights_only=False)
    rows = blob["log"]
    pick = sorted({0, len(rows) // 4, len(rows) // 2, 3 * len(rows) // 4, len(rows) - 1})
    return {"checkpoint": str(ck.relative_to(ROOT)) if ck.is_relative_to(ROOT) else str(ck), "step": blob["step"], "config": blob["config"],
            "monitors": [{k: rows[i][k] for k in ("step", "loss", "target_std", "effective_rank", "jets_per_s")} for i in pick]}


def load_data(tok_cfg, max_jets: int | None, max_eval_jets: int | None, root: Path = BENCH, splits=("train", "val", "test")) -> dict:
    """Tokenised top-vs-QCD sets of ``root`` (per file at most ``max_jets`` / ``max_eval_jets``), labels 0 = QCD, 1 = Tbqq."""
    from hepjepa.downstream.finetune import load_labelled_tokens, remap_labels
    from hepjepa.labels import JETCLASS_LABELS

    data = {}
    for split in splits:
        cap = max_jets if split == "train" else max_eval_jets
        parts = [load_labelled_tokens([f], tok_cfg, cap) for f in bench_files(split, ("qcd", "tbqq"), root)]
        from hepjepa.features.tokenize import Tokens

        tok = Tokens.concat([p[0] for p in parts], pad_to_groups=tok_cfg.max_groups)
        lab = np.concatenate([p[1] for p in parts])
        data[split] = (tok, remap_labels(lab, [JETCLASS_LABELS.index("label_QCD"), JETCLASS_LABELS.index("label_Tbqq")]))
    return data


def run_one(ck_blob: dict, mode: str, frac: float, seed: int, budget: tuple[int, int, int], data: dict, ft: dict = FT) -> dict:
    """Train one tagger (mode, fraction, seed) and score it on the test set."""
    import torch

    from hepjepa.downstream.finetune import FinetuneConfig, finetune, predict
    from hepjepa.downstream.metrics import accuracy, background_rejection, one_vs_rest_auc
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.downstream.tagger import build_tagger

    torch.set_num_threads(1)
    (tr, ytr), (va, yva), (te, yte) = data["train"], data["val"], data["test"]
    sel = stratified_fraction(ytr, frac, seed=seed)
    bs, epochs, patience = budget
    cfg = FinetuneConfig(mode=mode, head=ft["head"], label_fraction=frac, epochs=epochs, batch_size=bs, lr=ft["lr"], patience=patience, seed=seed,
                         backbone_lr_scale=ft["backbone_lr_scale"], layer_decay=ft["layer_decay"], weight_decay=ft["weight_decay"],
                         head_warmup_epochs=ft.get("head_warmup_epochs", 0))
    tagger = build_tagger(ck_blob["backbone_config"], {"kind": ft["head"]}, ["label_QCD", "label_Tbqq"], ck_blob["tokenizer"], mode=mode,
                          backbone_state=None if mode == "scratch" else ck_blob["state"], seed=seed)
    t0 = time.process_time()
    hist = finetune(tagger, tr[sel], ytr[sel], va, yva, cfg, progress=False)
    cpu = time.process_time() - t0
    p = predict(tagger, te)
    return {"mode": mode, "fraction": frac, "seed": seed, "n_train": int(len(sel)), "accuracy": accuracy(p, yte), "auc": one_vs_rest_auc(p, yte)[1],
            "rej50": background_rejection(p, yte, 1, 0, 0.5), "rej30": background_rejection(p, yte, 1, 0, 0.3),
            "best_epoch": hist["best_epoch"], "epochs_run": len(hist["val_loss"]), "best_val_loss": hist["best_val_loss"],
            "val_accuracy": accuracy(predict(tagger, va), yva), "cpu_s": cpu, "ft": dict(ft)}


def backbone_blob(ck: Path) -> dict:
    """Backbone config, weights and tokenizer config of a pretraining checkpoint."""
    from hepjepa.model.checkpoint import load_backbone, load_checkpoint
    from hepjepa.model.config import to_dict

    bb = load_backbone(ck)
    cfg = load_checkpoint(ck)["config"]
    return {"backbone_config": to_dict(bb.config), "state": bb.state_dict(), "tokenizer": cfg["data"]["tokenizer"]}


def linear_probes(blob: dict, data: dict, fractions, seeds) -> list[dict]:
    """Logistic regression on pooled embeddings: pretrained backbone vs the same one at random init."""
    import torch

    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.probe import linear_probe
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.downstream.tagger import build_tagger

    rows = []
    for init in ("pretrained", "random"):
        tagger = build_tagger(blob["backbone_config"], {"kind": "linear"}, ["label_QCD", "label_Tbqq"], blob["tokenizer"],
                              mode="frozen" if init == "pretrained" else "scratch", backbone_state=blob["state"] if init == "pretrained" else None, seed=0)
        with torch.no_grad():
            emb = {k: predict(tagger, data[k][0], embeddings=True) for k in ("train", "test")}
        for frac in fractions:
            for seed in seeds:
                sel = stratified_fraction(data["train"][1], frac, seed=seed)
                r = linear_probe(emb["train"][sel], data["train"][1][sel], emb["test"], data["test"][1], seed=seed)
                rows.append({"init": init, "fraction": frac, "seed": seed, "accuracy": r["accuracy"], "auc": r["auc"][1]})
    return rows


def summarise(rows: list[dict], keys: tuple[str, ...], metrics=("accuracy", "auc", "rej50", "rej30")) -> list[dict]:
    """Mean and sample std over seeds of each metric for each group of ``keys``."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for k, rs in groups.items():
        row = {**dict(zip(keys, k)), "n_seeds": len(rs)}
        for m in metrics:
            if m not in rs[0]:
                continue
            v = np.array([r[m] for r in rs], dtype=np.float64)
            row[f"{m}_mean"] = float(v.mean())
            row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        out.append(row)
    return out


def seeds_for(s: dict, frac: float) -> list[int]:
    """The seeds of a fraction: ``low_fraction_seeds`` at fractions <= 1 %, else ``seeds``."""
    return s["low_fraction_seeds"] if frac <= 0.01 and "low_fraction_seeds" in s else s["seeds"]


def run_grid(blob: dict, data: dict, s: dict, cache: Path, workers: int, modes=MODES, tag: str = "") -> list[dict]:
    """Every (fraction, seed, mode) run, cached as JSON under ``cache``; ``workers`` processes."""
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(m, f, sd) for f in s["fractions"] for sd in seeds_for(s, f) for m in modes]
    todo = [j for j in jobs if not (cache / _key(*j, tag)).is_file()]
    print(f"{len(jobs)} runs, {len(todo)} to do", flush=True)
    global _G
    _G = (blob, data, s, cache, tag)
    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap_unordered(_job, todo):
                print(_fmt(r), flush=True)
    else:
        for j in todo:
            print(_fmt(_job(j)), flush=True)
    return [json.loads((cache / _key(*j, tag)).read_text()) for j in jobs]


_G: tuple = ()


def _key(mode: str, frac: float, seed: int, tag: str = "") -> str:
    return f"{tag}{mode}_f{frac:g}_s{seed}.json"


def _job(j: tuple) -> dict:
    import torch

    from hepjepa.atomic import atomic_path

    torch.set_num_threads(1)
    blob, data, s, cache, tag = _G
    mode, frac, seed = j
    r = run_one(blob, mode, frac, seed, s["budget"][frac], data, ft_for(frac))
    with atomic_path(cache / _key(mode, frac, seed, tag)) as tmp:
        Path(tmp).write_text(json.dumps(r, indent=1))
    return r


def _fmt(r: dict) -> str:
    return (f"{r['mode']:>8} f={r['fraction']:<6g} seed={r['seed']} n={r['n_train']:<5} acc={r['accuracy']:.4f} auc={r['auc']:.4f} "
            f"1/eB@0.5={r['rej50']:.1f} epochs={r['epochs_run']} cpu={r['cpu_s']:.0f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small run for a functional check (minutes on 2 cores)")
    ap.add_argument("--backbone", default=None, help="use this pretraining checkpoint instead of pretraining one")
    ap.add_argument("--work", default=None, help="working folder (default data/bench_runs/fewshot[_quick])")
    ap.add_argument("--workers", type=int, default=2, help="fine-tuning processes (1 thread each)")
    ap.add_argument("--no-probe", action="store_true", help="skip the linear-probe diagnostic")
    ap.add_argument("--fractions", nargs="+", type=float, default=None, help="run only these of the setting's fractions and write no JSON")
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES,
                    help="run only these modes and write no JSON (e.g. scratch, which needs only the backbone's architecture, while pretraining runs)")
    ap.add_argument("--val-sweep", action="store_true", help="only run the val-set sweep of the fine-tuning settings FT_SWEEP (how FT was chosen)")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    name = "quick" if a.quick else "full"
    s = SETTINGS[name]
    work = Path(a.work) if a.work else ROOT / "data" / "bench_runs" / f"fewshot{'_quick' if a.quick else ''}"
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    t0 = time.time()
    if a.backbone:
        ck = Path(a.backbone)
    else:
        ck = pretrain(work / "backbone" if a.quick else ROOT / "data" / "bench_runs" / "backbone_top", log, s["pretrain_steps"],
                      [f"data.train={json.dumps(unlabelled_files(a.quick))}", *RECIPE])
    from hepjepa.features import TokenizerConfig

    blob = backbone_blob(ck)
    data = load_data(TokenizerConfig.from_dict(blob["tokenizer"]), s["max_jets"], s["max_eval_jets"], root=s["data"])
    if a.val_sweep:
        return val_sweep(blob, data, work / "ft_sweep_val.json", s["budget"], work / "runs")
    log.append(f"{shlex.join([PY, *sys.argv])}  # in-process fine-tuning + evaluation of every run below")
    if a.fractions:
        bad = sorted(set(a.fractions) - set(s["fractions"]))
        if bad:
            raise SystemExit(f"--fractions {bad}: expected a subset of {s['fractions']}")
    rows = run_grid(blob, data, dict(s, fractions=a.fractions or s["fractions"]), work / "runs", a.workers, modes=tuple(a.modes))
    if set(a.modes) != set(MODES) or a.fractions:
        return 0
    probes = [] if a.no_probe else linear_probes(blob, data, s["fractions"], s["seeds"])
    summary = summarise(rows, ("mode", "fraction"))
    gain = _gain(summary)
    out = {"mode": name, "task": "top (Tbqq) vs QCD", "data": {k: [str(Path(f).relative_to(ROOT)) for f in bench_files(k, ("qcd", "tbqq"), s["data"])] for k in ("train", "val", "test")},
           "n_jets": {k: int(len(v[1])) for k, v in data.items()}, "fractions": s["fractions"], "seeds": s["seeds"],
           "seeds_per_fraction": {str(f): seeds_for(s, f) for f in s["fractions"]},
           "budget_per_fraction": {str(f): dict(zip(("batch_size", "max_epochs", "patience"), s["budget"][f])) for f in s["fractions"]},
           "finetune_hparams": FT, "finetune_hparams_at_le_1pct": FT_FEW, "pretraining": pretrain_summary(ck), "commands": log, "command_history": _history(), "summary": summary,
           "finetune_minus_scratch_accuracy": gain, "goal_4_points_at_le_1pct": {str(f): g["mean"] >= 0.04 for f, g in gain.items() if f <= 0.01},
           "linear_probe": summarise(probes, ("init", "fraction"), ("accuracy", "auc")) if probes else [], "linear_probe_runs": probes,
           "runs": rows, "total_cpu_s_finetune": float(sum(r["cpu_s"] for r in rows)), "wall_s_this_invocation": time.time() - t0,
           "machine": {**machine(), "loadavg": os.getloadavg(), "torch": torch.__version__,
                       "note": "2-core machine, two or three experiment processes at once; fine-tunes ran with 1 torch thread each"}}
    out["finetune_minus_scratch_accuracy"] = {str(k): v for k, v in gain.items()}
    prev = {}
    for folder, hp in PREVIOUS_FT.items():
        runs = [json.loads(f.read_text()) for f in sorted((work / folder).glob("*.json"))]
        if runs:
            prev[folder] = {"hparams": hp, "summary": summarise(runs, ("mode", "fraction")), "runs": runs}
    sweep = work / "ft_sweep_val.json"
    out["finetune_hparam_selection"] = {"previous_runs": prev, "val_sweep": json.loads(sweep.read_text()) if sweep.is_file() else None,
                                        "val_sweep_summary": summarise(json.loads(sweep.read_text()), ("setting", "fraction"), ("val_accuracy",)) if sweep.is_file() else None,
                                        "sweep_command": f"python benchmarks/fewshot.py --backbone {_rel(ck)} --work {_rel(work)} --val-sweep (val accuracy only)"}
    path = write_json(f"fewshot{'_quick' if a.quick else ''}", out)
    _plots.plot_fewshot(summary, path.with_suffix(".png"), group_key="mode", order=MODES, metrics=("accuracy", "auc"),
                        xlabel=f"label fraction of the {out['n_jets']['train']} top/QCD training jets", legend_title="top vs QCD, mean ± std over seeds")
    _table(summary)
    print(f"wrote {path}")
    return 0


#: Fine-tuning settings tried on the VAL jets (``--val-sweep``), as overrides of FT.
FT_SWEEP = {"current": {}, "backbone_lr_0.3": {"backbone_lr_scale": 0.3}, "backbone_lr_0.1": {"backbone_lr_scale": 0.1},
            "lp_ft_10": {"head_warmup_epochs": 10}}


def val_sweep(blob: dict, data: dict, out: Path, budget: dict, cache: Path, fractions=(0.001, 0.005)) -> int:
    """Fine-tune with each FT_SWEEP setting at ``fractions``, 3 seeds; report VAL accuracy only (test unused).

    "current" is read from the grid's cached runs (``cache``) when they exist. Writes ``out`` (JSON
    list of runs) and prints the mean val accuracy of each setting and fraction.
    """
    from hepjepa.atomic import atomic_path

    rows = json.loads(out.read_text()) if out.is_file() else []
    done = {(r["setting"], r["fraction"], r["seed"]) for r in rows}
    for frac in fractions:
        for name, over in FT_SWEEP.items():
            for seed in SEEDS:
                if (name, frac, seed) in done:
                    continue
                cached = cache / _key("finetune", frac, seed)
                r = json.loads(cached.read_text()) if name == "current" and cached.is_file() else run_one(blob, "finetune", frac, seed, budget[frac], data, dict(FT, **over))
                rows.append({"setting": name, "overrides": over, "fraction": frac, "seed": seed, "val_accuracy": r["val_accuracy"], "best_val_loss": r["best_val_loss"]})
                with atomic_path(out) as tmp:
                    Path(tmp).write_text(json.dumps(rows, indent=1))
            vals = [r["val_accuracy"] for r in rows if r["setting"] == name and r["fraction"] == frac]
            print(f"f={frac:g} {name:>16}: val acc {np.mean(vals):.4f} +- {np.std(vals, ddof=1):.4f}", flush=True)
    return 0


def _rel(p) -> str:
    p = Path(p).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def _history() -> list[str]:
    """Every command of this work, in order (data/bench_runs/commands.txt, appended by hand and by runs)."""
    f = ROOT / "data" / "bench_runs" / "commands.txt"
    return f.read_text().splitlines() if f.is_file() else []


def _gain(summary: list[dict]) -> dict[float, dict]:
    """Fine-tuned minus scratch mean accuracy per fraction (with the std of the difference of means)."""
    by = {(r["mode"], r["fraction"]): r for r in summary}
    out = {}
    for (mode, f), r in by.items():
        if mode == "finetune" and ("scratch", f) in by:
            sc = by[("scratch", f)]
            se = np.sqrt((r["accuracy_std"] ** 2 + sc["accuracy_std"] ** 2) / max(1, r["n_seeds"]))
            out[f] = {"mean": r["accuracy_mean"] - sc["accuracy_mean"], "stderr": float(se)}
    return out


def _table(summary: list[dict]) -> None:
    print("| mode | " + " | ".join(f"{f:g}" for f in sorted({r["fraction"] for r in summary})) + " |")
    for mode in MODES:
        rs = sorted((r for r in summary if r["mode"] == mode), key=lambda r: r["fraction"])
        print(f"| {mode} | " + " | ".join(f"{r['accuracy_mean']:.3f}±{r['accuracy_std']:.3f} (AUC {r['auc_mean']:.3f})" for r in rs) + " |")


if __name__ == "__main__":
    sys.exit(main())
