"""SoftMax (with temperature), MultiMax (orders 1, 2, 3) and EvSoftMax through the `multimax`
CLI against independent PyTorch 1.13 compositions in float64, forward and backward (autograd).

MultiMax is composed exactly as the official code does (SPEC section 1):
    sigma(x) = x + ts0*relu(r0-x) + ts1*relu(x-r1) + ts2*relu(r2-x)^2 + ts3*relu(x-r3)^2
followed by torch.softmax; orders 1 and 3 use the general formula. sigma is applied to finite
entries only (the official code adds the -inf mask after sigma). Parameter gradients come from
autograd on `ranges` / `ts` leaf tensors, summed over the batch like the CLI's dranges / dts.
"""
from fractions import Fraction

import numpy as np
import pytest

from peerlib import (COLS, F32, NEG_INF, PRECISIONS, with_masked_rows, as_precision, check_exact_zero,
                     check_param_grad, check_rows, cli_apply, cli_vjp, finite_mask, large_batch,
                     make_batch, make_dy, norm_args, rng_for, t64, torch)

TEMPERATURES = [0.5, 1.0, 3.0]


# ---------------------------------------------------------------------------------------
# PyTorch references (float64)
# ---------------------------------------------------------------------------------------


def torch_softmax(X, t, DY=None):
    x = t64(X, requires_grad=True)
    p = torch.softmax(x / t, dim=-1)
    if DY is None:
        return p.detach().numpy()
    p.backward(t64(DY))
    return x.grad.numpy()


def sigma_official(x, r, ts):
    """Order 2, verbatim from the official code's formula."""
    return (x + ts[0] * torch.relu(r[0] - x) + ts[1] * torch.relu(x - r[1])
            + ts[2] * torch.relu(r[2] - x) ** 2 + ts[3] * torch.relu(x - r[3]) ** 2)


def sigma_general(x, r, ts, order):
    """sigma(x) = x + sum_n tb_n relu(b_n - x)^n + td_n relu(x - d_n)^n."""
    z = x
    for n in range(1, order + 1):
        b, d, tb, td = r[2 * n - 2], r[2 * n - 1], ts[2 * n - 2], ts[2 * n - 1]
        z = z + tb * torch.relu(b - x) ** n + td * torch.relu(x - d) ** n
    return z


def torch_multimax(X, ranges, ts, DY=None):
    """Returns p, or (dx, dranges, dts) when DY is given."""
    order = len(ranges) // 2
    x = t64(X, requires_grad=True)
    r = t64(ranges, requires_grad=True)
    s = t64(ts, requires_grad=True)
    finite = torch.isfinite(x)
    # sigma on finite entries only; the zero placeholder keeps -inf out of the parameter
    # gradients (inf * 0 would be NaN), and the -inf mask is put back after sigma.
    xs = torch.where(finite, x, torch.zeros_like(x))
    z = sigma_official(xs, r, s) if order == 2 else sigma_general(xs, r, s, order)
    z = torch.where(finite, z, x)
    p = torch.softmax(z, dim=-1)
    if DY is None:
        return p.detach().numpy()
    p.backward(t64(DY))
    return x.grad.numpy(), r.grad.numpy(), s.grad.numpy()


def multimax_param_mag(X, DY, P, ranges, ts):
    """Sum over entries of |each term| of dranges / dts (the scale of their rounding error).
    g_i = p_i (dy_i - <p, dy>) is bounded by p_i (|dy_i| + |<p, dy>|)."""
    X = np.asarray(X, dtype=np.float64)
    fin = np.isfinite(X)
    xs = np.where(fin, X, 0.0)
    pd = np.sum(P * DY, axis=-1, keepdims=True)
    gabs = np.where(fin, P * (np.abs(DY) + np.abs(pd)), 0.0)
    order = len(ranges) // 2
    mag_r = np.zeros(2 * order)
    mag_t = np.zeros(2 * order)
    for n in range(1, order + 1):
        b, d, tb, td = ranges[2 * n - 2], ranges[2 * n - 1], ts[2 * n - 2], ts[2 * n - 1]
        u = np.maximum(b - xs, 0.0)
        v = np.maximum(xs - d, 0.0)
        mag_t[2 * n - 2] = np.sum(gabs * u ** n)
        mag_t[2 * n - 1] = np.sum(gabs * v ** n)
        mag_r[2 * n - 2] = np.sum(gabs * n * abs(tb) * np.where(xs < b, u ** (n - 1), 0.0))
        mag_r[2 * n - 1] = np.sum(gabs * n * abs(td) * np.where(xs > d, v ** (n - 1), 0.0))
    return mag_r, mag_t


