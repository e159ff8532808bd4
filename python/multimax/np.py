"""NumPy entry points: the normalizers, their backward, the losses, the metrics and the fused
attention on NumPy arrays (no torch needed).

dtype policy (as in the torch functions): float64 runs the library's exact *_f64 reference,
float32 its SIMD *_f32 kernels; float16 is computed in float32 and the result cast back; any
other dtype raises TypeError. The fused attention is float32 only (float16 is promoted).
`axis` may be any axis: it is moved last (the library's rows) and back.
"""
import numpy as np

from . import _core

__all__ = ["normalize", "normalize_backward", "softmax", "multimax", "sparsemax", "entmax15",
           "entmax_bisect", "evsoftmax", "loss", "metrics", "attention", "attention_backward"]


def _work_dtype(a, what):
    if a.dtype in (np.float32, np.float64):
        return a.dtype
    if a.dtype == np.float16:
        return np.dtype(np.float32)
    raise TypeError(f"multimax: {what} has dtype {a.dtype}; expected float32 or float64 "
                    "(float16 is computed in float32)")


def _rows(a, axis, dtype):
    """(rows, cols) C-contiguous copy/view of `a` with `axis` moved last."""
    if a.ndim == 0:
        raise ValueError("multimax: a 0-dimensional array has no axis to normalise")
    a = np.ascontiguousarray(np.moveaxis(a, axis, -1), dtype=dtype)
    return a.reshape(-1, a.shape[-1])


def _unrows(r, shape, axis, dtype):
    moved = list(shape)
    moved.append(moved.pop(axis))
    return np.moveaxis(r.reshape(moved), -1, axis).astype(dtype, copy=False)


def _same_shape(ref_name, ref, **others):
    for name, a in others.items():
        if a is not None and a.shape != ref.shape:
            raise ValueError(f"multimax: {name} has shape {a.shape}, expected the shape of "
                             f"{ref_name} {ref.shape}")


def normalize(x, norm="softmax", axis=-1, **params):
    """y = f(x) along `axis`; norm is a name ('softmax', 'multimax', 'sparsemax', 'entmax15',
    'entmax', 'evsoftmax') with its scalars as keywords (temperature, alpha, ranges, ts,
    eval)."""
    x = np.asarray(x)
    dt = _work_dtype(x, "x")
    nd = _core.Norm(norm, **params)
    if x.size == 0:
        return np.empty_like(x)
    xr = _rows(x, axis, dt)
    yr = np.empty_like(xr)
    _core.forward_rows(nd, yr, xr)
    return _unrows(yr, x.shape, axis, x.dtype)


def normalize_backward(dy, y, x=None, norm="softmax", axis=-1, **params):
    """dx = J^T dy along `axis` and the normalizer's scalar gradients {'ranges', 'ts',
    'alpha'} (summed over every row). x (the forward input) is needed by MultiMax only."""
    dy, y = np.asarray(dy), np.asarray(y)
    dt = _work_dtype(dy, "dy")
    nd = _core.Norm(norm, **params)
    if x is None:
        if nd.kind == _core.MULTIMAX:
            raise ValueError("multimax: the MultiMax backward needs x, the forward input")
        x = y
    x = np.asarray(x)
    _same_shape("dy", dy, y=y, x=x)
    dyr, yr, xr = (_rows(np.asarray(a), axis, dt) for a in (dy, y, x))
    dxr = np.empty_like(dyr)
    g = _core.backward_rows(nd, dxr, dyr, yr, xr)
    return _unrows(dxr, dy.shape, axis, dy.dtype), g


def softmax(x, temperature=1.0, axis=-1):
    return normalize(x, "softmax", axis, temperature=temperature)


def multimax(x, ranges, ts, axis=-1):
    return normalize(x, "multimax", axis, ranges=ranges, ts=ts)


def sparsemax(x, axis=-1):
    return normalize(x, "sparsemax", axis)


def entmax15(x, axis=-1):
    return normalize(x, "entmax15", axis)


def entmax_bisect(x, alpha=1.5, axis=-1):
    return normalize(x, "entmax", axis, alpha=alpha)


def evsoftmax(x, axis=-1, training=True):
    return normalize(x, "evsoftmax", axis, eval=not training)


