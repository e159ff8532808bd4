"""multimax_attention (the library's fused float32 attention through autograd) against
attention composed in PyTorch float64: S = scale q k^T, P = f(S) over the visible keys, out = P v,
with the official MultiMax formula, torch.softmax and the entmax package. Compared: out, dq, dk,
dv and the summed dranges / dts / dalpha. Tolerances as in tests/peers/test_attention_peer.py
(float32 against float64 on the same float32 values): out atol 2e-5 + rtol 1e-4; dq, dk, dv
5e-5 max|ref| + 2e-6 + 2.5e-4 |ref|; parameter gradients 1e-5 of the sum of |terms|."""
import entmax
import pytest
import torch

import multimax as mm
from bindlib import close, close_param, multimax_official, multimax_param_mag, sigma_official

R, T_ = [-1.0, 2.0, -0.5, 1.5], [0.4, -0.3, 0.1, -0.05]
# (B, H, Tq, Tk, D, causal, key_len)
SHAPES = {
    "self-causal": (2, 3, 19, 19, 16, True, None),
    "cross-keylen": (2, 2, 7, 23, 8, False, [23, 0]),
    "causal-keylen-tq1": (2, 1, 1, 40, 16, True, [40, 9]),
}
NORMS = ["multimax", "softmax", "sparsemax", "entmax15", "entmax"]


def _visible(B, Tq, Tk, causal, key_len):
    i, j = torch.arange(Tq)[:, None], torch.arange(Tk)[None, :]
    vis = torch.ones(B, 1, Tq, Tk, dtype=torch.bool)
    if causal:
        vis &= (j <= i + Tk - Tq)
    if key_len is not None:
        vis &= j < torch.tensor(key_len)[:, None, None, None]
    return vis


def _reference(norm, q, k, v, r, t, alpha, causal, key_len):
    B, H, Tq, D = q.shape
    Tk = k.shape[2]
    vis = _visible(B, Tq, Tk, causal, key_len)
    has = vis.any(-1, keepdim=True)
    hide = ~(vis | ~has)  # rows without a visible key: computed unmasked, then zeroed
    S = (q @ k.transpose(-1, -2)) / D ** 0.5
    if norm == "multimax":
        P = torch.softmax(sigma_official(S, r, t).masked_fill(hide, float("-inf")), -1)
    elif norm == "softmax":
        P = torch.softmax((S / 0.7).masked_fill(hide, float("-inf")), -1)
    elif norm == "sparsemax":
        P = entmax.sparsemax(S.masked_fill(hide, float("-inf")), -1)
    elif norm == "entmax15":
        P = entmax.entmax15(S.masked_fill(hide, float("-inf")), -1)
    else:
        P = entmax.entmax_bisect(S.masked_fill(hide, float("-inf")), alpha, -1, n_iter=100)
    P = P * has
    return P @ v, P, S, vis & has


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("norm", NORMS)
def test_attention_against_torch(norm, shape):
    B, H, Tq, Tk, D, causal, key_len = SHAPES[shape]
    g = torch.Generator().manual_seed(hash((norm, shape)) % 2 ** 31)
    q, k, v, dout = (torch.randn(*s, generator=g) for s in
                     ((B, H, Tq, D), (B, H, Tk, D), (B, H, Tk, D), (B, H, Tq, D)))
    q = q * 2
    r0, t0 = torch.tensor(R, dtype=torch.float64), torch.tensor(T_, dtype=torch.float64)
    kl = torch.tensor(key_len) if key_len is not None else None

    ins = [x.clone().requires_grad_() for x in (q, k, v)]
    r, t = r0.clone().requires_grad_(), t0.clone().requires_grad_()
    a = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    out = mm.multimax_attention(*ins, norm=norm, ranges=r, ts=t, causal=causal, key_len=kl,
                                temperature=0.7, alpha=a)
    out.backward(dout)

    refs = [x.double().requires_grad_() for x in (q, k, v)]
    rr, rt = r0.clone().requires_grad_(), t0.clone().requires_grad_()
    ra = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    rout, P, S, vis = _reference(norm, *refs, rr, rt, ra, causal, key_len)
    rout.backward(dout.double())

    assert out.dtype == torch.float32 and out.shape == q.shape
    close(out, rout, torch.float32, f"{norm} {shape} out", rtol=1e-4, atol=2e-5 * 2)
    for name, got, ref in zip("qkv", ins, refs):
        atol = 5e-5 * float(ref.grad.abs().max()) + 2e-6
        close(got.grad, ref.grad, torch.float32, f"{norm} {shape} d{name}", rtol=2.5e-4,
              atol=atol)
    empty = ~vis.expand(B, H, Tq, Tk).any(-1)
    assert torch.all(out[empty] == 0) and torch.all(ins[0].grad[empty] == 0)
    if norm == "multimax":
        dP = (dout.double() @ v.double().transpose(-1, -2))
        mr, mt = multimax_param_mag(S.masked_fill(~vis, float("-inf")), r0, t0, P, dP)
        close_param(r.grad, rr.grad, mr, torch.float32, "attention dranges")
        close_param(t.grad, rt.grad, mt, torch.float32, "attention dts")
    else:
        assert r.grad is None and t.grad is None
    if norm == "entmax":
        tol = 1e-4 * abs(float(ra.grad)) + 1e-5 * float((P * (dout.double() @ v.double()
                                                              .transpose(-1, -2))).abs().sum())
        assert abs(float(a.grad) - float(ra.grad)) <= tol, (float(a.grad), float(ra.grad))


