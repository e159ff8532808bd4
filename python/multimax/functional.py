"""The normalizers, losses and fused attention as torch.autograd.Functions over the library.

Drop-in for the entmax package: sparsemax, entmax15, entmax_bisect and the three losses take
the same arguments and give the same results. Differences, all documented in the README:
  - `k` (sparsemax, entmax15) is accepted and ignored: the kernels find the exact threshold
    without a (partial) sort, so results are what the entmax package gives with a full sort.
  - `n_iter`, `ensure_sum_one` (entmax_bisect) are accepted and ignored: the library brackets
    tau to 2^-52 and always renormalises.
  - A fully masked (-inf) row gives zeros, not NaN; a negative loss label gives loss 0.
dtype policy: float32 -> the library's SIMD float32 kernels, float64 -> its exact float64
reference (so torch.autograd.gradcheck works); float16 / bfloat16 are computed in float32
and cast back; other dtypes raise TypeError; non-CPU tensors raise RuntimeError.
Backward passes are first order (once_differentiable).
"""
import numpy as np
import torch
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from . import _core
from ._lib import ENTMAX, ENTMAX15, EVSOFTMAX, MULTIMAX, SOFTMAX, SPARSEMAX

__all__ = ["sparsemax", "entmax15", "entmax_bisect", "softmax", "multimax", "evsoftmax",
           "normalize", "sparsemax_loss", "entmax15_loss", "entmax_bisect_loss",
           "multimax_attention"]

_HALF = (torch.float16, torch.bfloat16)


def _check_tensor(x, what, dtypes=(torch.float32, torch.float64)):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"multimax: {what} must be a torch.Tensor, got {type(x).__name__}")
    if x.device.type != "cpu":
        raise RuntimeError(f"multimax: {what} is on device '{x.device}', but the library has "
                           "only a CPU backend for now (no CUDA backend yet); move it with "
                           ".cpu()")
    if x.dtype not in dtypes + _HALF:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"multimax: {what} has dtype {x.dtype}; expected {names} "
                        "(float16 / bfloat16 are computed in float32)")


def _np(t):
    """Zero-copy NumPy view of a contiguous CPU tensor."""
    return t.detach().numpy()


def _params_np(t, what):
    if isinstance(t, torch.Tensor):
        _check_tensor(t, what)
        return t.detach().double().reshape(-1).numpy()
    return np.asarray(t, dtype=np.float64).reshape(-1)


def _grad_like(arr, like):
    """A library gradient (float64 NumPy) as a tensor shaped and typed like the parameter."""
    return torch.from_numpy(np.array(arr)).to(like.dtype).reshape(like.shape)


def _rows_view(x, dim):
    """x with `dim` moved last, C-contiguous, and as a (rows, cols) NumPy view."""
    xm = x.detach().transpose(dim, -1).contiguous()
    return xm, _np(xm).reshape(-1, xm.shape[-1])


def _alpha_rows(alpha, x, dim):
    """Per-row alpha (float64, one per row of _rows_view) for a tensor alpha with more than
    one element, broadcast as the entmax package does (alpha.shape[j] == X.shape[j], or 1,
    except 1 at `dim`)."""
    shape = list(x.shape)
    shape[dim] = 1
    a = alpha.detach().double().expand(shape).transpose(dim, -1).contiguous()
    return a.reshape(-1).numpy().copy()


def _groups(alpha_rows):
    values, inverse = np.unique(alpha_rows, return_inverse=True)
    return [(float(v), np.nonzero(inverse == i)[0]) for i, v in enumerate(values)]


