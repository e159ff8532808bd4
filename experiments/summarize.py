"""Summarises an experiments/vit_fmnist.sh sweep: OUT/runs.csv (one row per run) and
OUT/summary.md (per configuration: mean +- std of the test accuracy over seeds, Welch's t-test
against SoftMax, attention sparsity / multi-modality and over-smoothing per layer, step time).

    /usr/bin/python3 experiments/summarize.py OUT

Only the standard library: Welch's t-test with the Student-t tail from the regularised
incomplete beta function (continued fraction, Numerical Recipes' Lentz method, written here).
"""
import csv
import json
import math
import os
import re
import statistics
import sys


def betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * betacf(b, a, 1.0 - x) / b


def welch(x, y):
    """Welch's t-test: (t, dof, two-sided p). None when a sample has < 2 values or no spread."""
    if len(x) < 2 or len(y) < 2:
        return None
    vx, vy = statistics.variance(x) / len(x), statistics.variance(y) / len(y)
    if vx + vy == 0:
        return None
    t = (statistics.mean(x) - statistics.mean(y)) / math.sqrt(vx + vy)
    dof = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    p = betainc(dof / 2.0, 0.5, dof / (dof + t * t))
    return t, dof, p


def read_run(path):
    """Final epoch of log.jsonl plus the analysis CSVs of one run directory."""
    epochs = [json.loads(l) for l in open(os.path.join(path, "log.jsonl")) if '"epoch"' in l and '"kind":"epoch"' in l]
    run = dict(epochs[-1])
    rows = list(csv.DictReader(open(os.path.join(path, "analysis", "metrics.csv"))))
    f = lambda v: float(v) if v not in ("", None) else float("nan")
    run["sparsity"] = [f(r["sparsity"]) for r in rows if r["layer"] != "0"]
    run["multimodality"] = [f(r["multimodality"]) for r in rows if r["layer"] != "0"]
    run["oversmooth"] = [f(r["oversmooth"]) for r in rows]
    return run


def fmt_ms(v, digits=4):
    """mean +- sample standard deviation (just the value for one run)."""
    if len(v) > 1:
        return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"
    return f"{v[0]:.{digits}f}"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "experiments/out"
    runs = {}
    for d in sorted(os.listdir(out)):
        m = re.fullmatch(r"(.+)-s(\d+)", d)
        full = os.path.join(out, d)
        if not m or not os.path.isdir(full) or not os.path.exists(os.path.join(full, "analysis", "metrics.csv")):
            continue
        runs.setdefault(m.group(1), []).append((int(m.group(2)), read_run(full)))
    order = [c for c in ["softmax", "multimax", "multimax_attn", "sparsemax", "entmax15", "evsoftmax"] if c in runs]
    with open(os.path.join(out, "runs.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["config", "seed", "test_acc", "test_loss", "ms_per_step", "sparsity_mean",
                    "multimodality_mean", "oversmooth_last"])
        for c in order:
            for seed, r in sorted(runs[c]):
                w.writerow([c, seed, r["test_acc"], r["test_loss"], r["ms_per_step"],
                            statistics.mean(r["sparsity"]), statistics.mean(r["multimodality"]),
                            r["oversmooth"][-1]])
    base = [r["test_acc"] * 100 for _, r in runs.get("softmax", [])]
    lines = ["| config | seeds | test accuracy (%) | vs SoftMax (Welch) | sparsity | multi-modality | over-smoothing (last) | ms/step |",
             "|---|---|---|---|---|---|---|---|"]
    for c in order:
        acc = [r["test_acc"] * 100 for _, r in runs[c]]
        wt = welch(acc, base) if c != "softmax" else None
        cmp = (f"{statistics.mean(acc) - statistics.mean(base):+.2f} (t = {wt[0]:.2f}, p = {wt[2]:.3f})"
               if wt else "—")
        rs = [r for _, r in runs[c]]
        lines.append(f"| {c} | {len(acc)} | {fmt_ms(acc, 2)} | {cmp} | "
                     f"{fmt_ms([statistics.mean(r['sparsity']) for r in rs])} | "
                     f"{fmt_ms([statistics.mean(r['multimodality']) for r in rs])} | "
                     f"{fmt_ms([r['oversmooth'][-1] for r in rs])} | "
                     f"{statistics.mean([r['ms_per_step'] for r in rs]):.0f} |")
    lines += ["", "Per layer (mean over seeds): sparsity / multi-modality / over-smoothing (after the block)", "",
              "| config | " + " | ".join(f"layer {l + 1}" for l in range(len(runs[order[0]][0][1]["sparsity"]))) + " |",
              "|---|" + "---|" * len(runs[order[0]][0][1]["sparsity"])]
    for c in order:
        rs = [r for _, r in runs[c]]
        cells = []
        for l in range(len(rs[0]["sparsity"])):
            s = statistics.mean(r["sparsity"][l] for r in rs)
            mm = statistics.mean(r["multimodality"][l] for r in rs)
            o = statistics.mean(r["oversmooth"][l + 1] for r in rs)
            cells.append(f"{s:.3f} / {mm:.3f} / {o:.3f}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "summary.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