def evsoftmax_keep(X):
    """Entries not strictly below the mean of the row's finite entries, decided in exact
    rational arithmetic: a rounded float mean can land above a row of equal entries
    (e.g. six times -1e30) and mask all of them."""
    X = np.asarray(X, dtype=np.float64)
    keep = np.zeros(X.shape, dtype=bool)
    for r, row in enumerate(X):
        fin = [Fraction(float(v)) for v in row if np.isfinite(v)]
        if not fin:
            continue
        mean = sum(fin) / len(fin)
        keep[r] = [bool(np.isfinite(v)) and Fraction(float(v)) >= mean for v in row]
    return keep


def torch_evsoftmax(X, eval_mode, DY=None):
    """SPEC section 2: entries strictly below the mean of the row's finite entries get weight
    1e-6 (training) or 0 (eval); p = softmax(x) w / sum(softmax(x) w); the mask is a constant
    for the backward (computed without grad)."""
    x = t64(X, requires_grad=True)
    keep = torch.tensor(evsoftmax_keep(X))
    with torch.no_grad():
        w = torch.where(keep, torch.ones_like(x),
                        torch.full_like(x, 0.0 if eval_mode else 1e-6))
    e = torch.softmax(x, dim=-1) * w
    p = e / e.sum(-1, keepdim=True)
    if DY is None:
        return p.detach().numpy()
    p.backward(t64(DY))
    return x.grad.numpy()


# ---------------------------------------------------------------------------------------
# MultiMax parameter sets
# ---------------------------------------------------------------------------------------

MULTIMAX_CASES = [(1, "random"), (2, "header"), (2, "zeros"), (2, "init"), (2, "random"),
                  (3, "random")]


def make_multimax_params(rng, order, kind):
    """ranges are rounded to float32 so that float32 inputs can sit exactly on a threshold."""
    if kind == "header":  # the example of include/multimax.h
        ranges, ts = [-1.0, 2.0, -1.0, 2.0], [0.5, -0.3, 0.1, -0.05]
    elif kind == "zeros":  # exact SoftMax
        ranges, ts = as_precision(rng.uniform(-2, 2, 4), F32), [0.0, 0.0, 0.0, 0.0]
    elif kind == "init":  # official init: truncated normal, std 0.02
        ranges = np.clip(rng.normal(0, 0.02, 2 * order), -0.04, 0.04)
        ts = np.clip(rng.normal(0, 0.02, 2 * order), -0.04, 0.04)
    else:
        ranges = rng.uniform(-2.0, 2.0, 2 * order)
        # coefficients shrink with the order so sigma stays O(10) on scores of scale 2
        ts = np.concatenate([rng.normal(0.0, 0.5 / n ** 2, 2) for n in range(1, order + 1)])
    ranges = as_precision(ranges, F32)
    return [float(v) for v in ranges], [float(v) for v in ts]


def put_threshold_ties(X, ranges):
    """Row 4 (if present): entries exactly on the thresholds (relu' and [x<b] at 0)."""
    if X.shape[0] > 4:
        k = min(X.shape[1], len(ranges))
        X[4, :k] = ranges[:k]
    return X


def multimax_case(order, kind, cols, precision):
    rng = rng_for("multimax", order, kind, cols, precision)
    ranges, ts = make_multimax_params(rng, order, kind)
    X = put_threshold_ties(make_batch(rng, cols, precision), ranges)
    DY = make_dy(rng, X.shape, precision)
    return X, DY, ranges, ts


# ---------------------------------------------------------------------------------------
# SoftMax with temperature
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("t", TEMPERATURES)
def test_softmax_forward(t, cols, precision):
    rng = rng_for("softmax", t, cols, precision)
    X = make_batch(rng, cols, precision)
    got = cli_apply(norm_args("softmax", temperature=t), X, precision)
    check_rows(got, torch_softmax(X, t), precision, f"softmax t={t} forward")
    check_exact_zero(got, ~finite_mask(X), "softmax: masked entries")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("t", TEMPERATURES)
def test_softmax_vjp(t, cols, precision):
    rng = rng_for("softmax", t, cols, precision)
    X = make_batch(rng, cols, precision)
    DY = make_dy(rng, X.shape, precision)
    dx, _ = cli_vjp(norm_args("softmax", temperature=t), X, DY, precision)
    check_rows(dx, torch_softmax(X, t, DY), precision, f"softmax t={t} dx", grad=True)
    check_exact_zero(dx, ~finite_mask(X), "softmax: dx at masked entries")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("t", TEMPERATURES)