def loss(z, labels, norm="sparsemax", label_smoothing=0.0, **params):
    """Per-row loss of logits z (N, C) against int labels (N,) (a negative label is ignored:
    loss 0) and its gradient dz = d loss_r / d z_r: cross-entropy for softmax / multimax,
    Fenchel-Young for sparsemax / entmax15 / entmax. Returns (loss, dz, param_grads)."""
    z = np.asarray(z)
    dt = _work_dtype(z, "z")
    if z.ndim != 2:
        raise ValueError(f"multimax: loss logits must be (N, C), got shape {z.shape}")
    labels = np.asarray(labels)
    if labels.shape != z.shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(f"multimax: labels must be integers of shape {z.shape[:1]}, got "
                         f"{labels.dtype} {labels.shape}")
    nd = _core.Norm(norm, **params)
    zr = np.ascontiguousarray(z, dtype=dt)
    lo, dz, g = _core.loss_rows(nd, zr, labels, label_smoothing)
    return lo.astype(z.dtype, copy=False), dz.astype(z.dtype, copy=False), g


def metrics(phi, x, eps=0.0, axis=-1):
    """The paper's per-row multi-modality M and sparsity S (-1 where undefined), float64
    arrays of the shape of x without `axis`."""
    x, phi = np.asarray(x), np.asarray(phi)
    dt = _work_dtype(x, "x")
    _same_shape("x", x, phi=phi)
    xr, pr = _rows(x, axis, dt), _rows(phi, axis, dt)
    m, s = _core.metrics_rows(pr, xr, eps)
    shape = np.delete(np.array(x.shape, dtype=np.int64), axis % max(x.ndim, 1)).tolist()
    return m.reshape(shape), s.reshape(shape)


def _attn_inputs(q, k, v):
    arrs = []
    for name, a in (("q", q), ("k", k), ("v", v)):
        a = np.asarray(a)
        if a.dtype not in (np.float32, np.float16):
            raise TypeError(f"multimax: the fused attention is float32 only; {name} has dtype "
                            f"{a.dtype} (cast it with .astype(np.float32))")
        if a.ndim != 4:
            raise ValueError(f"multimax: {name} must be (B, H, T, D), got shape {a.shape}")
        arrs.append(np.ascontiguousarray(a, dtype=np.float32))
    return arrs


def attention(q, k, v, norm="softmax", scale=None, causal=False, key_len=None, **params):
    """out = f(scale q k^T + mask) v, q (B, H, Tq, D), k, v (B, H, Tk, D) float32.
    Returns (out, stats); stats feed attention_backward."""
    q, k, v = _attn_inputs(q, k, v)
    nd = _core.Norm(norm, **params)
    if v.shape != k.shape or q.shape[:2] + q.shape[3:] != k.shape[:2] + k.shape[3:]:
        raise ValueError(f"multimax: q {q.shape}, k {k.shape}, v {v.shape} must be "
                         "(B, H, Tq, D), (B, H, Tk, D), (B, H, Tk, D)")
    at = _core.Attn(q.shape, k.shape, scale, causal, key_len)
    out = np.empty_like(q)
    stats = np.empty(q.shape[:3] + (_core.ATTN_STATS,), dtype=np.float32)
    _core.attn_forward(at, nd, out, stats, q, k, v)
    return out, stats


def attention_backward(dout, out, stats, q, k, v, norm="softmax", scale=None, causal=False,
                       key_len=None, **params):
    """(dq, dk, dv, param_grads) for the attention() call that gave out and stats."""
    q, k, v = _attn_inputs(q, k, v)
    dout, out = (np.ascontiguousarray(a, dtype=np.float32) for a in (dout, out))
    stats = np.ascontiguousarray(stats, dtype=np.float32)
    _same_shape("q", q, dout=dout, out=out)
    _same_shape("k", k, v=v)
    if stats.shape != q.shape[:3] + (_core.ATTN_STATS,):
        raise ValueError(f"multimax: stats has shape {stats.shape}, expected "
                         f"{q.shape[:3] + (_core.ATTN_STATS,)}")
    nd = _core.Norm(norm, **params)
    at = _core.Attn(q.shape, k.shape, scale, causal, key_len)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    g = _core.attn_backward(at, nd, dq, dk, dv, dout, out, stats, q, k, v)
    return dq, dk, dv, g
