"""SparseMax, 1.5-EntMax and alpha-EntMax through the `multimax` CLI against the entmax package
(Peters, Niculae, Martins), float64, forward and backward (autograd with a random upstream dy),
plus the alpha gradient of entmax_bisect (Correia et al. 2019) against the CLI's `dalpha` line.

The package crashes or returns NaN on fully masked rows; those rows are never fed to it and are
checked against the policy (all-zero output and gradient) in their own test.
"""
import numpy as np
import pytest

import peerlib
from peerlib import (COLS, NEG_INF, PRECISIONS, check_close, check_exact_zero, check_param_grad,
                     check_rows, cli_apply, cli_vjp, large_batch, make_batch, make_dy, norm_args,
                     rng_for, t64)

# Bisection in float64 halves a bracket narrower than 1; ~55 halvings reach the ulp of tau,
# after which further halvings change nothing. 100 makes the reference exact to rounding.
N_ITER = 100

ALPHAS = [1.25, 1.5, 2.0, 3.0]
CASES = [("sparsemax", None), ("entmax15", None)] + [("entmax", a) for a in ALPHAS]


def case_id(case):
    name, alpha = case
    return name if alpha is None else f"{name}-a{alpha}"


@pytest.fixture(autouse=True)
def _need_entmax():
    peerlib.require_entmax()


def entmax_ref(name, alpha, X, DY=None):
    """Forward p, or (dx, dalpha) with DY. dalpha is the batch sum (None unless 'entmax')."""
    em = peerlib.entmax
    x = t64(X, requires_grad=True)
    a = None
    if name == "sparsemax":
        p = em.sparsemax(x, dim=-1)
    elif name == "entmax15":
        p = em.entmax15(x, dim=-1)
    else:
        a = t64(alpha, requires_grad=True)
        p = em.entmax_bisect(x, a, dim=-1, n_iter=N_ITER)
    if DY is None:
        return p.detach().numpy()
    p.backward(t64(DY))
    return x.grad.numpy(), (None if a is None else float(a.grad))


