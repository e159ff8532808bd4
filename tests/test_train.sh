#!/usr/bin/env bash
# test_train.sh - the training CLI end to end on real Fashion-MNIST (small slices):
#   bit-exact resume (a run stopped mid-epoch and resumed equals an uninterrupted one), the
#   same checkpoint for 1 and 3 threads,
#   corrupted and mismatched checkpoints (clear error, nothing overwritten), eval, analyze and
#   demo outputs, and bad command lines / missing data.
#   usage: bash tests/test_train.sh /path/to/multimax
. "$(dirname "$0")/sh_harness.sh" "$@"
has() { grep -q -- "$2" "$1"; }

# A tiny model and data slice: 8 steps per epoch, 2 epochs.
SMALL=(train vit --depth 1 --dim 16 --heads 2 --patch 7 --epochs 2 --batch 64 --train-limit 512
       --test-limit 256 --log-every 1 --quiet --threads 2)

# --- bit-exact resume ----------------------------------------------------------------------
run "${SMALL[@]}" --norm multimax --head-norm multimax --out "$TMP/a"
check "uninterrupted run" [ "$RC" = 0 ]
check "log has 16 step lines and 2 epoch lines" \
    eval '[ "$(grep -c "\"kind\":\"step\"" "$TMP/a/log.jsonl")" = 16 ] &&
          [ "$(grep -c "\"kind\":\"epoch\"" "$TMP/a/log.jsonl")" = 2 ]'
run "${SMALL[@]}" --norm multimax --head-norm multimax --out "$TMP/b" --stop-at 5
check "run stopped at step 5" eval '[ "$RC" = 0 ] && [ "$(grep -c "\"kind\":\"step\"" "$TMP/b/log.jsonl")" = 5 ]'
run "${SMALL[@]}" --norm multimax --head-norm multimax --out "$TMP/b" --resume
check "resumed run" [ "$RC" = 0 ]
check "resumed run logs the same step losses as the uninterrupted one" \
    cmp -s <(grep '"kind":"step"' "$TMP/a/log.jsonl") <(grep '"kind":"step"' "$TMP/b/log.jsonl")
check "resumed run ends with a byte-identical checkpoint (parameters, moments, step)" \
    cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/b/checkpoint.safetensors"
check "same final test accuracy" \
    cmp -s <(grep '"epoch":2,' "$TMP/a/log.jsonl" | sed 's/.*"test_loss"/"test_loss"/; s/,"ms_per_step.*//') \
           <(grep '"epoch":2,' "$TMP/b/log.jsonl" | sed 's/.*"test_loss"/"test_loss"/; s/,"ms_per_step.*//')

# --- the thread count does not change the result ---------------------------------------------
# batch 256 x 16 tokens = 4096 rows: 2 row groups per product, 4 per weight gradient, 16
# column-sum chunks (the threads split all of them)
TC=(train vit --depth 1 --dim 32 --heads 2 --patch 7 --epochs 1 --batch 256 --train-limit 768
    --test-limit 64 --quiet --norm multimax --head-norm multimax)
run "${TC[@]}" --threads 1 --out "$TMP/t1"
check "1-thread run" [ "$RC" = 0 ]
run "${TC[@]}" --threads 3 --out "$TMP/t3"
check "3-thread run" [ "$RC" = 0 ]
check "1 and 3 threads write byte-identical checkpoints" \
    cmp -s "$TMP/t1/checkpoint.safetensors" "$TMP/t3/checkpoint.safetensors"

# --- eval and analyze ----------------------------------------------------------------------
CK="$TMP/a/checkpoint.safetensors"
run eval "$CK" --test-limit 300
check "eval prints accuracy of 300 images" eval '[ "$RC" = 0 ] && has "$TMP/out" "test images: 300" && has "$TMP/out" "test accuracy: "'
run analyze "$CK" --out "$TMP/rep" --images 64 --maps 2
check "analyze writes the report" eval '[ "$RC" = 0 ] && [ -s "$TMP/rep/report.html" ] &&
    [ -s "$TMP/rep/metrics.csv" ] && [ -s "$TMP/rep/attn_multimax_0.png" ] && [ -s "$TMP/rep/modulators.csv" ]'
check "analyze prints per-layer metrics in [0, 1]" eval 'awk "/^ +1 /{ if (\$2 < 0 || \$2 > 1 || \$3 < 0 || \$3 > 1) exit 1; n++ } END { exit n != 1 }" "$TMP/out"'

