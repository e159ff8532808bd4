"""multimax as a drop-in for the entmax package: same signatures, same values and gradients
(sparsemax, entmax15, entmax_bisect with its alpha gradient, the three losses and the
modules), on odd shapes, any dim, masked entries, float32 and float64."""
import entmax
import pytest
import torch

import multimax as mm
from bindlib import NEG_INF, close, randn

DTYPES = [torch.float32, torch.float64]
SHAPES = [((1, 1), -1), ((3, 7), -1), ((2, 17, 5), 1), ((4, 3, 33), -1), ((65, 2), 0),
          ((2, 3, 4, 9), 2)]
PAIRS = {
    "sparsemax": (mm.sparsemax, entmax.sparsemax),
    "entmax15": (mm.entmax15, entmax.entmax15),
}


def _grads(f, x, dy, *extra):
    x = x.detach().requires_grad_()
    y = f(x, *extra)
    y.backward(dy)
    return y.detach(), x.grad


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape,dim", SHAPES, ids=[f"{s}-d{d}" for s, d in SHAPES])
@pytest.mark.parametrize("name", list(PAIRS))
def test_against_entmax(name, shape, dim, dtype):
    ours, theirs = PAIRS[name]
    x = randn(shape, dtype, name, shape)
    if x.shape[dim] > 3:  # mask some entries (never a whole row: entmax gives NaN there)
        m = torch.rand(shape, generator=torch.Generator().manual_seed(1)) < 0.2
        m.select(dim, 0).fill_(False)
        x = x.masked_fill(m, NEG_INF)
    dy = randn(shape, dtype, "dy", name, shape, scale=1.0)
    y, dx = _grads(lambda t: ours(t, dim=dim, k=3), x, dy)
    ry, rdx = _grads(lambda t: theirs(t, dim=dim), x.double(), dy.double())
    assert y.dtype == dtype and y.shape == x.shape
    close(y, ry, dtype, f"{name} forward")
    close(dx, rdx, dtype, f"{name} backward", grad=True)
    assert torch.all(y[x == NEG_INF] == 0) and torch.all(dx[x == NEG_INF] == 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("alpha", [1.25, 1.5, 2.0, 3.0])
def test_entmax_bisect_scalar_alpha(alpha, dtype):
    x = randn((6, 2, 19), dtype, "bisect", alpha)
    dy = randn((6, 2, 19), dtype, "bisect-dy", alpha, scale=1.0)
    a = torch.tensor(alpha, dtype=dtype, requires_grad=True)
    xg = x.clone().requires_grad_()
    y = mm.entmax_bisect(xg, a, dim=1, n_iter=5, ensure_sum_one=False)
    y.backward(dy)
    ra = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    rx = x.double().requires_grad_()
    ry = entmax.entmax_bisect(rx, ra, dim=1, n_iter=200)
    ry.backward(dy.double())
    close(y, ry, dtype, "entmax_bisect forward")
    close(xg.grad, rx.grad, dtype, "entmax_bisect dx", grad=True)
    rtol = 1e-4 if dtype == torch.float32 else 1e-8
    close(a.grad, ra.grad, dtype, "entmax_bisect dalpha", rtol=rtol, atol=rtol)
    # a python float alpha gives the same values, and dx without dalpha's sums
    xf = x.detach().clone().requires_grad_()  # (x is rx in float64: x.double() is x)
    yf = mm.entmax_bisect(xf, alpha, dim=1)
    yf.backward(dy)
    close(yf.detach(), ry, dtype, "entmax_bisect float alpha")
    close(xf.grad, rx.grad, dtype, "entmax_bisect dx, float alpha", grad=True)


def test_entmax_bisect_per_row_alpha():
    """alpha of shape (N, 1) (one per row, the entmax package's broadcasting), with gradient."""
    x = randn((5, 11), torch.float64, "per-row")
    dy = randn((5, 11), torch.float64, "per-row-dy", scale=1.0)
    alpha = torch.tensor([[1.2], [1.5], [1.5], [2.0], [2.7]], dtype=torch.float64)
    a1, a2 = alpha.clone().requires_grad_(), alpha.clone().requires_grad_()
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1 = mm.entmax_bisect(x1, a1)
    y1.backward(dy)
    y2 = entmax.entmax_bisect(x2, a2, n_iter=200)
    y2.backward(dy)
    close(y1, y2, torch.float64, "per-row forward")
    close(x1.grad, x2.grad, torch.float64, "per-row dx", grad=True)
    close(a1.grad, a2.grad, torch.float64, "per-row dalpha", rtol=1e-8, atol=1e-8)
    # without an alpha gradient (grouped calls) the values agree too
    close(mm.entmax_bisect(x, alpha.reshape(5, 1)), y2, torch.float64, "per-row no grad")


LOSSES = {
    "sparsemax_loss": (mm.sparsemax_loss, entmax.sparsemax_loss, ()),
    "entmax15_loss": (mm.entmax15_loss, entmax.entmax15_loss, ()),
    "entmax_bisect_loss": (mm.entmax_bisect_loss, entmax.entmax_bisect_loss, (1.3,)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_against_entmax(name, dtype):
    ours, theirs, extra = LOSSES[name]
    X = randn((9, 13), dtype, name)
    target = torch.randint(0, 13, (9,), generator=torch.Generator().manual_seed(3))
    w = randn((9,), dtype, name, "w", scale=1.0)
    x1 = X.clone().requires_grad_()
    l1 = ours(x1, target, *extra)
    (l1 * w).sum().backward()
    x2 = X.double().requires_grad_()
    kw = {"n_iter": 200} if name == "entmax_bisect_loss" else {}
    l2 = theirs(x2, target, *extra, **kw)
    (l2 * w.double()).sum().backward()
    assert l1.shape == (9,) and l1.dtype == dtype
    close(l1, l2, dtype, f"{name} value", atol=1e-5 if dtype == torch.float32 else None)
    close(x1.grad, x2.grad, dtype, f"{name} gradient", grad=True)


@pytest.mark.parametrize("reduction", ["elementwise_mean", "sum", "none"])
def test_loss_modules(reduction):
    X = randn((8, 6), torch.float64, "modules", reduction)
    target = torch.tensor([0, 5, 2, 2, 1, 3, 4, 0])
    for ours, theirs, kw in ((mm.SparsemaxLoss, entmax.SparsemaxLoss, {}),
                             (mm.Entmax15Loss, entmax.Entmax15Loss, {}),
                             (mm.EntmaxBisectLoss, entmax.EntmaxBisectLoss,
                              {"alpha": 1.7, "n_iter": 200})):
        got = ours(ignore_index=2, reduction=reduction, **kw)(X, target)
        ref = theirs(ignore_index=2, reduction=reduction, **kw)(X, target)
        close(got, ref, torch.float64, f"{ours.__name__} {reduction}")


def test_activation_modules():
    X = randn((3, 4, 10), torch.float64, "act-modules")
    close(mm.Sparsemax(dim=1)(X), entmax.Sparsemax(dim=1)(X), torch.float64, "Sparsemax")
    close(mm.Entmax15(dim=-1, k=2)(X), entmax.Entmax15(dim=-1)(X), torch.float64, "Entmax15")
    close(mm.EntmaxBisect(1.8, dim=0)(X), entmax.EntmaxBisect(1.8, dim=0, n_iter=200)(X),
          torch.float64, "EntmaxBisect")
