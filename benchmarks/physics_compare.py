"""The physics grid runner (issues 4 and 6): task x model x label fraction x seed under one budget
and one backbone, described by a variant file.

A variant is a file, ``benchmarks/variants/<name>.yaml``; its ``kind`` says which grid it is:

* ``physics`` (the default; ``main.yaml`` is the main grid): JEPA (fine-tuned, frozen), our
  architecture from scratch and the peers ParT / ParticleNet of weaver-core (``_peers``: the real
  classes at CPU-sized widths, AdamW, warm-up + cosine, clip 1, early stopping) on the shared set of
  ``make_bench_data.sh`` (data/bench). Tasks ``top`` (Tbqq vs QCD), ``qg`` (quark vs gluon on the
  QCD files, label ``aux_qcd_is_quark``) and ``ten`` (the ten JetClass-like classes). Keys: name,
  what, backbone, max_groups, seeds, budget, ft, train_root, test_root, runs. Writes
  results/physics_compare[_quick][_NAME].json (every run with its test ROC on the grid ROC_EFF_S,
  mean ± std over seeds, settings, versions, machine) and exports the top-vs-QCD ParT (100 %,
  seed 0) of the main grid to data/bench_runs/part_top/model.onnx + preprocess.json;
* ``fewshot`` (``fewshot.yaml``): the JEPA modes on data/bench_top's 20000 top/QCD jets down to
  0.05 % labels, with linear probes and the val-set choice of the fine-tuning settings;
* ``ablations`` (``ablations.yaml``): pretraining variants scored by linear probes on val and test;
* ``backbone_selection`` (``backbone_selection.yaml``): the label-free effective rank of every
  pretraining run against its few-shot gain.

Label fractions are stratified subsets of the training jets (``hepjepa.downstream.splits``) drawn
with the run seed; validation = the val files (early stopping on the val loss, best weights kept),
test = the test files; every model at a fraction gets the same (batch size, max epochs, patience).
Every run is cached as one JSON under the work folder, so an interrupted grid continues,
``--report-only`` rebuilds the results from the cache and ``--rerun RUN ...`` trains the named runs
again (their old JSON goes to runs/replaced/).

    python -m benchmarks.physics_compare --quick     # a few minutes on 2 CPU cores
    python -m benchmarks.physics_compare             # the main grid (variants/main.yaml)
    python -m benchmarks.physics_compare --variant benchmarks/variants/seeds10.yaml --report-only
    python -m benchmarks.physics_compare --rerun top_part_f1_s0 --workers 1
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from benchmarks import _grid, _peers
from benchmarks._common import ROOT, machine, write_json
from benchmarks._grid import CLASSES, FT, FT_KEYS, ft_for, rel

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
FRACTIONS = (0.005, 0.01, 0.05, 0.2, 1.0)
SEEDS = (0, 1, 2)
#: The (batch size, max epochs, patience) of each fraction, the same for every model.
BUDGET = {0.005: (16, 150, 30), 0.01: (16, 100, 25), 0.05: (32, 60, 15), 0.2: (64, 25, 6), 1.0: (64, 12, 4)}
#: Signal efficiencies at which every run's ROC curve is stored (101 points).
ROC_EFF_S = np.linspace(0.0, 1.0, 101)
#: Why the grid is smaller than "every fraction for every task": the whole full run must fit about
#: an hour of CPU on a 2-core machine shared with five other jobs (see the JSON's "budget_note").
SETTINGS = {
    "quick": {"fractions": {"top": [0.01, 1.0], "qg": [1.0], "ten": [0.05]}, "seeds": [0], "budget": {0.01: (16, 15, 6), 0.05: (32, 4, 3), 1.0: (64, 3, 3)},
              "max_train_per_file": 150, "max_eval_per_file": 60},
    "full": {"fractions": {"top": list(FRACTIONS), "qg": [0.01, 1.0], "ten": [0.01, 0.05]}, "seeds": list(SEEDS), "budget": BUDGET,
             "max_train_per_file": None, "max_eval_per_file": None, "max_val_per_file_ten": 50},
}
VARIANTS = ROOT / "benchmarks" / "variants"
#: The keys a variant file of each kind may set.
KIND_KEYS = {
    "physics": ("name", "what", "backbone", "max_groups", "seeds", "budget", "ft", "train_root", "test_root", "runs"),
    "fewshot": ("name", "what", "backbone", "pretrain_steps", "work", "data", "fractions", "seeds", "low_fraction_seeds", "budget", "max_jets",
                "max_eval_jets", "probe", "ft_sweep", "sweep_fractions", "previous_ft", "quick"),
    "ablations": ("name", "what", "work", "data", "pretrain_steps", "fractions", "seeds", "finetune_fraction", "budget", "max_jets", "max_eval_jets",
                  "pretraining", "quick"),
    "backbone_selection": ("name", "what", "fractions", "seeds", "max_groups", "jets_per_file", "scratch_variant"),
}


def load_variant(path: Path) -> dict:
    """A variant file (YAML, paths relative to the repository), checked.

    Raises:
        ValueError: an unknown kind or key, a physics variant without a backbone, or a value that cannot describe a grid.
    """
    v = yaml.safe_load(Path(path).read_text()) or {}
    kind = v.pop("kind", "physics")
    if kind not in KIND_KEYS:
        raise ValueError(f"{path}: kind {kind!r}: expected one of {', '.join(KIND_KEYS)}")
    bad = sorted(set(v) - set(KIND_KEYS[kind]))
    if bad or (kind == "physics" and "backbone" not in v):
        raise ValueError(f"{path}: unknown keys {bad}" if bad else f"{path}: a variant names its backbone")
    v = {"kind": kind, **v} if kind != "physics" else v
    check_variant(v)
    return v


def check_variant(v: dict) -> None:
    """Raises ValueError when a physics variant's values cannot describe a grid."""
    seeds = v.get("seeds")
    if seeds is not None and (len(set(seeds)) != len(seeds) or min(seeds) < 0):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    for k in v.get("ft") or {}:
        if k not in FT_KEYS:
            raise ValueError(f"ft {k!r}: expected one of {', '.join(FT_KEYS)}")
    if v.get("kind", "physics") != "physics":
        return
    for f, b in (v.get("budget") or {}).items():
        if float(f) not in BUDGET or len(b) != 3 or min(int(x) for x in b) < 1:
            raise ValueError(f"budget {f}: {b}: expected FRAC one of {', '.join(f'{x:g}' for x in BUDGET)} and three positive integers")
    if v.get("max_groups") is not None and int(v["max_groups"]) < 1:
        raise ValueError(f"max_groups must be a positive integer, got {v['max_groups']}")
    name = v.get("name")
    if name is not None and not str(name).replace("_", "").isalnum():
        raise ValueError(f"name must be letters, digits and '_' (it becomes part of a file name), got {name!r}")


