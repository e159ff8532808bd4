"""The multimax ViT (src/nn/vit.h) written in PyTorch 1.13, for the engine comparison
(test_vit_peer.py) and the training-speed benchmark (bench/peers_vit.py).

Pre-norm blocks, LayerNorm eps 1e-6, exact GELU, global average pooling, then LayerNorm and
a linear head. MultiMax is the official formula (Zhou et al. 2024, vision_transformer.py):
sigma(x) = x + ts0 relu(r0 - x) + ts1 relu(x - r1) + ts2 relu(r2 - x)^2 + ts3 relu(x - r3)^2,
applied to the scaled scores before the softmax, one parameter set per layer shared by the
heads, and one on the classifier logits before the cross-entropy. Parameter names match our
safetensors checkpoints, so load_state_dict takes them directly.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def modulate(x, r, t):
    """The official MultiMax modulator (order 2)."""
    return (x + t[0] * F.relu(r[0] - x) + t[1] * F.relu(x - r[1])
            + t[2] * F.relu(r[2] - x) ** 2 + t[3] * F.relu(x - r[3]) ** 2)


def normalize(s, norm, r=None, t=None, alpha=1.5):
    """Row normalizer of the scores s (last dimension)."""
    if norm == "softmax":
        return torch.softmax(s, dim=-1)
    if norm == "multimax":
        return torch.softmax(modulate(s, r, t), dim=-1)
    import entmax
    if norm == "sparsemax":
        return entmax.sparsemax(s, dim=-1)
    if norm == "entmax15":
        return entmax.entmax15(s, dim=-1)
    if norm == "entmax":
        return entmax.entmax_bisect(s, alpha, dim=-1)
    raise ValueError(norm)


class Attention(nn.Module):
    def __init__(self, dim, heads, norm, alpha):
        super().__init__()
        self.heads, self.norm, self.alpha = heads, norm, alpha
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        if norm == "multimax":
            self.mm_ranges = nn.Parameter(torch.zeros(4))
            self.mm_ts = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        B, T, C = x.shape
        H = self.heads
        D = C // H
        q, k, v = self.qkv(x).reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(D)
        r = getattr(self, "mm_ranges", None)
        t = getattr(self, "mm_ts", None)
        p = normalize(s, self.norm, r, t, self.alpha)
        return self.proj((p @ v).transpose(1, 2).reshape(B, T, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, norm, alpha):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, norm, alpha)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_ratio * dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Head(nn.Module):
    def __init__(self, dim, classes, head_norm):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(classes, dim))
        self.bias = nn.Parameter(torch.zeros(classes))
        if head_norm == "multimax":
            self.mm_ranges = nn.Parameter(torch.zeros(4))
            self.mm_ts = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class ViT(nn.Module):
    def __init__(self, image=28, patch=4, dim=128, depth=6, heads=4, mlp_ratio=2, classes=10,
                 norm="softmax", head_norm="softmax", alpha=1.5):
        super().__init__()
        self.patch_size, self.grid = patch, image // patch
        self.head_norm, self.alpha = head_norm, alpha
        self.patch = nn.Linear(patch * patch, dim)
        self.pos = nn.Parameter(torch.zeros(self.grid * self.grid, dim))
        self.blocks = nn.ModuleList(
            [Block(dim, heads, mlp_ratio, norm, alpha) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = Head(dim, classes, head_norm)

    def forward(self, img):
        B, G, P = img.shape[0], self.grid, self.patch_size
        x = img.reshape(B, G, P, G, P).permute(0, 1, 3, 2, 4).reshape(B, G * G, P * P)
        x = self.patch(x) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x.mean(dim=1)))

    def loss(self, logits, labels, ls):
        """Mean loss: cross-entropy (on sigma(logits) for MultiMax) or the entmax losses."""
        if self.head_norm == "softmax":
            return F.cross_entropy(logits, labels, label_smoothing=ls)
        if self.head_norm == "multimax":
            z = modulate(logits, self.head.mm_ranges, self.head.mm_ts)
            return F.cross_entropy(z, labels, label_smoothing=ls)
        raise ValueError("this comparison covers softmax and multimax heads")


def param_groups(model, lr, wd, mod_lr_scale):
    """AdamW groups as in src/train/optim.h: decay on weight matrices only; modulators apart."""
    decay, no_decay, mod = [], [], []
    for name, p in model.named_parameters():
        if "mm_" in name:
            mod.append(p)
        elif p.dim() == 2 and name != "pos":
            decay.append(p)
        else:
            no_decay.append(p)
    return [{"params": decay, "weight_decay": wd, "lr": lr},
            {"params": no_decay, "weight_decay": 0.0, "lr": lr},
            {"params": mod, "weight_decay": 0.0, "lr": lr * mod_lr_scale}], mod
