"""multimax: MultiMax and its peers (SoftMax with temperature, SparseMax, 1.5-EntMax,
alpha-EntMax, EvSoftMax) for PyTorch and NumPy, backed by the C library libmultimax.

A drop-in for the entmax package (change `from entmax import ...` to `from multimax import
...`), plus multimax(), MultiMax and the fused attention multimax_attention(). NumPy entry
points live in multimax.np. Errors from the library raise MultiMaxError with its message.
"""
from ._lib import MultiMaxError, lib as _lib, library_path

__version__ = _lib.mmx_version().decode()


def isa():
    """The float32 kernels in use: 'avx512', 'avx2' or 'portable'."""
    return _lib.mmx_isa().decode()


def build_info():
    return _lib.mmx_build_info().decode()


def get_num_threads():
    return int(_lib.mmx_get_num_threads())


def set_num_threads(n):
    from ._lib import check
    check(_lib.mmx_set_num_threads(int(n)))


try:
    import torch as _torch  # noqa: F401
except ImportError:  # NumPy-only use: multimax.np still works
    pass
else:
    from .functional import (entmax15, entmax15_loss, entmax_bisect, entmax_bisect_loss,
                             evsoftmax, multimax, multimax_attention, normalize, softmax,
                             sparsemax, sparsemax_loss)
    from .modules import (Entmax15, Entmax15Loss, EntmaxBisect, EntmaxBisectLoss, EvSoftmax,
                          MultiMax, MultiMaxAttention, Softmax, Sparsemax, SparsemaxLoss)

from . import np  # noqa: E402
