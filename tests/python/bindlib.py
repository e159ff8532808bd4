"""Helpers of the binding tests: seeded data, the official formulas in PyTorch, comparisons.

Tolerances: float64 runs the library's double reference against PyTorch / entmax in double:
rtol 1e-9, atol 1e-11 (differences are a few ulps times the map's condition). float32 runs the
SIMD kernels on float32 inputs; the reference is computed in float64 on the same float32 values,
so the gap is float32 rounding: rtol 1e-5, atol 1e-6 (gradients: atol scaled by max |ref|).
Parameter gradients are sums over every entry: tolerance relative to the sum of |terms|, which
we bound by the sum of |each entry's contribution| computed in the reference.
"""
import zlib

import numpy as np
import torch

TOL = {torch.float64: (1e-9, 1e-11), torch.float32: (1e-5, 1e-6)}
NEG_INF = float("-inf")


def gen(*key):
    g = torch.Generator()
    g.manual_seed(zlib.crc32(repr(key).encode()))
    return g


def randn(shape, dtype, *key, scale=2.0):
    """Seeded normal data, float32-valued (so float32 and float64 runs see the same numbers)."""
    x = torch.randn(shape, generator=gen(*key), dtype=torch.float64) * scale
    return x.to(torch.float32).to(dtype)


def close(got, ref, dtype, what, grad=False, rtol=None, atol=None):
    r, a = TOL[dtype]
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    got = got.detach().double()
    ref = ref.detach().double()
    assert got.shape == ref.shape, f"{what}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
    assert torch.isfinite(ref).all(), f"{what}: reference not finite (test bug)"
    if grad and ref.numel():
        atol = atol * max(1.0, float(ref.abs().max()))
    err = (got - ref).abs()
    tol = atol + rtol * ref.abs()
    bad = ~(err <= tol)
    if bad.any():
        i = int(torch.argmax(torch.where(bad, err / tol, torch.zeros_like(err))))
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.numel()} entries off; worst "
                             f"got {got.reshape(-1)[i].item()!r} ref {ref.reshape(-1)[i].item()!r}")


def sigma_official(x, r, ts):
    """The official modulator of any order: x + sum_n ts[2n-2] relu(r[2n-2]-x)^n +
    ts[2n-1] relu(x-r[2n-1])^n (order 2 is verbatim the official code)."""
    out = x
    for n in range(1, r.numel() // 2 + 1):
        out = out + ts[2 * n - 2] * torch.relu(r[2 * n - 2] - x) ** n \
            + ts[2 * n - 1] * torch.relu(x - r[2 * n - 1]) ** n
    return out


def multimax_official(x, r, ts, dim=-1):
    """softmax(sigma(x)) with the mask (-inf) added after sigma, as the official code does."""
    finite = torch.isfinite(x)
    z = sigma_official(torch.where(finite, x, torch.zeros_like(x)), r, ts)
    return torch.softmax(z.masked_fill(~finite, NEG_INF), dim=dim)


def evsoftmax_official(x, dim=-1, training=True):
    """Chen et al. 2021 as in the official code, with the mean over the unmasked entries (the
    header's documented choice); the below-mean mask is a constant for the gradient."""
    finite = torch.isfinite(x)
    xz = torch.where(finite, x, torch.zeros_like(x))
    mean = (xz.sum(dim, keepdim=True) / finite.sum(dim, keepdim=True)).detach()
    keep = (x >= mean).to(x.dtype)
    w = keep + (1 - keep) * (1e-6 if training else 0.0)
    p = torch.softmax(x, dim=dim) * w
    return p / p.sum(dim, keepdim=True)


def multimax_param_mag(x, r, ts, p, dp, dim=-1):
    """Sum over entries of |contribution| to d/d ranges and d/d ts (the tolerance scale)."""
    x, p, dp = (t.detach().double().movedim(dim, -1) for t in (x, p, dp))
    fin = torch.isfinite(x)
    xz = torch.where(fin, x, torch.zeros_like(x))
    pd = (p * dp).sum(-1, keepdim=True)
    gabs = torch.where(fin, p * (dp.abs() + pd.abs()), torch.zeros_like(p))
    mr, mt = torch.zeros(r.numel()), torch.zeros(r.numel())
    for n in range(1, r.numel() // 2 + 1):
        u = torch.relu(float(r[2 * n - 2]) - xz)
        w = torch.relu(xz - float(r[2 * n - 1]))
        mt[2 * n - 2], mt[2 * n - 1] = (gabs * u ** n).sum(), (gabs * w ** n).sum()
        mr[2 * n - 2] = (gabs * n * abs(float(ts[2 * n - 2])) * torch.where(u > 0, u ** (n - 1), torch.zeros_like(u))).sum()
        mr[2 * n - 1] = (gabs * n * abs(float(ts[2 * n - 1])) * torch.where(w > 0, w ** (n - 1), torch.zeros_like(w))).sum()
    return mr, mt


def close_param(got, ref, mag, dtype, what):
    rtol = 1e-5 if dtype == torch.float32 else 1e-9
    got, ref, mag = (np.asarray(t.detach().double().reshape(-1)) for t in (got, ref, mag))
    tol = rtol * (mag + np.abs(ref)) + 1e-12
    assert np.all(np.abs(got - ref) <= tol), f"{what}: got {got.tolist()} ref {ref.tolist()}"
