"""What every kind of physics variant shares: the bench data, the fine-tuning recipe, pretraining,
the backbone, summaries over seeds, and a cached grid of jobs run in forked worker processes."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import numpy as np

from benchmarks._common import ROOT

BENCH = ROOT / "data" / "bench"
TOP = ROOT / "data" / "bench_top"
RUNS = ROOT / "data" / "bench_runs"
CLASSES = ("qcd", "tbqq", "tbl", "wqq", "zqq", "hbb", "hcc", "hgg", "h4q", "hqql")
PRETRAIN_CONFIG = ROOT / "benchmarks" / "configs" / "fewshot_pretrain.yaml"
#: The pretraining recipe: fewshot_pretrain.yaml + these overrides, the ablation ("four_targets_ctx60")
#: with the best val-set linear probe (benchmarks/variants/ablations.yaml).
RECIPE = ["masks.n_targets=4", "masks.context_scale=[0.5, 0.7]"]
FULL_PRETRAIN_STEPS = 6000
#: Fine-tuning hyper-parameters, chosen on the val set (never the test set): on data/bench at 1%
#: labels, backbone_lr_scale 1.0 / layer_decay 1.0 (val acc 0.841) beat 0.3 / 0.75 (0.818).
FT = {"lr": 1e-3, "backbone_lr_scale": 1.0, "layer_decay": 1.0, "weight_decay": 0.01, "head": "class_attention"}
#: At fractions <= 1 % fine-tuning starts with 10 head-only epochs (LP-FT), chosen by the few-shot
#: variant's val-set sweep (mean val accuracy 0.868 vs 0.853 at 0.1 % / 0.5 %).
FT_FEW = {**FT, "head_warmup_epochs": 10}
#: What a variant's ``ft`` may change, and the type of each value.
FT_KEYS = {"lr": float, "backbone_lr_scale": float, "layer_decay": float, "weight_decay": float, "head_warmup_epochs": int}


def ft_for(frac: float, overrides: dict | None = None) -> dict:
    """Fine-tuning hyper-parameters at a label fraction (FT_FEW at <= 1 %, else FT), with ``overrides`` over them."""
    return {**(FT_FEW if frac <= 0.01 else FT), **(overrides or {})}


def rel(p) -> str:
    """``p`` relative to the repository when inside it (as results record paths)."""
    p = Path(p).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


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


def history() -> list[str]:
    """Every command of this work, in order (data/bench_runs/commands.txt, appended by hand and by runs)."""
    f = RUNS / "commands.txt"
    return f.read_text().splitlines() if f.is_file() else []


def pretrain(out_dir: Path, log: list[str], steps: int | None = None, overrides=(), config: Path = PRETRAIN_CONFIG, threads: int = 1) -> Path:
    """Pretrain in this process (``threads`` torch threads) unless ``out_dir/checkpoint.pt`` is complete;
    resume a partial one. Appends the equivalent ``hepjepa pretrain`` command to ``log``; returns the checkpoint."""
    import torch

    from hepjepa.train.pretrain import load_config
    from hepjepa.train.pretrain import pretrain as run_pretrain

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
    # in-process: on the loaded 2-core machine a `hepjepa pretrain` subprocess was measured 10-15x slower in CPU time
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
    return {"checkpoint": rel(ck), "step": blob["step"], "config": blob["config"],
            "monitors": [{k: rows[i][k] for k in ("step", "loss", "target_std", "effective_rank", "jets_per_s")} for i in pick]}


def backbone_blob(ck: Path, max_groups: int | None = None) -> dict:
    """Backbone config, weights and tokenizer config of a finished pretraining checkpoint (tokenised
    into ``max_groups`` groups when given: the backbone runs on any number)."""
    from hepjepa.model.checkpoint import load_backbone, load_checkpoint
    from hepjepa.model.config import to_dict

    blob = load_checkpoint(ck)
    if blob["step"] < blob["config"]["optim"]["total_steps"]:
        raise RuntimeError(f"{ck} is at step {blob['step']} of {blob['config']['optim']['total_steps']}: pretraining has not finished")
    bb = load_backbone(ck)
    tok = dict(blob["config"]["data"]["tokenizer"])
    if max_groups:
        tok["max_groups"] = int(max_groups)
    return {"backbone_config": to_dict(bb.config), "state": bb.state_dict(), "tokenizer": tok}


def train_jepa(blob: dict, mode: str, frac: float, seed: int, budget, train: tuple, val: tuple, classes: list[str], ft: dict):
    """Build and fine-tune one tagger (scratch, frozen or finetune) on ``train`` = (tokens, labels); returns (tagger, history)."""
    from hepjepa.downstream.finetune import FinetuneConfig, finetune
    from hepjepa.downstream.tagger import build_tagger

    bs, epochs, patience = budget
    cfg = FinetuneConfig(mode=mode, head=ft["head"], label_fraction=frac, epochs=epochs, batch_size=bs, lr=ft["lr"], patience=patience, seed=seed,
                         backbone_lr_scale=ft["backbone_lr_scale"], layer_decay=ft["layer_decay"], weight_decay=ft["weight_decay"],
                         head_warmup_epochs=int(ft.get("head_warmup_epochs", 0)))
    net = build_tagger(blob["backbone_config"], {"kind": ft["head"]}, classes, blob["tokenizer"], mode=mode,
                       backbone_state=None if mode == "scratch" else blob["state"], seed=seed)
    return net, finetune(net, *train, *val, cfg, progress=False)


def linear_probes(blob: dict, data: dict, init: str, fractions, seeds, splits: dict[str, str], **tags) -> list[dict]:
    """Logistic regression on the pooled embeddings of the backbone (``init`` "pretrained", or
    "random": the same architecture at random init): one row per (fraction, seed), with the
    accuracy and AUC on each split of ``splits`` under the key prefix it maps to."""
    import torch

    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.probe import linear_probe
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.downstream.tagger import build_tagger

    pre = init == "pretrained"
    tagger = build_tagger(blob["backbone_config"], {"kind": "linear"}, ["label_QCD", "label_Tbqq"], blob["tokenizer"],
                          mode="frozen" if pre else "scratch", backbone_state=blob["state"] if pre else None, seed=0)
    with torch.no_grad():
        emb = {k: predict(tagger, data[k][0], embeddings=True) for k in ("train", *splits)}
    rows = []
    for frac in fractions:
        for seed in seeds:
            sel = stratified_fraction(data["train"][1], frac, seed=seed)
            row = {**tags, "init": init, **({"eval": "linear_probe"} if "variant" in tags else {}), "fraction": frac, "seed": seed}
            for split, prefix in splits.items():
                r = linear_probe(emb["train"][sel], data["train"][1][sel], emb[split], data[split][1], seed=seed)
                row[f"{prefix}accuracy"], row[f"{prefix}auc"] = r["accuracy"], r["auc"][1]
            rows.append(row)
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


def write_row(path: Path, row) -> None:
    from hepjepa.atomic import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(row, indent=1))


def run_jobs(fn, jobs: list, workers: int) -> None:
    """``fn(job)`` for every job, in ``workers`` forked processes of one torch thread each (every job
    writes its own result to its cache file; nothing is sent back). Raises when a worker failed."""
    import torch

    torch.set_num_threads(1)
    if workers <= 1 or len(jobs) <= 1:
        for j in jobs:
            fn(j)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.SimpleQueue()

    def work():
        while (i := queue.get()) is not None:
            fn(jobs[i])

    procs = [ctx.Process(target=work) for _ in range(min(workers, len(jobs)))]
    for p in procs:
        p.start()
    for i in range(len(jobs)):
        queue.put(i)
    for _ in procs:
        queue.put(None)
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise RuntimeError(f"a grid worker failed (exit codes {[p.exitcode for p in procs]}); the finished runs are cached")


def cpu_time(fn, *args, **kw):
    """(fn(*args, **kw), CPU seconds it took)."""
    t0 = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - t0
