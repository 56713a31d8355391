#!/usr/bin/env bash
# Reproduce the shipped default model (python/hepjepa/models/default/):
# generate -> pretrain -> finetune -> evaluate -> export -> copy into the package.
#
# Usage: bash benchmarks/train_shipped_model.sh        (from anywhere; ~15-25 min on 2 shared cores)
# Data and runs go to data/shipped/ (git-ignored); files already there are reused, so a
# half-finished run can be continued by running the script again.  Set FORCE=1 to redo all.
# CPU minutes of each stage (user+sys, from /usr/bin/time) are appended to data/shipped/cost.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
W=data/shipped
MODEL=python/hepjepa/models/default
mkdir -p "$W"
[[ "${FORCE:-0}" == 1 ]] && rm -rf "$W"/*.root "$W"/pretrain "$W"/finetune "$W"/eval "$W"/export "$W"/cost.txt

timed() {  # timed NAME CMD...: run CMD, append "NAME wall_s cpu_s" to cost.txt
    local name=$1; shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$W/cost.raw" "$@"
    # one line per stage: a re-run replaces the stage's earlier line
    { grep -v "^$name " "$W/cost.txt" 2>/dev/null || true
      tail -n1 "$W/cost.raw" | awk '{printf "%s wall_s=%s cpu_s=%.1f\n", $1, $2, $3+$4}'; } > "$W/cost.tmp"
    mv "$W/cost.tmp" "$W/cost.txt"
}

gen() {  # gen PROCESS N SEED OUT
    [[ -f "$4" ]] || timed "generate_$1_$3" "$PY" -m hepjepa.cli generate --process "$1" --n-jets "$2" --seed "$3" \
        --format jetclass -o "$4" --workers 2
}
# training (pretraining + fine-tuning), validation (early stopping), held-out test: disjoint seeds
gen tbqq 1500 101 "$W/train_tbqq.root"
gen qcd  1500 102 "$W/train_qcd.root"
gen tbqq 400  201 "$W/test_tbqq.root"
gen qcd  400  202 "$W/test_qcd.root"
gen tbqq 300  301 "$W/val_tbqq.root"
gen qcd  300  302 "$W/val_qcd.root"

# self-supervised pretraining on the unlabelled training jets (labels unused)
[[ -f "$W/pretrain/checkpoint.pt" ]] || timed pretrain "$PY" -m hepjepa.cli pretrain --config "$MODEL/pretrain_config.yaml"

# fine-tune backbone + class-attention head on the labelled training jets
[[ -f "$W/finetune/tagger.pt" ]] || timed finetune "$PY" -m hepjepa.cli finetune --backbone "$W/pretrain/checkpoint.pt" \
    --train "$W/train_tbqq.root" "$W/train_qcd.root" --val "$W/val_tbqq.root" "$W/val_qcd.root" \
    --mode finetune --head class_attention --epochs ${EPOCHS:-20} --batch-size 64 --lr 1e-3 --seed 0 -o "$W/finetune"

timed evaluate "$PY" -m hepjepa.cli evaluate "$W/finetune/tagger.pt" --test "$W/test_tbqq.root" "$W/test_qcd.root" \
    --tsne-max 300 --seed 0 -o "$W/eval"
timed export "$PY" -m hepjepa.cli export "$W/finetune/tagger.pt" -o "$W/export"

# ship: ONNX + preprocess.json + both checkpoints + metrics (the model card is written by hand from these)
mkdir -p "$MODEL"
cp "$W/export/model.onnx" "$W/export/preprocess.json" "$MODEL/"
cp "$W/pretrain/checkpoint.pt" "$MODEL/backbone.pt"
cp "$W/finetune/tagger.pt" "$MODEL/tagger.pt"
cp "$W/eval/metrics.json" "$MODEL/metrics.json"
cp "$W/cost.txt" "$MODEL/training_cost.txt"
chmod 644 "$MODEL"/*
du -sh "$MODEL"
cat "$MODEL/metrics.json"

# model card from the measured numbers (metrics.json, cost.txt) and the configs
"$PY" - "$MODEL" "$W" <<'PYEOF'
import json, sys, platform, os
from pathlib import Path
import torch, onnxruntime
model, work = Path(sys.argv[1]), Path(sys.argv[2])
m = json.loads((model / "metrics.json").read_text())
cost = [l.split() for l in (model / "training_cost.txt").read_text().splitlines() if l.strip()]
cpu = {c[0]: float(c[2].split("=")[1]) for c in cost}
wall = {c[0]: float(c[1].split("=")[1]) for c in cost}
gen_cpu = sum(v for k, v in cpu.items() if k.startswith("generate"))
tagger = torch.load(model / "tagger.pt", map_location="cpu", weights_only=False)
hist = json.loads((work / "finetune" / "history.json").read_text()) if (work / "finetune" / "history.json").is_file() else {}
rej = m.get("rejection", {})
rej_lines = "\n".join(f"| {name} vs QCD | " + " | ".join(f"{v:.1f}" if v is not None else "inf" for k, v in sorted(r.items())) + " |"
                      for name, r in rej.items())
rej_head = "| | " + " | ".join(sorted(next(iter(rej.values())).keys())) + " |\n|---|" + "---|" * len(next(iter(rej.values())))
auc = ", ".join(f"{k}: {v:.4f}" for k, v in m.get("auc", {}).items())
size = sum(p.stat().st_size for p in model.iterdir() if p.is_file()) / 2**20
card = f"""# hepjepa default model: top (Tbqq) vs QCD jet tagger

A small HEP-JEPA backbone, self-supervised on generated jets, fine-tuned with a class-attention
head to separate hadronic top jets (JetClass `Tbqq`) from QCD jets. Made by
`bash benchmarks/train_shipped_model.sh` (everything below comes from that script's outputs).
It is a demonstration-size model trained in minutes on 2 CPU cores: use it to try the
pipeline (ONNX, C++ bridge, coffea), not for physics results.

## Files
| file | what |
|---|---|
| `model.onnx` | the tagger; inputs `features, particle_mask, group_mask, centers, pair_features`, output `scores` (softmax) |
| `preprocess.json` | tokeniser config, input names/shapes, `flav_names` {tagger['config']['classes'] if 'config' in tagger else ''} -> {json.loads((model / 'preprocess.json').read_text())['flav_names']}, sha256s |
| `backbone.pt` | the pretraining checkpoint (`hepjepa pretrain`), for `hepjepa finetune --backbone` |
| `tagger.pt` | the fine-tuned tagger checkpoint (`hepjepa finetune`), for `hepjepa evaluate` / `hepjepa export` |
| `pretrain_config.yaml` | the pretraining config |
| `metrics.json`, `training_cost.txt` | held-out metrics and the measured cost of each stage |

Folder size: {size:.2f} MiB.

## Data (Pythia 8.317 + FastJet, JetClass ROOT format, detector response on, MPI on)
Anti-kT R=0.8 jets, 500 < pT < 1000 GeV, |eta| < 2 (the generator's defaults); top jets keep
only jets containing the three decay quarks. Seeds are disjoint between the splits:

```
hepjepa generate --process tbqq --n-jets 1500 --seed 101 --format jetclass -o data/shipped/train_tbqq.root --workers 2
hepjepa generate --process qcd  --n-jets 1500 --seed 102 --format jetclass -o data/shipped/train_qcd.root  --workers 2
hepjepa generate --process tbqq --n-jets 400  --seed 201 --format jetclass -o data/shipped/test_tbqq.root  --workers 2
hepjepa generate --process qcd  --n-jets 400  --seed 202 --format jetclass -o data/shipped/test_qcd.root   --workers 2
hepjepa generate --process tbqq --n-jets 300  --seed 301 --format jetclass -o data/shipped/val_tbqq.root   --workers 2
hepjepa generate --process qcd  --n-jets 300  --seed 302 --format jetclass -o data/shipped/val_qcd.root    --workers 2
```
Train: 3000 jets (pretraining ignores the labels), validation: 600 (early stopping / best
weights), test: 800 (used only for the metrics below).

## Training
Pretraining: `hepjepa pretrain --config python/hepjepa/models/default/pretrain_config.yaml`
(the `pretrain_tiny` backbone: embed 32, depth 2, 4 heads, 8 registers; tokeniser group size 8,
at most 12 groups; batch 64, 150 steps, lr 1e-3, seed 0).

Fine-tuning:
```
hepjepa finetune --backbone data/shipped/pretrain/checkpoint.pt --train data/shipped/train_tbqq.root data/shipped/train_qcd.root \\
    --val data/shipped/val_tbqq.root data/shipped/val_qcd.root --mode finetune --head class_attention \\
    --epochs {os.environ.get('EPOCHS', '20')} --batch-size 64 --lr 1e-3 --seed 0 -o data/shipped/finetune
```

## Cost (measured, CPU minutes = user+sys of the process tree; machine shared with other jobs)
| stage | CPU min | wall min |
|---|---|---|
""" + "\n".join(f"| {k} | {cpu[k] / 60:.1f} | {wall[k] / 60:.1f} |" for k in cpu) + f"""
| **total** | **{sum(cpu.values()) / 60:.1f}** | {sum(wall.values()) / 60:.1f} |

Stages missing from this table were not timed (in the shipped run: the test-set generation,
800 jets, about 0.3 CPU min at the rate of the other generation stages).

## Metrics on the held-out test set ({m.get('n_jets')} jets, seeds 201/202)
accuracy **{m['accuracy']:.3f}**, macro accuracy {m['macro_accuracy']:.3f}, AUC {auc}.

Background rejection 1/eB at signal efficiency eS:

{rej_head}
{rej_lines}

With 400 QCD test jets, 1/eB above ~100 rests on a handful of jets: treat it as a lower-precision number.

## Environment
{platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}.
"""
(model / "MODEL_CARD.md").write_text(card)
print(card)
PYEOF