def test_softmax_large_scores(t, precision):
    X = large_batch(precision)
    DY = make_dy(rng_for("softmax-large", t, precision), X.shape, precision)
    got = cli_apply(norm_args("softmax", temperature=t), X, precision)
    check_rows(got, torch_softmax(X, t), precision, f"softmax t={t} forward on 1e30 scores")
    dx, _ = cli_vjp(norm_args("softmax", temperature=t), X, DY, precision)
    check_rows(dx, torch_softmax(X, t, DY), precision, f"softmax t={t} dx on 1e30 scores",
               grad=True)


# ---------------------------------------------------------------------------------------
# MultiMax
# ---------------------------------------------------------------------------------------


def test_reference_sigma_general_matches_official():
    """The general-order reference reduces to the official order-2 formula."""
    rng = rng_for("sigma-ref")
    x = t64(rng.normal(0, 3, 500))
    r, s = t64(rng.uniform(-2, 2, 4)), t64(rng.normal(0, 0.5, 4))
    assert torch.allclose(sigma_official(x, r, s), sigma_general(x, r, s, 2), rtol=1e-15,
                          atol=1e-13)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("order,kind", MULTIMAX_CASES)
def test_multimax_forward(order, kind, cols, precision):
    X, _, ranges, ts = multimax_case(order, kind, cols, precision)
    got = cli_apply(norm_args("multimax", ranges=ranges, ts=ts), X, precision)
    check_rows(got, torch_multimax(X, ranges, ts), precision,
               f"multimax order {order} ({kind}) forward, ranges={ranges} ts={ts}")
    check_exact_zero(got, ~finite_mask(X), "multimax: masked entries")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("order,kind", MULTIMAX_CASES)
def test_multimax_vjp(order, kind, cols, precision):
    X, DY, ranges, ts = multimax_case(order, kind, cols, precision)
    dx, extras = cli_vjp(norm_args("multimax", ranges=ranges, ts=ts), X, DY, precision)
    ref_dx, ref_dr, ref_dt = torch_multimax(X, ranges, ts, DY)
    what = f"multimax order {order} ({kind}), ranges={ranges} ts={ts}"
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    check_exact_zero(dx, ~finite_mask(X), f"{what}: dx at masked entries")
    for name in ("dranges", "dts"):
        assert name in extras, f"{what}: CLI --vjp printed no '{name}' line (got {list(extras)})"
    mag_r, mag_t = multimax_param_mag(X, DY, torch_multimax(X, ranges, ts), ranges, ts)
    check_param_grad(extras["dranges"], ref_dr, mag_r, precision, f"{what}: dranges")
    check_param_grad(extras["dts"], ref_dt, mag_t, precision, f"{what}: dts")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("kind", ["header", "random"])
def test_multimax_large_scores(kind, precision):
    """1e30 scores: sigma reaches ~1e60 (outside float32, fine in double); SPEC section 3 says
    very large finite scores must work, and the probabilities / dx are representable."""
    rng = rng_for("multimax-large", kind, precision)
    ranges, ts = make_multimax_params(rng, 2, kind)
    X = large_batch(precision)
    DY = make_dy(rng, X.shape, precision)
    what = f"multimax ({kind}) on 1e30 scores, ranges={ranges} ts={ts}"
    got = cli_apply(norm_args("multimax", ranges=ranges, ts=ts), X, precision)
    P = torch_multimax(X, ranges, ts)
    check_rows(got, P, precision, f"{what}: forward")
    dx, extras = cli_vjp(norm_args("multimax", ranges=ranges, ts=ts), X, DY, precision)
    ref_dx, ref_dr, ref_dt = torch_multimax(X, ranges, ts, DY)
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    mag_r, mag_t = multimax_param_mag(X, DY, P, ranges, ts)
    check_param_grad(extras.get("dranges"), ref_dr, mag_r, precision, f"{what}: dranges")
    check_param_grad(extras.get("dts"), ref_dt, mag_t, precision, f"{what}: dts")


@pytest.mark.parametrize("precision", PRECISIONS)
def test_multimax_zero_ts_is_softmax(precision):
    """All-zero coefficients give exactly SoftMax (SPEC section 1), whatever the ranges."""
    rng = rng_for("multimax-zero", precision)
    X = make_batch(rng, 33, precision)
    ranges = [float(v) for v in as_precision(rng.uniform(-2, 2, 4), F32)]
    got = cli_apply(norm_args("multimax", ranges=ranges, ts=[0.0] * 4), X, precision)
    check_rows(got, torch_softmax(X, 1.0), precision, "multimax with ts = 0 vs torch.softmax")


