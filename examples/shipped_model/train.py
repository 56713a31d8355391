"""Reproduce the shipped default model (python/hepjepa/models/default/) with `hepjepa` commands only.

The stages and their settings are config.yaml (pretraining: pretrain.yaml); this script turns them into
commands and runs them in order, in the current folder:

  generate  `hepjepa generate` per data set, split and class (data/bench, data/bench_top, data/bench_pool,
            data/bench_pool2; 155000 training jets in all), each command appended to <set>/commands.txt
  pretrain  `hepjepa pretrain --config pretrain.yaml --set run.out_dir=<run> run.seed=<seed>` per seed
  rank      `hepjepa rank` of the runs on data/bench's val jets: the highest effective rank is kept
  finetune  `hepjepa finetune` of that backbone + a class-attention head on data/bench_top
  evaluate  `hepjepa evaluate` on data/bench_top's test jets
  export    `hepjepa export` to model.onnx + preprocess.json
  ship      copy the outputs into the model folder and write its MODEL_CARD.md and pretrain_config.yaml

Usage (from the repository root, where the benchmarks' data and pretraining runs are reused; about 1.5
hours on 2 cores from nothing: generation ~1 h, pretraining ~10-20 min per seed, fine-tuning ~4 min):

  python examples/shipped_model/train.py --dry-run     # print the commands, run nothing (or DRY_RUN=1)
  python examples/shipped_model/train.py               # run them
  python examples/shipped_model/train.py --seeds 0 1 2 3 4   # redo the choice among pretraining seeds

Finished stages are reused: a data file that exists is not generated again, a finished pretraining run
is kept and a partial one resumed (--resume), and the fine-tuning run is kept unless it was made from
another backbone; so a half-finished run is continued by running the script again. --force (FORCE=1)
redoes the fine-tuning and later stages. Wall and CPU seconds of each stage that ran are written to
<work>/cost.txt (one line per stage; a rerun replaces it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "config.yaml"
SPLITS = ("train", "val", "test")


def load(path: str | Path = CONFIG) -> dict:
    """The recipe's config (config.yaml)."""
    return yaml.safe_load(Path(path).read_text())


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it, else absolute (as the commands show it)."""
    path = path.resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def pretrain_config_path(cfg: dict, config: str | Path = CONFIG) -> Path:
    """pretrain.yaml (``pretrain.config``, relative to config.yaml)."""
    return Path(config).resolve().parent / cfg["pretrain"]["config"]


def generate_commands(cfg: dict, hepjepa: list[str]) -> list[tuple[str, str, list[str]]]:
    """(data set, output file, command) of every ``hepjepa generate`` of the recipe, in order."""
    gen, out = cfg["generate"], []
    for name, ds in cfg["datasets"].items():
        for c in ds["classes"]:
            for split in SPLITS:
                if split not in ds["n_jets"]:
                    continue
                f = f"{ds['out']}/{split}_{c}.root"
                seed = gen["split_seed"][split] + ds["seed_base"] + gen["class_index"][c]
                out.append((name, f, [*hepjepa, "generate", "--process", c, "--n-jets", str(ds["n_jets"][split]), "--seed", str(seed),
                                      "--format", gen["format"], "-o", f, "--workers", str(gen["workers"])]))
    return out


def run_dir(cfg: dict, seed: int) -> str:
    """Pretraining run folder of ``seed``."""
    p = cfg["pretrain"]
    return p["run_dir"] + (p["seed_suffix"].format(seed=seed) if seed else "")


def pretrain_command(cfg: dict, hepjepa: list[str], seed: int, resume: bool = False, config: str | Path = CONFIG) -> list[str]:
    """``OMP_NUM_THREADS=<threads> hepjepa pretrain ...`` of one seed (the environment assignment first)."""
    return [f"OMP_NUM_THREADS={cfg['pretrain']['threads']}", *hepjepa, "pretrain", "--config", _shown(pretrain_config_path(cfg, config)),
            *(["--resume"] if resume else []), "--set", f"run.out_dir={run_dir(cfg, seed)}", f"run.seed={seed}"]


def rank_command(cfg: dict, hepjepa: list[str], checkpoints: list[str], work: str) -> list[str]:
    r = cfg["rank"]
    return [*hepjepa, "rank", *checkpoints, "--data", *r["data"], "--max-groups", str(r["max_groups"]), "-o", f"{work}/backbone_rank.json"]


def finetune_command(cfg: dict, hepjepa: list[str], backbone: str, work: str) -> list[str]:
    f = cfg["finetune"]
    return [*hepjepa, "finetune", "--backbone", backbone, "--train", *f["train"], "--val", *f["val"], "--mode", f["mode"], "--head", f["head"],
            "--epochs", str(f["epochs"]), "--patience", str(f["patience"]), "--batch-size", str(f["batch_size"]), "--lr", f"{f['lr']:g}",
            "--backbone-lr-scale", str(f["backbone_lr_scale"]), "--seed", str(f["seed"]), "-o", f"{work}/finetune"]


def evaluate_command(cfg: dict, hepjepa: list[str], work: str) -> list[str]:
    e = cfg["evaluate"]
    return [*hepjepa, "evaluate", f"{work}/finetune/tagger.pt", "--test", *e["test"], "--tsne-max", str(e["tsne_max"]), "--seed", str(e["seed"]),
            "-o", f"{work}/eval"]


def export_command(cfg: dict, hepjepa: list[str], work: str) -> list[str]:
    return [*hepjepa, "export", f"{work}/finetune/tagger.pt", "-o", f"{work}/export"]


def _complete(checkpoint: str) -> bool:
    """A pretraining checkpoint that finished its schedule."""
    if not os.path.isfile(checkpoint):
        return False
    import torch

    blob = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return blob["step"] >= blob["config"]["optim"]["total_steps"]


def _made_from(tagger: str, backbone: str) -> bool:
    import torch

    return torch.load(tagger, map_location="cpu", weights_only=False).get("extra", {}).get("backbone") == backbone


class Runner:
    """Runs (or, dry, prints) commands; times each stage into <work>/cost.txt."""

    def __init__(self, work: str, dry: bool):
        self.work, self.dry = Path(work), dry

    def run(self, stage: str, cmds: list[list[str]], record=None) -> None:
        """Print ``cmds``; unless dry, run them (``record(cmd)`` just before each) and time them as ``stage``."""
        for cmd in cmds:
            print(shlex.join(cmd) if not cmd[0].startswith("OMP_NUM_THREADS=") else cmd[0] + " " + shlex.join(cmd[1:]), flush=True)
        if self.dry or not cmds:
            return
        t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        for cmd in cmds:
            if record:
                record(cmd)
            env = dict(os.environ)
            while "=" in cmd[0] and not cmd[0].startswith("-"):
                k, v = cmd[0].split("=", 1)
                env[k], cmd = v, cmd[1:]
            subprocess.run(cmd, check=True, env=env)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        self.work.mkdir(parents=True, exist_ok=True)
        cost = self.work / "cost.txt"
        lines = [ln for ln in (cost.read_text().splitlines() if cost.is_file() else []) if ln.strip() and not ln.startswith(f"{stage} ")]
        cost.write_text("\n".join([*lines, f"{stage} wall_s={time.perf_counter() - t0:.2f} cpu_s={cpu:.1f}"]) + "\n")


def _record(cmd: list[str]) -> None:
    """Append a ``hepjepa generate`` command to <its output's folder>/commands.txt (the data set's record)."""
    out = Path(cmd[cmd.index("-o") + 1]).parent
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "commands.txt", "a") as fh:
        fh.write(shlex.join(cmd) + "\n")


def _hepjepa(arg: str | None) -> list[str]:
    """The hepjepa command: --hepjepa / $HEPJEPA, else ``hepjepa`` on PATH, else this Python's ``-m hepjepa.cli``."""
    if arg:
        return shlex.split(arg)
    return ["hepjepa"] if shutil.which("hepjepa") else [sys.executable, "-m", "hepjepa.cli"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(CONFIG), help="the recipe's config (default: config.yaml beside this script)")
    ap.add_argument("--work", default=None, help="work folder (default: the config's, data/shipped)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="pretraining seeds (default: the config's; $PRETRAIN_SEEDS)")
    ap.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of each pretraining run (default: the config's; $THREADS)")
    ap.add_argument("--model-dir", default=None, help="ship into this folder (default: the config's, python/hepjepa/models/default)")
    ap.add_argument("--no-ship", action="store_true", help="stop after the export")
    ap.add_argument("--hepjepa", default=os.environ.get("HEPJEPA"), help="the hepjepa command (default: hepjepa on PATH, else python -m hepjepa.cli)")
    ap.add_argument("--force", action="store_true", default=os.environ.get("FORCE") == "1", help="redo fine-tuning and later stages (FORCE=1)")
    ap.add_argument("-n", "--dry-run", action="store_true", default=os.environ.get("DRY_RUN") == "1", help="print the commands, run nothing (DRY_RUN=1)")
    a = ap.parse_args(argv)
    cfg = load(a.config)
    if a.seeds is None and os.environ.get("PRETRAIN_SEEDS"):
        a.seeds = [int(s) for s in os.environ["PRETRAIN_SEEDS"].split()]
    if a.seeds is not None:
        cfg["pretrain"]["seeds"] = a.seeds
    threads = a.threads if a.threads is not None else os.environ.get("THREADS")
    if threads is not None:
        cfg["pretrain"]["threads"] = int(threads)
    work = a.work or cfg["work"]
    hep = _hepjepa(a.hepjepa)
    run = Runner(work, a.dry_run)
    W = Path(work)
    if a.force and not a.dry_run:
        for p in ("finetune", "eval", "export"):
            shutil.rmtree(W / p, ignore_errors=True)
        (W / "cost.txt").unlink(missing_ok=True)

    # data: a set is generated only if a file is missing, and then only its missing files
    gens = generate_commands(cfg, hep)
    for name in cfg["datasets"]:
        todo = [(f, c) for n, f, c in gens if n == name and not os.path.isfile(f)]
        if not todo:
            print(f"# {name}: every file there, reused")
            continue
        run.run(f"generate_{name}", [c for _, c in todo], record=_record)

    # pretraining, one run per seed (a finished run is reused, a partial one resumed)
    candidates = []
    for s in cfg["pretrain"]["seeds"]:
        ck = f"{run_dir(cfg, s)}/checkpoint.pt"
        if _complete(ck):
            print(f"# pretraining seed {s}: {ck} finished, reused")
        else:
            run.run(f"pretrain_seed{s}", [pretrain_command(cfg, hep, s, resume=os.path.isfile(ck), config=a.config)])
        candidates.append(ck)

    # keep the run whose held-out embeddings have the highest effective rank (no labels)
    run.run("rank", [rank_command(cfg, hep, candidates, work)])
    if a.dry_run:
        backbone = candidates[0] if len(candidates) == 1 else f"<the 'selected' of {work}/backbone_rank.json>"
    else:
        backbone = json.loads((W / "backbone_rank.json").read_text())["selected"]
    print(f"# backbone: {backbone}")

    # fine-tuning (a run made from another backbone is redone), evaluation, export
    tagger = W / "finetune" / "tagger.pt"
    if tagger.is_file() and not a.dry_run and not _made_from(str(tagger), backbone):
        print(f"# {W / 'finetune'} was made from another backbone: fine-tuning again")
        for p in ("finetune", "eval", "export"):
            shutil.rmtree(W / p, ignore_errors=True)
    if tagger.is_file() and not (a.force and a.dry_run):
        print(f"# fine-tuning: {tagger} there, reused")
    else:
        run.run("finetune", [finetune_command(cfg, hep, backbone, work)])
    run.run("evaluate", [evaluate_command(cfg, hep, work)])
    run.run("export", [export_command(cfg, hep, work)])

    if a.no_ship:
        return 0
    model = Path(a.model_dir or cfg["ship"]["model_dir"])
    print(f"# ship: {work}/export/{{model.onnx,preprocess.json}}, {backbone} (backbone.pt), {work}/finetune/tagger.pt, "
          f"{work}/eval/metrics.json, {work}/cost.txt (training_cost.txt), {work}/backbone_rank.json -> {model}/, "
          f"with pretrain_config.yaml and MODEL_CARD.md")
    if a.dry_run:
        return 0
    ship(cfg, work, backbone, model, a.config)
    print((model / "MODEL_CARD.md").read_text())
    return 0


# ---------------------------------------------------------------------------------------------- ship


def ship(cfg: dict, work: str, backbone: str, model: Path, config: str | Path = CONFIG) -> None:
    """Copy the outputs into ``model``; write pretrain_config.yaml (as the backbone ran) and MODEL_CARD.md."""
    import torch

    W = Path(work)
    model.mkdir(parents=True, exist_ok=True)
    for src, dst in ((W / "export" / "model.onnx", "model.onnx"), (W / "export" / "preprocess.json", "preprocess.json"),
                     (Path(backbone), "backbone.pt"), (W / "finetune" / "tagger.pt", "tagger.pt"), (W / "eval" / "metrics.json", "metrics.json"),
                     (W / "cost.txt", "training_cost.txt"), (W / "backbone_rank.json", "backbone_rank.json")):
        shutil.copyfile(src, model / dst)
    pcfg = torch.load(backbone, map_location="cpu", weights_only=False)["config"]
    root = os.getcwd() + os.sep
    pcfg["data"]["train"] = [f[len(root):] if f.startswith(root) else f for f in pcfg["data"]["train"]]
    head = ("# Pretraining config of the shipped model's backbone, as it ran (from the checkpoint):\n"
            f"# examples/shipped_model/{cfg['pretrain']['config']} with run.out_dir and run.seed of the kept run (examples/shipped_model/train.py).\n")
    (model / "pretrain_config.yaml").write_text(head + yaml.safe_dump(pcfg, sort_keys=False))
    (model / "MODEL_CARD.md").write_text(model_card(cfg, model, work, config))
    for p in model.iterdir():
        p.chmod(0o644)


def _wrap(cmd: list[str], before: tuple[str, ...]) -> str:
    """A command on several lines: a line break (`` \\``) before each option in ``before``."""
    out = ""
    for tok in cmd:
        out += (" \\\n    " if tok in before else " ") + shlex.quote(tok)
    return out.strip()


def model_card(cfg: dict, model: Path, work: str, config: str | Path = CONFIG, environment: str | None = None) -> str:
    """MODEL_CARD.md of the shipped folder ``model``, from its files and the recipe's commands."""
    import platform

    import numpy as np
    import onnxruntime
    import torch

    m = json.loads((model / "metrics.json").read_text())
    cost = [ln.split() for ln in (model / "training_cost.txt").read_text().splitlines() if ln.strip()]
    cpu = {c[0]: float(c[2].split("=")[1]) for c in cost}
    wall = {c[0]: float(c[1].split("=")[1]) for c in cost}
    tagger = torch.load(model / "tagger.pt", map_location="cpu", weights_only=False)
    backbone = torch.load(model / "backbone.pt", map_location="cpu", weights_only=False)
    bcfg, pcfg = backbone["config"]["model"]["backbone"], backbone["config"]
    n_params = sum(int(np.prod(v.shape)) for v in tagger["state_dict"].values())
    hist = tagger["extra"]["history"]
    rank = json.loads((model / "backbone_rank.json").read_text())
    ranks = ", ".join(f"{Path(r['checkpoint']).parent.name} {r['effective_rank']:.1f}" for r in rank["ranking"])
    pre_s = backbone["log"][-1].get("time_s")
    rej = m.get("rejection", {})
    first = next(iter(rej.values()))
    rej_lines = "\n".join(f"| {name} vs QCD | " + " | ".join(f"{v:.1f}" if v is not None else "inf" for k, v in sorted(r.items())) + " |"
                          for name, r in rej.items())
    rej_head = "| | " + " | ".join(sorted(first.keys())) + " |\n|---|" + "---|" * len(first)
    auc = ", ".join(f"{k}: {v:.4f}" for k, v in m.get("auc", {}).items())
    size = sum(p.stat().st_size for p in model.iterdir() if p.is_file()) / 2**20
    hep = ["hepjepa"]
    gens = "\n".join(shlex.join(c) for _, _, c in generate_commands(cfg, hep))
    seed = pcfg["run"]["seed"]
    pre_cmd = shlex.join(pretrain_command(cfg, hep, seed)[1:]).replace(_shown(pretrain_config_path(cfg, config)), "examples/shipped_model/pretrain.yaml")
    ft_cmd = _wrap(finetune_command(cfg, hep, tagger["extra"]["backbone"], work), ("--train", "--val", "--epochs"))
    seeds = " ".join(str(s) for s in cfg["pretrain"]["seeds"])
    env = environment or f"{platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}."
    ds = cfg["datasets"]
    n_pre = sum(ds[n]["n_jets"]["train"] * len(ds[n]["classes"]) for n in ds)
    return f"""# hepjepa default model: top (Tbqq) vs QCD jet tagger

A HEP-JEPA backbone (embedding {bcfg['embed_dim']}, {bcfg['depth']} blocks, {bcfg['num_heads']} heads,
{bcfg['num_registers']} registers, ParT-style pair bias; {n_params:,} parameters with the head), self-supervised on generated jets of ten
JetClass-like classes, fine-tuned with a class-attention head to separate hadronic top jets (JetClass
`Tbqq`) from QCD jets. It is the backbone of the issue-6 physics benchmarks' main grid
(`python -m benchmarks.physics_compare`), fine-tuned on all 20000 labelled jets of `data/bench_top`.

## Recipe
Made by the recipe in `examples/shipped_model/`: `config.yaml` holds every stage's settings (data sets,
pretraining seeds, fine-tuning, evaluation, export), `pretrain.yaml` the pretraining config, and
`train.py` runs them as `hepjepa` commands only (generate, pretrain, rank, finetune, evaluate, export),
reusing finished stages, then copies the outputs here and writes this card (everything below comes from
those outputs). From the repository root:
```
python examples/shipped_model/train.py --dry-run   # print every command, run nothing
python examples/shipped_model/train.py             # run them (about 1.5 h on 2 cores from nothing)
```
Trained on a 2-core CPU on generated jets (500 < pT < 1000 GeV): a real tagger of this generator's jets,
not a substitute for one trained on the full JetClass set.

## Files
| file | what |
|---|---|
| `model.onnx` | the tagger; inputs `features, particle_mask, group_mask, centers, pair_features`, output `scores` (softmax) |
| `preprocess.json` | tokeniser config, input names/shapes, `flav_names` {tagger['config']['classes'] if 'config' in tagger else ''} -> {json.loads((model / 'preprocess.json').read_text())['flav_names']}, sha256s |
| `backbone.pt` | the pretraining checkpoint (`hepjepa pretrain`), for `hepjepa finetune --backbone` |
| `tagger.pt` | the fine-tuned tagger checkpoint (`hepjepa finetune`), for `hepjepa evaluate` / `hepjepa export` |
| `pretrain_config.yaml` | the pretraining config as it ran |
| `metrics.json`, `training_cost.txt` | held-out metrics and the measured cost of each stage the recipe ran |
| `backbone_rank.json` | effective rank of each candidate pretraining run (`hepjepa rank`), the one kept first |

Folder size: {size:.2f} MiB.

## Data (Pythia 8 + FastJet, JetClass ROOT format, detector response on, MPI on)
Anti-kT R=0.8 jets, 500 < pT < 1000 GeV, |eta| < 2 (the generator's defaults); top jets keep only
jets containing the three decay quarks. Every file has its own seed (train 7000+, val 8000+, test
9000+ per class; data/bench_top adds 10000, the pools 20000 and 30000), so all splits are disjoint
(`config.yaml`'s `datasets`):

```
{gens}
```
Pretraining: the training files of all four sets ({len(pcfg['data']['train'])} files, {n_pre} jets; labels unused).
Fine-tuning: data/bench_top's 20000 training jets; best epoch by the loss on its 2000 val jets.
Test: data/bench_top's 5000 test jets, used only for the metrics below.

## Training
Pretraining (`pretrain_config.yaml`, the recipe's `pretrain.yaml`: `benchmarks/configs/fewshot_pretrain.yaml`
with the benchmarks' pretraining recipe (`benchmarks/_grid.py`), masks.n_targets={pcfg['masks']['n_targets']}, context {pcfg['masks']['context_scale']}), batch
{pcfg['optim']['batch_size']}, {pcfg['optim']['total_steps']} steps, lr {pcfg['optim']['lr']}, seed {seed}
(final JEPA loss {backbone['log'][-1]['loss']:.4f}, target std {backbone['log'][-1]['target_std']:.3f}; {f'{pre_s / 60:.1f} min of training-loop wall time' if pre_s else 'time not logged'}):
```
OMP_NUM_THREADS={cfg['pretrain']['threads']} {pre_cmd}
```

Which pretraining run: of the runs in `backbone_rank.json` (`config.yaml`'s pretraining seeds: {seeds}), the one
whose embeddings of {rank['ranking'][0]['n_jets']} held-out jets have the highest effective rank (`hepjepa rank`, no labels): {ranks}.
The physics benchmarks pretrained seeds 0-4 of this recipe and kept seed 2 the same way; a partly collapsed
run (low rank, low JEPA loss) fine-tunes worse, most of all with few labels (`benchmarks/results/backbone_selection.json`).
```
{shlex.join(rank_command(cfg, hep, [r['checkpoint'] for r in rank['ranking']], work))}
```

Fine-tuning ({len(hist['val_loss'])} epochs run, best val loss {hist['best_val_loss']:.4f} at epoch {hist['best_epoch']}), evaluation, export:
```
{ft_cmd}
{shlex.join(evaluate_command(cfg, hep, work))}
{shlex.join(export_command(cfg, hep, work))}
```

## Cost (measured, CPU minutes = user+sys of the process tree; machine shared with other jobs)
| stage | CPU min | wall min |
|---|---|---|
""" + "\n".join(f"| {k} | {cpu[k] / 60:.1f} | {wall[k] / 60:.1f} |" for k in cpu) + f"""

Stages missing from this table reused earlier outputs (the data sets and the backbone are shared with
the benchmarks); the pretraining time above is the checkpoint's own log.

## Metrics on the held-out test set ({m.get('n_jets')} jets)
accuracy **{m['accuracy']:.3f}**, macro accuracy {m['macro_accuracy']:.3f}, AUC {auc}.

Background rejection 1/eB at signal efficiency eS:

{rej_head}
{rej_lines}

With 2500 QCD test jets, 1/eB above ~300 rests on fewer than 10 jets: treat it as a lower-precision number.

## Environment
{env}
"""


if __name__ == "__main__":
    sys.exit(main())
