"""ctypes loading of libmultimax.so and the structs of include/multimax.h, mirrored exactly.

The library is looked for, in order:
  1. the environment variable MULTIMAX_LIB (a path to libmultimax.so);
  2. the copy bundled in the installed package (multimax/libmultimax.so, put there by
     `pip install ./python`);
  3. <repo>/build/libmultimax.so, when this package is used from the source tree.
Every call goes through check(): a non-zero mmx_status raises MultiMaxError carrying the
library's own message (mmx_last_error()).
"""
import ctypes
import os
from pathlib import Path

__all__ = ["MultiMaxError", "lib", "library_path", "check", "MmxNorm", "MmxParamGrads",
           "MmxAttn", "SOFTMAX", "MULTIMAX", "SPARSEMAX", "ENTMAX15", "ENTMAX", "EVSOFTMAX",
           "KIND_NAMES", "ATTN_STATS", "MAX_ORDER"]

# mmx_norm_kind (append-only enum in the header)
SOFTMAX, MULTIMAX, SPARSEMAX, ENTMAX15, ENTMAX, EVSOFTMAX = range(6)
KIND_NAMES = {"softmax": SOFTMAX, "multimax": MULTIMAX, "sparsemax": SPARSEMAX,
              "entmax15": ENTMAX15, "entmax": ENTMAX, "evsoftmax": EVSOFTMAX}
ATTN_STATS = 4   # MMX_ATTN_STATS
MAX_ORDER = 16   # MMX_MULTIMAX_MAX_ORDER

c_double_p = ctypes.POINTER(ctypes.c_double)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_int64 = ctypes.c_int64


class MultiMaxError(RuntimeError):
    """A failing library call: `message` is mmx_last_error(), `status` the mmx_status name."""

    def __init__(self, message, status="MMX_ERR"):
        super().__init__(message)
        self.message = message
        self.status = status


class MmxNorm(ctypes.Structure):  # mmx_norm
    _fields_ = [
        ("kind", ctypes.c_int),          # mmx_norm_kind
        ("temperature", ctypes.c_double),
        ("alpha", ctypes.c_double),
        ("order", ctypes.c_int),
        ("ranges", c_double_p),
        ("ts", c_double_p),
        ("eval", ctypes.c_int),
    ]


class MmxParamGrads(ctypes.Structure):  # mmx_param_grads
    _fields_ = [("dranges", c_double_p), ("dts", c_double_p), ("dalpha", c_double_p)]


class MmxAttn(ctypes.Structure):  # mmx_attn
    _fields_ = [
        ("batch", c_int64), ("heads", c_int64), ("tq", c_int64), ("tk", c_int64),
        ("dim", c_int64),
        ("scale", ctypes.c_double),
        ("causal", ctypes.c_int),
        ("key_len", c_int32_p),
        # layouts: strides of (batch, head, token); all zero = contiguous
        ("q_stride", c_int64 * 3), ("k_stride", c_int64 * 3),
        ("v_stride", c_int64 * 3), ("o_stride", c_int64 * 3),
    ]


