#!/usr/bin/python3
"""peers_attn.py - the PyTorch peers of `multimax bench attn`.

Times multi-head attention out = f(scale * q k^T + mask) v in PyTorch on the same shapes and
thread counts as the C benchmark (float32, q, k, v, dout of shape (B, H, T, D), normal with
standard deviation 1, scale = 1/sqrt(D)), and prints one JSON line per measurement on stdout
(progress and notes go to stderr):

    {"norm", "pass", "impl", "B", "H", "T", "D", "causal", "threads", "ms", "peak_extra_mb",
     "reps", "torch"}        or, for a peer skipped or failed, "error" instead of "ms"

    impl            the composed formula                             fwdbwd also gives
    torch_softmax   softmax(q @ k^T * scale + mask) @ v                dq, dk, dv
    torch_multimax  softmax(sigma(q @ k^T * scale) + mask) @ v         dq, dk, dv, dranges, dts
                    sigma = the official MultiMax modulator of order 2 under torch.jit.script:
                    x + ts0*relu(r0-x) + ts1*relu(x-r1) + ts2*relu(r2-x)^2 + ts3*relu(x-r3)^2
                    (the -inf mask is added after sigma, as in the official code)
    torch_entmax15  entmax.entmax15(q @ k^T * scale + mask) @ v        dq, dk, dv
                    (only for T <= --entmax-max-T, default 1024)

"fwd" runs under torch.no_grad(); "fwdbwd" is one forward plus torch.autograd.grad(out,
inputs, dout). The softmax is composed, not torch's scaled_dot_product_attention (PyTorch
1.13 has none). The causal mask is an additive (T, T) tensor of 0 / -inf made before the
measurement (it is an input, like q, k, v).

Every configuration (impl, T, threads, pass) runs in a fresh Python process (this script with
--one). Peak memory: at the first thread count of each (impl, T, pass), the process first
makes one call under glibc's default allocator, which maps large tensors with mmap and unmaps
them when freed, so the growth of ru_maxrss over the resident size just before the call
(inputs already made) is the call's live peak: peak_extra_mb, in MB (1e6 bytes). Other thread
counts copy that figure ("peak_from_threads"). If ru_maxrss did not grow (the import of torch
peaked higher), the figure is only an upper bound and the line says "peak_is_bound": true.

Then, as peers_norms.py does with GLIBC_TUNABLES, the process keeps freed memory in the heap
(mallopt M_MMAP_THRESHOLD = 1 GiB, M_TRIM_THRESHOLD = -1; --no-malloc-tunables turns this
off) before the timed calls: autograd allocates on every call and page faults are slow on
these machines. RSS under that setting is not a memory figure: the heap fragments and grows
to several times the live peak (7.5x measured), so where 8 x the live peak exceeds half of
MemAvailable (torch_multimax at T = 4096 was killed for memory otherwise) the timed calls run
under the default allocator instead; the line says which ("malloc": "keep" or "default").
Every child also runs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (malloc asks for transparent
huge pages; THP is in madvise mode here), which halved the page-fault cost of the default
allocator (torch_multimax fwdbwd at T = 4096, 2 threads: 27 s -> 12.5 s per call) and does not
change the memory figures.

Each measurement: warm-up calls (3 for TorchScript, which profiles first, else 1; the memory
call counts as one), one timed probe call, then the median of --reps calls; when reps * probe exceeds --budget seconds, reps
drops to budget / probe, but never below 1. A configuration whose estimated memory exceeds
--mem-frac of MemAvailable is skipped with a note instead of being run.

Usage: /usr/bin/python3 bench/peers_attn.py [--norms softmax,multimax,entmax15]
       [--T 196,512,1024,4096] [--D 64] [--heads 8] [--batch 1] [--threads 2] [--causal]
       [--pass both] [--reps 5] [--budget 30] [--entmax-max-T 1024] [--mem-frac 0.6]
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

PEERS = {"softmax": "torch_softmax", "multimax": "torch_multimax", "entmax15": "torch_entmax15"}
RANGES = [-1.0, 2.0, -1.0, 2.0]  # [b1, d1, b2, d2], as the C benchmark
TS = [0.3, -0.2, 0.05, -0.02]  # [tb1, td1, tb2, td2]
HUGETLB = "glibc.malloc.hugetlb=1"
# Heap size / live peak under keep_freed_memory() (measured 7.5x at T = 1024; with margin).
HEAP_GROWTH = 8.0
# Live peak of one call, in (B, H, T, T) float32 matrices, measured at T = 1024 (rounded up):
# used only to skip a configuration that would not fit in memory.
MATRICES = {("softmax", "fwd"): 3, ("softmax", "fwdbwd"): 4, ("multimax", "fwd"): 5,
            ("multimax", "fwdbwd"): 12, ("entmax15", "fwd"): 14, ("entmax15", "fwdbwd"): 14}


def int_list(text):
    vals = [int(s) for s in text.split(",")]
    if not vals or min(vals) < 1:
        raise ValueError(text)
    return vals


def parse_args():
    ap = argparse.ArgumentParser(description="Time the PyTorch attention peers (JSON lines).")
    ap.add_argument("--norms", default="softmax,multimax,entmax15",
                    type=lambda s: [n for n in s.split(",") if n])
    ap.add_argument("--T", default="196,512,1024,4096", type=int_list)
    ap.add_argument("--D", type=int, default=64)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", default="2", type=int_list)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--pass", dest="passes", default="both", choices=["fwd", "fwdbwd", "both"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget", type=float, default=30.0)
    ap.add_argument("--entmax-max-T", type=int, default=1024)
    ap.add_argument("--mem-frac", type=float, default=0.6)
    ap.add_argument("--no-malloc-tunables", action="store_true")
    ap.add_argument("--one", nargs=4, metavar=("NORM", "T", "THREADS", "PASS"),
                    help="internal: measure one configuration in this process")
    ap.add_argument("--mem", action="store_true",
                    help="internal, with --one: measure the peak memory of one call first")
    ap.add_argument("--peak-mb", type=float, default=0.0,
                    help="internal, with --one: the live peak measured at another thread count")
    a = ap.parse_args()
    bad = [n for n in a.norms if n not in PEERS]
    if bad:
        ap.error(f"no peer for {bad}; expected a subset of {','.join(PEERS)}")
    if a.reps < 1 or not a.budget > 0 or min(a.D, a.heads, a.batch) < 1:
        ap.error("need --reps >= 1, --budget > 0, --D, --heads, --batch >= 1")
    a.passes = ["fwd", "fwdbwd"] if a.passes == "both" else [a.passes]
    return a


# ---------------------------------------------------------------- one configuration (child)

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def maxrss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def keep_freed_memory():
    """Page faults are slow on these machines and autograd allocates on every call: keep
    freed memory in the heap for reuse (mallopt M_MMAP_THRESHOLD = 1 GiB, M_TRIM_THRESHOLD =
    -1), as MACHINE.md measured. Done after the memory call: the heap then holds on to freed
    chunks and fragments, so RSS would no longer be the live peak."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    ok = libc.mallopt(-3, 1 << 30) == 1 and libc.mallopt(-1, -1) == 1
    if not ok:
        print("peers: mallopt failed; timing with glibc's default allocator", file=sys.stderr)