class _Normalize(Function):
    """y = f(x) along dim, for every normalizer; grads for x, ranges, ts and alpha."""

    @staticmethod
    def forward(ctx, x, ranges, ts, alpha, kind, temperature, eval_mode, dim):
        ctx.kind, ctx.temperature, ctx.eval_mode, ctx.dim = kind, temperature, eval_mode, dim
        xm, xr = _rows_view(x, dim)
        ym = torch.empty_like(xm)
        yr = _np(ym).reshape(xr.shape)
        ctx.rng = _params_np(ranges, "ranges") if kind == MULTIMAX else None
        ctx.tsv = _params_np(ts, "ts") if kind == MULTIMAX else None
        ctx.alpha_rows = None
        a = 1.5
        if kind == ENTMAX:
            if isinstance(alpha, torch.Tensor) and alpha.numel() > 1:
                ctx.alpha_rows = _alpha_rows(alpha, x, dim)
            else:
                a = float(alpha)
        ctx.alpha = a
        if ctx.alpha_rows is None:
            _core.forward_rows(_Normalize._norm(ctx, a), yr, xr)
        else:  # one call per distinct alpha value
            for value, idx in _groups(ctx.alpha_rows):
                yg = np.empty((idx.size, xr.shape[1]), dtype=xr.dtype)
                _core.forward_rows(_Normalize._norm(ctx, value), yg,
                                   np.ascontiguousarray(xr[idx]))
                yr[idx] = yg
        ctx.save_for_backward(xm if kind == MULTIMAX else None, ym)
        ctx.param_like = (ranges, ts, alpha)
        return ym.transpose(dim, -1).contiguous()

    @staticmethod
    def _norm(ctx, alpha):
        return _core.Norm(ctx.kind, temperature=ctx.temperature, alpha=alpha, ranges=ctx.rng,
                          ts=ctx.tsv, eval=ctx.eval_mode)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        xm, ym = ctx.saved_tensors
        dim = ctx.dim
        dym = dy.transpose(dim, -1).to(ym.dtype).contiguous()
        dxm = torch.empty_like(ym)
        dyr, yr, dxr = (_np(t).reshape(-1, ym.shape[-1]) for t in (dym, ym, dxm))
        xr = _np(xm).reshape(yr.shape) if xm is not None else yr
        ranges, ts, alpha = ctx.param_like
        dalpha = None
        if ctx.alpha_rows is None:
            g = _core.backward_rows(_Normalize._norm(ctx, ctx.alpha), dxr, dyr, yr, xr,
                                    want_alpha=ctx.needs_input_grad[3])
            if ctx.needs_input_grad[3]:
                dalpha = torch.full_like(alpha, g["alpha"][0])
        elif ctx.needs_input_grad[3]:  # per-row alpha with its gradient: one call per row
            da = np.zeros(yr.shape[0])
            for r, value in enumerate(ctx.alpha_rows):
                s = slice(r, r + 1)
                g = _core.backward_rows(_Normalize._norm(ctx, float(value)), dxr[s], dyr[s],
                                        yr[s], xr[s])
                da[r] = g["alpha"][0]
            shape = list(ym.shape)
            shape[-1] = 1
            dalpha = torch.from_numpy(da).to(alpha.dtype).reshape(shape).transpose(dim, -1)
        else:
            for value, idx in _groups(ctx.alpha_rows):
                dxg = np.empty((idx.size, yr.shape[1]), dtype=yr.dtype)
                _core.backward_rows(_Normalize._norm(ctx, value), dxg,
                                    np.ascontiguousarray(dyr[idx]),
                                    np.ascontiguousarray(yr[idx]), np.ascontiguousarray(xr[idx]),
                                    want_alpha=False)
                dxr[idx] = dxg
            g = None
        dranges = _grad_like(g["ranges"], ranges) if ctx.needs_input_grad[1] else None
        dts = _grad_like(g["ts"], ts) if ctx.needs_input_grad[2] else None
        return dxm.transpose(dim, -1), dranges, dts, dalpha, None, None, None, None