def settings(v: dict, quick: bool = False) -> dict:
    """The physics grid's settings under variant ``v``: SETTINGS with the variant's seeds, budget,
    data, groups, backbone and fine-tuning overrides (``ft``) over them."""
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


def recorded(s: dict) -> dict:
    """The settings as the results JSON records them."""
    return {"fractions": s["fractions"], "seeds": s["seeds"], "test_root": s.get("test_root") or "data/bench",
            "train_root": s.get("train_root") or "data/bench", "max_groups": s.get("max_groups"),
            "budget_per_fraction": {str(f): dict(zip(("batch_size", "max_epochs", "patience"), b)) for f, b in s["budget"].items()}}


def variant_runs(v: dict, s: dict) -> list[str] | None:
    """The runs a variant consists of, or None (no ``runs``): the whole grid. ``runs`` is a list of
    blocks ``{task, models, fractions[, seeds]}``, each the product of its models, fractions and
    seeds (the grid's seeds unless the block names its own)."""
    if not v.get("runs"):
        return None
    return [_key(b.get("task", "top"), m, float(f), int(sd)) for b in v["runs"] for f in b["fractions"]
            for sd in b.get("seeds", s["seeds"]) for m in b["models"]]


# ---------------------------------------------------------------- one run

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
        root = s.get("test_root" if split == "test" else "train_root")
        toks, peer, labs = [], [], []
        for f in _grid.bench_files(split, spec["files"], root=ROOT / root if root else _grid.BENCH):
            jets = read_jets(f, max_jets=cap)
            if task == "qg":
                if "aux_qcd_is_quark" not in jets.fields:
                    raise ValueError(f"{f} has no aux_qcd_is_quark branch; expected our generator's JetClass files")
                y = ak.to_numpy(jets["aux_qcd_is_quark"]).astype(np.int64)
                jets, y = jets[y >= 0], y[y >= 0]
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
    """The run's compact ROC: background efficiency at each signal efficiency of ROC_EFF_S; binary
    tasks class 1 vs class 0, ten-class Tbqq vs QCD (s_T / (s_T + s_QCD), as its rej50/rej30)."""
    from hepjepa.downstream.metrics import roc_on_grid
    from hepjepa.labels import JETCLASS_LABELS

    sig, bkg, names = (JETCLASS_LABELS.index("label_Tbqq"), 0, list(JETCLASS_LABELS)) if task == "ten" else (1, 0, TASKS[task]["classes"])
    eb = roc_on_grid(p, y, sig, bkg, ROC_EFF_S)
    return {"signal": names[sig], "background": names[bkg], "eff_b": [round(float(v), 6) for v in eb]}