def test_attention_module_and_multimax_rows():
    """MultiMaxAttention trains its ranges / ts; its probabilities equal multimax() of S."""
    torch.manual_seed(0)
    att = mm.MultiMaxAttention(order=2, causal=True)
    q, k, v = (torch.randn(1, 2, 9, 8, requires_grad=True) for _ in range(3))
    out = att(q, k, v)
    out.square().sum().backward()
    assert att.ranges.grad is not None and torch.isfinite(att.ts.grad).all()
    S = (q @ k.transpose(-1, -2)).detach().double() / 8 ** 0.5
    S = S.masked_fill(~_visible(1, 9, 9, True, None), float("-inf"))
    P = mm.multimax(S, att.ranges.detach(), att.ts.detach())
    close(out, P @ v.detach().double(), torch.float32, "module", rtol=1e-4, atol=4e-5)
    close(P, multimax_official(S, att.ranges.detach(), att.ts.detach()), torch.float64, "rows")


def test_attention_errors():
    q = torch.randn(1, 1, 4, 8)
    with pytest.raises(ValueError, match="must be"):
        mm.multimax_attention(q, torch.randn(1, 1, 5, 8), torch.randn(1, 1, 6, 8),
                              norm="softmax")
    with pytest.raises(mm.MultiMaxError, match="key_len"):
        mm.multimax_attention(q, q, q, norm="softmax", key_len=[9])
    with pytest.raises(mm.MultiMaxError, match="nan"):
        mm.multimax_attention(q, q, q.masked_fill(q > 1, float("nan")), norm="softmax")
    half = mm.multimax_attention(q.half(), q.half(), q.half(), norm="sparsemax")
    assert half.dtype == torch.float16


@pytest.mark.parametrize("norm", ["multimax", "softmax", "entmax15"])
def test_attention_strided_views_in_place(norm):
    """q, k, v as views of a fused (B, T, 3, H, D) projection (the transposes PyTorch code
    makes) give the same out and gradients, bit for bit, as contiguous copies: the library
    reads them in place through the descriptor's layouts, and writes dq, dk, dv in the
    same layouts."""
    B, T, H, D = 2, 13, 3, 8
    g = torch.Generator().manual_seed(5)
    qkv = torch.randn(B, T, 3, H, D, generator=g, requires_grad=True)
    dout = torch.randn(B, H, T, D, generator=g)
    r, t = torch.tensor(R, dtype=torch.float64), torch.tensor(T_, dtype=torch.float64)
    views = [qkv[:, :, i].transpose(1, 2) for i in range(3)]  # (B, H, T, D), not contiguous
    assert not any(x.is_contiguous() for x in views)
    out = mm.multimax_attention(*views, norm=norm, ranges=r, ts=t, causal=True)
    out.backward(dout)
    flat = [x.detach().contiguous().requires_grad_() for x in views]
    ref = mm.multimax_attention(*flat, norm=norm, ranges=r, ts=t, causal=True)
    ref.backward(dout)
    assert torch.equal(out, ref), f"{norm}: out differs between views and copies"
    for i, name in enumerate("qkv"):
        assert torch.equal(qkv.grad[:, :, i].transpose(1, 2), flat[i].grad), \
            f"{norm}: d{name} differs between views and copies"
