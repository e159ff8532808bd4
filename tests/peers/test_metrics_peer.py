"""The paper's metrics (SPEC section 4, Zhou et al. 2024 Def. 3.2 and 3.3) through
`multimax metrics NORM`, against a Python evaluation of the definitions on PyTorch / entmax
outputs, and against the check values of the SPEC's table.

  M = 1 - (1/N) sum_n (max(phi) - phi_n) over the N entries with x_n > eps other than one
      arg-max of x (ties with the max count);
  S = (1/L) sum_l exp((s_l - phi_l)/s_l - 1) over the L entries with x_l < eps, s = SoftMax(x)
      (t = 1); masked (-inf) entries are ignored; an empty set gives -1 (undefined).

The CLI prints each metric with 6 decimals ("%.6f", rounding error 5e-7) and 'undefined' for
an empty set (the library's MMX_METRIC_UNDEFINED = -1). Tolerance against the Python evaluation:
1.5e-6 absolute = the printing's 5e-7 plus up to 1e-6 of arithmetic: M and S are O(1)
combinations of probabilities; on the float32 path (relative 6e-8 per probability) M is off by
at most ~2e-7, and each S term exp(-phi/s) by at most 0.37 * 1.2e-7.
"""
import math

import numpy as np
import pytest

import peerlib
from peerlib import (F32, F64, NEG_INF, PRECISIONS, check_close, make_batch, norm_args, parse_numbers,
                     rng_for, run_cli, t64, torch)

METRIC_ATOL = 1.5e-6
UNDEFINED = -1.0


def metrics_ref(x, phi, eps=0.0):
    """SPEC section 4 evaluated literally on one row (float64)."""
    x = np.asarray(x, dtype=np.float64)
    phi = np.asarray(phi, dtype=np.float64)
    fin = np.isfinite(x)
    s = torch.softmax(t64(x), dim=-1).numpy()
    top = int(np.argmax(np.where(fin, x, -np.inf)))
    relevant = fin & (x > eps)
    relevant[top] = False
    low = fin & (x < eps)
    m = 1.0 - float(np.mean(phi.max() - phi[relevant])) if relevant.any() else UNDEFINED
    if low.any():
        S = float(np.mean(np.exp((s[low] - phi[low]) / s[low] - 1.0)))
    else:
        S = UNDEFINED
    return m, S


def cli_metrics(nargs, X, eps=None, precision=F32):
    args = ["metrics", *nargs] + ([] if eps is None else ["--eps", peerlib.fmt_num(eps)])
    args += ["--double"] if precision == F64 else []
    out = run_cli(args, [peerlib.fmt_row(r) for r in X])
    if len(out) != len(X):
        pytest.fail(f"metrics {' '.join(nargs)}: expected {len(X)} lines, got {out!r}",
                    pytrace=False)
    res = []
    for i, line in enumerate(out):
        line = line.replace("undefined", repr(UNDEFINED))
        vals = parse_numbers(line, f"metrics {' '.join(nargs)} row {i}")
        if len(vals) != 2:
            pytest.fail(f"metrics: row {i} should be 'M S', got {line!r}", pytrace=False)
        res.append(vals)
    return np.array(res)


SPEC_ROWS = np.array([[10.0, 8.0, -1.0], [10.0, 6.0, -1.0], [10.0, 4.0, -1.0]])

# SPEC section 4 table, x = (10, x2, -1), eps = 0, 4 decimals: (M, S) per row.
SPEC_TABLE = {
    "softmax": [(0.2384, 0.3679), (0.0360, 0.3679), (0.0050, 0.3679)],
    "sparsemax": [(0.0, 1.0)] * 3,
    "entmax15": [(0.0, 1.0)] * 3,
}
# SPEC section 4 temperature sweep on (10, 8, -1), 3 decimals.
SPEC_SWEEP = {0.5: (0.036, 1.0), 1.0: (0.238, 0.368), 2.0: (0.539, 0.000), 4.0: (0.764, 0.000)}


def phi_ref(norm, X, t=1.0):
    x = t64(X)
    if norm == "softmax":
        return torch.softmax(x / t, dim=-1).numpy()
    em = peerlib.require_entmax()
    if norm == "sparsemax":
        return em.sparsemax(x, dim=-1).numpy()
    return em.entmax15(x, dim=-1).numpy()


