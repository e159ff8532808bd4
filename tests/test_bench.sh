#!/usr/bin/env bash
# test_bench.sh - the three benchmarks end to end on tiny shapes, so they do not rot: exit
#   status, the JSON fields the issues ask for, the fused-vs-naive check of `bench attn`, the
#   PyTorch peers (bench train --peers runs PyTorch steps interleaved with ours through
#   bench/peers_vit.py --serve), and bad command lines.
#   usage: bash tests/test_bench.sh /path/to/multimax
. "$(dirname "$0")/sh_harness.sh" "$@"
export OPENBLAS_CORETYPE=

# every line of a JSON-lines file has every key named
keys() {
    local f=$1; shift
    [ -s "$f" ] || return 1
    /usr/bin/python3 - "$f" "$@" <<'PY'
import json, sys
f, keys = sys.argv[1], sys.argv[2:]
rows = [json.loads(l) for l in open(f) if l.strip()]
missing = [(i, k) for i, r in enumerate(rows) for k in keys if k not in r]
sys.exit(1 if not rows or missing else 0)
PY
}
# a Python expression over the rows r (a list of dicts) holds
holds() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# --- bench norms ---------------------------------------------------------------------------
run bench norms --norms softmax,multimax,entmax15 --shapes 64x33,16x1000 --threads 1,2 --reps 1 \
    --json "$TMP/n.jsonl"
check "bench norms: exit 0" [ "$RC" = 0 ]
check "bench norms: JSON fields" keys "$TMP/n.jsonl" op dir rows cols threads isa ms memcpy_ms ratio
check "bench norms: 3 norms x 2 shapes x 2 thread counts x fwd, bwd, fwdbwd" \
    holds "$TMP/n.jsonl" 'len(r) == 36 and all(x["ms"] > 0 and x["ratio"] > 0 for x in r)'
run bench norms --norms softmax,sparsemax --shapes 32x64 --threads 2 --reps 1 --peers --json "$TMP/np.jsonl"
check "bench norms --peers: peer rows" eval '[ "$RC" = 0 ] && holds "$TMP/np.jsonl" "any(x.get(\"peer_ms\", 0) > 0 for x in r)"'

# --- bench attn ----------------------------------------------------------------------------
run bench attn --norms softmax,multimax,entmax15 --T 33,70 --D 16 --heads 2 --batch 2 --threads 2 \
    --reps 1 --warmup 0 --naive --json "$TMP/a.jsonl"
check "bench attn: exit 0" [ "$RC" = 0 ]
check "bench attn: JSON fields" keys "$TMP/a.jsonl" norm pass B H T D threads ms gflops peak_extra_mb
check "bench attn: fused agrees with the naive path" \
    holds "$TMP/a.jsonl" 'all(x["l2diff_vs_naive"] < 1e-4 for x in r if "l2diff_vs_naive" in x) and any("l2diff_vs_naive" in x for x in r)'
run bench attn --norms softmax --T 33 --D 16 --heads 2 --threads 1 --reps 1 --warmup 0 --peers \
    --pass fwdbwd --json "$TMP/ap.jsonl"
check "bench attn --peers: a torch row" eval '[ "$RC" = 0 ] && holds "$TMP/ap.jsonl" "any(x[\"impl\"].startswith(\"torch\") and x[\"ms\"] > 0 for x in r)"'

# --- bench train ---------------------------------------------------------------------------
run bench train --dim 16 --depth 1 --heads 2 --patch 7 --batch 8 --steps 2 --threads 1 --peers \
    --json "$TMP/t.jsonl"
check "bench train --peers: exit 0" [ "$RC" = 0 ]
check "bench train: JSON fields" keys "$TMP/t.jsonl" norm threads ms images_per_s vs_softmax peer_ms speedup_vs_peer
check "bench train --peers: both normalizers timed against torch" \
    holds "$TMP/t.jsonl" 'sorted(x["norm"] for x in r) == ["multimax", "softmax"] and all(x["peer_ms"] > 0 and x["ms"] > 0 for x in r)'

# --- bad command lines ----------------------------------------------------------------------
run bench train --steps 0
check "bench train --steps 0: exit 2" [ "$RC" = 2 ]
run bench attn --pass sideways
check "bench attn --pass sideways: exit 2, names the value" eval '[ "$RC" = 2 ] && grep -q sideways "$TMP/err"'
run bench norms --shapes 12
check "bench norms --shapes 12: exit 2" [ "$RC" = 2 ]

summary