def run_one(job: tuple, s: dict, data: dict, blob: dict | None, save: Path | None = None) -> tuple[dict, np.ndarray]:
    """Train one model on one (task, model, fraction, seed) under settings ``s`` and score the test set.

    Returns:
        (row, test scores (N, C)).
    """
    import torch

    from hepjepa.downstream.finetune import predict
    from hepjepa.downstream.splits import stratified_fraction
    from hepjepa.labels import JETCLASS_LABELS

    task, model, frac, seed = job
    (tr_t, tr_p, ytr), (va_t, va_p, yva), (te_t, te_p, yte) = data["train"], data["val"], data["test"]
    classes = TASKS[task]["classes"] or list(JETCLASS_LABELS)
    sel = stratified_fraction(ytr, frac, seed=seed)
    budget = s["budget"][frac]
    t0 = time.process_time()
    if model in PEERS:
        net = _peers.build_peer(model, len(classes), seed=seed)
        hist = _peers.train_peer(net, {k: v[sel] for k, v in tr_p.items()}, ytr[sel], va_p, yva, budget[1], budget[0], budget[2], seed,
                                 lr=FT["lr"], weight_decay=FT["weight_decay"])
        p = _peers.predict_peer(net, te_p)
        if save is not None:
            from hepjepa.atomic import atomic_path

            save.mkdir(parents=True, exist_ok=True)
            with atomic_path(save / "model.pt") as tmp:
                torch.save({"kind": model, "config": net.config, "n_classes": len(classes), "classes": classes, "state": net.state_dict()}, tmp)
    else:
        ft = ft_for(frac, s["ft"])
        net, hist = _grid.train_jepa(blob, model, frac, seed, budget, (tr_t[sel], ytr[sel]), (va_t, yva), classes, ft)
        p = predict(net, te_t)
    row = {"task": task, "model": model, "fraction": frac, "seed": seed, "n_train": int(len(sel)), **metrics(p, yte, task),
           "best_epoch": hist["best_epoch"], "epochs_run": len(hist["val_loss"]), "best_val_loss": hist["best_val_loss"],
           "n_params": int(sum(q.numel() for q in net.parameters())), "cpu_s": time.process_time() - t0, "roc": roc_curve(p, yte, task),
           "budget": list(budget)}
    row.update({k: s[k] for k in ("test_root", "train_root") if s.get(k)})
    if model in JEPA_MODES:
        row.update({"max_groups": int(s["max_groups"])} if s.get("max_groups") else {})
        row["ft"] = dict(ft)
    if model in ("finetune", "frozen"):
        row["backbone"] = s["backbone"]  # the pretrained weights this row fine-tuned (scratch and peers use none)
    return row, p


# ---------------------------------------------------------------- the cached grid

def _key(task: str, model: str, frac: float, seed: int) -> str:
    return f"{task}_{model}_f{frac:g}_s{seed}"


