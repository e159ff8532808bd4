# sh_harness.sh - shared by the shell tests (test_*.sh), sourced with the program's path:
#   . "$(dirname "$0")/sh_harness.sh" "$@"
# Sets BIN and a temporary directory TMP (removed on exit); check NAME CMD... counts CMD's
# success; run ARGS... runs the program with stdout and stderr into $TMP/out, $TMP/err and its
# status in RC; summary prints "N passed, M failed" and fails if any check did.
set -u

BIN=${1:?usage: bash tests/test_NAME.sh /path/to/multimax}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0
RC=0

ok() { PASS=$((PASS + 1)); }
bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $1"
    echo "  exit=$RC stdout=[$(tail -c 2000 "$TMP/out" 2>/dev/null)]"
    echo "  stderr=[$(tail -c 2000 "$TMP/err" 2>/dev/null)]"
}
check() { # name, then a command that must succeed
    local name=$1
    shift
    if "$@"; then ok; else bad "$name"; fi
}
run() { "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"; RC=$?; }
summary() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" = 0 ]
}
