#!/usr/bin/env bash
# experiments/vit_fmnist.sh - the paper's ViT experiment at small scale (docs/RESULTS.md).
#
# Trains ViTs on Fashion-MNIST with six attention / output normalizer settings and several
# seeds, each run in OUT/<config>-s<seed>/ (checkpoint.safetensors, log.jsonl, analysis/),
# then summarises them with experiments/summarize.py into OUT/summary.md and OUT/runs.csv.
#   usage: bash experiments/vit_fmnist.sh [OUT=experiments/out] [SEEDS="1 2 3"]
#   environment: EPOCHS (4), JOBS (2 runs at a time, 1 thread each), EXTRA (more flags),
#   BIN (the multimax binary, default ./build/multimax)
# Runs are ordered seed by seed, so a partial sweep stays balanced; a finished run (its
# final epoch logged and analysed) is skipped, so the script can be re-run to resume.
# On the 2-core machine of docs/RESULTS.md the default sweep (18 runs) took 89 min (04:26 to
# 05:55, with other work running alongside).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-experiments/out}
SEEDS=${2:-"1 2 3"}
EPOCHS=${EPOCHS:-4}
JOBS=${JOBS:-2}
BIN=${BIN:-./build/multimax}
MODEL=(--depth 4 --dim 64 --heads 4 --patch 4 --mlp-ratio 2 --batch 128 --lr 1e-3 --wd 0.05
       --warmup 0.5 --label-smoothing 0.1)
# name: attention normalizer, output normalizer
CONFIGS=("softmax softmax softmax" "multimax multimax multimax" "multimax_attn multimax softmax"
         "sparsemax sparsemax softmax" "entmax15 entmax15 softmax" "evsoftmax evsoftmax softmax")
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-}
[ -x "$BIN" ] || make build
mkdir -p "$OUT"

one_run() { # name norm head seed
    local dir="$OUT/$1-s$4"
    if grep -q "\"epoch\":$EPOCHS," "$dir/log.jsonl" 2>/dev/null && [ -s "$dir/analysis/metrics.csv" ]; then
        echo "skip $dir (done)"; return 0
    fi
    local resume=()
    [ -s "$dir/checkpoint.safetensors" ] && resume=(--resume)
    echo "run  $dir"
    "$BIN" train vit "${MODEL[@]}" --norm "$2" --head-norm "$3" --seed "$4" --epochs "$EPOCHS" \
        --threads 1 --quiet --out "$dir" "${resume[@]}" ${EXTRA:-} >"$dir.train.txt" 2>&1 || {
        echo "FAILED $dir (see $dir.train.txt)"; return 1; }
    "$BIN" analyze "$dir/checkpoint.safetensors" --out "$dir/analysis" --images 2000 --maps 4 \
        --threads 1 >"$dir/analysis.txt" 2>&1
}

jobs_list=()
for seed in $SEEDS; do
    for c in "${CONFIGS[@]}"; do
        set -- $c
        jobs_list+=("$1 $2 $3 $seed")
    done
done
export -f one_run
export OUT EPOCHS BIN EXTRA
MODEL_STR="${MODEL[*]}"
export MODEL_STR
printf '%s\n' "${jobs_list[@]}" | xargs -P "$JOBS" -L 1 bash -c \
    'MODEL=($MODEL_STR); one_run "$@"' _
/usr/bin/python3 experiments/summarize.py "$OUT"