def make_sigma(torch):
    """sigma(x) of the official MultiMax (order 2), TorchScript-compiled."""
    if torch._C._llvm_enabled():
        torch._C._jit_override_can_fuse_on_cpu(True)

    @torch.jit.script
    def sigma(x: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (x + t[0] * torch.relu(r[0] - x) + t[1] * torch.relu(x - r[1])
                + t[2] * torch.relu(r[2] - x) ** 2 + t[3] * torch.relu(x - r[3]) ** 2)

    return sigma


def make_attention(torch, norm, scale, mask):
    """attn(q, k, v, extra) -> out, and the extra tensors (MultiMax's ranges, ts)."""
    if norm == "softmax":
        def attn(q, k, v, extra):
            s = torch.matmul(q, k.transpose(-2, -1)) * scale
            if mask is not None:
                s = s + mask
            return torch.matmul(torch.softmax(s, -1), v)
        return attn, ()
    if norm == "multimax":
        sigma = make_sigma(torch)

        def attn(q, k, v, extra):
            s = sigma(torch.matmul(q, k.transpose(-2, -1)) * scale, extra[0], extra[1])
            if mask is not None:
                s = s + mask
            return torch.matmul(torch.softmax(s, -1), v)
        return attn, (torch.tensor(RANGES), torch.tensor(TS))
    import entmax

    def attn(q, k, v, extra):
        s = torch.matmul(q, k.transpose(-2, -1)) * scale
        if mask is not None:
            s = s + mask
        return torch.matmul(entmax.entmax15(s, dim=-1), v)
    return attn, ()


def time_calls(fn, reps, budget, warm):
    for _ in range(warm):
        fn()
    t0 = time.perf_counter()
    fn()
    probe = time.perf_counter() - t0
    if probe * reps > budget:
        reps = max(1, min(reps, int(budget / max(probe, 1e-9))))
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    n = len(ts)
    return 1e3 * (ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])), reps


