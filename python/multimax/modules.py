"""nn.Module forms: the entmax package's modules (Sparsemax, Entmax15, EntmaxBisect and the
losses), and MultiMax / MultiMaxAttention holding learnable ranges and ts."""
import torch
from torch import nn

from . import functional as F

__all__ = ["Sparsemax", "Entmax15", "EntmaxBisect", "SparsemaxLoss", "Entmax15Loss",
           "EntmaxBisectLoss", "Softmax", "EvSoftmax", "MultiMax", "MultiMaxAttention"]


class Sparsemax(nn.Module):
    def __init__(self, dim=-1, k=None):
        super().__init__()
        self.dim, self.k = dim, k

    def forward(self, X):
        return F.sparsemax(X, dim=self.dim, k=self.k)


class Entmax15(nn.Module):
    def __init__(self, dim=-1, k=None):
        super().__init__()
        self.dim, self.k = dim, k

    def forward(self, X):
        return F.entmax15(X, dim=self.dim, k=self.k)


class EntmaxBisect(nn.Module):
    def __init__(self, alpha=1.5, dim=-1, n_iter=50):
        super().__init__()
        self.alpha, self.dim, self.n_iter = alpha, dim, n_iter

    def forward(self, X):
        return F.entmax_bisect(X, alpha=self.alpha, dim=self.dim, n_iter=self.n_iter)


class Softmax(nn.Module):
    def __init__(self, temperature=1.0, dim=-1):
        super().__init__()
        self.temperature, self.dim = temperature, dim

    def forward(self, X):
        return F.softmax(X, self.temperature, self.dim)


class EvSoftmax(nn.Module):
    """EvSoftMax; training mode (1e-6 weights) follows the module's self.training."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, X):
        return F.evsoftmax(X, self.dim, self.training)


class _GenericLoss(nn.Module):
    """reduction 'elementwise_mean' (mean over the non-ignored rows), 'sum' or 'none'; rows
    whose target is ignore_index get loss 0 (as in the entmax package)."""

    def __init__(self, ignore_index=-100, reduction="elementwise_mean"):
        if reduction not in ("elementwise_mean", "sum", "none"):
            raise ValueError(f"multimax: reduction {reduction!r}, expected 'elementwise_mean', "
                             "'sum' or 'none'")
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, X, target):
        ignored = target == self.ignore_index
        loss = self.loss(X, torch.where(ignored, torch.full_like(target, -1), target))
        if self.reduction == "sum":
            return loss.sum()
        if self.reduction == "elementwise_mean":
            return loss.sum() / float(target.size(0) - int(ignored.sum()))
        return loss


class SparsemaxLoss(_GenericLoss):
    def __init__(self, k=None, ignore_index=-100, reduction="elementwise_mean"):
        super().__init__(ignore_index, reduction)
        self.k = k

    def loss(self, X, target):
        return F.sparsemax_loss(X, target, self.k)


class Entmax15Loss(_GenericLoss):
    def __init__(self, k=100, ignore_index=-100, reduction="elementwise_mean"):
        super().__init__(ignore_index, reduction)
        self.k = k

    def loss(self, X, target):
        return F.entmax15_loss(X, target, self.k)


class EntmaxBisectLoss(_GenericLoss):
    def __init__(self, alpha=1.5, n_iter=50, ignore_index=-100, reduction="elementwise_mean"):
        super().__init__(ignore_index, reduction)
        self.alpha, self.n_iter = alpha, n_iter

    def loss(self, X, target):
        return F.entmax_bisect_loss(X, target, self.alpha, self.n_iter)


def _modulator(module, order, init, std, dtype):
    if not 1 <= order <= 16:
        raise ValueError(f"multimax: order {order}, expected 1..16")
    module.order = order
    module.ranges = nn.Parameter(torch.zeros(2 * order, dtype=dtype))
    module.ts = nn.Parameter(torch.zeros(2 * order, dtype=dtype))
    if init == "trunc_normal":  # the official code: trunc_normal_(std=.02), sigma ~ identity
        nn.init.trunc_normal_(module.ranges, std=std)
        nn.init.trunc_normal_(module.ts, std=std)
    elif init != "zeros":     # zeros: exactly SoftMax at step 0
        raise ValueError(f"multimax: init {init!r}, expected 'trunc_normal' or 'zeros'")


class MultiMax(nn.Module):
    """MultiMax(x) = softmax(sigma(x)) with learnable ranges = [b1, d1, b2, d2, ...] and
    ts = [tb1, td1, ...] (2*order each, float64 parameters by default: they are a handful of
    scalars and the library keeps them in double). Call as m(x) or m(x, dim=1)."""

    def __init__(self, order=2, dim=-1, init="trunc_normal", std=0.02, dtype=torch.float64):
        super().__init__()
        self.dim = dim
        _modulator(self, order, init, std, dtype)

    def forward(self, x, dim=None):
        return F.multimax(x, self.ranges, self.ts, self.dim if dim is None else dim)

    def extra_repr(self):
        return f"order={self.order}, dim={self.dim}"


class MultiMaxAttention(nn.Module):
    """Fused multi-head attention with a learnable MultiMax modulator shared by every head
    (the paper's placement): forward(q, k, v, key_len=None) with q (B, H, Tq, D), k, v
    (B, H, Tk, D) float32."""

    def __init__(self, order=2, causal=False, scale=None, init="trunc_normal", std=0.02,
                 dtype=torch.float64):
        super().__init__()
        self.causal, self.scale = causal, scale
        _modulator(self, order, init, std, dtype)

    def forward(self, q, k, v, key_len=None):
        return F.multimax_attention(q, k, v, "multimax", self.ranges, self.ts, self.scale,
                                    self.causal, key_len)

    def extra_repr(self):
        return f"order={self.order}, causal={self.causal}"
