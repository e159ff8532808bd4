#!/usr/bin/python3
"""peers_norms.py - the PyTorch / entmax peers of `multimax bench norms`.

Times, on the same shapes and thread counts as the C benchmark, and prints one JSON line
per measurement on stdout (progress and notes go to stderr):

    {"op", "dir", "rows", "cols", "threads", "peer", "peer_ms", "reps", "torch"}

    op         peer                    fwd                              fwdbwd (autograd)
    softmax    torch.softmax           torch.softmax(x, -1, out=y)      d/dx
    multimax   torch.multimax(jit...)  softmax(sigma(x)), out=y         d/dx, d/dranges, d/dts
    sparsemax  entmax.sparsemax        entmax.sparsemax(x, -1)          d/dx
    entmax15   entmax.entmax15         entmax.entmax15(x, -1)           d/dx
    entmax     entmax.entmax_bisect    entmax_bisect(x, alpha, -1)      d/dx, d/dalpha
    evsoftmax  (no peer: skipped)

"fwdbwd" is one forward plus torch.autograd.grad(y, inputs, dy): the peers have no
separate backward entry point, so the C benchmark compares them with its fwd + bwd total.

Notes on PyTorch 1.13 (Debian, seen by /usr/bin/python3 only):
- torch.softmax(x, -1, out=y) works (the softmax.int_out overload); torch.special.softmax
  has no out=. Autograd cannot write into preallocated tensors, so fwdbwd allocates.
- sigma is compiled with torch.jit.script as the official MultiMax code would be, but this
  build has no LLVM (torch._C._llvm_enabled() is False), so TorchScript cannot fuse on the
  CPU: the modulator runs as ~16 separate elementwise ops. The peer is named
  "torch.multimax(jit)" then, "torch.multimax(jit,fused)" where CPU fusion is available.
- Page faults are slow on these machines (see MACHINE.md) and every autograd call
  allocates. The script therefore re-executes itself once with
  GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4G:trim_threshold=4G, so that freed tensors
  stay in the heap and are reused instead of being faulted in again on every call
  (--no-malloc-tunables turns this off).

Each measurement: warm-up calls (3 for TorchScript, which profiles first, else 1), one
timed probe call, then the median of --reps calls; when reps * probe would exceed --budget
seconds, reps drops to budget / probe, but never below 3.

Usage: /usr/bin/python3 bench/peers_norms.py [--norms LIST] [--shapes RxC,...]
       [--threads 1,2] [--dir fwd,fwdbwd] [--reps 7] [--alpha 1.5] [--budget 10]
"""
import argparse
import json
import os
import sys
import time

TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"
ALL_NORMS = ["softmax", "multimax", "sparsemax", "entmax15", "entmax", "evsoftmax"]
RANGES = [-1.0, 2.0, -1.0, 2.0]  # [b1, d1, b2, d2], as the C benchmark
TS = [0.1, -0.1, 0.02, -0.02]  # [tb1, td1, tb2, td2]


def reexec_with_malloc_tunables():
    """Restart this script once with glibc's allocator keeping freed memory (see above)."""
    if os.environ.get("MMX_PEERS_TUNED") == "1" or "--no-malloc-tunables" in sys.argv:
        return
    env = dict(os.environ)
    env["MMX_PEERS_TUNED"] = "1"
    old = env.get("GLIBC_TUNABLES")
    env["GLIBC_TUNABLES"] = TUNABLES if not old else old + ":" + TUNABLES
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def parse_list(text, what, conv, allowed=None):
    items = text.split(",")
    try:
        vals = [conv(s) for s in items]
    except ValueError:
        vals = None
    if not vals or (allowed is not None and any(v not in allowed for v in vals)):
        raise argparse.ArgumentTypeError(f"bad {what} list '{text}'")
    return vals


def parse_shape(s):
    r, _, c = s.lower().partition("x")
    r, c = int(r), int(c)
    if r < 1 or c < 1:
        raise ValueError(s)
    return (r, c)


def positive_int(s):
    v = int(s)
    if v < 1:
        raise ValueError(s)
    return v


def parse_args():
    ap = argparse.ArgumentParser(description="Time the PyTorch / entmax peers (JSON lines).")
    ap.add_argument("--norms", default=",".join(ALL_NORMS),
                    type=lambda s: parse_list(s, "norm", str, ALL_NORMS))
    ap.add_argument("--shapes", default="65536x196,4096x4096,2048x32768,262144x64",
                    type=lambda s: parse_list(s, "shape (RxC)", parse_shape))
    ap.add_argument("--threads", default="1,2",
                    type=lambda s: parse_list(s, "thread", positive_int))
    ap.add_argument("--dir", default="fwd,fwdbwd",
                    type=lambda s: parse_list(s, "dir", str, ["fwd", "bwd", "fwdbwd"]))
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--alpha", type=float, default=1.5)
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds per measurement before reps is reduced (never below 3)")
    ap.add_argument("--no-malloc-tunables", action="store_true")
    a = ap.parse_args()
    if a.reps < 1 or not a.alpha > 1.0 or not a.budget > 0.0:
        ap.error("need --reps >= 1, --alpha > 1, --budget > 0")
    a.dir = sorted({"fwdbwd" if d == "bwd" else d for d in a.dir}, key=["fwd", "fwdbwd"].index)
    return a


