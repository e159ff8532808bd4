"""Training speed of the same ViT in PyTorch 1.13 (the peer of `multimax bench train`).

Builds tests/peers/vit_torch.py's model (identical architecture and parameter count to
ours), trains it with AdamW on random images for --steps timed steps after --warmup steps, and
prints one JSON line per normalizer: {"peer": "torch", "norm", "ms" (median ms per step),
"images_per_s", "params", "threads", ...}. The MultiMax modulator is compiled with
TorchScript, as in the official code's fused variant.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peers"))
import vit_torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--norms", default="softmax,multimax")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--mlp-ratio", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    vit_torch.modulate = torch.jit.script(vit_torch.modulate)
    img = torch.randn(a.batch, 28, 28)
    labels = torch.randint(0, 10, (a.batch,))
    for norm in a.norms.split(","):
        model = vit_torch.ViT(28, a.patch, a.dim, a.depth, a.heads, a.mlp_ratio, 10, norm, norm)
        for p in model.parameters():
            torch.nn.init.trunc_normal_(p, std=0.02)
        groups, _ = vit_torch.param_groups(model, 1e-3, 0.05, 1.0)
        opt = torch.optim.AdamW([g for g in groups if g["params"]])
        times = []
        for i in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=False)
            loss = model.loss(model(img), labels, 0.1)
            loss.backward()
            opt.step()
            if i >= a.warmup:
                times.append(time.perf_counter() - t0)
        ms = 1e3 * statistics.median(times)
        print(json.dumps({"peer": "torch", "norm": norm, "ms": ms,
                          "images_per_s": a.batch / ms * 1e3, "threads": a.threads,
                          "batch": a.batch, "dim": a.dim, "depth": a.depth, "heads": a.heads,
                          "patch": a.patch,
                          "params": sum(p.numel() for p in model.parameters())}), flush=True)


if __name__ == "__main__":
    main()