# --- the demo (main job) on a slice: both models, the side-by-side timing, the report -------
run demo --epochs 1 --train-limit 256 --depth 1 --dim 16 --threads 2 --out "$TMP/demo"
check "demo on a slice: table, side-by-side step times, report" eval '[ "$RC" = 0 ] &&
    has "$TMP/out" "test accuracy" && [ -s "$TMP/demo/report.html" ] &&
    awk "/side by side \\(batch 100\\)/ { if (\$(NF-1) > 0 && \$NF > 0) ok = 1 } END { exit !ok }" "$TMP/out" &&
    has "$TMP/out" "MultiMax step time vs SoftMax: "'

# --- corrupted and mismatched checkpoints: clear error, nothing overwritten -----------------
cp "$CK" "$TMP/good"
head -c 5000 "$CK" >"$TMP/trunc.safetensors"
run eval "$TMP/trunc.safetensors"
check "truncated checkpoint: exit 1, names the file" eval '[ "$RC" = 1 ] && has "$TMP/err" "trunc.safetensors"'
cp "$CK" "$TMP/flip.safetensors"
printf 'X' | dd of="$TMP/flip.safetensors" bs=1 seek=20 conv=notrunc 2>/dev/null
run eval "$TMP/flip.safetensors"
check "corrupted header: exit 1" eval '[ "$RC" = 1 ] && has "$TMP/err" "flip.safetensors"'
# A NaN planted in the data of the first tensor (the data start after 8 + header bytes).
cp "$CK" "$TMP/nan.safetensors"
hdr=$(od -An -t u8 -N 8 "$TMP/nan.safetensors" | tr -d ' ')
printf '\x00\x00\xc0\x7f' | dd of="$TMP/nan.safetensors" bs=1 seek=$((8 + hdr)) conv=notrunc 2>/dev/null
run eval "$TMP/nan.safetensors"
check "NaN parameter: exit 1, named" eval '[ "$RC" = 1 ] && has "$TMP/err" "NaN\|nan"'
mkdir -p "$TMP/c" && cp "$TMP/trunc.safetensors" "$TMP/c/checkpoint.safetensors"
cp "$TMP/c/checkpoint.safetensors" "$TMP/c.before"
run "${SMALL[@]}" --out "$TMP/c" --resume
check "resume from a corrupted checkpoint: exit 1, checkpoint untouched" \
    eval '[ "$RC" = 1 ] && cmp -s "$TMP/c/checkpoint.safetensors" "$TMP/c.before"'
run "${SMALL[@]}" --norm multimax --head-norm multimax --out "$TMP/a" --resume --lr 0.002
check "resume with other settings: exit 1, names the setting, checkpoint untouched" \
    eval '[ "$RC" = 1 ] && has "$TMP/err" "train.lr" && cmp -s "$CK" "$TMP/good"'
run "${SMALL[@]}" --out "$TMP/d" --resume
check "resume without a checkpoint: exit 1, names the file" \
    eval '[ "$RC" = 1 ] && has "$TMP/err" "checkpoint.safetensors"'
run eval "$TMP/nonexistent.safetensors"
check "eval of a missing file: exit 1" eval '[ "$RC" = 1 ] && has "$TMP/err" "nonexistent"'

# --- bad command lines and missing data ----------------------------------------------------
run train vit --epochs 1
check "train without --out: exit 2" eval '[ "$RC" = 2 ] && has "$TMP/err" "--out"'
run train vit --norm bogus --out "$TMP/e"
check "unknown normalizer: exit 2" eval '[ "$RC" = 2 ] && has "$TMP/err" "bogus"'
run train vit --head-norm evsoftmax --out "$TMP/e" --train-limit 64 --batch 64
check "evsoftmax head: exit 1, says why" eval '[ "$RC" = 1 ] && has "$TMP/err" "evsoftmax"'
run train vit --dim 30 --heads 4 --out "$TMP/e"
check "dim not a multiple of heads: exit 1" eval '[ "$RC" = 1 ] && has "$TMP/err" "heads"'
run train vit --batch 0 --out "$TMP/e"
check "batch 0: exit 2" [ "$RC" = 2 ]
run "${SMALL[@]}" --out "$TMP/f" --data "$TMP/no-such-dir"
check "missing data: exit 1, names the package" eval '[ "$RC" = 1 ] && has "$TMP/err" "dataset-fashion-mnist"'
run train vit --help
check "train vit --help lists the flags" eval '[ "$RC" = 0 ] && has "$TMP/out" "--resume" && has "$TMP/out" "--head-norm"'

summary
