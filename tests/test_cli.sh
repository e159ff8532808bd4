#!/usr/bin/env bash
# test_cli.sh - end-to-end tests of the `multimax` program.
#   usage: bash tests/test_cli.sh /path/to/multimax
# Expected values are independent of the library: closed forms computed here with awk,
# or the paper's numbers (Zhou et al. 2024, SPEC.md section 4). Exits non-zero on any
# failure; the last line is "N passed, M failed".
. "$(dirname "$0")/sh_harness.sh" "$@"
MM_RANGES=0,5,0,0
MM_TS=-20,-0.734,0,0

# run INPUT ARGS...: runs the program with INPUT on stdin; sets OUT, ERR, RC.
run() {
    local input=$1
    shift
    printf '%s' "$input" | "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

# near ACTUAL EXPECTED TOL: same number of tokens; words equal; numbers within
# TOL * max(1, |expected|) (absolute for probabilities, relative for large gradients).
near() {
    awk -v a="$1" -v e="$2" -v tol="$3" 'BEGIN {
        na = split(a, A, /[ \t\n]+/); ne = split(e, E, /[ \t\n]+/)
        if (na != ne) exit 1
        num = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
        for (i = 1; i <= na; i++) {
            if (A[i] ~ num && E[i] ~ num) {
                d = A[i] - E[i]; if (d < 0) d = -d
                m = E[i] < 0 ? -E[i] : E[i]; if (m < 1) m = 1
                if (d > tol * m) exit 1
            } else if (A[i] != E[i]) exit 1
        }
    }'
}

has() { [[ $1 == *"$2"* ]]; }        # has TEXT SUBSTRING
lines() { printf '%s\n' "$1" | awk 'END { print NR }'; }
calc() { awk "BEGIN { $1 }"; }       # calc 'printf ...'

# --- apply: forward values -------------------------------------------------------------
run $'0 0\n' apply softmax
check "softmax(0 0) = 0.5 0.5" [ "$RC" = 0 -a "$OUT" = "0.5 0.5" ]

run $'1 0\n' apply sparsemax
check "sparsemax(1 0) = 1 0" [ "$RC" = 0 -a "$OUT" = "1 0" ]

want=$(calc 's = exp(1) + exp(2) + exp(3); printf "%.9f %.9f %.9f", exp(1)/s, exp(2)/s, exp(3)/s')
run $'1,2, 3\n1 2 3\n1\t2 ,3\n' apply softmax
check "comma / space / tab separators, closed form" \
    near "$OUT" "$want"$'\n'"$want"$'\n'"$want" 1e-7

run $'-inf 0 0\n' apply softmax
check "-inf entries get 0" [ "$RC" = 0 -a "$OUT" = "0 0.5 0.5" ]

run $'-inf -inf\n' apply softmax
check "fully masked row gives 0 0" [ "$RC" = 0 -a "$OUT" = "0 0" ]

run $'-inf -inf -inf\n' apply entmax --alpha 1.3
check "fully masked row, entmax" [ "$RC" = 0 -a "$OUT" = "0 0 0" ]

run $'0 0\n\n   \n1 1 1 1\n' apply softmax
check "blank lines skipped, ragged rows" near "$OUT" $'0.5 0.5\n0.25 0.25 0.25 0.25' 1e-9

want=$(calc 'printf "%.9f %.9f", 1/(1+exp(1)), 1/(1+exp(-1))')
run $'0 2\n' apply softmax --temperature 2
check "softmax temperature 2" near "$OUT" "$want" 1e-7

run $'0 2\n' apply softmax --temperature=2
check "--opt=value form" near "$OUT" "$want" 1e-7

run $'0 0 0\n' apply softmax --double
check "--double prints %.17g" [ "$OUT" = "0.33333333333333331 0.33333333333333331 0.33333333333333331" ]

