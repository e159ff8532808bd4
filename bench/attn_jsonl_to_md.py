#!/usr/bin/env python3
"""Render the JSON lines of `multimax bench attn --json FILE` (several files may be given, e.g.
the default run and a fused-only T=16384 run) as markdown tables for docs/BENCHMARKS.md, so no
figure there is typed by hand.

    python3 bench/attn_jsonl_to_md.py attn.jsonl [attn_16k.jsonl] [--threads 2] [--pass fwdbwd]

Tables: (1) time, GFLOP/s and fraction of sgemm per (norm, T, impl); (2) time relative to
SoftMax of the same implementation; (3) the fused path against the naive path and the PyTorch
peers (speedup = their ms / fused ms); (4) peak extra memory; (5) the sgemm rates. Rows that
failed or were skipped (an "error" field) are listed after the tables.
"""
import argparse
import json
from collections import OrderedDict


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += [json.loads(line) for line in f if line.strip().startswith("{")]
    return rows


def uniq(seq):
    return list(OrderedDict.fromkeys(seq))


def fmt_ms(ms):
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def index(rows):
    return {(r["norm"], r["pass"], r["impl"], r["T"], r["threads"]): r for r in rows if "ms" in r}


def table_times(rows, thr, pss):
    out = ["| norm | T | impl | ms | GFLOP/s | % of sgemm 1024^3 | peak extra MB |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "ms" in r and r["threads"] == thr and r["pass"] == pss:
            out.append(f"| {r['norm']} | {r['T']} | {r['impl']} | {fmt_ms(r['ms'])} | "
                       f"{r['gflops']:.1f} | {100 * r['frac_sgemm']:.0f}% | "
                       f"{r['peak_extra_mb']:.1f} |")
    return "\n".join(out)


def table_vs_softmax(rows, thr, pss):
    ix = index(rows)
    impls = uniq(r["impl"] for r in rows if r["impl"] in ("fused", "naive"))
    norms = [n for n in uniq(r["norm"] for r in rows) if n != "softmax"]
    Ts = uniq(r["T"] for r in rows)
    out = ["| T | impl | " + " | ".join(norms) + " |", "|---|---|" + "---|" * len(norms)]
    for T in Ts:
        for im in impls:
            base = ix.get(("softmax", pss, im, T, thr))
            if not base:
                continue
            cells = []
            for n in norms:
                r = ix.get((n, pss, im, T, thr))
                cells.append(f"{r['ms'] / base['ms']:.2f}" if r else "-")
            out.append(f"| {T} | {im} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def table_speedups(rows, thr, pss):
    ix = index(rows)
    out = ["| norm | T | fused ms | vs naive | vs torch_softmax | vs torch (same norm) |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("impl") != "fused" or "ms" not in r or r["threads"] != thr or r["pass"] != pss:
            continue
        def sp(key):
            o = ix.get(key)
            return f"{o['ms'] / r['ms']:.2f}x" if o else "-"
        out.append(f"| {r['norm']} | {r['T']} | {fmt_ms(r['ms'])} | "
                   f"{sp((r['norm'], pss, 'naive', r['T'], thr))} | "
                   f"{sp(('softmax', pss, 'torch_softmax', r['T'], thr))} | "
                   f"{sp((r['norm'], pss, 'torch_' + r['norm'], r['T'], thr))} |")
    return "\n".join(out)


def table_memory(rows, pss):
    Ts = uniq(r["T"] for r in rows)
    out = ["| T | one (B,H,T,T) float matrix MB | fused (max over norms) MB | naive MB | "
           "torch_softmax MB | torch_multimax MB | torch_entmax15 MB |",
           "|---|---|---|---|---|---|---|"]
    for T in Ts:
        some = [r for r in rows if r["T"] == T]
        B, H = some[0]["B"], some[0]["H"]
        mat = B * H * T * T * 4 / 1e6

        def peak(impl):
            v = [r["peak_extra_mb"] for r in some if r["impl"] == impl and r["pass"] == pss
                 and "peak_extra_mb" in r and "ms" in r]
            return f"{max(v):.1f}" if v else "-"
        out.append(f"| {T} | {mat:.1f} | {peak('fused')} | {peak('naive')} | "
                   f"{peak('torch_softmax')} | {peak('torch_multimax')} | "
                   f"{peak('torch_entmax15')} |")
    return "\n".join(out)


def table_sgemm(rows):
    seen = OrderedDict()
    for r in rows:
        seen.setdefault(r["threads"], (r["sgemm_gflops"], r["sgemm_tile_gflops"],
                                       r["sgemm_strip_gflops"], r.get("openblas_coretype", "?")))
    out = ["| threads | 1024^3 GFLOP/s | 64x64x1024 per thread | 64x1024x64 per thread | "
           "OPENBLAS_CORETYPE |", "|---|---|---|---|---|"]
    for t, (big, tile, strip, ct) in seen.items():
        out.append(f"| {t} | {big:.1f} | {tile:.1f} | {strip:.1f} | {ct} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pass", dest="pss", default="fwdbwd", choices=["fwd", "fwdbwd"])
    a = ap.parse_args()
    rows = [r for r in load(a.jsonl) if r.get("threads") is not None]
    t, p = a.threads, a.pss
    first = next((r for r in rows if "sgemm_gflops" in r), None)
    if first:
        print(f"B={first['B']}, H={first['H']}, D={first['D']}, causal={first['causal']}, "
              f"isa {first['isa']}, float32.\n")
    print(f"### Time, GFLOP/s and fraction of sgemm ({t} threads, {p})\n")
    print(table_times(rows, t, p))
    print(f"\n### Time relative to SoftMax, same implementation ({t} threads, {p})\n")
    print(table_vs_softmax(rows, t, p))
    print(f"\n### Fused against the naive path and PyTorch ({t} threads, {p}; "
          f"speedup = their ms / fused ms)\n")
    print(table_speedups(rows, t, p))
    print(f"\n### Peak extra memory ({p}; MB = 1e6 bytes)\n")
    print(table_memory(rows, p))
    print("\n### sgemm rates measured in the same runs\n")
    print(table_sgemm([r for r in rows if "sgemm_gflops" in r]))
    errs = [r for r in rows if "error" in r and r["threads"] == t]
    if errs:
        print(f"\nNot measured ({t} threads):\n")
        for r in errs:
            print(f"- {r['norm']} {r['pass']} {r['impl']} T={r['T']}: {r['error']}")


if __name__ == "__main__":
    main()