def dalpha_mag(P, DY, alpha):
    """Sum over entries of |each term| of the alpha gradient (entmax root_finding.py):
    dY (Y - Ysk)/(a-1)^2 - dY (S - Ysk ent)/(a-1), Ysk = Y^(2-a)/sum, S = Y log Y."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = P > 0
        gppr = np.where(pos, np.where(pos, P, 1.0) ** (2.0 - alpha), 0.0)
        ysk = gppr / gppr.sum(-1, keepdims=True)
        S = np.where(pos, P * np.log(np.where(pos, P, 1.0)), 0.0)
    ent = np.abs(S).sum(-1, keepdims=True)
    terms = (np.abs(DY) * (P + ysk) / (alpha - 1.0) ** 2
             + np.abs(DY) * (np.abs(S) + ysk * ent) / (alpha - 1.0))
    return float(terms.sum())


def shift_rows(X):
    """x - max over the finite entries: every entmax map is shift-invariant (for dx and dalpha
    too). The package's bisection brackets tau in [max - 1, ...], which collapses in double at
    |max| = 1e30; the shift is exact for entries within a factor 2 of the max (Sterbenz), and
    the others are far outside the support."""
    X = np.asarray(X, dtype=np.float64)
    m = np.max(np.where(np.isfinite(X), X, -np.inf), axis=-1, keepdims=True)
    return np.where(np.isfinite(X), X - m, X)


def entmax_case(case, cols, precision):
    name, alpha = case
    rng = rng_for("entmax", name, alpha, cols, precision)
    X = make_batch(rng, cols, precision)
    DY = make_dy(rng, X.shape, precision)
    return X, DY, norm_args(name, alpha=alpha)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_forward(case, cols, precision):
    name, alpha = case
    X, _, nargs = entmax_case(case, cols, precision)
    got = cli_apply(nargs, X, precision)
    ref = entmax_ref(name, alpha, X)
    check_rows(got, ref, precision, f"{case_id(case)} forward")
    check_exact_zero(got, ref == 0.0, f"{case_id(case)}: entries off the support")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_vjp(case, cols, precision):
    name, alpha = case
    X, DY, nargs = entmax_case(case, cols, precision)
    dx, extras = cli_vjp(nargs, X, DY, precision)
    ref_dx, ref_da = entmax_ref(name, alpha, X, DY)
    check_rows(dx, ref_dx, precision, f"{case_id(case)} dx", grad=True)
    P = entmax_ref(name, alpha, X)
    check_exact_zero(dx, P == 0.0, f"{case_id(case)}: dx off the support")
    if name == "entmax":
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(P, DY, alpha)], precision,
                         f"{case_id(case)} dalpha (cols={cols})")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_large_scores(case, precision):
    name, alpha = case
    X = large_batch(precision)
    DY = make_dy(rng_for("entmax-large", name, alpha, precision), X.shape, precision)
    nargs = norm_args(name, alpha=alpha)
    Xs = shift_rows(X)
    ref = entmax_ref(name, alpha, Xs)
    got = cli_apply(nargs, X, precision)
    check_rows(got, ref, precision, f"{case_id(case)} forward on 1e30 scores")
    dx, extras = cli_vjp(nargs, X, DY, precision)
    ref_dx, ref_da = entmax_ref(name, alpha, Xs, DY)
    check_rows(dx, ref_dx, precision, f"{case_id(case)} dx on 1e30 scores", grad=True)
    if name == "entmax":
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(ref, DY, alpha)],
                         precision, f"{case_id(case)} dalpha on 1e30 scores")


def check_entmax_case(case, X, DY, precision, what):
    name, alpha = case
    nargs = norm_args(name, alpha=alpha)
    P = entmax_ref(name, alpha, X)
    got = cli_apply(nargs, X, precision)
    check_rows(got, P, precision, f"{what}: forward")
    check_exact_zero(got, P == 0.0, f"{what}: entries off the support")
    dx, extras = cli_vjp(nargs, X, DY, precision)
    ref_dx, ref_da = entmax_ref(name, alpha, X, DY)
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    check_exact_zero(dx, P == 0.0, f"{what}: dx off the support")
    if name == "entmax":
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(P, DY, alpha)], precision,
                         f"{what}: dalpha")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", [7, 257])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_wide_logits(case, cols, precision):
    """Scores of scale 30: small supports, entries far below the threshold."""
    rng = rng_for("entmax-wide", case, cols, precision)
    X = make_batch(rng, cols, precision, scale=30.0)
    DY = make_dy(rng, X.shape, precision)
    check_entmax_case(case, X, DY, precision, f"{case_id(case)} on logits of scale 30")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_many_rows(case, precision):
    """400 rows in one call: dalpha is summed over all of them."""
    rng = rng_for("entmax-many", case, precision)
    X = make_batch(rng, 24, precision, rows=400, scale=0.5)
    DY = make_dy(rng, X.shape, precision)
    check_entmax_case(case, X, DY, precision, f"{case_id(case)} on 400 rows")


# ---------------------------------------------------------------------------------------
# Entries exactly on the threshold (ties with tau): the exact output there is 0, so they are
# off the support: p must be exactly 0 and dx must use the support without them. Such ties
# are common with quantized / integer scores. For alpha >= 2 the backward weight p^(2-alpha)
# does not vanish as p -> 0, so counting such an entry in the support changes dx and dalpha
# by O(1), not by rounding.
# ---------------------------------------------------------------------------------------


def exact_alpha(case):
    name, alpha = case
    return 2.0 if name == "sparsemax" else 1.5 if name == "entmax15" else alpha


def exact_ref(case, X, DY):
    """(p, dx, dalpha) from the package's exact sort-based maps where the map is SparseMax or
    1.5-EntMax (alpha = 2 / 1.5 included), bisection otherwise; dalpha from the package's
    formula (root_finding.py, validated above by finite differences) on that p."""
    a = exact_alpha(case)
    name = "sparsemax" if a == 2.0 else "entmax15" if a == 1.5 else "entmax"
    P = entmax_ref(name, a, X)
    dx, _ = entmax_ref(name, a, X, DY)
    pos = P > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        gppr = np.where(pos, np.where(pos, P, 1.0) ** (2.0 - a), 0.0)
        S = np.where(pos, P * np.log(np.where(pos, P, 1.0)), 0.0)
    ysk = gppr / gppr.sum(-1, keepdims=True)
    ent = S.sum(-1, keepdims=True)
    da = float(np.sum(DY * (P - ysk) / (a - 1.0) ** 2 - DY * (S - ysk * ent) / (a - 1.0)))
    return P, dx, da


def pad(rows, width):
    return np.array([list(r) + [NEG_INF] * (width - len(r)) for r in rows], dtype=np.float64)


def threshold_tie_rows(a):
    """Rows whose exact tau puts entries exactly on the threshold, all values dyadic (exact in
    float32). (row, exact p) for the rows built for this alpha; other rows are ties for other
    alphas and ordinary rows here."""
    c = (1.0 / 16.0) ** (a - 1.0) / (a - 1.0)  # p = 1/16 on 16 entries at c, tau = 0
    built = {
        # uniform support of 16 entries, 4 entries on the threshold
        "uniform": ([c] * 16 + [0.0] * 4 + [-1.0] * 2, [1 / 16] * 16 + [0.0] * 6),
    }
    if a == 2.0:
        built["sparsemax"] = ([0.5, 0.25, 0.25, 0.0, 0.0, -0.25], [0.5, 0.25, 0.25, 0, 0, 0])
    if a == 1.5:
        built["entmax15"] = ([1.5, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, -1.0],
                             [9 / 16, 4 / 16, 1 / 16, 1 / 16, 1 / 16, 0, 0, 0])
    if a == 3.0:
        built["entmax3"] = ([0.125, 0.03125, 0.03125, 0.0, 0.0, -0.5],
                            [0.5, 0.25, 0.25, 0, 0, 0])
    others = [
        [-0.25, -0.375, -0.125, 0.25, 0.125, 0.0, 0.0, 0.0],  # alpha = 2: -0.125 on tau
        [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0,
         0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],             # alpha = 1.5: the 0s on tau
        [0.5, 0.25, 0.25, 0.0, 0.0, -0.25],                    # alpha = 2
        [1.5, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, -1.0],             # alpha = 1.5
        [0.125, 0.03125, 0.03125, 0.0, 0.0, -0.5],             # alpha = 3
    ]
    return built, others


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_threshold_ties(case, precision):
    a = exact_alpha(case)
    built, others = threshold_tie_rows(a)
    rows = [r for r, _ in built.values()] + others
    X = pad(rows, 24)
    DY = make_dy(rng_for("threshold-ties", case, precision), X.shape, precision)
    P, ref_dx, ref_da = exact_ref(case, X, DY)
    for i, (label, (_, p_exact)) in enumerate(built.items()):  # the reference itself
        check_close(P[i, :len(p_exact)], p_exact, 1e-14, 1e-15,
                    f"reference p of the '{label}' row for alpha={a} (test bug)")
        check_exact_zero(P[i, :len(p_exact)], np.array(p_exact) == 0.0,
                         f"reference p of the '{label}' row (test bug)")
    what = f"{case_id(case)} with entries exactly on the threshold"
    nargs = norm_args(case[0], alpha=case[1])
    got = cli_apply(nargs, X, precision)
    dx, extras = cli_vjp(nargs, X, DY, precision)
    # gradients first: their failure is the consequential one
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    if case[0] == "entmax":
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(P, DY, a)], precision,
                         f"{what}: dalpha")
    check_rows(got, P, precision, f"{what}: forward")
    check_exact_zero(got, P == 0.0, f"{what}: entries on the threshold (exact value 0)")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("step", [1.0, 0.5, 0.125])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_quantized_scores(case, step, precision):
    """Scores on a grid (integers times `step`), where threshold ties happen by themselves."""
    rng = rng_for("quantized", case, step, precision)
    X = np.round(rng.normal(0.0, 1.5, size=(100, 8))) * step
    DY = make_dy(rng, X.shape, precision)
    P, ref_dx, ref_da = exact_ref(case, X, DY)
    what = f"{case_id(case)} on scores quantized to {step}"
    nargs = norm_args(case[0], alpha=case[1])
    got = cli_apply(nargs, X, precision)
    dx, extras = cli_vjp(nargs, X, DY, precision)
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    if case[0] == "entmax":
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(P, DY, exact_alpha(case))],
                         precision, f"{what}: dalpha")
    check_rows(got, P, precision, f"{what}: forward")
    check_exact_zero(got, P == 0.0, f"{what}: entries off the support")


@pytest.mark.parametrize("precision", PRECISIONS)
def test_entmax_default_alpha_is_15(precision):
    """`entmax` without --alpha is 1.5-entmax."""
    rng = rng_for("entmax-default", precision)
    X = make_batch(rng, 16, precision)
    got = cli_apply(["entmax"], X, precision)
    check_rows(got, entmax_ref("entmax15", None, X), precision, "entmax (default alpha)")


@pytest.mark.parametrize("alpha", ALPHAS)
def test_reference_dalpha_matches_finite_differences(alpha):
    """Validates the peer itself: the package's analytic alpha gradient equals a central
    difference of its own forward (float64, h = 1e-5: truncation ~h^2 ~ 1e-10, rounding
    ~1e-16/h ~ 1e-11)."""
    em = peerlib.require_entmax()
    rng = rng_for("fd-alpha", alpha)
    X = rng.normal(0, 1.0, size=(4, 9))
    DY = rng.normal(0, 1.0, size=X.shape)
    _, ref_da = entmax_ref("entmax", alpha, X, DY)
    h = 1e-5

    def f(a):
        return float((em.entmax_bisect(t64(X), t64(a), dim=-1, n_iter=N_ITER) * t64(DY)).sum())

    fd = (f(alpha + h) - f(alpha - h)) / (2 * h)
    check_close([ref_da], [fd], 1e-6, 1e-8, f"entmax package dalpha vs finite differences "
                f"(alpha={alpha})")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", [1, 7, 100])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_entmax_fully_masked_rows(case, cols, precision):
    """Rows of -inf only give all-zero output and dx; they add nothing to dalpha; the other rows
    are unchanged (compared with the package on the rows without them)."""
    name, alpha = case
    X, DY, nargs = entmax_case(case, cols, precision)
    Xm, DYm, masked = peerlib.with_masked_rows(X, DY)
    got = cli_apply(nargs, Xm, precision)
    check_exact_zero(got[masked], np.ones(got[masked].shape, dtype=bool),
                     f"{case_id(case)}: output of fully masked rows")
    check_rows(got[~masked], entmax_ref(name, alpha, X), precision,
               f"{case_id(case)}: rows next to fully masked ones")
    dx, extras = cli_vjp(nargs, Xm, DYm, precision)
    check_exact_zero(dx[masked], np.ones(dx[masked].shape, dtype=bool),
                     f"{case_id(case)}: dx of fully masked rows")
    ref_dx, ref_da = entmax_ref(name, alpha, X, DY)
    check_rows(dx[~masked], ref_dx, precision, f"{case_id(case)}: dx of the other rows",
               grad=True)
    if name == "entmax":
        P = entmax_ref(name, alpha, X)
        check_param_grad(extras.get("dalpha"), [ref_da], [dalpha_mag(P, DY, alpha)], precision,
                         f"{case_id(case)}: dalpha with fully masked rows in the batch")