def make_modulator(torch):
    """sigma(x) of the official MultiMax (order 2), TorchScript-compiled."""
    fused = bool(torch._C._llvm_enabled())
    if fused:
        torch._C._jit_override_can_fuse_on_cpu(True)

    @torch.jit.script
    def sigma(x: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (x + t[0] * torch.relu(r[0] - x) + t[1] * torch.relu(x - r[1])
                + t[2] * torch.relu(r[2] - x) ** 2 + t[3] * torch.relu(x - r[3]) ** 2)

    return sigma, "torch.multimax(jit,fused)" if fused else "torch.multimax(jit)"


def make_calls(torch, entmax, op, x, y, dy, alpha, sigma):
    """(forward, forward+backward) closures for one op, or None if it has no peer."""
    def ag(fn, *extra):
        def run():
            xg = x.detach().requires_grad_(True)
            out = fn(xg)
            return torch.autograd.grad(out, (xg,) + extra, dy)
        return run

    if op == "softmax":
        return (lambda: torch.softmax(x, -1, out=y), ag(lambda v: torch.softmax(v, -1)))
    if op == "multimax":
        r, t = torch.tensor(RANGES), torch.tensor(TS)
        rg, tg = r.clone().requires_grad_(True), t.clone().requires_grad_(True)
        return (lambda: torch.softmax(sigma(x, r, t), -1, out=y),
                ag(lambda v: torch.softmax(sigma(v, rg, tg), -1), rg, tg))
    if op == "sparsemax":
        return (lambda: entmax.sparsemax(x, dim=-1), ag(lambda v: entmax.sparsemax(v, dim=-1)))
    if op == "entmax15":
        return (lambda: entmax.entmax15(x, dim=-1), ag(lambda v: entmax.entmax15(v, dim=-1)))
    if op == "entmax":
        ag_alpha = torch.tensor(alpha, requires_grad=True)
        return (lambda: entmax.entmax_bisect(x, alpha, dim=-1),
                ag(lambda v: entmax.entmax_bisect(v, ag_alpha, dim=-1), ag_alpha))
    return None


def time_call(torch, fn, reps, budget, warm, grad):
    """Median ms over reps calls (reps cut to budget / probe time, at least 3)."""
    with torch.set_grad_enabled(grad):
        for _ in range(warm):
            fn()
        t0 = time.perf_counter()
        fn()
        probe = time.perf_counter() - t0
        if probe * reps > budget:
            reps = max(3, min(reps, int(budget / max(probe, 1e-9))))
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    ts.sort()
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    return 1e3 * med, reps


def peer_name(op, multimax_name):
    return {"softmax": "torch.softmax", "multimax": multimax_name,
            "sparsemax": "entmax.sparsemax", "entmax15": "entmax.entmax15",
            "entmax": "entmax.entmax_bisect"}[op]


def run_shape(torch, entmax, a, rows, cols, sigma, mm_name):
    g = torch.Generator().manual_seed(rows * 1000003 + cols)
    x = torch.randn(rows, cols, generator=g) * 3.0
    dy = torch.randn(rows, cols, generator=g)
    y = torch.empty(rows, cols)
    for t in a.threads:
        torch.set_num_threads(t)
        for op in a.norms:
            calls = make_calls(torch, entmax, op, x, y, dy, a.alpha, sigma)
            if calls is None:
                continue
            for d in a.dir:
                fn = calls[0] if d == "fwd" else calls[1]
                warm = 3 if op == "multimax" else 1
                ms, reps = time_call(torch, fn, a.reps, a.budget, warm, d == "fwdbwd")
                print(json.dumps({"op": op, "dir": d, "rows": rows, "cols": cols, "threads": t,
                                  "peer": peer_name(op, mm_name), "peer_ms": round(ms, 6),
                                  "reps": reps, "torch": torch.__version__}), flush=True)
                print(f"peers: {op:9s} {d:6s} {rows}x{cols} thr={t}: {ms:.3f} ms "
                      f"({reps} reps)", file=sys.stderr, flush=True)


def main():
    reexec_with_malloc_tunables()
    a = parse_args()
    import torch  # imported after the re-exec: it is slow to import
    import entmax
    sigma, mm_name = make_modulator(torch)
    tun = os.environ.get("GLIBC_TUNABLES", "")
    print(f"peers: torch {torch.__version__}, entmax {getattr(entmax, '__version__', '?')}, "
          f"llvm {torch._C._llvm_enabled()}, GLIBC_TUNABLES={tun or '(unset)'}",
          file=sys.stderr, flush=True)
    if "evsoftmax" in a.norms:
        print("peers: evsoftmax has no peer; skipped", file=sys.stderr, flush=True)
    for rows, cols in a.shapes:
        run_shape(torch, entmax, a, rows, cols, sigma, mm_name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