def run_one(a, norm, T, threads, pss):
    import torch
    torch.set_num_threads(threads)
    B, H, D = a.batch, a.heads, a.D
    g = torch.Generator().manual_seed(T * 1000003 + threads)
    q, k, v, dout = (torch.randn(B, H, T, D, generator=g) for _ in range(4))
    mask = None
    if a.causal:
        mask = torch.full((T, T), float("-inf")).triu_(1)
    attn, extra = make_attention(torch, norm, 1.0 / math.sqrt(D), mask)
    if pss == "fwd":
        def fn():
            with torch.no_grad():
                return attn(q, k, v, extra)
    else:
        leaves = [t.detach().clone().requires_grad_(True) for t in (q, k, v) + tuple(extra)]

        def fn():
            out = attn(leaves[0], leaves[1], leaves[2], leaves[3:])
            return torch.autograd.grad(out, leaves, dout)
    line = {"norm": norm, "pass": pss, "impl": PEERS[norm], "B": B, "H": H, "T": T, "D": D,
            "causal": a.causal, "threads": threads}
    if a.mem:
        # One call under glibc's default allocator (large tensors mmapped, unmapped when
        # freed): the growth of ru_maxrss is the live peak of the call.
        rss0, max0 = rss_bytes(), maxrss_bytes()
        fn()
        max1 = maxrss_bytes()
        line["peak_extra_mb"] = round((max1 - rss0) / 1e6, 3)
        if max1 <= max0:
            line["peak_is_bound"] = True
    # Keeping freed memory grows the heap to several times the live peak (fragmentation:
    # 2.6 GB for a 0.35 GB peak measured at T = 1024); where that would not fit, the timed
    # calls run under the default allocator (and pay its page faults).
    live = line.get("peak_extra_mb", a.peak_mb) * 1e6
    if live <= 0:
        live = MATRICES[(norm, pss)] * B * H * T * T * 4.0
    keep = not a.no_malloc_tunables and HEAP_GROWTH * live <= 0.5 * mem_available()
    if keep:
        keep_freed_memory()
    # The memory call and the (untimed) probe count as warm-up calls too.
    warm = max(0, (3 if norm == "multimax" else 1) - (1 if a.mem else 0))
    ms, reps = time_calls(fn, a.reps, a.budget, warm)
    line.update({"ms": round(ms, 6), "reps": reps, "malloc": "keep" if keep else "default",
                 "load1": round(os.getloadavg()[0], 2), "torch": torch.__version__})
    print(json.dumps(line), flush=True)
    return 0