def _stale(job: tuple, row: dict, s: dict) -> str | None:
    """Why a cached row no longer describes ``job`` under settings ``s`` (other data, budget, groups,
    backbone or fine-tuning hyper-parameters than the grid's), or None when it does. A row without a
    budget was made with its grid's."""
    for key, verb in (("test_root", "tested"), ("train_root", "trained")):
        if row.get(key) != s.get(key):
            return f"{verb} on {row.get(key) or 'data/bench'}, not {s.get(key) or 'data/bench'}"
    if "budget" in row and job[2] in s["budget"] and list(row["budget"]) != list(s["budget"][job[2]]):
        return f"trained with budget {row.get('budget')}, not {list(s['budget'][job[2]])}"
    if job[1] in JEPA_MODES and row.get("max_groups") != s.get("max_groups"):
        def groups(g):
            return f"{g} groups" if g else "the backbone's groups"

        return f"tokenised into {groups(row.get('max_groups'))}, not {groups(s.get('max_groups'))}"
    if job[1] in ("finetune", "frozen") and s.get("backbone") and row.get("backbone") != s["backbone"]:
        return f"fine-tuned from {row.get('backbone')}, not {s['backbone']}"
    ft = ft_for(job[2], s.get("ft"))
    if job[1] in JEPA_MODES and row.get("ft") != ft:
        return f"fine-tuned with {row.get('ft', 'unrecorded hyper-parameters')}, not {ft}"
    return None


def _cached(job: tuple, work: Path, s: dict, move_stale: bool = False) -> dict | None:
    """The cached row of ``job`` under ``work/runs``, or None when there is none or it is stale (with
    ``move_stale``, as before training, a stale row is moved to ``work/runs/replaced/``)."""
    f = work / "runs" / f"{_key(*job)}.json"
    if not f.is_file():
        return None
    row = json.loads(f.read_text())
    if _stale(job, row, s):
        if move_stale:
            _replace(f)
        return None
    return row


def _replace(f: Path) -> None:
    (f.parent / "replaced").mkdir(parents=True, exist_ok=True)
    os.replace(f, f.parent / "replaced" / f.name)


def job_list(s: dict) -> list[tuple]:
    """All runs, most informative first, so an interrupted grid still answers the main questions:
    top vs QCD at 100 % and 1 % labels, q/g, ten-class at its first fraction, the other top
    fractions, the other ten-class fractions; peers first within a block."""
    fr = s["fractions"]

    def block(task: str, fracs) -> list[tuple]:
        return [(task, m, f, sd) for f in fracs if f in fr[task] for sd in s["seeds"] for m in sorted(MODELS, key=lambda m: m not in PEERS)]

    return (block("top", (1.0, 0.01)) + block("qg", fr["qg"]) + block("ten", fr["ten"][:1])
            + block("top", [f for f in fr["top"] if f not in (1.0, 0.01)]) + block("ten", fr["ten"][1:]))


def run_grid(jobs: list[tuple], s: dict, work: Path, part_dir: Path, workers: int) -> None:
    """Train every job not cached under ``work/runs`` with ``workers`` processes (1 thread each); the
    top-vs-QCD ParT of seed 0 at 100 % is saved to ``part_dir/model.pt`` for the ONNX export."""
    from hepjepa.features import TokenizerConfig
    from hepjepa.model.checkpoint import load_checkpoint

    todo = [j for j in jobs if _cached(j, work, s, move_stale=True) is None]
    print(f"{len(jobs)} runs, {len(todo)} to do", flush=True)
    if not todo:
        return
    ck = ROOT / s["backbone"]
    tok = dict(load_checkpoint(ck)["config"]["data"]["tokenizer"], **({"max_groups": s["max_groups"]} if s.get("max_groups") else {}))
    datas = {t: load_task(t, TokenizerConfig.from_dict(tok), s) for t in TASKS if any(j[0] == t for j in todo)}
    n_jets = json.loads((work / "n_jets.json").read_text()) if (work / "n_jets.json").is_file() else {}
    n_jets.update({t: {k: int(len(v[2])) for k, v in d.items()} for t, d in datas.items()})
    _grid.write_row(work / "n_jets.json", n_jets)
    blob = _grid.backbone_blob(ck, s.get("max_groups")) if any(j[1] in JEPA_MODES for j in todo) else None

    def job(j: tuple) -> None:
        from hepjepa.atomic import atomic_path

        row, p = run_one(j, s, datas[j[0]], blob, save=part_dir if j == ("top", "part", 1.0, 0) else None)
        if j[0] == "top" and j[3] == 0:  # test scores of seed 0, with their labels (ROC curves of older rows)
            (work / "scores").mkdir(parents=True, exist_ok=True)
            with atomic_path(work / "scores" / f"{_key(*j)}.npz") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, scores=p, labels=datas[j[0]]["test"][2])
        _grid.write_row(work / "runs" / f"{_key(*j)}.json", row)
        print(_fmt(row), flush=True)

    _grid.run_jobs(job, todo, workers)


