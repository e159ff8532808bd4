"""Thin calls into the library on NumPy buffers (no maths here): a normalizer descriptor with
the arrays it points to, row-batch forward / backward / loss, and the fused attention.
Both the NumPy entry points (multimax.np) and the autograd Functions (multimax.functional) use
these; torch tensors reach them as zero-copy NumPy views."""
import ctypes

import numpy as np

from ._lib import (ATTN_STATS, ENTMAX, EVSOFTMAX, KIND_NAMES, MAX_ORDER, MULTIMAX, SOFTMAX,
                   MmxNorm, MmxParamGrads, check, lib)

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_c_float_p = ctypes.POINTER(ctypes.c_float)
_c_double_p = ctypes.POINTER(ctypes.c_double)


class RawF32:
    """A float32 buffer known by its address (a strided tensor read or written in place)."""

    def __init__(self, addr):
        self.addr = addr


def _ptr(a):
    """Pointer to a C-contiguous float32 / float64 / int32 array, or a RawF32 (None stays
    NULL)."""
    if a is None:
        return None
    if isinstance(a, RawF32):
        return ctypes.cast(a.addr, _c_float_p)
    assert a.flags.c_contiguous, "internal: non-contiguous buffer"
    if a.dtype == _F32:
        return a.ctypes.data_as(_c_float_p)
    if a.dtype == _F64:
        return a.ctypes.data_as(_c_double_p)
    if a.dtype == np.int32:
        return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    raise AssertionError(f"internal: dtype {a.dtype}")


def _params(values, what):
    a = np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))
    if a.size % 2 or not 2 <= a.size <= 2 * MAX_ORDER:
        raise ValueError(f"multimax: {what} must hold 2*order values (order 1..{MAX_ORDER}), "
                         f"got {a.size}")
    return a


class Norm:
    """An mmx_norm and the double arrays its ranges / ts point to (kept alive here)."""

    def __init__(self, kind, temperature=1.0, alpha=1.5, ranges=None, ts=None, eval=False):
        if isinstance(kind, str):
            if kind not in KIND_NAMES:
                raise ValueError(f"multimax: unknown normalizer {kind!r}; expected one of "
                                 f"{sorted(KIND_NAMES)}")
            kind = KIND_NAMES[kind]
        self.kind = kind
        self.ranges = self.ts = None
        order = 0
        if kind == MULTIMAX:
            if ranges is None or ts is None:
                raise ValueError("multimax: the multimax normalizer needs ranges and ts")
            self.ranges, self.ts = _params(ranges, "ranges"), _params(ts, "ts")
            if self.ranges.size != self.ts.size:
                raise ValueError(f"multimax: ranges ({self.ranges.size} values) and ts "
                                 f"({self.ts.size}) must have the same length")
            order = self.ranges.size // 2
        self.order = order
        self.struct = MmxNorm(kind=kind, temperature=float(temperature), alpha=float(alpha),
                              order=order, ranges=_ptr(self.ranges), ts=_ptr(self.ts),
                              eval=int(bool(eval)))
        check(lib.mmx_norm_check(ctypes.byref(self.struct)))

    def grads(self, want_alpha=True):
        """Zeroed gradient arrays and the mmx_param_grads pointing at them (the library adds
        into them). want_alpha=False leaves dalpha NULL: the alpha-EntMax backward then skips
        its double-precision sums (g["alpha"] stays 0)."""
        n = max(self.order, 1) * 2
        g = {"ranges": np.zeros(n), "ts": np.zeros(n), "alpha": np.zeros(1)}
        pg = MmxParamGrads(_ptr(g["ranges"]), _ptr(g["ts"]),
                           _ptr(g["alpha"]) if want_alpha else None)
        return g, pg


def _fn(name, dtype):
    return getattr(lib, f"{name}_{'f32' if dtype == _F32 else 'f64'}")


def forward_rows(norm, y, x):
    """y = f(x) row-wise; x, y: (rows, cols) C-contiguous, same dtype."""
    rows, cols = x.shape
    check(_fn("mmx_forward", x.dtype)(ctypes.byref(norm.struct), _ptr(y), cols, _ptr(x), cols,
                                      rows, cols))


def backward_rows(norm, dx, dy, y, x, want_alpha=True):
    """dx = J^T dy row-wise (x read by MultiMax only); returns the parameter gradients
    (the alpha one only if want_alpha)."""
    rows, cols = dy.shape
    g, pg = norm.grads(want_alpha)
    check(_fn("mmx_backward", dy.dtype)(ctypes.byref(norm.struct), _ptr(dx), cols,
                                        ctypes.byref(pg), _ptr(dy), cols, _ptr(y), cols,
                                        _ptr(x), cols, rows, cols))
    return g


