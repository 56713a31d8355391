#!/usr/bin/env bash
# The one generated data set behind every physics benchmark (fewshot, ablations, physics_*):
# the ten JetClass-like classes, disjoint seeds per split and class, JetClass ROOT layout.
#
#   bash benchmarks/make_bench_data.sh            # ~25 CPU minutes; files already there are kept
#   N_TRAIN=300 N_VAL=50 N_TEST=100 OUT=data/bench_quick bash benchmarks/make_bench_data.sh
#   # the large top-vs-QCD set of the few-shot benchmark (disjoint seeds: SEED_BASE shifts all three bases)
#   CLASSES="qcd tbqq" N_TRAIN=10000 N_VAL=1000 N_TEST=2500 SEED_BASE=10000 OUT=data/bench_top bash benchmarks/make_bench_data.sh
#   # an unlabelled pretraining pool (train split only, disjoint seeds): the 'pool' backbone of physics_compare
#   SPLITS=train N_TRAIN=6000 SEED_BASE=20000 OUT=data/bench_pool bash benchmarks/make_bench_data.sh
#
# Output: $OUT/{train,val,test}_<class>.root and $OUT/commands.txt (every command run, for the JSON).
# Top vs QCD uses *_tbqq + *_qcd; quark vs gluon uses *_qcd (aux_qcd_is_quark); ten-class uses all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-data/bench}
N_TRAIN=${N_TRAIN:-1500}; N_VAL=${N_VAL:-200}; N_TEST=${N_TEST:-500}
WORKERS=${WORKERS:-2}
SEED_BASE=${SEED_BASE:-0}
SPLITS=" ${SPLITS:-train val test} "
mkdir -p "$OUT"
classes=(qcd hbb hcc hgg h4q hqql zqq wqq tbqq tbl)   # JetClass order; the seed offset is this index
order=(0 8 1 2 3 4 5 6 7 9)                            # top vs QCD first: the few-shot runs need them soonest
wanted=" ${CLASSES:-${classes[*]}} "
for i in "${order[@]}"; do
  [[ "$wanted" == *" ${classes[$i]} "* ]] || continue
  for split in train val test; do
    [[ "$SPLITS" == *" $split "* ]] || continue
    case $split in train) n=$N_TRAIN; base=$((SEED_BASE + 7000));; val) n=$N_VAL; base=$((SEED_BASE + 8000));; test) n=$N_TEST; base=$((SEED_BASE + 9000));; esac
        c=${classes[$i]}; f="$OUT/${split}_${c}.root"
        [[ -f "$f" ]] && continue
        cmd=("$PY" -m hepjepa.cli generate --process "$c" --n-jets "$n" --seed $((base + i)) --format jetclass -o "$f" --workers "$WORKERS")
        echo "${cmd[*]}" >> "$OUT/commands.txt"
        "${cmd[@]}"
    done
done
echo "bench data ready in $OUT"