def _fmt(r: dict) -> str:
    return (f"{r['task']:>3} {r['model']:>11} f={r['fraction']:<6g} seed={r['seed']} n={r['n_train']:<5} acc={r['accuracy']:.4f} auc={r['auc']:.4f} "
            f"1/eB@0.5={r['rej50']:.1f} epochs={r['epochs_run']} cpu={r['cpu_s']:.0f}s")


def collect(jobs: list[tuple], work: Path, s: dict) -> tuple[list[dict], list[tuple]]:
    """Cached rows of ``jobs``, and the missing jobs. A cached row without a ROC curve gets one from
    its saved test scores when they reproduce the row's AUC (:func:`_curve_from_scores`)."""
    rows, missing = [], []
    for j in jobs:
        cached = _cached(j, work, s)
        if cached is None:
            missing.append(j)
            continue
        row = {**cached, "source": "physics_compare"}
        if "roc" not in row:
            row.update(_curve_from_scores(row, work))
        rows.append(row)
    return rows, missing


def _curve_from_scores(row: dict, work: Path) -> dict:
    """{"roc", "roc_from"} from ``work/scores/<run>.npz``, or {"roc_missing": why}: the curve is used
    only when the scores give the row's AUC back to 1e-9, so a plotted curve belongs to the table's numbers."""
    f = work / "scores" / f"{_key(row['task'], row['model'], row['fraction'], row['seed'])}.npz"
    if not f.is_file():
        return {"roc_missing": "run cached before ROC curves were stored; no saved test scores (kept only for top vs QCD seed 0)"}
    z = np.load(f)
    p, y = z["scores"], z["labels"]
    auc = metrics(p, y, row["task"])["auc"]
    if abs(auc - row["auc"]) > 1e-9:
        return {"roc_missing": f"saved scores {f.name} give AUC {auc:.6f}, the run {row['auc']:.6f}: not the same run"}
    return {"roc": roc_curve(p, y, row["task"]), "roc_from": f"scores/{f.name} (test scores saved by the run; curve computed at report time)"}


def _rerun_jobs(names: list[str], jobs: list[tuple], work: Path) -> list[tuple]:
    """The jobs named in ``names``; their cached run JSONs are moved to ``work/runs/replaced/``.

    Raises:
        KeyError: a name that is not a run of this grid (the closest one is suggested).
    """
    import difflib

    by = {_key(*j): j for j in jobs}
    for n in names:
        if n not in by:
            close = difflib.get_close_matches(n, list(by), n=1)
            raise KeyError(f"--rerun {n!r} is not a run of this grid" + (f"; did you mean {close[0]!r}?" if close else f"; runs look like {next(iter(by))!r}"))
    for n in names:
        if (work / "runs" / f"{n}.json").is_file():
            _replace(work / "runs" / f"{n}.json")
    return [by[n] for n in names]


# ---------------------------------------------------------------- the physics kind