# ---------------------------------------------------------------- the driver (parent)

def mem_available():
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemAvailable:"):
                return int(ln.split()[1]) * 1024
    return 0


def error_line(a, norm, T, threads, pss, why):
    return json.dumps({"norm": norm, "pass": pss, "impl": PEERS[norm], "B": a.batch,
                       "H": a.heads, "T": T, "D": a.D, "causal": a.causal, "threads": threads,
                       "error": why})


def skip_reason(a, norm, T, pss):
    if norm == "entmax15" and T > a.entmax_max_T:
        return f"skipped: T > --entmax-max-T {a.entmax_max_T}"
    need = MATRICES[(norm, pss)] * a.batch * a.heads * T * T * 4.0
    avail = mem_available()
    if need > a.mem_frac * avail:
        return (f"skipped: needs ~{need / 2**30:.1f} GiB > {a.mem_frac} x MemAvailable "
                f"{avail / 2**30:.1f} GiB")
    return None


def run_child(a, norm, T, threads, pss, mem, peak_mb):
    cmd = [sys.executable, os.path.abspath(__file__), "--one", norm, str(T), str(threads), pss,
           "--D", str(a.D), "--heads", str(a.heads), "--batch", str(a.batch), "--reps",
           str(a.reps), "--budget", str(a.budget)] + (["--causal"] if a.causal else [])
    cmd += (["--mem"] if mem else ["--peak-mb", str(peak_mb)])
    cmd += ["--no-malloc-tunables"] if a.no_malloc_tunables else []
    t0 = time.perf_counter()
    env = dict(os.environ)
    if not a.no_malloc_tunables:  # transparent huge pages for malloc's memory (see above)
        old = env.get("GLIBC_TUNABLES")
        env["GLIBC_TUNABLES"] = HUGETLB if not old else old + ":" + HUGETLB
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        why = (f"failed: killed by signal {-p.returncode}" if p.returncode < 0
               else f"failed: exit status {p.returncode}")
        return error_line(a, norm, T, threads, pss, why), time.perf_counter() - t0
    return lines[-1], time.perf_counter() - t0


def main():
    a = parse_args()
    if a.one:
        norm, T, threads, pss = a.one
        return run_one(a, norm, int(T), int(threads), pss)
    import torch  # only for the version line; the measurements run in child processes
    print(f"peers: torch {torch.__version__}, llvm {torch._C._llvm_enabled()} (TorchScript "
          f"{'can' if torch._C._llvm_enabled() else 'cannot'} fuse on the CPU), "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')!r}",
          file=sys.stderr, flush=True)
    peaks = {}  # (norm, T, pass) -> (peak line fields, threads): memory does not depend on it
    for T in a.T:
        for threads in a.threads:
            for norm in a.norms:
                for pss in a.passes:
                    why = skip_reason(a, norm, T, pss)
                    key = (norm, T, pss)
                    if why:
                        line, sec = error_line(a, norm, T, threads, pss, why), 0.0
                    else:
                        known = peaks[key][0].get("peak_extra_mb", 0.0) if key in peaks else 0.0
                        line, sec = run_child(a, norm, T, threads, pss, key not in peaks, known)
                    r = json.loads(line)
                    if "peak_extra_mb" in r:
                        peaks[key] = ({k: r[k] for k in ("peak_extra_mb", "peak_is_bound")
                                       if k in r}, threads)
                    elif "ms" in r and key in peaks:
                        r.update(peaks[key][0])
                        r["peak_from_threads"] = peaks[key][1]
                        line = json.dumps(r)
                    print(line, flush=True)
                    what = (f"{r['ms']:.3f} ms, peak +{r.get('peak_extra_mb', -1):.1f} MB "
                            f"({r['reps']} reps, malloc {r['malloc']})" if "ms" in r
                            else r["error"])
                    print(f"peers: {PEERS[norm]:14s} {pss:6s} T={T} thr={threads}: {what} "
                          f"[{sec:.1f} s]", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