def normalize(X, kind, dim=-1, ranges=None, ts=None, alpha=1.5, temperature=1.0,
              eval_mode=False):
    """f(X) along dim for a normalizer kind (a name or an mmx_norm_kind value)."""
    if isinstance(kind, str):
        kind = _core.KIND_NAMES.get(kind, kind)
        if isinstance(kind, str):
            raise ValueError(f"multimax: unknown normalizer {kind!r}")
    _check_tensor(X, "X")
    if X.dim() == 0:
        raise ValueError("multimax: X is 0-dimensional; it needs a dimension to normalise")
    for name, p in (("ranges", ranges), ("ts", ts), ("alpha", alpha)):
        if isinstance(p, torch.Tensor):
            _check_tensor(p, name)
    if kind == MULTIMAX and (ranges is None or ts is None):
        raise ValueError("multimax: multimax needs ranges and ts")
    if X.dtype in _HALF:
        return normalize(X.float(), kind, dim, ranges, ts, alpha, temperature,
                         eval_mode).to(X.dtype)
    dim = dim % X.dim() if -X.dim() <= dim < X.dim() else _bad_dim(dim, X)
    if X.numel() == 0:
        return X.clone()
    if isinstance(temperature, torch.Tensor):
        temperature = float(temperature)  # no gradient for the temperature
    if kind != MULTIMAX:  # parameters of other normalizers get no gradient
        ranges = ts = None
    if kind != ENTMAX:
        alpha = 1.5
    return _Normalize.apply(X, ranges, ts, alpha, kind, float(temperature), bool(eval_mode),
                            dim)


def _bad_dim(dim, X):
    raise IndexError(f"multimax: dim {dim} out of range for a tensor of {X.dim()} dimensions")


def sparsemax(X, dim=-1, k=None):
    """SparseMax along dim (entmax.sparsemax). `k` is ignored: no sort is needed."""
    return normalize(X, SPARSEMAX, dim)


def entmax15(X, dim=-1, k=None):
    """Exact 1.5-EntMax along dim (entmax.entmax15). `k` is ignored: no sort is needed."""
    return normalize(X, ENTMAX15, dim)


def entmax_bisect(X, alpha=1.5, dim=-1, n_iter=50, ensure_sum_one=True):
    """alpha-EntMax along dim (entmax.entmax_bisect); alpha a float or a tensor (gradient
    available) broadcastable to X's shape with 1 at dim. `n_iter`, `ensure_sum_one` are
    ignored: the library solves to 2^-52 and renormalises."""
    return normalize(X, ENTMAX, dim, alpha=alpha)


def softmax(X, temperature=1.0, dim=-1):
    """softmax(X / temperature) along dim (no gradient for the temperature)."""
    return normalize(X, SOFTMAX, dim, temperature=temperature)


def multimax(X, ranges, ts, dim=-1):
    """MultiMax(X) = softmax(sigma(X)) along dim; ranges = [b1, d1, b2, d2, ...], ts =
    [tb1, td1, tb2, td2, ...] (2*order values each, the official layout), both may be
    learnable tensors."""
    return normalize(X, MULTIMAX, dim, ranges=ranges, ts=ts)


def evsoftmax(X, dim=-1, training=True):
    """EvSoftMax along dim: below-mean entries weighted 1e-6 (training) or 0 (eval)."""
    return normalize(X, EVSOFTMAX, dim, eval_mode=not training)


# ---------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------


class _Loss(Function):
    """Per-row Fenchel-Young loss (N,) of X (N, C) against int labels (N,)."""

    @staticmethod
    def forward(ctx, X, target, kind, alpha):
        Xc = X.detach().contiguous()
        lo, dz, _ = _core.loss_rows(_core.Norm(kind, alpha=alpha), _np(Xc),
                                    target.detach().cpu().numpy())
        ctx.save_for_backward(torch.from_numpy(dz))
        return torch.from_numpy(lo)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        dz, = ctx.saved_tensors
        return grad_output.unsqueeze(1).to(dz.dtype) * dz, None, None, None


