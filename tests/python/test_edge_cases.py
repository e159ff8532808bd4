"""Odd shapes, layouts and inputs: non-contiguous tensors, any dim, fully masked rows,
empty tensors, half precision, NumPy entry points, and errors (library messages, CUDA,
dtypes)."""
import numpy as np
import pytest
import torch

import multimax as mm
from bindlib import NEG_INF, close, multimax_official, randn

R, T = [-1.0, 2.0, -0.5, 1.5], [0.4, -0.3, 0.1, -0.05]
ALL = {
    "softmax": lambda x, d=-1: mm.softmax(x, 2.0, dim=d),
    "multimax": lambda x, d=-1: mm.multimax(x, torch.tensor(R), torch.tensor(T), dim=d),
    "sparsemax": lambda x, d=-1: mm.sparsemax(x, dim=d),
    "entmax15": lambda x, d=-1: mm.entmax15(x, dim=d),
    "entmax_bisect": lambda x, d=-1: mm.entmax_bisect(x, 1.3, dim=d),
    "evsoftmax": lambda x, d=-1: mm.evsoftmax(x, dim=d),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(ALL))
def test_fully_masked_rows(name, dtype):
    """All -inf rows (first, middle, last): zeros out, zero gradient, no NaN anywhere."""
    x = randn((5, 9), dtype, "masked", name)
    x[0], x[2], x[4] = NEG_INF, NEG_INF, NEG_INF
    x[1, :8] = NEG_INF  # a single finite entry
    xg = x.clone().requires_grad_()
    y = ALL[name](xg)
    y.backward(torch.ones_like(y))
    assert torch.all(y[[0, 2, 4]] == 0) and torch.isfinite(y).all()
    assert torch.all(xg.grad[[0, 2, 4]] == 0) and torch.isfinite(xg.grad).all()
    assert float(y[1, 8]) == pytest.approx(1.0)
    close(y[3].sum(), torch.tensor(1.0), dtype, "row sum")


@pytest.mark.parametrize("name", list(ALL))
def test_layouts_and_dims(name):
    """Every dim of a non-contiguous 4-D tensor gives what the contiguous last-dim call gives."""
    base = randn((3, 5, 4, 6), torch.float64, "layout", name)
    x = base.permute(2, 0, 3, 1)  # (4, 3, 6, 5), non-contiguous
    for d in range(-4, 4):
        y = ALL[name](x, d)
        ref = ALL[name](x.movedim(d, -1).contiguous()).movedim(-1, d)
        assert y.shape == x.shape
        close(y, ref, torch.float64, f"{name} dim {d}", rtol=0, atol=0)
    xs = randn((4, 20), torch.float64, "slice", name)[:, ::3]  # strided columns
    close(ALL[name](xs), ALL[name](xs.contiguous()), torch.float64, "strided", rtol=0, atol=0)


@pytest.mark.parametrize("cols", [1, 2, 3, 7, 15, 16, 17, 63, 65, 1000])
def test_odd_lengths(cols):
    x = randn((3, cols), torch.float32, "odd", cols)
    y = mm.multimax(x, torch.tensor(R), torch.tensor(T))
    close(y, multimax_official(x.double(), torch.tensor(R, dtype=torch.float64),
                               torch.tensor(T, dtype=torch.float64)), torch.float32, "odd")


def test_empty_and_half():
    e = torch.empty(0, 5, requires_grad=True)
    assert mm.sparsemax(e).shape == (0, 5)
    x = randn((4, 11), torch.float32, "half")
    for dt in (torch.float16, torch.bfloat16):
        xh = x.to(dt).requires_grad_()
        y = mm.entmax15(xh)
        y.sum().backward()
        assert y.dtype == dt and xh.grad.dtype == dt
        close(y.float(), mm.entmax15(xh.detach().float()).to(dt).float(), torch.float32,
              "half", rtol=1e-2, atol=1e-3)


