"""MultiMax, SoftMax with temperature and EvSoftMax against the official formulas in PyTorch
(forward, backward, dranges / dts), the MultiMax module and a tiny training run."""
import pytest
import torch

import multimax as mm
from bindlib import (NEG_INF, close, close_param, evsoftmax_official, multimax_official,
                     multimax_param_mag, randn)

DTYPES = [torch.float32, torch.float64]
PARAMS = {
    1: ([-1.0, 2.0], [0.5, -0.3]),
    2: ([-1.0, 2.0, -0.5, 1.5], [0.4, -0.3, 0.1, -0.05]),
    3: ([-1.0, 2.0, -0.5, 1.5, 0.0, 3.0], [0.4, -0.3, 0.1, -0.05, 0.02, 0.01]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("shape,dim", [((4, 33), -1), ((3, 17, 2), 1), ((2, 2, 2, 7), -2)])
def test_multimax_against_official(shape, dim, order, dtype):
    x = randn(shape, dtype, "mm", shape, order)
    x = x.masked_fill(torch.rand(shape, generator=torch.Generator().manual_seed(7)) < 0.1,
                      NEG_INF)
    x.select(dim, 0).fill_(0.5)  # no fully masked row here
    dy = randn(shape, dtype, "mm-dy", shape, scale=1.0)
    r0, t0 = (torch.tensor(v, dtype=torch.float64) for v in PARAMS[order])
    r, t, xg = r0.clone().requires_grad_(), t0.clone().requires_grad_(), x.clone().requires_grad_()
    y = mm.multimax(xg, r, t, dim=dim)
    y.backward(dy)
    rr, rt, rx = r0.clone().requires_grad_(), t0.clone().requires_grad_(), \
        x.double().requires_grad_()
    ry = multimax_official(rx, rr, rt, dim=dim)
    ry.backward(dy.double())
    close(y, ry, dtype, "multimax forward")
    close(xg.grad, rx.grad, dtype, "multimax dx", grad=True)
    mr, mt = multimax_param_mag(x, r0, t0, ry, dy.double(), dim)
    close_param(r.grad, rr.grad, mr, dtype, "dranges")
    close_param(t.grad, rt.grad, mt, dtype, "dts")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_softmax_temperature(temperature, dtype):
    x = randn((5, 3, 21), dtype, "sm", temperature)
    dy = randn((5, 3, 21), dtype, "sm-dy", scale=1.0)
    xg, rx = x.clone().requires_grad_(), x.double().requires_grad_()
    y = mm.softmax(xg, temperature, dim=1)
    y.backward(dy)
    ry = torch.softmax(rx / temperature, dim=1)
    ry.backward(dy.double())
    close(y, ry, dtype, "softmax forward")
    close(xg.grad, rx.grad, dtype, "softmax dx", grad=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("training", [True, False])
def test_evsoftmax_official(training, dtype):
    x = randn((6, 15), dtype, "ev", training)
    x[0, :4] = NEG_INF
    dy = randn((6, 15), dtype, "ev-dy", scale=1.0)
    xg, rx = x.clone().requires_grad_(), x.double().requires_grad_()
    y = mm.evsoftmax(xg, dim=-1, training=training)
    y.backward(dy)
    ry = evsoftmax_official(rx, -1, training)
    ry.backward(dy.double())
    close(y, ry, dtype, "evsoftmax forward")
    close(xg.grad, rx.grad, dtype, "evsoftmax dx", grad=True)
    m = mm.EvSoftmax()
    m.eval()
    close(m(x), evsoftmax_official(x.double(), -1, False), dtype, "EvSoftmax module eval")


def test_zero_coefficients_is_softmax():
    x = randn((4, 9), torch.float64, "zero")
    m = mm.MultiMax(init="zeros")
    close(m(x), torch.softmax(x, -1), torch.float64, "zeros init")
    assert m.ranges.shape == (4,) and m.ts.shape == (4,)
    assert torch.all(m.ranges == 0) and torch.all(m.ts == 0)


def test_module_init_and_dim():
    torch.manual_seed(0)
    m = mm.MultiMax(order=3)
    assert m.ranges.shape == (6,) and m.ts.shape == (6,)
    for p in (m.ranges, m.ts):
        assert 0 < float(p.abs().max()) <= 0.04 * 3 and float(p.std()) < 0.05
    x = randn((3, 8, 5), torch.float32, "module-dim")
    y = m(x, dim=1)
    close(y, multimax_official(x.double(), m.ranges, m.ts, dim=1), torch.float32, "module dim")
    with pytest.raises(ValueError):
        mm.MultiMax(init="uniform")


def test_tiny_training():
    """A linear classifier with a learnable MultiMax output trains: the loss falls and the
    modulator's parameters receive gradients and move."""
    torch.manual_seed(0)
    X = torch.randn(64, 10)
    yl = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    lin, act = torch.nn.Linear(10, 3), mm.MultiMax(order=2)
    start = act.ts.detach().clone()
    opt = torch.optim.Adam(list(lin.parameters()) + list(act.parameters()), lr=0.05)
    losses = []
    for _ in range(60):
        p = act(lin(X))
        loss = torch.nn.functional.nll_loss(torch.log(p + 1e-9), yl)
        opt.zero_grad()
        loss.backward()
        assert act.ranges.grad is not None and act.ts.grad is not None
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.6 * losses[0], losses[::10]
    assert not torch.equal(start, act.ts.detach())
