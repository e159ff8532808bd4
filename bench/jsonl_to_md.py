#!/usr/bin/env python3
"""Render the JSON lines of `multimax bench norms --json FILE` as the markdown tables of
docs/BENCHMARKS.md, so no figure there is typed by hand.

    python3 bench/jsonl_to_md.py results.jsonl [--threads 2]
"""
import argparse
import json
from collections import OrderedDict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def shape(r):
    return f"{r['rows']}x{r['cols']}"


def table_memcpy(rows, threads):
    out = ["| op | shape | fwd ms | fwd ratio | bwd ms | bwd ratio | fwd+bwd ms |",
           "|---|---|---|---|---|---|---|"]
    by = OrderedDict()
    for r in rows:
        if r["threads"] == threads:
            by.setdefault((r["op"], shape(r)), {})[r["dir"]] = r
    for (op, sh), d in by.items():
        f, b, fb = d.get("fwd"), d.get("bwd"), d.get("fwdbwd")
        cell = lambda x, k, fmt: fmt % x[k] if x else "-"
        out.append(f"| {op} | {sh} | {cell(f, 'ms', '%.2f')} | {cell(f, 'ratio', '%.2f')} | "
                   f"{cell(b, 'ms', '%.2f')} | {cell(b, 'ratio', '%.2f')} | {cell(fb, 'ms', '%.2f')} |")
    return "\n".join(out)


def table_vs_softmax(rows, threads):
    ms = {(r["op"], shape(r), r["dir"]): r["ms"] for r in rows if r["threads"] == threads}
    ops = [o for o in OrderedDict.fromkeys(r["op"] for r in rows) if o != "softmax"]
    shapes = list(OrderedDict.fromkeys(shape(r) for r in rows))
    out = ["| shape | dir | " + " | ".join(ops) + " |", "|---|---|" + "---|" * len(ops)]
    for sh in shapes:
        for d in ("fwd", "bwd", "fwdbwd"):
            base = ms.get(("softmax", sh, d))
            if not base:
                continue
            cells = [f"{ms[(o, sh, d)] / base:.2f}" if (o, sh, d) in ms else "-" for o in ops]
            out.append(f"| {sh} | {d} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def table_peers(rows, threads):
    out = ["| op | shape | dir | ours ms | peer | peer ms | speedup |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["threads"] == threads and r.get("peer"):
            out.append(f"| {r['op']} | {shape(r)} | {r['dir']} | {r['ms']:.2f} | {r['peer']} | "
                       f"{r['peer_ms']:.1f} | {r['peer_ms'] / r['ms']:.1f}x |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    rows = load(a.jsonl)
    t = a.threads
    print(f"### Time and ratio to memcpy ({t} threads; ratio = memcpy_ms / ms)\n")
    print(table_memcpy(rows, t))
    print(f"\n### Time relative to SoftMax ({t} threads; op ms / softmax ms)\n")
    print(table_vs_softmax(rows, t))
    print(f"\n### Against the peers ({t} threads; speedup = peer ms / our ms)\n")
    print(table_peers(rows, t))


if __name__ == "__main__":
    main()