def _loss(X, target, kind, alpha=1.5):
    _check_tensor(X, "X")
    if not isinstance(target, torch.Tensor) or target.dtype.is_floating_point or \
            target.dtype == torch.bool or target.dtype.is_complex:
        raise TypeError("multimax: target must be an integer tensor of class indices")
    if X.dim() != 2 or target.shape != X.shape[:1]:
        raise ValueError(f"multimax: the losses take X (N, C) and target (N,), got "
                         f"{tuple(X.shape)} and {tuple(target.shape)}")
    if target.numel() and int(target.max()) >= 2 ** 31:
        raise ValueError("multimax: target holds a label beyond int32")
    if isinstance(alpha, torch.Tensor):
        if alpha.numel() != 1:
            raise NotImplementedError("multimax: entmax_bisect_loss takes one alpha for all "
                                      "rows (a float or a one-element tensor)")
        alpha = float(alpha)
    if X.dtype in _HALF:
        return _loss(X.float(), target, kind, alpha).to(X.dtype)
    return _Loss.apply(X, target, kind, float(alpha))


def sparsemax_loss(X, target, k=None):
    """SparseMax loss per example (entmax.sparsemax_loss); `k` is ignored."""
    return _loss(X, target, SPARSEMAX)


def entmax15_loss(X, target, k=None):
    """1.5-EntMax loss per example (entmax.entmax15_loss); `k` is ignored."""
    return _loss(X, target, ENTMAX15)


def entmax_bisect_loss(X, target, alpha=1.5, n_iter=50):
    """alpha-EntMax loss per example (entmax.entmax_bisect_loss); no gradient for alpha (as
    in the entmax package); `n_iter` is ignored."""
    return _loss(X, target, ENTMAX, alpha)


# ---------------------------------------------------------------------------------------
# Fused attention
# ---------------------------------------------------------------------------------------


def _in_place(t):
    """t (B, H, T, D) float32 as the library reads it: (t, its (batch, head, token) strides)
    when its D entries are contiguous and no stride is below D (e.g. a transposed view of a
    (B, T, H, D) projection: no copy), else (a contiguous copy, None)."""
    t = t.detach()
    D, st = t.shape[3], t.stride()
    if (t.stride(3) == 1 or D == 1) and min(st[:3]) >= D and not t.is_contiguous():
        return t, tuple(st[:3])
    return t.contiguous(), None


def _buf(t, strides):
    """What the descriptor's pointer for t is: the tensor's address in its layout, or a view."""
    return _core.RawF32(t.data_ptr()) if strides is not None else _np(t)


class _Attention(Function):
    @staticmethod
    def forward(ctx, q, k, v, ranges, ts, alpha, kind, temperature, eval_mode, scale, causal,
                key_len):
        (qc, qs), (kc, ks), (vc, vs) = (_in_place(t) for t in (q, k, v))
        ctx.strides = (qs, ks, vs)
        ctx.norm_args = dict(temperature=temperature, eval=eval_mode,
                             alpha=float(alpha) if kind == ENTMAX else 1.5,
                             ranges=_params_np(ranges, "ranges") if kind == MULTIMAX else None,
                             ts=_params_np(ts, "ts") if kind == MULTIMAX else None)
        ctx.kind = kind
        ctx.at = _core.Attn(tuple(qc.shape), tuple(kc.shape), scale, causal, key_len,
                            strides=(qs, ks, vs, None))
        nd = _core.Norm(kind, **ctx.norm_args)
        out = torch.empty(qc.shape, dtype=torch.float32)
        stats = torch.empty(tuple(qc.shape[:3]) + (_core.ATTN_STATS,), dtype=torch.float32)
        _core.attn_forward(ctx.at, nd, _np(out), _np(stats), _buf(qc, qs), _buf(kc, ks),
                           _buf(vc, vs))
        ctx.save_for_backward(qc, kc, vc, out, stats)
        ctx.param_like = (ranges, ts, alpha)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, dout):
        qc, kc, vc, out, stats = ctx.saved_tensors
        doutc = dout.to(torch.float32).contiguous()
        qs, ks, vs = ctx.strides
        # the gradients come in their inputs' layouts (the library writes dq like q, ...)
        dq, dk, dv = (torch.empty_strided(t.shape, t.stride(), dtype=torch.float32)
                      if st is not None else torch.empty_like(t)
                      for t, st in ((qc, qs), (kc, ks), (vc, vs)))
        nd = _core.Norm(ctx.kind, **ctx.norm_args)
        g = _core.attn_backward(ctx.at, nd, _buf(dq, qs), _buf(dk, ks), _buf(dv, vs),
                                _np(doutc), _np(out), _np(stats), _buf(qc, qs), _buf(kc, ks),
                                _buf(vc, vs))
        ranges, ts, alpha = ctx.param_like
        need = ctx.needs_input_grad
        dranges = _grad_like(g["ranges"], ranges) if need[3] else None
        dts = _grad_like(g["ts"], ts) if need[4] else None
        dalpha = torch.full_like(alpha, g["alpha"][0]) if need[5] else None
        return (dq, dk, dv, dranges, dts, dalpha) + (None,) * 6