def test_errors():
    with pytest.raises(mm.MultiMaxError, match=r"mmx_forward_f32: 'x' holds nan at row 1"):
        mm.sparsemax(torch.tensor([[1.0, 2.0], [float("nan"), 0.0]]))
    with pytest.raises(mm.MultiMaxError, match="mmx_forward_f64.*inf"):
        mm.entmax15(torch.tensor([1.0, float("inf")], dtype=torch.float64))
    with pytest.raises(mm.MultiMaxError, match="alpha") as ei:
        mm.entmax_bisect(torch.randn(2, 3), alpha=0.5)
    assert ei.value.status == "MMX_ERR_PARAM"
    with pytest.raises(mm.MultiMaxError, match="temperature"):
        mm.softmax(torch.randn(2, 3), temperature=0.0)
    with pytest.raises(TypeError, match="dtype torch.int64"):
        mm.sparsemax(torch.arange(6).reshape(2, 3))
    with pytest.raises(RuntimeError, match="CPU backend"):
        mm.sparsemax(torch.empty(2, 3, device="meta"))
    with pytest.raises(TypeError, match="float32 only"):
        mm.multimax_attention(*(torch.randn(1, 1, 2, 4, dtype=torch.float64),) * 3,
                              norm="softmax")
    with pytest.raises(ValueError, match="2\\*order"):
        mm.multimax(torch.randn(2, 3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(IndexError):
        mm.sparsemax(torch.randn(2, 3), dim=2)
    with pytest.raises(TypeError, match="integer"):
        mm.sparsemax_loss(torch.randn(2, 3), torch.tensor([0.0, 1.0]))
    with pytest.raises(mm.MultiMaxError, match="label"):
        mm.sparsemax_loss(torch.randn(2, 3), torch.tensor([0, 3]))


def test_cuda_error_message():
    """No CUDA here: a tensor on another device (meta) stands in; the message says why."""
    with pytest.raises(RuntimeError) as ei:
        mm.multimax(torch.empty(2, 3, device="meta"), torch.zeros(4), torch.zeros(4))
    assert "no CUDA backend" in str(ei.value) and ".cpu()" in str(ei.value)


def test_numpy_entry_points():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 4))
    t = torch.from_numpy(x)
    for f, g in ((mm.np.sparsemax, mm.sparsemax), (mm.np.entmax15, mm.entmax15)):
        np.testing.assert_array_equal(f(x, axis=1), g(t, dim=1).numpy())
    np.testing.assert_array_equal(mm.np.multimax(x, R, T, axis=0),
                                  mm.multimax(t, torch.tensor(R, dtype=torch.float64),
                                              torch.tensor(T, dtype=torch.float64), 0).numpy())
    x32 = x.astype(np.float32)
    y = mm.np.softmax(x32, 1.5)
    assert y.dtype == np.float32
    close(torch.from_numpy(y), torch.softmax(torch.from_numpy(x) / 1.5, -1), torch.float32, "np")
    dy = rng.normal(size=x.shape)
    yy = mm.np.multimax(x, R, T)
    dx, g = mm.np.normalize_backward(dy, yy, x, "multimax", ranges=R, ts=T)
    tx = t.clone().requires_grad_()
    tr, tt = torch.tensor(R, dtype=torch.float64, requires_grad=True), \
        torch.tensor(T, dtype=torch.float64, requires_grad=True)
    multimax_official(tx, tr, tt).backward(torch.from_numpy(dy))
    close(torch.from_numpy(dx), tx.grad, torch.float64, "np dx", grad=True)
    close(torch.from_numpy(g["ts"]), tt.grad, torch.float64, "np dts", grad=True)
    lo, dz, _ = mm.np.loss(x[:, :, 0], np.array([0, 6, -1]), "entmax15")
    assert lo.shape == (3,) and lo[2] == 0 and np.all(dz[2] == 0)
    m, s = mm.np.metrics(mm.np.sparsemax(np.array([[10.0, 8.0, -1.0]])),
                         np.array([[10.0, 8.0, -1.0]]))
    assert m.tolist() == [0.0] and s.tolist() == [1.0]
    with pytest.raises(TypeError):
        mm.np.sparsemax(np.arange(4))
    with pytest.raises(mm.MultiMaxError, match="nan"):
        mm.np.softmax(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="shape"):
        mm.np.normalize_backward(np.ones((2, 3)), np.ones((2, 4)), norm="sparsemax")
