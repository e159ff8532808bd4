"""Shared helpers for the peer tests: find and run the `multimax` CLI, format its input rows,
parse its output, generate seeded test batches, and compare against float64 references.

The peers (PyTorch 1.13 from Debian, the entmax package from PyPI) are importable only by
/usr/bin/python3. A missing peer or a missing CLI binary FAILS the tests (never skips them):
a skipped peer comparison reported as a pass would hide exactly the bugs this suite is for.

Tolerances (used by every test file; see check_close):
  F32 path: the CLI reads float32 inputs (we generate exactly representable float32 values, so
    the library and the reference see the same numbers), computes with double accumulators and
    rounds outputs to float32 (relative 6e-8). Elementary float32 operations on logits of size
    |a| <= ~30 cost at most ~|a| * 6e-8 ~ 2e-6 relative in exp(a). rtol 1e-5 / atol 1e-6 (scaled
    by the largest reference magnitude for gradients) leaves a 5x-100x margin over that and is
    still ~1e5 times tighter than any real formula error (a wrong sign, a missing term, a wrong
    support) would produce.
  F64 path: everything in double on both sides; differences are a few ulps times the condition
    of the map (row sums of up to 1000 terms, exp of arguments up to ~30): ~1e-14 relative.
    rtol 1e-10 / atol 1e-12 (scaled) leaves a 100x+ margin.
  Parameter gradients (dranges, dts, dalpha) are sums over every entry of the batch, so their
    error scales with the sum of the absolute values of the summed terms (`mag`), not with the
    (possibly cancelling) result: |got - ref| <= rtol * mag + tiny.
"""
import os
import re
import shlex
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

try:  # Debian's python3-torch: only /usr/bin/python3 sees it.
    import torch

    TORCH_ERROR = None
except Exception as exc:  # pragma: no cover - reported by require_torch()
    torch = None
    TORCH_ERROR = f"{type(exc).__name__}: {exc}"

try:  # PyPI entmax, installed next to Debian's torch.
    import entmax

    ENTMAX_ERROR = None
except Exception as exc:  # pragma: no cover - reported by require_entmax()
    entmax = None
    ENTMAX_ERROR = f"{type(exc).__name__}: {exc}"

REPO = Path(__file__).resolve().parents[2]

# Column counts swept by the comparisons: awkward sizes around SIMD widths (4, 8, 16 lanes)
# and unrolled loops, long rows.
COLS = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257, 1000, 4097]

F32 = "f32"
F64 = "f64"
PRECISIONS = [F32, F64]

# (rtol, atol) per path; atol is multiplied by max(1, max|ref|) for gradients (see above).
TOL = {F32: (1e-5, 1e-6), F64: (1e-10, 1e-12)}
# Relative tolerance for parameter gradients against the sum of absolute terms `mag`.
PARAM_RTOL = {F32: 1e-5, F64: 1e-10}

NEG_INF = float("-inf")


# ---------------------------------------------------------------------------------------
# Requirements: fail loudly, never skip.
# ---------------------------------------------------------------------------------------


def cli_path():
    """MMX_CLI (set by CTest) or <repo>/build/multimax."""
    return os.environ.get("MMX_CLI") or str(REPO / "build" / "multimax")


def require_cli():
    path = cli_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"multimax CLI not found or not executable at {path!r} "
            f"(build it with `make build` in {REPO}, or set MMX_CLI to the binary)",
            pytrace=False,
        )
    return path


def require_torch():
    if torch is None:
        pytest.fail(
            f"PyTorch cannot be imported by {sys.executable} ({TORCH_ERROR}). The peer tests "
            "need Debian's python3-torch, which only /usr/bin/python3 sees: run "
            "`/usr/bin/python3 -m pytest -q tests/peers` (install: apt-get install python3-torch)",
            pytrace=False,
        )
    return torch


def require_entmax():
    require_torch()
    if entmax is None:
        pytest.fail(
            f"the entmax package cannot be imported by {sys.executable} ({ENTMAX_ERROR}). "
            "Install it next to Debian's torch: /usr/bin/python3 -m pip install --no-deps "
            "--break-system-packages entmax",
            pytrace=False,
        )
    return entmax


# ---------------------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------------------


def fmt_num(v):
    """Shortest round-trip decimal of a double ('-inf' for masked entries): nothing is lost."""
    return repr(float(v))


def fmt_row(row):
    return " ".join(fmt_num(v) for v in row)


def fmt_list(values):
    """Comma-separated list for --ranges / --ts."""
    return ",".join(fmt_num(v) for v in values)


def norm_args(name, *, temperature=None, alpha=None, ranges=None, ts=None, eval_mode=False):
    """`NORM [--temperature T] [--alpha A] [--ranges ..] [--ts ..] [--eval]`."""
    args = [name]
    if temperature is not None:
        args += ["--temperature", fmt_num(temperature)]
    if alpha is not None:
        args += ["--alpha", fmt_num(alpha)]
    if ranges is not None:
        args += ["--ranges", fmt_list(ranges)]
    if ts is not None:
        args += ["--ts", fmt_list(ts)]
    if eval_mode:
        args += ["--eval"]
    return args