# ---------------------------------------------------------------------------------------
# Wide logits (|x| up to ~100: exp underflows far below float32's range) and long batches
# ---------------------------------------------------------------------------------------

WIDE_NORMS = ["softmax-t0.5", "softmax-t3", "multimax-1", "multimax-2", "multimax-3",
              "evsoftmax-train", "evsoftmax-eval"]


def torch_case(norm, rng, X, DY):
    """(CLI args, p, dx, dranges, dts) of one of WIDE_NORMS (dranges / dts None if none)."""
    if norm.startswith("softmax"):
        t = float(norm.split("-t")[1])
        return (norm_args("softmax", temperature=t), torch_softmax(X, t),
                torch_softmax(X, t, DY), None, None)
    if norm.startswith("multimax"):
        ranges, ts = make_multimax_params(rng, int(norm[-1]), "random")
        dx, dr, dt = torch_multimax(X, ranges, ts, DY)
        return (norm_args("multimax", ranges=ranges, ts=ts), torch_multimax(X, ranges, ts),
                dx, dr, dt)
    ev = norm.endswith("eval")
    return (norm_args("evsoftmax", eval_mode=ev), torch_evsoftmax(X, ev),
            torch_evsoftmax(X, ev, DY), None, None)


def check_torch_case(norm, rng, X, DY, precision, what):
    nargs, P, ref_dx, ref_dr, ref_dt = torch_case(norm, rng, X, DY)
    got = cli_apply(nargs, X, precision)
    check_rows(got, P, precision, f"{what}: forward")
    dx, extras = cli_vjp(nargs, X, DY, precision)
    check_rows(dx, ref_dx, precision, f"{what}: dx", grad=True)
    if ref_dr is not None:
        i = nargs.index("--ranges")
        ranges = [float(v) for v in nargs[i + 1].split(",")]
        ts = [float(v) for v in nargs[i + 3].split(",")]
        mag_r, mag_t = multimax_param_mag(X, DY, P, ranges, ts)
        check_param_grad(extras.get("dranges"), ref_dr, mag_r, precision, f"{what}: dranges")
        check_param_grad(extras.get("dts"), ref_dt, mag_t, precision, f"{what}: dts")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", [7, 257])
@pytest.mark.parametrize("norm", WIDE_NORMS)
def test_wide_logits(norm, cols, precision):
    rng = rng_for("wide", norm, cols, precision)
    X = make_batch(rng, cols, precision, scale=30.0)
    DY = make_dy(rng, X.shape, precision)
    check_torch_case(norm, rng, X, DY, precision, f"{norm} on logits of scale 30")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("norm", WIDE_NORMS)
def test_many_rows(norm, precision):
    """400 rows in one call: parameter gradients are summed over all of them."""
    rng = rng_for("many-rows", norm, precision)
    X = make_batch(rng, 24, precision, rows=400)
    DY = make_dy(rng, X.shape, precision)
    check_torch_case(norm, rng, X, DY, precision, f"{norm} on 400 rows")


# ---------------------------------------------------------------------------------------
# EvSoftMax
# ---------------------------------------------------------------------------------------

EV_MODES = [False, True]  # eval_mode


def ev_name(eval_mode):
    return "eval" if eval_mode else "train"


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("eval_mode", EV_MODES, ids=ev_name)
def test_evsoftmax_forward(eval_mode, cols, precision):
    rng = rng_for("evsoftmax", eval_mode, cols, precision)
    X = make_batch(rng, cols, precision)
    got = cli_apply(norm_args("evsoftmax", eval_mode=eval_mode), X, precision)
    ref = torch_evsoftmax(X, eval_mode)
    check_rows(got, ref, precision, f"evsoftmax ({ev_name(eval_mode)}) forward")
    check_exact_zero(got, ~finite_mask(X), "evsoftmax: masked entries")
    if eval_mode:
        check_exact_zero(got, ref == 0.0, "evsoftmax eval: below-mean entries")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("eval_mode", EV_MODES, ids=ev_name)