def run(v: dict, a: argparse.Namespace) -> int:
    """Train the variant's runs that are not cached (or ``a.rerun``'s) and write its results JSON."""
    import torch

    _peers.require_weaver()
    mode, vname = ("quick" if a.quick else "full"), v.get("name")
    s = settings(v, a.quick)
    ck = ROOT / s["backbone"]
    if not ck.is_file():
        raise FileNotFoundError(f"JEPA backbone {ck} not found; make it with `python -m benchmarks.pretrain_variant_backbone` (see its docstring)")
    suffix = ("_quick" if a.quick else "") + (f"_{vname}" if vname else "")
    work = Path(a.work) if a.work else _grid.RUNS / f"physics{suffix}"
    (work / "runs").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with open(work / "commands.txt", "a") as f:  # every invocation on this work folder, oldest first
        f.write(shlex.join([sys.executable, "-m", "benchmarks.physics_compare", *a.argv]) + "\n")
    jobs = job_list(s)
    own = variant_runs(v, s)
    todo = _rerun_jobs(a.rerun, jobs, work) if a.rerun else [j for j in jobs if own is None or _key(*j) in set(own)]
    part_dir = _grid.RUNS / "part_top" if mode == "full" and not vname else work / "part_top"
    if not a.report_only:
        run_grid(todo, s, work, part_dir, a.workers)
    rows, missing = collect(jobs, work, s)
    summary = _grid.summarise(rows, ("task", "model", "fraction"))
    try:
        onnx_info, export_error = _export_part(part_dir), None
    except Exception as e:  # recorded in the JSON and re-raised after the results are written
        onnx_info, export_error = {"error": f"{type(e).__name__}: {e}"}, e
    goals = _goals(summary)
    listed = lambda c: {k: list(x) if isinstance(x, tuple) else x for k, x in c.items()}  # noqa: E731
    n_jets = work / "n_jets.json"
    out = {
        "mode": mode, "tasks": {t: x["title"] for t, x in TASKS.items()}, "models": LABELS, **recorded(s),
        "budget_note": ("top vs QCD runs every shared fraction; q/g and ten-class use fewer fractions, and the ten-class validation set is "
                        "capped at 50 jets per class, so that the whole grid fits about an hour of CPU on a 2-core machine shared with "
                        "five other engineers' jobs. Same (batch size, max epochs, patience) for every model at a fraction."),
        "peer_models": {k: {"reduced": listed(c), "published": listed(_peers.PUBLISHED_CONFIGS[k])} for k, c in _peers.PEER_CONFIGS.items()},
        "peer_inputs": {"names": list(_peers.PEER_INPUTS), "pf_features": list(_peers.PF_FEATURES), "max_particles": 128,
                        "note": "ParT's 17 particle features minus d0, d0err, dz, dzerr: the generator has no tracking/impact parameters"},
        "peer_training": {"optimizer": "AdamW", "lr": FT["lr"], "weight_decay": FT["weight_decay"], "schedule": "5% linear warm-up + cosine",
                          "grad_clip": 1.0, "early_stopping": "val loss, best weights kept"},
        "jepa": {"finetune_hparams": ft_for(1.0, s["ft"]), "finetune_hparams_at_le_1pct": ft_for(0.01, s["ft"]), "ft_overrides": s["ft"],
                 "backbone": rel(ck), "pretraining": _grid.pretrain_summary(ck)},  # the pretraining config rebuilds the backbone
        "data": {"folder": "data/bench", "generator_commands": (_grid.BENCH / "commands.txt").read_text().splitlines()},
        "n_jets": json.loads(n_jets.read_text()) if n_jets.is_file() else {}, "commands": (work / "commands.txt").read_text().splitlines(),
        "summary": summary, "goals": goals, "onnx_part_top": onnx_info,
        "roc_eff_s": [round(float(x), 6) for x in ROC_EFF_S],
        "roc_curves": {"eff_s": "roc_eff_s (101 points); each run's roc.eff_b is eB at those eS",
                       "with_curve": [_key(r["task"], r["model"], r["fraction"], r["seed"]) + (" (from saved scores)" if "roc_from" in r else "")
                                      for r in rows if "roc" in r],
                       "without_curve": {_key(r["task"], r["model"], r["fraction"], r["seed"]): r.get("roc_missing", "no curve stored")
                                         for r in rows if "roc" not in r}},
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
        **({"variant": vname} if vname else {}),
    }
    path = write_json(f"physics_compare{suffix}", out)
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
        # standard error of the difference of two means over independent seeds
        se = float(np.sqrt(ft.get("auc_std", 0.0) ** 2 / ft["n_seeds"] + pt.get("auc_std", 0.0) ** 2 / pt["n_seeds"]))
        out["top_auc_finetune_vs_part_100pct"] = {"finetune": ft["auc_mean"], "part": pt["auc_mean"], "difference": ft["auc_mean"] - pt["auc_mean"],
                                                  "difference_stderr": se, "met": ft["auc_mean"] >= pt["auc_mean"]}
    for (task, model, f), r in by.items():
        if task == "top" and model == "finetune" and f <= 0.01 and ("top", "scratch", f) in by:
            d = r["accuracy_mean"] - by[("top", "scratch", f)]["accuracy_mean"]
            out[f"top_finetune_minus_scratch_accuracy_f{f:g}"] = {"delta": d, "met": d >= 0.04}
    return out