run $'0.5 0.2 -1\n' apply sparsemax
check "sparsemax closed form" near "$OUT" "0.65 0.35 0" 1e-7
run $'0.5 0.2 -1\n' apply entmax --alpha 2
check "entmax alpha 2 = sparsemax" near "$OUT" "0.65 0.35 0" 1e-6

# 1.5-entmax on (1, 0): p = (x/2 - tau)^2, both entries in the support:
# (0.5 - tau)^2 + tau^2 = 1  ->  tau = (0.5 - sqrt(1.75)) / 2
want=$(calc 't = (0.5 - sqrt(1.75)) / 2; printf "%.9f %.9f", (0.5 - t)^2, t^2')
run $'1 0\n' apply entmax15
check "entmax15 closed form" near "$OUT" "$want" 1e-7

run $'1 2 3\n' apply multimax --ranges 0,0,0,0 --ts 0,0,0,0
want=$(calc 's = exp(1) + exp(2) + exp(3); printf "%.9f %.9f %.9f", exp(1)/s, exp(2)/s, exp(3)/s')
check "multimax with zero ts = softmax" near "$OUT" "$want" 1e-7

# sigma(10) = 10 - 0.734*5, sigma(8) = 8 - 0.734*3, sigma(-1) = -1 - 20
want=$(calc 'a = 10 - 3.67; b = 8 - 2.202; c = -21; s = exp(a) + exp(b) + exp(c);
             printf "%.9f %.9f %.3g", exp(a)/s, exp(b)/s, exp(c)/s')
run $'10 8 -1\n' apply multimax --ranges $MM_RANGES --ts $MM_TS
check "hand-set multimax closed form" near "$OUT" "$want" 1e-7

run $'10 8 -1\n' apply evsoftmax --eval
check "evsoftmax eval zeroes below-mean entry" \
    awk -v o="$OUT" 'BEGIN { split(o, P, " "); exit !(P[3] == 0 && P[1] > 0.88 && P[2] > 0.11) }'
run $'10 8 -1\n' apply evsoftmax
check "evsoftmax training keeps a tiny weight" \
    awk -v o="$OUT" 'BEGIN { split(o, P, " "); exit !(P[3] > 0 && P[3] < 1e-9) }'

awk 'BEGIN { for (i = 0; i < 100000; i++) printf "%s0", (i ? " " : ""); print "" }' >"$TMP/long"
"$BIN" apply softmax <"$TMP/long" >"$TMP/out" 2>"$TMP/err"
RC=$? OUT="(long)" ERR=$(cat "$TMP/err")
check "100000-number line" awk -v rc="$RC" '{ n = NF; v = $1 } END {
    exit !(rc == 0 && NR == 1 && n == 100000 && v > 0.99999e-5 && v < 1.00001e-5) }' "$TMP/out"

# float32 (SIMD kernels, every ISA this CPU has) against float64 (the reference) on an
# awkward-length row with ties, masks and large scores.
awk 'BEGIN { for (i = 0; i < 37; i++) printf "%s%s", (i ? " " : ""),
             (i % 7 == 3 ? "-inf" : (i % 5) * 1.7 - 3 + (i == 20 ? 60 : 0)); print "" }' >"$TMP/row"
for isa in default avx512 avx2 portable; do
    for norm in "softmax --temperature 0.7" "multimax --ranges $MM_RANGES --ts $MM_TS" \
                "sparsemax" "entmax15" "entmax --alpha 1.3" "evsoftmax"; do
        ref=$("$BIN" apply $norm --double <"$TMP/row")
        if [ "$isa" = default ]; then env=(); else env=(MMX_ISA=$isa); fi
        env "${env[@]}" "$BIN" apply $norm <"$TMP/row" >"$TMP/out" 2>"$TMP/err"
        RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
        # an ISA this CPU lacks is skipped (the library says so and falls back or refuses)
        if [ "$RC" != 0 ] && [ "$isa" != default ]; then continue; fi
        check "float32 ($isa) = float64 for $norm" near "$OUT" "$ref" 2e-6
    done
done