def test_evsoftmax_vjp(eval_mode, cols, precision):
    rng = rng_for("evsoftmax", eval_mode, cols, precision)
    X = make_batch(rng, cols, precision)
    DY = make_dy(rng, X.shape, precision)
    dx, _ = cli_vjp(norm_args("evsoftmax", eval_mode=eval_mode), X, DY, precision)
    check_rows(dx, torch_evsoftmax(X, eval_mode, DY), precision,
               f"evsoftmax ({ev_name(eval_mode)}) dx", grad=True)
    check_exact_zero(dx, ~finite_mask(X), "evsoftmax: dx at masked entries")


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("eval_mode", EV_MODES, ids=ev_name)
def test_evsoftmax_mean_ties_and_large(eval_mode, precision):
    """Entries equal to the row mean are kept (the mask is strictly below the mean); the mean
    is over the finite entries only; 1e30 scores."""
    X = np.array([
        [1.0, 2.0, 3.0, NEG_INF, NEG_INF, NEG_INF],      # mean 2 (finite entries): 2 kept
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],                  # all equal to the mean: uniform
        [NEG_INF, 1.0, 3.0, 2.0, NEG_INF, 2.0],          # mean 2: both 2s kept
        [5.0, -1.0, -1.0, -1.0, -1.0, -1.0],             # mean 0: only 5 kept
        [4.0, 4.0, -2.0, -2.0, 1.0, 1.0],                # mean 1: the 1s kept
    ])
    X = np.concatenate([X, large_batch(precision)])
    DY = make_dy(rng_for("ev-ties", eval_mode, precision), X.shape, precision)
    nargs = norm_args("evsoftmax", eval_mode=eval_mode)
    ref = torch_evsoftmax(X, eval_mode)
    got = cli_apply(nargs, X, precision)
    check_rows(got, ref, precision, f"evsoftmax ({ev_name(eval_mode)}) on mean ties / 1e30")
    if eval_mode:
        check_exact_zero(got, ref == 0.0, "evsoftmax eval: below-mean entries")
    dx, _ = cli_vjp(nargs, X, DY, precision)
    check_rows(dx, torch_evsoftmax(X, eval_mode, DY), precision,
               f"evsoftmax ({ev_name(eval_mode)}) dx on mean ties / 1e30", grad=True)


# ---------------------------------------------------------------------------------------
# Fully masked rows (torch.softmax gives NaN there: checked against the policy instead)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("cols", [1, 7, 100])
@pytest.mark.parametrize("norm", ["softmax", "softmax-t3", "multimax", "evsoftmax-train",
                                  "evsoftmax-eval"])
def test_fully_masked_rows(norm, cols, precision):
    rng = rng_for("masked-rows", norm, cols, precision)
    X = make_batch(rng, cols, precision)
    DY = make_dy(rng, X.shape, precision)
    ranges, ts = make_multimax_params(rng, 2, "random")
    if norm.startswith("softmax"):
        t = 3.0 if norm.endswith("t3") else 1.0
        nargs = norm_args("softmax", temperature=t)
        ref_p, ref_dx = torch_softmax(X, t), torch_softmax(X, t, DY)
    elif norm == "multimax":
        nargs = norm_args("multimax", ranges=ranges, ts=ts)
        ref_p = torch_multimax(X, ranges, ts)
        ref_dx, ref_dr, ref_dt = torch_multimax(X, ranges, ts, DY)
    else:
        ev = norm.endswith("eval")
        nargs = norm_args("evsoftmax", eval_mode=ev)
        ref_p, ref_dx = torch_evsoftmax(X, ev), torch_evsoftmax(X, ev, DY)
    Xm, DYm, masked = with_masked_rows(X, DY)
    got = cli_apply(nargs, Xm, precision)
    check_exact_zero(got[masked], np.ones_like(got[masked], dtype=bool),
                     f"{norm}: output of fully masked rows")
    check_rows(got[~masked], ref_p, precision, f"{norm}: other rows next to fully masked ones")
    dx, extras = cli_vjp(nargs, Xm, DYm, precision)
    check_exact_zero(dx[masked], np.ones_like(dx[masked], dtype=bool),
                     f"{norm}: dx of fully masked rows")
    check_rows(dx[~masked], ref_dx, precision, f"{norm}: dx of the other rows", grad=True)
    if norm == "multimax":
        mag_r, mag_t = multimax_param_mag(X, DY, ref_p, ranges, ts)
        check_param_grad(extras.get("dranges"), ref_dr, mag_r, precision,
                         "multimax: dranges with fully masked rows in the batch")
        check_param_grad(extras.get("dts"), ref_dt, mag_t, precision,
                         "multimax: dts with fully masked rows in the batch")
