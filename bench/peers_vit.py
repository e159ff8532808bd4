"""Training speed of the same ViT in PyTorch 1.13 (the peer of `multimax bench train`).

Builds tests/peers/vit_torch.py's model (identical architecture and parameter count to
ours), trains it with AdamW on random images for --steps timed steps after --warmup steps, and
prints one JSON line per normalizer: {"peer": "torch", "norm", "ms" (median ms per step),
"images_per_s", "params", "threads", ...}. The MultiMax modulator is compiled with
TorchScript, as in the official code's fused variant.

--serve: builds every model, runs the warm-up steps, prints {"ready": ...}, then for each line
NORM on standard input runs one step of that model and prints {"peer": "torch", "norm", "ms"}
(one step), until end of input. `multimax bench train --peers` uses this to interleave torch's
steps with its own, so both see the same machine load.
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
    ap.add_argument("--serve", action="store_true", help="one step per input line (see above)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    vit_torch.modulate = torch.jit.script(vit_torch.modulate)
    img = torch.randn(a.batch, 28, 28)
    labels = torch.randint(0, 10, (a.batch,))
    models = {}
    for norm in a.norms.split(","):
        model = vit_torch.ViT(28, a.patch, a.dim, a.depth, a.heads, a.mlp_ratio, 10, norm, norm)
        for p in model.parameters():
            torch.nn.init.trunc_normal_(p, std=0.02)
        groups, _ = vit_torch.param_groups(model, 1e-3, 0.05, 1.0)
        models[norm] = (model, torch.optim.AdamW([g for g in groups if g["params"]]))

    def step(norm):
        model, opt = models[norm]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model.loss(model(img), labels, 0.1)
        loss.backward()
        opt.step()
        return 1e3 * (time.perf_counter() - t0)

    def line(norm, ms):
        model = models[norm][0]
        return json.dumps({"peer": "torch", "norm": norm, "ms": ms,
                           "images_per_s": a.batch / ms * 1e3, "threads": a.threads,
                           "batch": a.batch, "dim": a.dim, "depth": a.depth, "heads": a.heads,
                           "patch": a.patch, "params": sum(p.numel() for p in model.parameters())})

    if a.serve:
        for norm in models:
            for _ in range(a.warmup):
                step(norm)
        print(json.dumps({"ready": list(models)}), flush=True)
        for req in sys.stdin:
            norm = req.strip()
            if norm not in models:
                print(f"peers_vit.py: unknown request {norm!r}", file=sys.stderr)
                return 2
            print(line(norm, step(norm)), flush=True)
        return 0
    for norm in models:
        times = [step(norm) for _ in range(a.warmup + a.steps)][a.warmup:]
        print(line(norm, statistics.median(times)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