# --- apply --vjp -----------------------------------------------------------------------
run $'0 0 | 1 0\n' apply softmax --vjp
check "softmax vjp closed form" near "$OUT" "0.25 -0.25" 1e-7

# identity sigma (all ts 0): dts_k = sum g * dsigma/dts_k, g = p*(dy - <p,dy>), p = softmax(1,2)
# dts = (0, sum g x, 0, sum g x^2), dranges = 0; two identical rows sum to twice that.
want=$(calc 'p1 = 1/(1+exp(1)); p2 = 1 - p1; g1 = p1*(1-p1); g2 = p2*(0-p1);
             printf "dranges 0 0 0 0\ndts 0 %.9f 0 %.9f", 2*(g1+2*g2), 2*(g1+4*g2)')
run $'1 2 | 1 0\n1,2|1,0\n' apply multimax --ranges 0,0,0,0 --ts 0,0,0,0 --vjp
check "multimax vjp: dx rows, then summed dranges/dts (order 2: 4 values)" \
    near "$(printf '%s\n' "$OUT" | tail -n 2)" "$want" 1e-6
check "multimax vjp output shape" awk -v o="$OUT" 'BEGIN {
    n = split(o, L, "\n"); if (n != 4) exit 1
    for (i = 1; i <= 2; i++) if (split(L[i], F, " ") != 2) exit 1
    nr = split(L[3], R, " "); nt = split(L[4], T, " ")
    exit !(nr == 5 && R[1] == "dranges" && nt == 5 && T[1] == "dts") }'

# float32 backward (and the parameter gradients) against float64 on a well-conditioned
# row (no dominant score, so the gradients are not vanishingly small)
awk 'BEGIN { for (i = 0; i < 37; i++) printf "%s%s", (i ? " " : ""),
             (i % 7 == 3 ? "-inf" : (i % 5) * 0.9 - 1.5 + i * 0.01); printf " |"
             for (i = 0; i < 37; i++) printf " %g", (i * 37 % 11) / 10 - 0.5; print "" }' >"$TMP/vjp"
for isa in avx512 avx2 portable; do
    for norm in "softmax --temperature 0.7" "multimax --ranges $MM_RANGES --ts $MM_TS" \
                "sparsemax" "entmax15" "entmax --alpha 1.3" "evsoftmax --eval"; do
        ref=$("$BIN" apply $norm --vjp --double <"$TMP/vjp")
        MMX_ISA=$isa "$BIN" apply $norm --vjp <"$TMP/vjp" >"$TMP/out" 2>"$TMP/err"
        RC=$? OUT=$(cat "$TMP/out") ERR=$(cat "$TMP/err")
        check "float32 vjp ($isa) = float64 for $norm" near "$OUT" "$ref" 2e-6
    done
done

run $'1 2 3 | 1 0 0\n' apply entmax --alpha 1.25 --vjp
check "entmax vjp prints dx then dalpha" awk -v o="$OUT" -v rc="$RC" 'BEGIN {
    n = split(o, L, "\n"); exit !(rc == 0 && n == 2 && split(L[1], F, " ") == 3 &&
                                  split(L[2], D, " ") == 2 && D[1] == "dalpha") }'

run $'1 2 | 1\n' apply softmax --vjp
check "vjp count mismatch: exit 1, names line" eval '[ "$RC" = 1 ] && has "$ERR" "line 1"'

run $'1 2 3\n' apply softmax --vjp
check "vjp without '|': exit 1" [ "$RC" = 1 ]

run $'1 2 | 3 4\n' apply softmax
check "'|' without --vjp: exit 1 with column" eval '[ "$RC" = 1 ] && has "$ERR" "column 5"'

# --- errors ----------------------------------------------------------------------------
run $'1 2\n3 abc 4\n' apply softmax
check "malformed token on line 2: exit 1, line and column" \
    eval '[ "$RC" = 1 ] && has "$ERR" "line 2" && has "$ERR" "column 3" && has "$ERR" "abc"'

run $'1,,2\n' apply softmax
check "empty field: exit 1 with column" eval '[ "$RC" = 1 ] && has "$ERR" "column 3"'