def run_cli(args, lines, timeout=120):
    """Run `multimax ARGS` with the given stdin lines; fail with the command and its stderr
    if it exits non-zero. Returns the non-empty stdout lines."""
    cmd = [require_cli()] + [str(a) for a in args]
    text = "".join(line + "\n" for line in lines)
    try:
        proc = subprocess.run(cmd, input=text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{shlex.join(cmd)}` did not finish in {timeout} s", pytrace=False)
    if proc.returncode != 0:
        first = lines[0] if lines else ""
        pytest.fail(
            f"`{shlex.join(cmd)}` exited with status {proc.returncode}\n"
            f"stderr: {proc.stderr.strip()[:2000]}\n"
            f"stdin had {len(lines)} lines; first: {first[:300]}",
            pytrace=False,
        )
    return [line for line in proc.stdout.splitlines() if line.strip()]


_SPLIT = re.compile(r"[,\s]+")


def parse_numbers(line, what):
    toks = [t for t in _SPLIT.split(line.strip()) if t]
    try:
        return [float(t) for t in toks]
    except ValueError:
        pytest.fail(f"{what}: cannot parse CLI output line as numbers: {line[:300]!r}",
                    pytrace=False)


def _parse_rows(out, rows, cols, what):
    if len(out) < rows:
        pytest.fail(f"{what}: expected {rows} output rows, got {len(out)} lines: {out[:5]!r}",
                    pytrace=False)
    result = np.empty((rows, cols), dtype=np.float64)
    for r in range(rows):
        vals = parse_numbers(out[r], f"{what} row {r}")
        if len(vals) != cols:
            pytest.fail(f"{what}: output row {r} has {len(vals)} values, expected {cols}: "
                        f"{out[r][:300]!r}", pytrace=False)
        result[r] = vals
    return result


def cli_apply(nargs, X, precision):
    """Forward through `multimax apply`; X is (rows, cols) float64 (float32-valued for F32)."""
    X = np.asarray(X, dtype=np.float64)
    extra = ["--double"] if precision == F64 else []
    out = run_cli(["apply", *nargs, *extra], [fmt_row(r) for r in X])
    what = f"apply {' '.join(nargs)} {' '.join(extra)}"
    Y = _parse_rows(out, X.shape[0], X.shape[1], what)
    if len(out) != X.shape[0]:
        pytest.fail(f"{what}: {len(out) - X.shape[0]} unexpected extra output lines: "
                    f"{out[X.shape[0]:][:3]!r}", pytrace=False)
    return Y


def cli_vjp(nargs, X, DY, precision):
    """Backward through `multimax apply --vjp`. Returns (dx, extras) where extras maps
    'dranges' / 'dts' / 'dalpha' to float64 arrays (only those the CLI printed)."""
    X = np.asarray(X, dtype=np.float64)
    DY = np.asarray(DY, dtype=np.float64)
    extra = ["--vjp"] + (["--double"] if precision == F64 else [])
    lines = [fmt_row(x) + " | " + fmt_row(dy) for x, dy in zip(X, DY)]
    out = run_cli(["apply", *nargs, *extra], lines)
    what = f"apply {' '.join(nargs)} {' '.join(extra)}"
    dx = _parse_rows(out, X.shape[0], X.shape[1], what)
    extras = {}
    for line in out[X.shape[0]:]:
        name, _, rest = line.strip().partition(" ")
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            pytest.fail(f"{what}: unexpected trailing output line {line[:300]!r}", pytrace=False)
        extras[name] = np.array(parse_numbers(rest, f"{what} {name}"), dtype=np.float64)
    return dx, extras


# ---------------------------------------------------------------------------------------
# Seeded test data
# ---------------------------------------------------------------------------------------


def rng_for(*key):
    """A generator seeded from the test case's own key: every case is reproducible alone."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def as_precision(a, precision):
    """float32-valued float64 array for the F32 path (so both sides see the same numbers)."""
    a = np.asarray(a, dtype=np.float64)
    if precision == F32:
        a = a.astype(np.float32).astype(np.float64)
    return a


def make_batch(rng, cols, precision, *, scale=2.0, rows=None, mask=True, ties=True):
    """Random rows plus hostile ones (each only where cols allows it):
      row 0: about 30% of the entries masked with -inf (at least one kept);
      row 1: an exact tie with the row maximum;
      row 2: integer-valued scores (many ties, ties with the maximum included);
      row 3: a single finite entry, everything else masked;
      further rows: plain random.
    No row is fully masked (the entmax package and torch.softmax give NaN there; that case
    has its own tests)."""
    if rows is None:
        rows = 4 if cols >= 1000 else 6
    X = as_precision(rng.normal(0.0, scale, size=(rows, cols)), precision)
    if cols >= 2:
        if ties and rows > 2:
            j = int(np.argmax(X[1]))
            k = (j + 1 + int(rng.integers(cols - 1))) % cols
            X[1, k] = X[1, j]
            X[2] = np.round(X[2])
        if mask and rows > 3:
            m = rng.random(cols) < 0.3
            m[int(rng.integers(cols))] = False
            X[0, m] = NEG_INF
            keep = int(rng.integers(cols))
            X[3, np.arange(cols) != keep] = NEG_INF
    return X


def make_dy(rng, shape, precision):
    return as_precision(rng.normal(0.0, 1.0, size=shape), precision)


def large_batch(precision):
    """Very large finite scores (SPEC section 3: 1e30 must work), ties among them, masks."""
    X = np.array(
        [
            [1e30, 1e30, -1e30, 5e29, 0.0, -3.0],
            [1e30, -1e30, NEG_INF, 2.5e29, 1.0, 2.0],
            [-1e30, -1e30, -1e30, -1e30, -1e30, -1e30],
            [3e29, -2e29, 1e29, 3e29, NEG_INF, 7.0],
        ],
        dtype=np.float64,
    )
    return as_precision(X, precision)


# ---------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------


def check_close(got, ref, rtol, atol, what):
    """|got - ref| <= atol + rtol * |ref| elementwise (NaN in got always fails); the failure
    message names the worst entry and how many entries are off."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != reference {ref.shape}"
    assert np.all(np.isfinite(ref)), f"{what}: reference is not finite (test bug)"
    err = np.abs(got - ref)
    tol = atol + rtol * np.abs(ref)
    bad = ~(err <= tol)
    if bad.any():
        ratio = np.where(np.isnan(err), np.inf, err / np.maximum(tol, 1e-300))
        idx = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
        pytest.fail(
            f"{what}: {int(bad.sum())} of {bad.size} entries differ beyond "
            f"atol {atol:.3g} + rtol {rtol:.3g}*|ref|; worst at {tuple(int(i) for i in idx)}: "
            f"got {got[idx]!r}, ref {ref[idx]!r}, |diff| {err[idx]:.3g}",
            pytrace=False,
        )


def check_rows(got, ref, precision, what, grad=False):
    """Probabilities (grad=False) or gradients (grad=True: atol scaled by the reference's
    largest magnitude, since a gradient's absolute error scales with |dy| and sigma')."""
    rtol, atol = TOL[precision]
    if grad:
        ref_arr = np.asarray(ref, dtype=np.float64)
        atol = atol * max(1.0, float(np.max(np.abs(ref_arr))) if ref_arr.size else 1.0)
    check_close(got, ref, rtol, atol, what)


def check_param_grad(got, ref, mag, precision, what):
    """Sums over the batch: tolerance relative to the sum of absolute terms `mag`."""
    if got is None:
        pytest.fail(f"{what}: the CLI printed no such line after the dx rows", pytrace=False)
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    mag = np.asarray(mag, dtype=np.float64).reshape(-1)
    if got.shape != ref.shape:
        pytest.fail(f"{what}: the CLI printed {got.size} values, expected {ref.size}: "
                    f"{got.tolist()}", pytrace=False)
    rtol = PARAM_RTOL[precision]
    tiny = 1e-12 if precision == F32 else 1e-15
    err = np.abs(got - ref)
    tol = rtol * (mag + np.abs(ref)) + tiny
    bad = ~(err <= tol)
    if bad.any():
        i = int(np.argmax(np.where(np.isnan(err), np.inf, err / tol)))
        pytest.fail(
            f"{what}: {int(bad.sum())} of {bad.size} values differ beyond {rtol:g} * "
            f"(sum of |terms| + |ref|); worst index {i}: got {got[i]!r}, ref {ref[i]!r}, "
            f"|diff| {err[i]:.3g}, sum of |terms| {mag[i]:.3g}\n  got: {got.tolist()}\n  "
            f"ref: {ref.tolist()}",
            pytrace=False,
        )


def check_exact_zero(got, where, what):
    """Entries that must be exactly 0 (masked entries, sparse maps off their support)."""
    got = np.asarray(got, dtype=np.float64)
    where = np.asarray(where, dtype=bool)
    bad = where & (got != 0.0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        pytest.fail(f"{what}: {int(bad.sum())} entries must be exactly 0 but are not; first at "
                    f"{idx}: {got[idx]!r}", pytrace=False)


def t64(a, requires_grad=False):
    require_torch()
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64,
                        requires_grad=requires_grad)


def finite_mask(X):
    return np.isfinite(np.asarray(X, dtype=np.float64))


def with_masked_rows(X, DY):
    """Insert all -inf rows (upstream gradient 1) at the front, in the middle and at the end.
    Returns the new X, DY and a boolean mask of the inserted rows."""
    cols = X.shape[1]
    at = [0, 1 + X.shape[0] // 2, X.shape[0] + 2]
    Xm, DYm = X, DY
    for i in at:
        Xm = np.insert(Xm, i, np.full(cols, NEG_INF), axis=0)
        DYm = np.insert(DYm, i, np.ones(cols), axis=0)
    masked = np.zeros(Xm.shape[0], dtype=bool)
    masked[at] = True
    return Xm, DYm, masked

