"""Physics comparison (issue 6): JEPA (fine-tuned, frozen), our architecture from scratch, and the
peers ParT and ParticleNet from weaver-core, trained supervised on the same jets with the same budget.

Data: the shared set of ``benchmarks/make_bench_data.sh`` (data/bench, JetClass ROOT layout, its
generator commands in data/bench/commands.txt, copied into the JSON). Tasks:

* ``top``: Tbqq vs QCD (train_{qcd,tbqq}, 3000 jets);
* ``qg``:  quark vs gluon on the QCD files, label = ``aux_qcd_is_quark`` (1 quark, 0 gluon; -1 dropped);
* ``ten``: the ten JetClass-like classes.

Conventions shared with benchmarks/fewshot.py (issue 4): label fractions of the task's training jets,
stratified, chosen by ``hepjepa.downstream.splits.stratified_fraction`` with the run seed; seeds 0, 1, 2;
validation = val files (early stopping on the val loss, best weights kept), test = test files; the same
(batch size, max epochs, patience) for every model at a fraction (BUDGET below). JEPA modes use
MAIN_BACKBONE on MAIN_MAX_GROUPS groups (the pool2 pretraining run of highest effective rank, chosen
without labels by benchmarks/backbone_selection.py; variants default to fewshot.py's backbone_top on
its own 12 groups) and fewshot.py's fine-tuning hyper-parameters of the label fraction (``fewshot.ft_for``: backbone at the head's learning
rate, no layer decay; LP-FT with ten head-only epochs at <= 1 %), chosen there on the val jets; every
JEPA row records them (``ft``) and a cached row made with others counts as missing. When
benchmarks/results/fewshot.json exists with the same conventions and the same backbone, its top-vs-QCD JEPA rows are reused instead of re-running them.

Peers: weaver-core's real ``ParticleTransformer`` / ``ParticleNet`` classes at CPU-sized widths
(``_peers.PEER_CONFIGS``, the same for every task), trained with the same loop (AdamW, warm-up + cosine,
clip 1, early stopping). Inputs from ``_peers.peer_inputs`` (features from hepjepa.features).

ROC curves: every run stores its test ROC as ``roc`` = {signal, background, eff_b}: the background
efficiency at each signal efficiency of the fixed grid ``roc_eff_s`` (ROC_EFF_S, 101 points in [0, 1],
``hepjepa.downstream.metrics.roc_on_grid``: discriminant s_sig / (s_sig + s_bkg), linear
interpolation). Binary tasks: signal = class 1 (Tbqq for top, quark for q/g); ten-class: Tbqq vs QCD
only (the same pair as its rej50/rej30). Runs cached before curves were stored get theirs at report
time from their saved test scores (``scores/<run>.npz``, kept for top vs QCD seed 0) when the scores
reproduce the run's AUC exactly; the others have none and the plots omit them (listed in the JSON's
``roc_curves``).

Writes benchmarks/results/physics_compare[_quick][_NAME].json (every run, mean ± std over seeds per
task x model x fraction, the settings, versions, machine, load average; make_report.py draws the
plots from it) and exports the trained ParT (top vs QCD, 100 %, seed 0) to
data/bench_runs/part_top/model.onnx + preprocess.json. Runs are cached (one JSON per run under the work
folder), so an interrupted run continues, ``--report-only`` rebuilds the outputs from the cache, and
``--rerun RUN ...`` trains the named runs again (replacing their cache; only their tasks are loaded).

A variant is a file, benchmarks/variants/<name>.yaml (name, what, backbone, max_groups, seeds, budget,
ft, train_root, test_root, runs); the main grid is variants/main.yaml. ``--variant FILE`` trains the
file's runs that are not cached and writes physics_compare_<name>.json; the flags --name, --backbone,
--seeds, --budget, --ft, --test-root, --train-root, --max-groups describe a variant the same way.

    python benchmarks/physics_compare.py --quick     # a few minutes on 2 CPU cores
    python benchmarks/physics_compare.py             # the full grid (variants/main.yaml, SETTINGS["full"])
    python benchmarks/physics_compare.py --rerun top_part_f1_s0 --workers 1
    python benchmarks/physics_compare.py --variant benchmarks/variants/seeds10.yaml
    python benchmarks/physics_compare.py --variant benchmarks/variants/epochs30.yaml --report-only
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
import yaml

sys.path.insert(0, str(Path(__file__).parent))
import _peers  # noqa: E402
import fewshot  # noqa: E402
from _common import ROOT, machine, write_json  # noqa: E402

CLASSES = fewshot.CLASSES
PEERS = ("part", "particlenet")
JEPA_MODES = ("finetune", "frozen", "scratch")
MODELS = PEERS + JEPA_MODES
LABELS = {"part": "ParT (weaver, reduced)", "particlenet": "ParticleNet-Lite (weaver)", "finetune": "JEPA fine-tuned",
          "frozen": "JEPA frozen", "scratch": "our arch. from scratch"}
TASKS = {
    "top": {"title": "top (Tbqq) vs QCD", "files": ("qcd", "tbqq"), "classes": ["label_QCD", "label_Tbqq"]},
    "qg": {"title": "quark vs gluon (QCD files, aux_qcd_is_quark)", "files": ("qcd",), "classes": ["gluon", "quark"]},
    "ten": {"title": "ten-class JetClass-like", "files": CLASSES, "classes": None},
}
#: The (batch size, max epochs, patience) of each fraction, fewshot.py's BUDGET as of commit 8ec5d79.
BUDGET = {0.005: (16, 150, 30), 0.01: (16, 100, 25), 0.05: (32, 60, 15), 0.2: (64, 25, 6), 1.0: (64, 12, 4)}
#: ``--ft KEY=VALUE`` overrides of a variant (read by the forked workers).
FT_OVERRIDES: dict = {}
#: The settings of this invocation (with a variant's --seeds / --budget), for the cache checks.
_SETTINGS_NOW: dict = {}
#: What ``--ft KEY=VALUE`` may change for a variant, and the type of each value.
FT_KEYS = {"lr": float, "backbone_lr_scale": float, "layer_decay": float, "weight_decay": float, "head_warmup_epochs": int}


#: The main grid's JEPA recipe (benchmarks/variants/main.yaml): the pool2 pretraining run of highest
#: effective rank (benchmarks/backbone_selection.py, `hepjepa rank`), tokenised into 24 groups instead
#: of the pretraining's 12. ``--name`` variants given by flags default to VARIANT_DEFAULT_BACKBONE on
#: the backbone's own groups, so their recorded commands still describe them.
_MAIN = yaml.safe_load((ROOT / "benchmarks" / "variants" / "main.yaml").read_text())
MAIN_BACKBONE, MAIN_MAX_GROUPS = _MAIN["backbone"], _MAIN["max_groups"]
VARIANT_DEFAULT_BACKBONE = "data/bench_runs/backbone_top/checkpoint.pt"


def ft_for(frac: float, overrides: dict | None = None) -> dict:
    """Fine-tuning hyper-parameters of the JEPA modes at a label fraction: fewshot.py's, plus a variant's ``ft`` overrides."""
    return {**fewshot.ft_for(frac), **(FT_OVERRIDES if overrides is None else overrides)}

#: Signal efficiencies at which every run's ROC curve is stored (101 points: compact in the JSON,
#: and linear interpolation between 1 %-spaced points is invisible on a 1/eB plot).
ROC_EFF_S = np.linspace(0.0, 1.0, 101)
#: Why the grid is smaller than "every fraction for every task": the whole full run must fit about
#: an hour of CPU on a 2-core machine shared with five other jobs (see the JSON's "budget_note").
SETTINGS = {
    "quick": {"fractions": {"top": [0.01, 1.0], "qg": [1.0], "ten": [0.05]}, "seeds": [0], "budget": {0.01: (16, 15, 6), 0.05: (32, 4, 3), 1.0: (64, 3, 3)},
              "max_train_per_file": 150, "max_eval_per_file": 60},
    "full": {"fractions": {"top": list(fewshot.FRACTIONS), "qg": [0.01, 1.0], "ten": [0.01, 0.05]}, "seeds": list(fewshot.SEEDS), "budget": BUDGET,
             "max_train_per_file": None, "max_eval_per_file": None, "max_val_per_file_ten": 50},
}


def load_task(task: str, tok_cfg, s: dict) -> dict:
    """Read the task's jets once; return per split (tokens, peer inputs, local labels).

    Raises:
        ValueError: a split holds a single class (the metrics need two).
    """
    import awkward as ak

    from hepjepa.data import read_jets
    from hepjepa.features import tokenize
    from hepjepa.features.tokenize import Tokens
    from hepjepa.labels import JETCLASS_LABELS

    spec = TASKS[task]
    out = {}
    for split in ("train", "val", "test"):
        cap = s["max_train_per_file"] if split == "train" else s["max_eval_per_file"]
        if task == "ten" and split == "val" and s.get("max_val_per_file_ten"):
            cap = s["max_val_per_file_ten"]
        toks, peer, labs = [], [], []
        root = fewshot.BENCH
        if split == "test" and s.get("test_root"):
            root = ROOT / s["test_root"]
        elif split != "test" and s.get("train_root"):
            root = ROOT / s["train_root"]
        for f in fewshot.bench_files(split, spec["files"], root=root):
            jets = read_jets(f, max_jets=cap)
            if task == "qg":
                if "aux_qcd_is_quark" not in jets.fields:
                    raise ValueError(f"{f} has no aux_qcd_is_quark branch; expected our generator's JetClass files")
                y = ak.to_numpy(jets["aux_qcd_is_quark"]).astype(np.int64)
                keep = y >= 0
                jets, y = jets[keep], y[keep]
            else:
                y = np.asarray(jets["label"], np.int64)
                if task == "top":
                    y = (y == JETCLASS_LABELS.index("label_Tbqq")).astype(np.int64)
            toks.append(tokenize(jets, tok_cfg, allow_missing=True))
            peer.append(_peers.peer_inputs(jets))
            labs.append(y)
        y = np.concatenate(labs)
        if len(np.unique(y)) < 2:
            raise ValueError(f"task {task} split {split}: labels {np.unique(y)}; expected at least two classes")
        out[split] = (Tokens.concat(toks, pad_to_groups=tok_cfg.max_groups), {k: np.concatenate([p[k] for p in peer]) for k in _peers.PEER_INPUTS}, y)
    return out


def metrics(p: np.ndarray, y: np.ndarray, task: str) -> dict:
    """accuracy, AUC, 1/eB at eS = 50 % and 30 %. Binary: class 1 vs class 0. Ten-class: macro
    one-vs-rest AUC; rejections of Tbqq vs QCD (discriminant s_T / (s_T + s_QCD)), and per class vs QCD."""
    from hepjepa.downstream.metrics import accuracy, background_rejection, one_vs_rest_auc
    from hepjepa.labels import JETCLASS_LABELS

    auc = one_vs_rest_auc(p, y)
    if task != "ten":
        return {"accuracy": accuracy(p, y), "auc": auc[1], "rej50": background_rejection(p, y, 1, 0, 0.5), "rej30": background_rejection(p, y, 1, 0, 0.3)}
    t = JETCLASS_LABELS.index("label_Tbqq")
    return {"accuracy": accuracy(p, y), "auc": float(np.mean(list(auc.values()))), "rej50": background_rejection(p, y, t, 0, 0.5),
            "rej30": background_rejection(p, y, t, 0, 0.3),
            "rej50_vs_qcd": {JETCLASS_LABELS[c]: background_rejection(p, y, c, 0, 0.5) for c in range(1, p.shape[1])}}


def roc_curve(p: np.ndarray, y: np.ndarray, task: str) -> dict:
    """The run's compact ROC: background efficiency at each signal efficiency of ROC_EFF_S.

    Binary tasks: class 1 (the task's positive class) vs class 0. Ten-class: Tbqq vs QCD with the
    discriminant s_T / (s_T + s_QCD), the same pair as the ten-class rej50/rej30.

    Returns:
        {"signal": class name, "background": class name, "eff_b": [P floats, rounded to 1e-6]}.
    """
    from hepjepa.downstream.metrics import roc_on_grid
    from hepjepa.labels import JETCLASS_LABELS

    if task == "ten":
        sig, bkg, names = JETCLASS_LABELS.index("label_Tbqq"), 0, list(JETCLASS_LABELS)
    else:
        sig, bkg, names = 1, 0, TASKS[task]["classes"]
    eb = roc_on_grid(p, y, sig, bkg, ROC_EFF_S)
    return {"signal": names[sig], "background": names[bkg], "eff_b": [round(float(v), 6) for v in eb]}


def run_one(task: str, model: str, frac: float, seed: int, budget: tuple[int, int, int], data: dict, blob: dict, save: Path | None = None) -> tuple[dict, np.ndarray]:
    """Train one model on one (task, fraction, seed) and score the test set.

    Returns:
        (row, test scores (N, C)).
    """
    import torch

    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.labels import JETCLASS_LABELS

    torch.set_num_threads(1)
    (tr_t, tr_p, ytr), (va_t, va_p, yva), (te_t, te_p, yte) = data["train"], data["val"], data["test"]
    classes = TASKS[task]["classes"] or list(JETCLASS_LABELS)
    sel = stratified_fraction(ytr, frac, seed=seed)
    bs, epochs, patience = budget
    t0 = time.process_time()
    if model in PEERS:
        net = _peers.build_peer(model, len(classes), seed=seed)
        hist = _peers.train_peer(net, {k: v[sel] for k, v in tr_p.items()}, ytr[sel], va_p, yva, epochs, bs, patience, seed, lr=fewshot.FT["lr"],
                                 weight_decay=fewshot.FT["weight_decay"])
        p = _peers.predict_peer(net, te_p)
        n_params = sum(q.numel() for q in net.parameters())
        if save is not None:
            from hepjepa.atomic import atomic_path

            save.mkdir(parents=True, exist_ok=True)
            with atomic_path(save / "model.pt") as tmp:
                torch.save({"kind": model, "config": net.config, "n_classes": len(classes), "classes": classes, "state": net.state_dict()}, tmp)
    else:
        from hepjepa.downstream.finetune import FinetuneConfig, finetune, predict
        from hepjepa.downstream.tagger import build_tagger

        ft = ft_for(frac)
        cfg = FinetuneConfig(mode=model, head=ft["head"], label_fraction=frac, epochs=epochs, batch_size=bs, lr=ft["lr"], patience=patience, seed=seed,
                             backbone_lr_scale=ft["backbone_lr_scale"], layer_decay=ft["layer_decay"], weight_decay=ft["weight_decay"],
                             head_warmup_epochs=int(ft.get("head_warmup_epochs", 0)))
        net = build_tagger(blob["backbone_config"], {"kind": ft["head"]}, classes, blob["tokenizer"], mode=model,
                           backbone_state=None if model == "scratch" else blob["state"], seed=seed)
        hist = finetune(net, tr_t[sel], ytr[sel], va_t, yva, cfg, progress=False)
        p = predict(net, te_t)
        n_params = sum(q.numel() for q in net.parameters())
    cpu = time.process_time() - t0
    row = {"task": task, "model": model, "fraction": frac, "seed": seed, "n_train": int(len(sel)), **metrics(p, yte, task),
           "best_epoch": hist["best_epoch"], "epochs_run": len(hist["val_loss"]), "best_val_loss": hist["best_val_loss"], "n_params": int(n_params), "cpu_s": cpu,
           "roc": roc_curve(p, yte, task)}
    row["budget"] = list(budget)
    for k in ("test_root", "train_root"):
        if _SETTINGS_NOW.get(k):
            row[k] = _SETTINGS_NOW[k]
    if model in JEPA_MODES and _SETTINGS_NOW.get("max_groups"):
        row["max_groups"] = int(_SETTINGS_NOW["max_groups"])
    if model in JEPA_MODES:
        row["ft"] = dict(ft)
    return row, p


# ---------------------------------------------------------------- grid over (task, model, fraction, seed)

_G: tuple = ()


def _key(task: str, model: str, frac: float, seed: int) -> str:
    return f"{task}_{model}_f{frac:g}_s{seed}"


def _stale(job: tuple, row: dict, s: dict | None = None) -> str | None:
    """Why a cached row no longer describes this job (a JEPA row made with other fine-tuning
    hyper-parameters than ft_for gives now, or a row of any model trained with another (batch size,
    max epochs, patience) than the grid's; rows from before rows recorded it were made with their
    grid's), or None when it does."""
    s = _SETTINGS_NOW if s is None else s  # default: this invocation's settings (inherited by the forked workers)
    ft = ft_for(job[2], s.get("ft"))
    for key, verb in (("test_root", "tested"), ("train_root", "trained")):
        if s and row.get(key) != s.get(key):
            return f"{verb} on {row.get(key) or 'data/bench'}, not {s.get(key) or 'data/bench'}"
    if s and "budget" in row and job[2] in s["budget"] and list(row["budget"]) != list(s["budget"][job[2]]):
        return f"trained with budget {row.get('budget')}, not {list(s['budget'][job[2]])}"
    if s and job[1] in JEPA_MODES and row.get("max_groups") != s.get("max_groups"):
        def groups(g):
            return f"{g} groups" if g else "the backbone's groups"

        return f"tokenised into {groups(row.get('max_groups'))}, not {groups(s.get('max_groups'))}"
    if s and job[1] in ("finetune", "frozen") and s.get("backbone") and row.get("backbone") != s["backbone"]:
        return f"fine-tuned from {row.get('backbone')}, not {s['backbone']}"
    if job[1] in JEPA_MODES and row.get("ft") != ft:
        return f"fine-tuned with {row.get('ft', 'the pre-2026-11-23 FT (backbone_lr_scale 0.3, layer_decay 0.75)')}, not {ft}"
    return None


def _cached(job: tuple, work: Path, move_stale: bool = False) -> dict | None:
    """The cached row of ``job`` under ``work/runs``, or None when there is none or it is stale (with
    ``move_stale``, as before training, a stale row is moved to ``work/runs/replaced/``)."""
    f = work / "runs" / f"{_key(*job)}.json"
    if not f.is_file():
        return None
    row = json.loads(f.read_text())
    if _stale(job, row):
        if not move_stale:
            return None
        (work / "runs" / "replaced").mkdir(parents=True, exist_ok=True)
        os.replace(f, work / "runs" / "replaced" / f.name)
        return None
    return row


def _job(j: tuple) -> dict:
    import torch

    from hepjepa.atomic import atomic_path

    torch.set_num_threads(1)
    datas, ck, s, work, part_dir = _G
    task, model, frac, seed = j
    blob = None if model in PEERS else _backbone(ck)
    save = part_dir if j == ("top", "part", 1.0, 0) else None
    row, p = run_one(task, model, frac, seed, s["budget"][frac], datas[task], blob, save=save)
    if model in ("finetune", "frozen"):
        row["backbone"] = _rel(ck)  # the pretrained weights this row fine-tuned (scratch and peers use none)
    if task == "top" and seed == 0:
        # test scores of seed 0 for the ROC figure (labels stored with them)
        with atomic_path(work / "scores" / f"{_key(*j)}.npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, scores=p, labels=datas[task]["test"][2])
    with atomic_path(work / "runs" / f"{_key(*j)}.json") as tmp:
        Path(tmp).write_text(json.dumps(row, indent=1))
    return row


_BLOB: dict = {}


def _backbone(ck: Path, poll_s: float = 30.0, max_wait_s: float = 3600.0) -> dict:
    """The JEPA backbone (config, weights, tokenizer) once its pretraining has finished.

    fewshot.py may still be pretraining it when this grid starts; the peers run meanwhile, and
    a JEPA job waits here (polling) rather than fine-tuning a half-trained backbone.
    """
    import torch

    if "blob" not in _BLOB:
        t0 = time.time()
        while True:
            ckpt = torch.load(ck, map_location="cpu", weights_only=False)
            if ckpt["step"] >= ckpt["config"]["optim"]["total_steps"]:
                break
            if time.time() - t0 > max_wait_s:
                raise TimeoutError(f"{ck} is at step {ckpt['step']} of {ckpt['config']['optim']['total_steps']} after {max_wait_s:.0f} s of waiting")
            print(f"waiting for {ck}: step {ckpt['step']}/{ckpt['config']['optim']['total_steps']}", flush=True)
            time.sleep(poll_s)
        _BLOB["blob"] = fewshot.backbone_blob(ck)
        _BLOB["blob"]["tokenizer"] = jepa_tokenizer(_BLOB["blob"]["tokenizer"], _SETTINGS_NOW)
        _BLOB["step"] = int(ckpt["step"])
    return _BLOB["blob"]


def jepa_tokenizer(pretrained: dict, s: dict) -> dict:
    """The tokeniser config the JEPA modes run with: the backbone's, with a variant's --max-groups over it."""
    return {**pretrained, "max_groups": int(s["max_groups"])} if s.get("max_groups") else dict(pretrained)


def _own_data(s: dict) -> bool:
    """Whether a variant trains or tests on other jets than data/bench (fewshot.json's rows are then not reusable)."""
    return bool(s.get("test_root") or s.get("train_root"))


def job_list(s: dict, skip_top_jepa: bool) -> list[tuple]:
    """All runs, most informative first, so an interrupted grid still answers the main questions:
    top vs QCD at 100 % and 1 % labels, q/g, ten-class at its first fraction, the other top
    fractions, the other ten-class fractions."""
    jobs = []
    fr = s["fractions"]
    top_models = PEERS if skip_top_jepa else MODELS

    def block(task: str, fracs, models) -> list[tuple]:
        # peers first within a block: they need no backbone, which fewshot.py may still be pretraining
        return [(task, m, f, sd) for f in fracs if f in fr[task] for sd in s["seeds"] for m in sorted(models, key=lambda m: m not in PEERS)]

    jobs += block("top", (1.0, 0.01), top_models)
    jobs += block("qg", fr["qg"], MODELS)
    jobs += block("ten", fr["ten"][:1], MODELS)
    jobs += block("top", [f for f in fr["top"] if f not in (1.0, 0.01)], top_models)
    jobs += block("ten", fr["ten"][1:], MODELS)
    return jobs


def run_grid(jobs: list[tuple], datas: dict, ck: Path, s: dict, work: Path, part_dir: Path, workers: int) -> None:
    """Run every job not yet cached under ``work/runs`` with ``workers`` processes (1 thread each);
    the top-vs-QCD ParT of seed 0 at 100 % is saved to ``part_dir/model.pt`` for the ONNX export."""
    (work / "runs").mkdir(parents=True, exist_ok=True)
    (work / "scores").mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs if _cached(j, work, move_stale=True) is None]
    print(f"{len(jobs)} runs, {len(todo)} to do", flush=True)
    global _G
    _G = (datas, ck, s, work, part_dir)
    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(_job, todo):
                print(_fmt(r), flush=True)
    else:
        for j in todo:
            print(_fmt(_job(j)), flush=True)


def _fmt(r: dict) -> str:
    return (f"{r['task']:>3} {r['model']:>11} f={r['fraction']:<6g} seed={r['seed']} n={r['n_train']:<5} acc={r['accuracy']:.4f} auc={r['auc']:.4f} "
            f"1/eB@0.5={r['rej50']:.1f} epochs={r['epochs_run']} cpu={r['cpu_s']:.0f}s")


# ---------------------------------------------------------------- JEPA top rows of fewshot.json

def reusable_fewshot(s: dict, ck: Path, name: str) -> dict | None:
    """benchmarks/results/fewshot[_quick].json if its conventions match ours (fractions, seeds, budget,
    data files, fine-tuning hyper-parameters, backbone checkpoint), else None."""
    path = ROOT / "benchmarks" / "results" / f"fewshot{'_quick' if name == 'quick' else ''}.json"
    if not path.is_file():
        return None
    fs = json.loads(path.read_text())
    want_budget = {str(f): dict(zip(("batch_size", "max_epochs", "patience"), s["budget"][f])) for f in s["fractions"]["top"]}
    ok = (fs.get("fractions") == s["fractions"]["top"] and fs.get("seeds") == s["seeds"] and fs.get("budget_per_fraction") == want_budget
          and fs.get("finetune_hparams") == fewshot.FT and fs.get("finetune_hparams_at_le_1pct") == fewshot.FT_FEW and not FT_OVERRIDES and fs.get("pretraining", {}).get("checkpoint") == _rel(ck)
          and fs.get("n_jets", {}).get("train") == 3000 and not s.get("max_groups"))  # fewshot.py tokenises into the backbone's groups
    return fs if ok else None


def _fewshot_consistency(fs: dict, work: Path) -> list[dict]:
    """fewshot.json top rows that differ from our own cached run of the same (mode, fraction, seed)."""
    out = []
    for r in fs["runs"]:
        f = work / "runs" / f"{_key('top', r['mode'], r['fraction'], r['seed'])}.json"
        if f.is_file():
            own = json.loads(f.read_text())
            if abs(own["accuracy"] - r["accuracy"]) > 1e-9 or abs(own["auc"] - r["auc"]) > 1e-9:
                out.append({"run": _key("top", r["mode"], r["fraction"], r["seed"]), "fewshot_json": {"accuracy": r["accuracy"], "auc": r["auc"]},
                            "physics_compare": {"accuracy": own["accuracy"], "auc": own["auc"]}})
    return out


def _rel(p: Path) -> str:
    p = Path(p).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


# ---------------------------------------------------------------- report

def collect(jobs: list[tuple], work: Path, fs: dict | None) -> tuple[list[dict], list[tuple]]:
    """Cached rows of ``jobs`` (+ fewshot.json's top JEPA rows when given); also the missing jobs.

    A cached row without a ROC curve (run before curves were stored) gets one from its saved test
    scores when they exist and reproduce the row's AUC (see :func:`_curve_from_scores`)."""
    rows, missing = [], []
    for j in jobs:
        cached = _cached(j, work)
        if cached is not None:
            row = {**cached, "source": "physics_compare"}
            if "roc" not in row:
                row.update(_curve_from_scores(row, work))
            rows.append(row)
        else:
            missing.append(j)
    if fs is not None:
        rows += [{"task": "top", "model": r["mode"], **{k: v for k, v in r.items() if k != "mode"}, "source": "fewshot.json"} for r in fs["runs"]]
    return rows, missing


def _curve_from_scores(row: dict, work: Path) -> dict:
    """{"roc", "roc_from"} from ``work/scores/<run>.npz``, or {"roc_missing": why}.

    The npz is written by the same job as the run JSON, but a later re-run of one of them alone
    would make them disagree: the curve is used only when the scores give the row's AUC back to
    1e-9, so a plotted curve always belongs to the numbers in the table."""
    key = _key(row["task"], row["model"], row["fraction"], row["seed"])
    f = work / "scores" / f"{key}.npz"
    if not f.is_file():
        return {"roc_missing": "run cached before ROC curves were stored; no saved test scores (kept only for top vs QCD seed 0)"}
    z = np.load(f)
    p, y = z["scores"], z["labels"]
    auc = metrics(p, y, row["task"])["auc"]
    if abs(auc - row["auc"]) > 1e-9:
        return {"roc_missing": f"saved scores {f.name} give AUC {auc:.6f}, the run {row['auc']:.6f}: not the same run"}
    return {"roc": roc_curve(p, y, row["task"]), "roc_from": f"scores/{f.name} (test scores saved by the run; curve computed at report time)"}


VARIANTS = ROOT / "benchmarks" / "variants"
#: What a variant file (benchmarks/variants/<name>.yaml) may set; the command-line flags set the same.
VARIANT_KEYS = ("name", "what", "backbone", "max_groups", "seeds", "budget", "ft", "train_root", "test_root", "runs")


def load_variant(path: Path) -> dict:
    """A variant file: YAML with VARIANT_KEYS (paths relative to the repository).

    Raises:
        ValueError: an unknown key, or no backbone.
    """
    v = yaml.safe_load(Path(path).read_text()) or {}
    bad = sorted(set(v) - set(VARIANT_KEYS))
    if bad or "backbone" not in v:
        raise ValueError(f"{path}: unknown keys {bad}" if bad else f"{path}: a variant names its backbone")
    return v


def check_variant(v: dict, flag: str = "") -> None:
    """Raises ValueError when a variant's values cannot describe a grid (named as keys, or with
    ``flag="--"`` as the command-line flags that set them)."""
    seeds = v.get("seeds")
    if seeds is not None and (len(set(seeds)) != len(seeds) or min(seeds) < 0):
        raise ValueError(f"{flag}seeds must be distinct non-negative integers, got {seeds}")
    for k in v.get("ft") or {}:
        if k not in FT_KEYS:
            raise ValueError(f"{flag}ft {k!r}: expected one of {', '.join(FT_KEYS)}")
    for f, b in (v.get("budget") or {}).items():
        if float(f) not in BUDGET or len(b) != 3 or min(int(x) for x in b) < 1:
            raise ValueError(f"{flag}budget {f}: {b}: expected FRAC one of {', '.join(f'{x:g}' for x in BUDGET)} and three positive integers")
    if v.get("max_groups") is not None and int(v["max_groups"]) < 1:
        raise ValueError(f"{flag}{'max-groups' if flag else 'max_groups'} must be a positive integer, got {v['max_groups']}")
    name = v.get("name")
    if name is not None and not str(name).replace("_", "").isalnum():
        raise ValueError(f"{flag}name must be letters, digits and '_' (it becomes part of a file name), got {name!r}")


def settings(v: dict, quick: bool = False) -> dict:
    """The grid's settings under variant ``v``: SETTINGS with the variant's seeds, budget, data,
    groups, backbone and fine-tuning overrides (``ft``) over them."""
    s = dict(SETTINGS["quick" if quick else "full"])
    if v.get("seeds") is not None:
        s["seeds"] = [int(x) for x in v["seeds"]]
    if v.get("budget"):
        s["budget"] = {**s["budget"], **{float(f): tuple(int(x) for x in b) for f, b in v["budget"].items()}}
    for key in ("test_root", "train_root"):
        if v.get(key):
            s[key] = str(v[key])
    if v.get("max_groups") is not None:
        s["max_groups"] = int(v["max_groups"])
    s["backbone"] = str(v["backbone"])
    s["ft"] = {k: FT_KEYS[k](x) for k, x in (v.get("ft") or {}).items()}
    return s


def variant_runs(v: dict, s: dict) -> list[str] | None:
    """The runs a variant consists of, or None (no ``runs``): the whole grid. ``runs`` is a list of
    blocks ``{task, models, fractions[, seeds]}``, each the product of its models, fractions and
    seeds (the grid's seeds unless the block names its own)."""
    if not v.get("runs"):
        return None
    return [_key(b.get("task", "top"), m, float(f), int(sd)) for b in v["runs"] for f in b["fractions"]
            for sd in b.get("seeds", s["seeds"]) for m in b["models"]]


def recorded(s: dict) -> dict:
    """The settings as the results JSON records them."""
    return {"fractions": s["fractions"], "seeds": s["seeds"], "test_root": s.get("test_root") or "data/bench",
            "train_root": s.get("train_root") or "data/bench", "max_groups": s.get("max_groups"),
            "budget_per_fraction": {str(f): dict(zip(("batch_size", "max_epochs", "patience"), b)) for f, b in s["budget"].items()}}


def parse_args(argv=None) -> tuple[argparse.Namespace, dict]:
    """The command line and the variant it runs: ``--variant FILE``, or the flags (--name ... --seeds),
    or, with neither, the main grid (benchmarks/variants/main.yaml)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small functional run (minutes on 2 cores)")
    ap.add_argument("--variant", type=Path, default=None, metavar="FILE",
                    help="a variant file (benchmarks/variants/<name>.yaml: name, backbone, data, budget, groups, seeds, ft, runs); "
                         "trains its runs that are not cached and writes physics_compare_<name>.json")
    ap.add_argument("--backbone", default=None, help=f"JEPA pretraining checkpoint (default: {MAIN_BACKBONE} for the main grid, "
                                                     f"{VARIANT_DEFAULT_BACKBONE} for a variant)")
    ap.add_argument("--work", default=None, help="working folder (default data/bench_runs/physics[_quick])")
    ap.add_argument("--workers", type=int, default=2, help="training processes (1 torch thread each)")
    ap.add_argument("--report-only", action="store_true", help="no training: write JSON/plots/ONNX from the cached runs")
    ap.add_argument("--run-top-jepa", action="store_true", help="run the top-vs-QCD JEPA modes even when fewshot.json could be reused")
    ap.add_argument("--rerun", nargs="+", default=[], metavar="RUN",
                    help="train these runs again (names as in missing_runs / the cache, e.g. top_part_f1_s0), replacing their cached "
                         "results; the old run JSON is kept under runs/replaced/. Nothing else is trained.")
    ap.add_argument("--name", default=None, metavar="SUFFIX",
                    help="a variant of the comparison (e.g. with another --backbone): writes physics_compare_SUFFIX.json and its "
                         "plots, work folder data/bench_runs/physics_SUFFIX, so the main results are left alone")
    ap.add_argument("--ft", nargs="+", default=[], metavar="KEY=VALUE",
                    help=f"fine-tuning hyper-parameters of a variant's JEPA runs, over fewshot.ft_for (needs --name): {', '.join(FT_KEYS)}")
    ap.add_argument("--budget", nargs="+", default=[], metavar="FRAC=BATCH,EPOCHS,PATIENCE",
                    help="a variant's (batch size, max epochs, patience) at a label fraction, the same for every model (needs --name), "
                         "e.g. 1=64,30,8")
    ap.add_argument("--test-root", default=None, metavar="DIR",
                    help="a variant's test jets: DIR/test_<class>.root instead of data/bench's (needs --name), e.g. data/bench_top "
                         "(5000 top/QCD jets, disjoint seeds) for a top-vs-QCD comparison less limited by the 1000 test jets")
    ap.add_argument("--train-root", default=None, metavar="DIR",
                    help="a variant's training and validation jets: DIR/{train,val}_<class>.root instead of data/bench's (needs "
                         "--name), e.g. data/bench_top (20000 / 2000 top/QCD jets) for a comparison with more labels; top task only "
                         "unless DIR holds every class")
    ap.add_argument("--max-groups", type=int, default=None, metavar="G",
                    help="a variant's JEPA modes tokenise jets into at most G groups instead of the backbone's pretraining "
                         "value (needs --name): the backbone runs on any number of groups, so this asks whether covering more "
                         "of each jet at fine-tuning time helps a backbone pretrained on fewer")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                    help="the seeds of a variant's grid (needs --name), e.g. 0 ... 9 with --rerun of the extra ones for a tighter comparison")
    a = ap.parse_args(argv)
    if a.rerun and a.report_only:
        ap.error("--rerun trains runs; it cannot be combined with --report-only")
    flags = {"name": a.name, "backbone": a.backbone, "seeds": a.seeds, "ft": a.ft, "budget": a.budget, "test_root": a.test_root,
             "train_root": a.train_root, "max_groups": a.max_groups}
    if a.variant is not None:
        given = [k for k, x in flags.items() if x not in (None, [])]
        if given:
            ap.error(f"--variant sets the grid; it cannot be combined with {', '.join('--' + k.replace('_', '-') for k in given)}")
        try:
            v = load_variant(a.variant)
            check_variant(v)
        except (OSError, ValueError, TypeError) as e:
            ap.error(f"--variant {a.variant}: {e}")
        return a, v
    if not a.name:
        for k in ("seeds", "ft", "budget", "test_root", "train_root", "max_groups"):
            if flags[k] not in (None, []):
                what = {"test_root": "the test set", "train_root": "the training set", "max_groups": "the JEPA models' inputs"}.get(k, "the grid")
                ap.error(f"--{k.replace('_', '-')} changes {what}: give the variant a --name or a --variant file "
                         "(the main grid is benchmarks/variants/main.yaml)")
        v = load_variant(VARIANTS / "main.yaml")
        if a.backbone:
            v = {**v, "backbone": _rel(Path(a.backbone))}
        return a, v
    v = {"name": a.name, "backbone": _rel(Path(a.backbone or ROOT / VARIANT_DEFAULT_BACKBONE))}
    if a.seeds is not None:
        v["seeds"] = list(a.seeds)
    if a.max_groups is not None:
        v["max_groups"] = a.max_groups
    for key in ("test_root", "train_root"):
        if flags[key]:
            v[key] = _rel(Path(flags[key]))  # relative to the repository when inside it, as rows record it
    ft = {}
    for kv in a.ft:
        k, sep, x = kv.partition("=")
        try:
            if not sep:
                raise ValueError(kv)
            ft[k] = FT_KEYS[k](x)
        except (KeyError, ValueError):
            ap.error(f"--ft {kv!r}: expected KEY=VALUE with KEY one of {', '.join(FT_KEYS)} and a number")
    if ft:
        v["ft"] = ft
    budget = {}
    for kv in a.budget:
        f, sep, x = kv.partition("=")
        try:
            frac, vals = float(f), [int(y) for y in x.split(",")]
            if not sep or len(vals) != 3 or min(vals) < 1 or frac not in BUDGET:
                raise ValueError(kv)
        except ValueError:
            ap.error(f"--budget {kv!r}: expected FRAC=BATCH,EPOCHS,PATIENCE with FRAC one of {', '.join(f'{y:g}' for y in BUDGET)} "
                     "and three positive integers")
        budget[frac] = vals
    if budget:
        v["budget"] = budget
    try:
        check_variant(v, flag="--")
    except ValueError as e:
        ap.error(str(e))
    return a, v


def main(argv=None) -> int:
    a, v = parse_args(argv)
    import torch

    from hepjepa.atomic import atomic_path

    torch.set_num_threads(1)
    _peers.require_weaver()
    name = "quick" if a.quick else "full"
    vname = v.get("name")
    s = settings(v, a.quick)
    ck = ROOT / s["backbone"]
    if not ck.is_file():
        raise FileNotFoundError(f"JEPA backbone {ck} not found; make it with benchmarks/pretrain_variant_backbone.py (see its docstring) or pass --backbone")
    _SETTINGS_NOW.update(s)
    FT_OVERRIDES.update(s["ft"])
    suffix = ("_quick" if a.quick else "") + (f"_{vname}" if vname else "")
    work = Path(a.work) if a.work else ROOT / "data" / "bench_runs" / f"physics{suffix}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    # every invocation on this work folder, oldest first (a --report-only run alone would not say how the runs were made)
    with open(work / "commands.txt", "a") as f:
        f.write(shlex.join([sys.executable, *sys.argv]) + "\n")
    commands = (work / "commands.txt").read_text().splitlines()
    fs = None if a.run_top_jepa or _own_data(s) else reusable_fewshot(s, ck, name)
    jobs = job_list(s, skip_top_jepa=fs is not None)
    from hepjepa.features import TokenizerConfig
    from hepjepa.model.checkpoint import load_checkpoint

    tok_cfg = TokenizerConfig.from_dict(jepa_tokenizer(load_checkpoint(ck)["config"]["data"]["tokenizer"], s))
    n_jets = json.loads((work / "n_jets.json").read_text()) if (work / "n_jets.json").is_file() else {}
    own = variant_runs(v, s)
    if a.rerun:
        run_jobs = _rerun_jobs(a.rerun, job_list(s, skip_top_jepa=False), work)
    elif own is not None:  # a variant file's runs: those not cached are trained
        run_jobs = [j for j in job_list(s, skip_top_jepa=False) if _key(*j) in set(own)]
    else:
        run_jobs = jobs
    if not a.report_only:
        datas = {t: load_task(t, tok_cfg, s) for t in TASKS if any(j[0] == t for j in run_jobs)}
        n_jets.update({t: {k: int(len(v[2])) for k, v in d.items()} for t, d in datas.items()})
        with atomic_path(work / "n_jets.json") as tmp:
            Path(tmp).write_text(json.dumps(n_jets))
        run_grid(run_jobs, datas, ck, s, work, _part_dir(work, name, vname), a.workers)
    fs = fs or (None if a.run_top_jepa or _own_data(s) else reusable_fewshot(s, ck, name))
    fs_check = _fewshot_consistency(fs, work) if fs is not None else []
    if fs_check:
        # the same (mode, fraction, seed) must give the same numbers under the same conventions;
        # when it does not, fewshot.json's rows were made otherwise and our own runs are used
        fs = None
        jobs = job_list(s, skip_top_jepa=False)
    if fs is not None:
        jobs = [j for j in jobs if not (j[0] == "top" and j[1] in JEPA_MODES)]
    rows, missing = collect(jobs, work, fs)
    summary = fewshot.summarise(rows, ("task", "model", "fraction"))
    roc_info = {"eff_s": "roc_eff_s (101 points); each run's roc.eff_b is eB at those eS",
                "with_curve": [_key(r["task"], r["model"], r["fraction"], r["seed"]) + (" (from saved scores)" if "roc_from" in r else "")
                               for r in rows if "roc" in r],
                "without_curve": {_key(r["task"], r["model"], r["fraction"], r["seed"]): r.get("roc_missing", "no curve stored")
                                  for r in rows if "roc" not in r}}
    try:
        onnx_info = _export_part(work, name, vname)
    except Exception as e:  # recorded in the JSON and re-raised after the results are written
        onnx_info, export_error = {"error": f"{type(e).__name__}: {e}"}, e
    else:
        export_error = None
    goals = _goals(summary)
    out = {
        "mode": name, "tasks": {t: v["title"] for t, v in TASKS.items()}, "models": LABELS,
        **recorded(s),
        "budget_note": ("top vs QCD runs every shared fraction; q/g and ten-class use fewer fractions, and the ten-class validation set is "
                        "capped at 50 jets per class, so that the whole grid fits about an hour of CPU on a 2-core machine shared with "
                        "five other engineers' jobs. Same (batch size, max epochs, patience) for every model at a fraction."),
        "peer_models": {k: {"reduced": {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in v.items()},
                            "published": {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in _peers.PUBLISHED_CONFIGS[k].items()}}
                        for k, v in _peers.PEER_CONFIGS.items()},
        "peer_inputs": {"names": list(_peers.PEER_INPUTS), "pf_features": list(_peers.PF_FEATURES), "max_particles": 128,
                        "note": "ParT's 17 particle features minus d0, d0err, dz, dzerr: the generator has no tracking/impact parameters"},
        "peer_training": {"optimizer": "AdamW", "lr": fewshot.FT["lr"], "weight_decay": fewshot.FT["weight_decay"], "schedule": "5% linear warm-up + cosine",
                          "grad_clip": 1.0, "early_stopping": "val loss, best weights kept"},
        "jepa": {"finetune_hparams": ft_for(1.0), "finetune_hparams_at_le_1pct": ft_for(0.01), "ft_overrides": FT_OVERRIDES, "backbone": _rel(ck),
                 # the backbone's pretraining config (rebuilds it with `hepjepa pretrain`) and monitors
                 "pretraining": fewshot.pretrain_summary(ck),
                 "top_jepa_rows_from": "benchmarks/results/fewshot.json" if fs else "this script",
                 "fewshot_json_mismatches": fs_check},
        "data": {"folder": "data/bench", "generator_commands": (ROOT / "data" / "bench" / "commands.txt").read_text().splitlines()},
        "n_jets": n_jets, "commands": commands,
        "summary": summary, "goals": goals, "onnx_part_top": onnx_info,
        "roc_eff_s": [round(float(v), 6) for v in ROC_EFF_S], "roc_curves": roc_info,
        "status": "complete" if not missing else (
            f"variant: {len(jobs) - len(missing)} of the grid's {len(jobs)} runs, the ones trained with --rerun; missing_runs lists the rest"
            if vname else f"partial: {len(jobs) - len(missing)} of {len(jobs)} runs done; the grid (ordered most "
                           "informative first) was stopped at the deadline, missing_runs lists the rest"),
        "missing_runs": [_key(*j) for j in missing], "runs": rows,
        "total_cpu_s": float(sum(r["cpu_s"] for r in rows)), "wall_s_this_invocation": time.time() - t0,
        "machine": {**machine(), "loadavg": os.getloadavg(), "torch": torch.__version__, "weaver_core": _version("weaver-core"),
                    "note": "no GPU; 2 cores; every run used 1 torch thread"
                            + ("; rows with 'restored' were run on an earlier machine (its load in its JSON at 489ac0d), so their "
                               "cpu_s is not comparable with the others'" if any("restored" in r for r in rows) else "")},
    }
    if vname:
        out["variant"] = vname
    path = write_json(f"physics_compare{suffix}", out)
    _table(summary)
    print(json.dumps(goals, indent=1))
    print(f"wrote {path} ({len(missing)} runs missing)")
    if export_error is not None:
        raise RuntimeError("ONNX export of the top-vs-QCD ParT failed (results above were written)") from export_error
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _goals(summary: list[dict]) -> dict:
    """Issue-6 goals: fine-tuned JEPA AUC >= ParT AUC on top vs QCD (100 %), and fine-tuned minus
    scratch accuracy >= 4 points at label fractions <= 1 %."""
    by = {(r["task"], r["model"], r["fraction"]): r for r in summary}
    out = {}
    ft, pt = by.get(("top", "finetune", 1.0)), by.get(("top", "part", 1.0))
    if ft and pt:
        diff = ft["auc_mean"] - pt["auc_mean"]
        # standard error of the difference of two means over independent seeds
        se = float(np.sqrt(ft.get("auc_std", 0.0) ** 2 / ft["n_seeds"] + pt.get("auc_std", 0.0) ** 2 / pt["n_seeds"]))
        out["top_auc_finetune_vs_part_100pct"] = {"finetune": ft["auc_mean"], "part": pt["auc_mean"], "difference": diff,
                                                  "difference_stderr": se, "met": ft["auc_mean"] >= pt["auc_mean"]}
    for (task, model, f), r in by.items():
        if task == "top" and model == "finetune" and f <= 0.01 and ("top", "scratch", f) in by:
            d = r["accuracy_mean"] - by[("top", "scratch", f)]["accuracy_mean"]
            out[f"top_finetune_minus_scratch_accuracy_f{f:g}"] = {"delta": d, "met": d >= 0.04}
    return out


def _part_dir(work: Path, name: str, variant: str | None = None) -> Path:
    """data/bench_runs/part_top for the main full run (the speed benchmarks read it), else under ``work``."""
    return ROOT / "data" / "bench_runs" / "part_top" if name == "full" and not variant else work / "part_top"


def _export_part(work: Path, name: str, variant: str | None = None) -> dict | None:
    """ONNX export of the saved top-vs-QCD ParT (seed 0, 100 %) with a preprocess.json."""
    import torch

    from hepjepa.atomic import atomic_path

    d = _part_dir(work, name, variant)
    if not (d / "model.pt").is_file():
        return None
    blob = torch.load(d / "model.pt", map_location="cpu", weights_only=False)
    model = _peers.build_peer(blob["kind"], blob["n_classes"], config=blob["config"])
    model.load_state_dict(blob["state"])
    from hepjepa.data import read_jets

    sample = _peers.peer_inputs(read_jets(fewshot.bench_files("test", ("tbqq",))[0], max_jets=64))
    info = _peers.export_peer_onnx(model, d / "model.onnx", blob["n_classes"], sample)
    dims = {"pf_points": 2, "pf_features": len(_peers.PF_FEATURES), "pf_vectors": 4, "pf_mask": 1}
    # the graph's own inputs (ParT does not read pf_points, so the exporter drops it)
    pre = {"input_names": info["input_names"], "input_shapes": [[-1, dims[k], -1] for k in info["input_names"]],
           "output_names": ["scores"], "output_shapes": {"scores": [-1, blob["n_classes"]]}, "flav_names": ["probQCD", "probTbqq"],
           "class_labels": blob["classes"], "pf_features": list(_peers.PF_FEATURES), "max_particles": 128, "model": blob["kind"],
           "model_config": {k: list(v) if isinstance(v, tuple) else v for k, v in blob["config"].items()}, "opset": 18,
           "note": "particles pT-ordered, masks 1 = real; inputs from benchmarks/_peers.py peer_inputs()"}
    with atomic_path(d / "preprocess.json") as tmp:
        Path(tmp).write_text(json.dumps(pre, indent=2))
    return {"path": _rel(d / "model.onnx"), **info}


def _table(summary: list[dict]) -> None:
    for task in TASKS:
        fr = sorted({r["fraction"] for r in summary if r["task"] == task})
        if not fr:
            continue
        print(f"\n{TASKS[task]['title']}: accuracy ± std (AUC ± std)")
        print("| model | " + " | ".join(f"{f:g}" for f in fr) + " |")
        for m in MODELS:
            cells = {r["fraction"]: r for r in summary if r["task"] == task and r["model"] == m}
            if cells:
                print(f"| {m} | " + " | ".join(f"{c['accuracy_mean']:.3f}±{c['accuracy_std']:.3f} ({c['auc_mean']:.3f}±{c['auc_std']:.3f})" if (c := cells.get(f)) else "-"
                                              for f in fr) + " |")


def _rerun_jobs(names: list[str], jobs: list[tuple], work: Path) -> list[tuple]:
    """The jobs named in ``names``; their cached run JSONs are moved to ``work/runs/replaced/``.

    Raises:
        KeyError: a name that is not a run of this grid (the closest one is suggested).
    """
    by = {_key(*j): j for j in jobs}
    out = []
    for n in names:
        if n not in by:
            import difflib

            close = difflib.get_close_matches(n, list(by), n=1)
            raise KeyError(f"--rerun {n!r} is not a run of this grid" + (f"; did you mean {close[0]!r}?" if close else f"; runs look like {next(iter(by))!r}"))
        out.append(by[n])
    for j in out:
        f = work / "runs" / f"{_key(*j)}.json"
        if f.is_file():
            (work / "runs" / "replaced").mkdir(parents=True, exist_ok=True)
            os.replace(f, work / "runs" / "replaced" / f.name)
    return out


if __name__ == "__main__":
    sys.exit(main())