run $'1 nan 2\n' apply softmax
check "nan input: library message, exit 1" \
    eval '[ "$RC" = 1 ] && has "$ERR" "line 1" && has "$ERR" "nan"'

run $'1 inf\n' apply sparsemax
check "+inf input: exit 1" eval '[ "$RC" = 1 ] && [ -n "$ERR" ]'

run $'1 1e39\n' apply softmax
check "float32 overflow: exit 1 naming the column" eval '[ "$RC" = 1 ] && has "$ERR" "column 3"'

run $'1\n' apply foo
check "unknown NORM: exit 2, named" eval '[ "$RC" = 2 ] && has "$ERR" "foo"'

run $'1\n' apply entmax --alpha 0.5
check "--alpha 0.5: non-zero, names alpha" eval '[ "$RC" != 0 ] && has "$ERR" "alpha"'

run $'1\n' apply softmax --alpha 2
check "--alpha with softmax: exit 2, names option" eval '[ "$RC" = 2 ] && has "$ERR" "--alpha"'

run $'1\n' apply multimax --ts 0,0
check "multimax without --ranges: names it" eval '[ "$RC" = 2 ] && has "$ERR" "--ranges"'

run $'1\n' apply multimax --ranges 0,0,0 --ts 0,0,0
check "odd --ranges length: exit 2" [ "$RC" = 2 ]

run $'1\n' apply softmax --temperature 0
check "temperature 0: exit 2, names temperature" \
    eval '[ "$RC" = 2 ] && has "$ERR" "temperature"'

run $'1\n' apply softmax --bogus
check "unknown option: exit 2" eval '[ "$RC" = 2 ] && has "$ERR" "--bogus"'

run '' bogus
check "unknown subcommand: exit 2, usage on stderr" eval '[ "$RC" = 2 ] && has "$ERR" "usage"'

# --- metrics ---------------------------------------------------------------------------
run $'10 8 -1\n' metrics softmax
check "metrics softmax (10 8 -1): paper M 0.2384, S 0.3679" near "$OUT" "0.2384 0.3679" 2e-4

run $'10 8 -1\n10 6 -1\n10 4 -1\n' metrics sparsemax --double
check "metrics sparsemax: (0, 1) per row" near "$OUT" $'0 1\n0 1\n0 1' 1e-6

run $'10 8 -1\n' metrics softmax --temperature 4
check "metrics softmax t=4: paper (0.764, 0.000)" near "$OUT" "0.764 0.000" 1e-3

run $'10 8 -1\n' metrics multimax --ranges $MM_RANGES --ts $MM_TS
check "metrics hand-set multimax: M ~ 0.74, S ~ 1" near "$OUT" "0.74 1.0" 5e-3

run $'5\n' metrics softmax
check "metrics undefined row" [ "$OUT" = "undefined undefined" ]

run $'10 8 -1 | 1 0 0\n' metrics softmax --vjp
check "metrics rejects --vjp" [ "$RC" = 2 ]

# --- info, help, version, examples ---------------------------------------------------------
run '' --version
ver=$(printf '%s' "$OUT" | awk '{ print $2 }')
check "--version prints a version" eval '[[ "$ver" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]'
run '' info
check "info prints version and threads" \
    eval '[ "$RC" = 0 ] && has "$OUT" "$ver" && [[ "$OUT" =~ threads:\ *[1-9] ]]'

run '' help
check "help lists every subcommand and flag" eval '[ "$RC" = 0 ] && (for w in info apply \
    metrics examples demo train eval analyze --temperature --alpha --ranges --ts --eval --vjp --double --eps --version; do
    has "$OUT" "$w" || exit 1; done)'

run '' examples
check "examples: exit 0, < 100 lines, hand-set multimax M ~ 0.74" \
    eval '[ "$RC" = 0 ] && [ "$(lines "$OUT")" -lt 100 ] && has "$OUT" "M = 0.74"'

summary