def loss_rows(norm, z, labels, label_smoothing=0.0, grad_scale=1.0, want_grad=True):
    """Per-row loss (rows,) and its gradient (rows, cols) (None unless want_grad), and the
    parameter gradients of grad_scale * sum(loss)."""
    rows, cols = z.shape
    lab = np.ascontiguousarray(labels, dtype=np.int32).reshape(-1)
    loss = np.empty(rows, dtype=z.dtype)
    dz = np.empty_like(z) if want_grad else None
    g, pg = norm.grads()
    check(_fn("mmx_loss", z.dtype)(ctypes.byref(norm.struct), _ptr(loss), _ptr(dz), cols,
                                   ctypes.byref(pg), _ptr(z), cols, _ptr(lab), rows, cols,
                                   float(label_smoothing), float(grad_scale)))
    return loss, dz, g


def metrics_rows(phi, x, eps=0.0):
    """Per-row multi-modality M and sparsity S (-1 where undefined)."""
    rows, cols = x.shape
    m, s = np.empty(rows), np.empty(rows)
    check(_fn("mmx_metrics", x.dtype)(_ptr(m), _ptr(s), None, None, _ptr(phi), cols, _ptr(x),
                                      cols, rows, cols, float(eps)))
    return m, s


class Attn:
    """An mmx_attn descriptor for (B, H, Tq, D) x (B, H, Tk, D) and its key_len array."""

    def __init__(self, q_shape, k_shape, scale=None, causal=False, key_len=None, strides=None):
        """strides: None (contiguous), or the (batch, head, token) element strides of q, k, v
        and out, each a 3-tuple or None for contiguous (dq, dk, dv, dout share them)."""
        B, H, Tq, D = q_shape
        Tk = k_shape[2]
        self.struct = lib.mmx_attn_make(B, H, Tq, Tk, D)
        for name, st in zip(("q_stride", "k_stride", "v_stride", "o_stride"), strides or ()):
            if st is not None:
                getattr(self.struct, name)[:] = [int(x) for x in st]
        if scale is not None:
            self.struct.scale = float(scale)
        self.struct.causal = int(bool(causal))
        self.key_len = None
        if key_len is not None:
            kl = np.asarray(key_len).reshape(-1)
            if kl.size != B:
                raise ValueError(f"multimax: key_len must hold one length per batch item "
                                 f"({B}), got {kl.size}")
            self.key_len = np.ascontiguousarray(kl, dtype=np.int32)
            self.struct.key_len = _ptr(self.key_len)
        check(lib.mmx_attn_check(ctypes.byref(self.struct)))

    def workspace(self, norm, backward):
        n = ctypes.c_size_t(0)
        check(lib.mmx_attn_workspace_size(ctypes.byref(self.struct), ctypes.byref(norm.struct),
                                          int(backward), ctypes.byref(n)))
        return np.empty(max(n.value, 1), dtype=np.uint8)


def attn_forward(at, norm, out, stats, q, k, v):
    """out (B, H, Tq, D), stats (B, H, Tq, ATTN_STATS) float32, written from q, k, v (arrays,
    or raw float pointers for tensors in the descriptor's layouts)."""
    work = at.workspace(norm, False)
    check(lib.mmx_attn_forward(ctypes.byref(at.struct), ctypes.byref(norm.struct), _ptr(out),
                               _ptr(stats), _ptr(q), _ptr(k), _ptr(v),
                               work.ctypes.data_as(ctypes.c_void_p), work.size))


def attn_backward(at, norm, dq, dk, dv, dout, out, stats, q, k, v):
    """dq, dk, dv overwritten; returns the parameter gradients (summed over b, h, rows)."""
    work = at.workspace(norm, True)
    g, pg = norm.grads()
    check(lib.mmx_attn_backward(ctypes.byref(at.struct), ctypes.byref(norm.struct), _ptr(dq),
                                _ptr(dk), _ptr(dv), ctypes.byref(pg), _ptr(dout), _ptr(out),
                                _ptr(stats), _ptr(q), _ptr(k), _ptr(v),
                                work.ctypes.data_as(ctypes.c_void_p), work.size))
    return g


__all__ = ["Norm", "Attn", "RawF32", "forward_rows", "backward_rows", "loss_rows", "metrics_rows",
           "attn_forward", "attn_backward", "ATTN_STATS", "SOFTMAX", "MULTIMAX", "ENTMAX",
           "EVSOFTMAX"]