_P = ctypes.POINTER
_SIGNATURES = {
    # name: (restype, argtypes)
    "mmx_version": (ctypes.c_char_p, []),
    "mmx_status_str": (ctypes.c_char_p, [ctypes.c_int]),
    "mmx_last_error": (ctypes.c_char_p, []),
    "mmx_isa": (ctypes.c_char_p, []),
    "mmx_build_info": (ctypes.c_char_p, []),
    "mmx_cpu_features": (ctypes.c_char_p, []),
    "mmx_get_num_threads": (ctypes.c_int, []),
    "mmx_set_num_threads": (ctypes.c_int, [ctypes.c_int]),
    "mmx_norm_check": (ctypes.c_int, [_P(MmxNorm)]),
    "mmx_forward_f32": (ctypes.c_int, [_P(MmxNorm), c_float_p, c_int64, c_float_p, c_int64,
                                       c_int64, c_int64]),
    "mmx_forward_f64": (ctypes.c_int, [_P(MmxNorm), c_double_p, c_int64, c_double_p, c_int64,
                                       c_int64, c_int64]),
    "mmx_backward_f32": (ctypes.c_int, [_P(MmxNorm), c_float_p, c_int64, _P(MmxParamGrads),
                                        c_float_p, c_int64, c_float_p, c_int64, c_float_p,
                                        c_int64, c_int64, c_int64]),
    "mmx_backward_f64": (ctypes.c_int, [_P(MmxNorm), c_double_p, c_int64, _P(MmxParamGrads),
                                        c_double_p, c_int64, c_double_p, c_int64, c_double_p,
                                        c_int64, c_int64, c_int64]),
    "mmx_multimax_sigma": (ctypes.c_double, [_P(MmxNorm), ctypes.c_double]),
    "mmx_loss_f32": (ctypes.c_int, [_P(MmxNorm), c_float_p, c_float_p, c_int64,
                                    _P(MmxParamGrads), c_float_p, c_int64, c_int32_p, c_int64,
                                    c_int64, ctypes.c_double, ctypes.c_double]),
    "mmx_loss_f64": (ctypes.c_int, [_P(MmxNorm), c_double_p, c_double_p, c_int64,
                                    _P(MmxParamGrads), c_double_p, c_int64, c_int32_p, c_int64,
                                    c_int64, ctypes.c_double, ctypes.c_double]),
    "mmx_metrics_f32": (ctypes.c_int, [c_double_p, c_double_p, c_double_p, c_double_p,
                                       c_float_p, c_int64, c_float_p, c_int64, c_int64, c_int64,
                                       ctypes.c_double]),
    "mmx_metrics_f64": (ctypes.c_int, [c_double_p, c_double_p, c_double_p, c_double_p,
                                       c_double_p, c_int64, c_double_p, c_int64, c_int64,
                                       c_int64, ctypes.c_double]),
    "mmx_attn_make": (MmxAttn, [c_int64] * 5),
    "mmx_attn_check": (ctypes.c_int, [_P(MmxAttn)]),
    "mmx_attn_workspace_size": (ctypes.c_int, [_P(MmxAttn), _P(MmxNorm), ctypes.c_int,
                                               _P(ctypes.c_size_t)]),
    "mmx_attn_forward": (ctypes.c_int, [_P(MmxAttn), _P(MmxNorm), c_float_p, c_float_p,
                                        c_float_p, c_float_p, c_float_p, ctypes.c_void_p,
                                        ctypes.c_size_t]),
    "mmx_attn_backward": (ctypes.c_int, [_P(MmxAttn), _P(MmxNorm), c_float_p, c_float_p,
                                         c_float_p, _P(MmxParamGrads), c_float_p, c_float_p,
                                         c_float_p, c_float_p, c_float_p, c_float_p,
                                         ctypes.c_void_p, ctypes.c_size_t]),
    "mmx_attn_probs": (ctypes.c_int, [_P(MmxAttn), _P(MmxNorm), c_int64, c_float_p, c_float_p,
                                      c_float_p, c_float_p]),
}

_PACKAGE_DIR = Path(__file__).resolve().parent
_LIB_NAME = "libmultimax.so"


def _candidates():
    env = os.environ.get("MULTIMAX_LIB")
    if env:
        return [("MULTIMAX_LIB", Path(env))]
    return [("bundled", _PACKAGE_DIR / _LIB_NAME),
            ("source tree", _PACKAGE_DIR.parent.parent / "build" / _LIB_NAME)]


def _load():
    tried = []
    for origin, path in _candidates():
        if path.is_file():
            try:
                handle = ctypes.CDLL(str(path))
            except OSError as exc:
                hint = ""
                if "ASan runtime" in str(exc) or "libasan" in str(exc):
                    hint = (" (an AddressSanitizer build: preload its runtime, "
                            "LD_PRELOAD=$(gcc -print-file-name=libasan.so))")
                raise ImportError(f"multimax: cannot load {path} ({origin}): {exc}{hint}") from exc
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(handle, name)
                fn.restype = res
                fn.argtypes = args
            return handle, str(path)
        tried.append(f"{path} ({origin})")
    raise ImportError("multimax: libmultimax.so not found; tried " + ", ".join(tried) +
                      ". Install the package with `pip install ./python` from the repository, "
                      "build the library (`make build`), or set MULTIMAX_LIB to its path.")


lib, library_path = _load()


def check(status):
    """Raise MultiMaxError with the library's message for a non-zero mmx_status."""
    if status != 0:
        msg = lib.mmx_last_error().decode("utf-8", "replace")
        name = lib.mmx_status_str(status).decode()
        raise MultiMaxError(msg or name, name)