def multimax_attention(q, k, v, norm="multimax", ranges=None, ts=None, scale=None,
                       causal=False, key_len=None, temperature=1.0, alpha=1.5, training=True):
    """out = f(scale q k^T + mask) v by the library's fused attention (no Tq x Tk buffer).

    q (B, H, Tq, D), k and v (B, H, Tk, D), float32 CPU tensors (float16 / bfloat16 are
    computed in float32 and cast back; float64 raises TypeError: the fused kernels are float32
    only). norm: 'multimax' (ranges, ts: 2*order values, shared by every head, gradients
    summed over batch and heads), 'softmax' (temperature), 'sparsemax', 'entmax15', 'entmax'
    (alpha, float or one-element tensor, with gradient), 'evsoftmax' (training).
    scale: default 1/sqrt(D). causal: key j visible to query i iff j <= i + Tk - Tq.
    key_len: (B,) visible keys per batch item (padding), a tensor or a sequence of ints.
    A query with no visible key gets zeros. Strided views whose last dimension is contiguous
    (e.g. x.view(B, T, H, D).transpose(1, 2)) are read in place, without a copy, and their
    gradients come back in the same layout."""
    kind = _core.KIND_NAMES.get(norm) if isinstance(norm, str) else norm
    if kind is None:
        raise ValueError(f"multimax: unknown normalizer {norm!r}")
    for name, t in (("q", q), ("k", k), ("v", v)):
        if isinstance(t, torch.Tensor) and t.dtype == torch.float64:
            raise TypeError(f"multimax: {name} is float64, but the fused attention kernels are "
                            "float32 only; cast q, k, v with .float() (or compose "
                            "multimax.multimax / entmax_bisect ... with matmuls in float64)")
        _check_tensor(t, name, dtypes=(torch.float32,))
        if t.dim() != 4:
            raise ValueError(f"multimax: {name} must be (B, H, T, D), got {tuple(t.shape)}")
    if len({q.dtype, k.dtype, v.dtype}) != 1:
        raise TypeError(f"multimax: q, k, v must share a dtype, got {q.dtype}, {k.dtype}, "
                        f"{v.dtype}")
    if v.shape != k.shape or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"multimax: q {tuple(q.shape)}, k {tuple(k.shape)}, v "
                         f"{tuple(v.shape)} must be (B, H, Tq, D), (B, H, Tk, D), (B, H, Tk, D)")
    if kind == MULTIMAX and (ranges is None or ts is None):
        raise ValueError("multimax: norm='multimax' needs ranges and ts")
    if kind == ENTMAX and isinstance(alpha, torch.Tensor):
        _check_tensor(alpha, "alpha")
        if alpha.numel() != 1:
            raise NotImplementedError("multimax: the fused attention takes one alpha for every "
                                      "head and row (a float or a one-element tensor)")
    if q.dtype in _HALF:
        out = multimax_attention(q.float(), k.float(), v.float(), norm, ranges, ts, scale,
                                 causal, key_len, temperature, alpha, training)
        return out.to(q.dtype)
    if isinstance(key_len, torch.Tensor):
        key_len = key_len.detach().cpu().numpy()
    if kind != MULTIMAX:  # parameters of other normalizers get no gradient
        ranges = ts = None
    if kind != ENTMAX:
        alpha = 1.5
    return _Attention.apply(q, k, v, ranges, ts, alpha, kind, float(temperature),
                            not training, scale, bool(causal), key_len)