def _export_part(d: Path) -> dict | None:
    """ONNX export of the saved top-vs-QCD ParT (seed 0, 100 %) under ``d`` with a preprocess.json."""
    import torch

    from hepjepa.data import read_jets

    if not (d / "model.pt").is_file():
        return None
    blob = torch.load(d / "model.pt", map_location="cpu", weights_only=False)
    model = _peers.build_peer(blob["kind"], blob["n_classes"], config=blob["config"])
    model.load_state_dict(blob["state"])
    sample = _peers.peer_inputs(read_jets(_grid.bench_files("test", ("tbqq",))[0], max_jets=64))
    info = _peers.export_peer_onnx(model, d / "model.onnx", blob["n_classes"], sample)
    dims = {"pf_points": 2, "pf_features": len(_peers.PF_FEATURES), "pf_vectors": 4, "pf_mask": 1}
    # the graph's own inputs (ParT does not read pf_points, so the exporter drops it)
    pre = {"input_names": info["input_names"], "input_shapes": [[-1, dims[k], -1] for k in info["input_names"]],
           "output_names": ["scores"], "output_shapes": {"scores": [-1, blob["n_classes"]]}, "flav_names": ["probQCD", "probTbqq"],
           "class_labels": blob["classes"], "pf_features": list(_peers.PF_FEATURES), "max_particles": 128, "model": blob["kind"],
           "model_config": {k: list(v) if isinstance(v, tuple) else v for k, v in blob["config"].items()}, "opset": 18,
           "note": "particles pT-ordered, masks 1 = real; inputs from benchmarks/_peers.py peer_inputs()"}
    _grid.write_row(d / "preprocess.json", pre)
    return {"path": rel(d / "model.onnx"), **info}


# ---------------------------------------------------------------- command line

def parse_args(argv=None) -> tuple[argparse.Namespace, dict]:
    """The command line and the variant it runs (``--variant FILE``, default the main grid)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", type=Path, default=VARIANTS / "main.yaml", metavar="FILE",
                    help="a variant file, benchmarks/variants/<name>.yaml (default: main.yaml, the main grid)")
    ap.add_argument("--quick", action="store_true", help="small functional run (minutes on 2 cores)")
    ap.add_argument("--work", default=None, help="working folder (default data/bench_runs/<the variant's>)")
    ap.add_argument("--workers", type=int, default=2, help="training processes (1 torch thread each)")
    ap.add_argument("--report-only", action="store_true", help="no training: write the results from the cached runs")
    ap.add_argument("--rerun", nargs="+", default=[], metavar="RUN",
                    help="train these runs of a physics grid again (names as in missing_runs, e.g. top_part_f1_s0), replacing their "
                         "cached results (kept under runs/replaced/); nothing else is trained")
    a = ap.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    if a.rerun and a.report_only:
        ap.error("--rerun trains runs; it cannot be combined with --report-only")
    try:
        v = load_variant(a.variant)
    except (OSError, ValueError, TypeError) as e:
        ap.error(f"--variant {a.variant}: {e}")
    if a.rerun and v.get("kind", "physics") != "physics":
        ap.error(f"--rerun names runs of a physics grid; {a.variant} is of kind {v['kind']}")
    return a, v


def main(argv=None) -> int:
    a, v = parse_args(argv)
    kind = v.get("kind", "physics")
    return run(v, a) if kind == "physics" else importlib.import_module(f"benchmarks.{kind}").run(v, a)


if __name__ == "__main__":
    sys.exit(main())