def test_metrics_softmax_vs_definitions():
    """`multimax metrics softmax` on (10, x2, -1), x2 in {8, 6, 4}, vs the definitions
    evaluated on torch.softmax."""
    got = cli_metrics(["softmax"], SPEC_ROWS)
    P = phi_ref("softmax", SPEC_ROWS)
    ref = np.array([metrics_ref(x, p) for x, p in zip(SPEC_ROWS, P)])
    check_close(got, ref, 0.0, METRIC_ATOL, "metrics softmax (M, S) on (10, x2, -1)")


@pytest.mark.parametrize("norm", sorted(SPEC_TABLE))
def test_metrics_spec_table(norm):
    """The SPEC's check values (4 decimals) for the CLI and, as a check of this test's own
    reading of the definitions, for the Python evaluation."""
    table = np.array(SPEC_TABLE[norm])
    P = phi_ref(norm, SPEC_ROWS)
    ref = np.array([metrics_ref(x, p) for x, p in zip(SPEC_ROWS, P)])
    check_close(ref, table, 0.0, 5e-5 + 1e-12, f"Python M, S of {norm} vs the SPEC table")
    got = cli_metrics([norm], SPEC_ROWS)
    check_close(got, table, 0.0, 5e-5 + 1e-12, f"CLI metrics {norm} vs the SPEC table")
    check_close(got, ref, 0.0, METRIC_ATOL, f"CLI metrics {norm} vs the definitions")


@pytest.mark.parametrize("t", sorted(SPEC_SWEEP))
def test_metrics_temperature_sweep(t):
    """SoftMax temperature sweep on (10, 8, -1) (3 decimals); s stays SoftMax at t = 1."""
    X = SPEC_ROWS[:1]
    got = cli_metrics(norm_args("softmax", temperature=t), X)
    ref = np.array([metrics_ref(X[0], phi_ref("softmax", X, t)[0])])
    check_close(got, ref, 0.0, METRIC_ATOL, f"metrics softmax t={t} vs the definitions")
    check_close(got, np.array([SPEC_SWEEP[t]]), 0.0, 5e-4 + 1e-12,
                f"metrics softmax t={t} vs the SPEC sweep")


def test_metrics_spec_table_reference_identity():
    """S = exp(-1) when phi = s (softmax at t = 1), for every row of the table."""
    P = phi_ref("softmax", SPEC_ROWS)
    for x, p in zip(SPEC_ROWS, P):
        assert math.isclose(metrics_ref(x, p)[1], math.exp(-1.0), rel_tol=1e-12)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("eps", [0.0, 0.5])
@pytest.mark.parametrize("cols", [1, 3, 16, 100])
@pytest.mark.parametrize("norm", ["softmax-t2", "sparsemax", "entmax15", "multimax"])
def test_metrics_random_rows(norm, cols, eps, precision):
    """Random rows with masks and ties (rows where a set is empty give -1)."""
    rng = rng_for("metrics", norm, cols, eps, precision)
    X = make_batch(rng, cols, precision)
    X = np.concatenate([X, [np.full(cols, 3.0)]])  # all ties: N = cols - 1, L = 0
    if norm == "softmax-t2":
        nargs, P = norm_args("softmax", temperature=2.0), phi_ref("softmax", X, 2.0)
    elif norm == "multimax":
        from test_torch_peer import make_multimax_params, torch_multimax
        ranges, ts = make_multimax_params(rng, 2, "random")
        nargs, P = norm_args("multimax", ranges=ranges, ts=ts), torch_multimax(X, ranges, ts)
    else:
        nargs, P = [norm], phi_ref(norm, X)
    ref = np.array([metrics_ref(x, p, eps) for x, p in zip(X, P)])
    got = cli_metrics(nargs, X, eps, precision)
    check_close(got, ref, 0.0, METRIC_ATOL, f"metrics {' '.join(nargs)} eps={eps} {precision}")


def test_metrics_masked_entries_ignored():
    """-inf entries are neither relevant (M) nor low (S): appending them changes nothing."""
    X = np.array([[10.0, 8.0, -1.0, NEG_INF, NEG_INF], [10.0, 6.0, NEG_INF, -1.0, -3.0]])
    P = phi_ref("softmax", X)
    ref = np.array([metrics_ref(x, p) for x, p in zip(X, P)])
    got = cli_metrics(["softmax"], X)
    check_close(got, ref, 0.0, METRIC_ATOL, "metrics softmax with masked entries")
