"""Few-shot benchmark: scratch vs JEPA frozen vs JEPA fine-tuned at several label fractions.

Pipeline (every command is recorded in the JSON): ``hepjepa generate`` (train/val/test, QCD
and top) -> ``hepjepa pretrain`` -> ``hepjepa finetune`` for each mode x fraction x seed ->
``hepjepa evaluate``. Writes benchmarks/results/fewshot[_quick].json and a PNG of accuracy
vs label fraction (mean +- std over seeds).

    python benchmarks/fewshot.py --quick     # minutes on 2 CPU cores
    python benchmarks/fewshot.py             # full: hours
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_json  # noqa: E402

PY = sys.executable
SETTINGS = {
    "quick": {"n_train": 300, "n_val": 100, "n_test": 200, "steps": 60, "fractions": [0.05, 1.0], "seeds": [0, 1, 2], "epochs": 3, "config": "pretrain_tiny"},
    "full": {"n_train": 20000, "n_val": 2000, "n_test": 5000, "steps": 20000, "fractions": [0.0005, 0.001, 0.01, 0.1, 1.0], "seeds": [0, 1, 2, 3, 4], "epochs": 30, "config": "pretrain_small"},
}


def sh(cmd: list[str], log: list[str]) -> None:
    """Run a hepjepa command, record it, fail loudly."""
    log.append(shlex.join(cmd))
    print("+", log[-1], flush=True)
    subprocess.run(cmd, check=True)


def generate(work: Path, s: dict, log: list[str], processes=("qcd", "tbqq")) -> dict[str, list[str]]:
    """Generate train/val/test files per process with distinct seeds."""
    files: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for i, proc in enumerate(processes):
        for j, split in enumerate(("train", "val", "test")):
            out = work / f"{split}_{proc}.root"
            if not out.exists():
                sh([PY, "-m", "hepjepa.cli", "generate", "--process", proc, "--n-jets", str(s[f"n_{split}"]),
                    "--seed", str(1000 + 10 * i + j), "--format", "jetclass", "-o", str(out), "--workers", "2"], log)
            files[split].append(str(out))
    return files


def pretrain(work: Path, name: str, s: dict, train: list[str], log: list[str], overrides: list[str] = ()) -> Path:
    """Pretrain a backbone on the (unlabelled use of the) training files; return its checkpoint."""
    out = work / f"pretrain_{name}"
    ck = out / "checkpoint.pt"
    if not ck.exists():
        sh([PY, "-m", "hepjepa.cli", "pretrain", "--config", s["config"], "--set", f"data.train={json.dumps(train)}",
            f"optim.total_steps={s['steps']}", f"run.out_dir={out}", *overrides], log)
    return ck


def finetune_eval(work: Path, tag: str, ck: Path | None, mode: str, frac: float, seed: int, s: dict, files: dict, log: list[str]) -> dict:
    """Fine-tune one tagger and evaluate it; return its metrics."""
    out = work / "ft" / f"{tag}_{mode}_f{frac:g}_s{seed}"
    src = ["--scratch"] if ck is None else ["--backbone", str(ck)]
    sh([PY, "-m", "hepjepa.cli", "finetune", *src, "--train", *files["train"], "--val", *files["val"], "--mode", mode,
        "--label-fraction", str(frac), "--epochs", str(s["epochs"]), "--seed", str(seed), "-o", str(out)], log)
    sh([PY, "-m", "hepjepa.cli", "evaluate", str(out / "tagger.pt"), "--test", *files["test"], "--tsne-max", "300", "-o", str(out / "eval")], log)
    return json.loads((out / "eval" / "metrics.json").read_text())


def summarise(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Mean and std of accuracy and AUC over seeds for each group of ``keys``."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for k, rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        auc = np.array([np.mean(list(r["auc"].values())) for r in rs])
        out.append({**dict(zip(keys, k)), "n_seeds": len(rs), "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=1) if len(rs) > 1 else 0.0),
                    "auc_mean": float(auc.mean()), "auc_std": float(auc.std(ddof=1) if len(rs) > 1 else 0.0)})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny run for a functional check (minutes on 2 cores)")
    ap.add_argument("--work", default=None, help="working directory (default benchmarks/work/fewshot[_quick])")
    a = ap.parse_args()
    name = "quick" if a.quick else "full"
    s = SETTINGS[name]
    work = Path(a.work or Path(__file__).parent / "work" / f"fewshot_{name}")
    work.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    files = generate(work, s, log)
    ck = pretrain(work, "jepa", s, files["train"], log)
    rows = []
    for frac in s["fractions"]:
        for seed in s["seeds"]:
            for mode, c in (("scratch", ck), ("frozen", ck), ("finetune", ck)):  # scratch: same architecture as ck, random init
                m = finetune_eval(work, "jepa", c, mode, frac, seed, s, files, log)
                rows.append({"mode": mode, "fraction": frac, "seed": seed, "accuracy": m["accuracy"], "auc": m["auc"]})
    summary = summarise(rows, ("mode", "fraction"))
    path = write_json(f"fewshot{'_quick' if a.quick else ''}", {"mode": name, "settings": s, "commands": log, "runs": rows, "summary": summary, "machine": machine()})
    _plot(summary, path.with_suffix(".png"))
    print(json.dumps(summary, indent=2))
    return 0


def _plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for mode in ("scratch", "frozen", "finetune"):
        r = sorted((x for x in summary if x["mode"] == mode), key=lambda x: x["fraction"])
        ax.errorbar([x["fraction"] for x in r], [x["accuracy_mean"] for x in r], yerr=[x["accuracy_std"] for x in r], label=mode, marker="o", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("label fraction")
    ax.set_ylabel("test accuracy")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    sys.exit(main())
