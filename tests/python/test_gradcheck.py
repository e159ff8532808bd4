"""torch.autograd.gradcheck in float64 (as the entmax package's own tests do) for every
normalizer, its parameters (ranges, ts, alpha) and the losses, on a middle dim of a
non-contiguous tensor."""
import pytest
import torch
from torch.autograd import gradcheck

import multimax as mm


def _x(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    # transposed: non-contiguous, and dim=1 is a middle dimension
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * 1.5).transpose(0, 2) \
        .requires_grad_()


CASES = {
    "softmax": lambda x: mm.softmax(x, 0.7, dim=1),
    "sparsemax": lambda x: mm.sparsemax(x, dim=1),
    "entmax15": lambda x: mm.entmax15(x, dim=1),
    "entmax_bisect": lambda x: mm.entmax_bisect(x, 1.7, dim=1),
    "evsoftmax-train": lambda x: mm.evsoftmax(x, dim=1, training=True),
    "evsoftmax-eval": lambda x: mm.evsoftmax(x, dim=1, training=False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_inputs(name):
    x = _x(4, 6, 3, seed=len(name))
    assert not x.is_contiguous()
    assert gradcheck(CASES[name], (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("order", [1, 2])
def test_gradcheck_multimax(order):
    g = torch.Generator().manual_seed(order)
    r = (torch.randn(2 * order, generator=g, dtype=torch.float64)).requires_grad_()
    t = (0.3 * torch.randn(2 * order, generator=g, dtype=torch.float64)).requires_grad_()
    x = _x(4, 7, 3, seed=10 + order)
    assert gradcheck(lambda x, r, t: mm.multimax(x, r, t, dim=1), (x, r, t), eps=1e-6,
                     atol=1e-6)


@pytest.mark.parametrize("alpha", [1.3, 2.5])
def test_gradcheck_alpha(alpha):
    x = _x(3, 8, 2, seed=20)
    a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x, a: mm.entmax_bisect(x, a, dim=1), (x, a), eps=1e-6, atol=1e-6)
    ar = torch.tensor([[1.2], [1.6], [2.2]], dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda y, ar: mm.entmax_bisect(y, ar), (y, ar), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", ["sparsemax_loss", "entmax15_loss", "entmax_bisect_loss"])
def test_gradcheck_losses(loss):
    X = torch.randn(5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(5),
                    requires_grad=True)
    target = torch.tensor([0, 6, 3, 3, 1])
    assert gradcheck(lambda X: getattr(mm, loss)(X, target), (X,), eps=1e-6, atol=1e-6)
