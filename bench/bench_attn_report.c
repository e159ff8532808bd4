/*
 * bench_attn_report.c - output of `multimax bench attn`: the header (machine, sgemm rates,
 * conventions), the aligned table, the JSON lines and the summary of the target ratios.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_attn.h"
#include "bench_util.h"

/* "model name" of /proc/cpuinfo, or "?". */
static void cpu_model(char *buf, size_t n) {
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(buf, n, "?");
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !c) continue;
        snprintf(buf, n, "%s", c + 2);
        buf[strcspn(buf, "\n")] = '\0';
        break;
    }
    if (f) fclose(f);
}

static const char *coretype(void) {
    const char *c = getenv("OPENBLAS_CORETYPE");
    return !c ? "unset" : *c ? c : "(empty)";
}

void ba_header(FILE *out, const ba_opts *o, const char *isa, const ba_sgemm *rates,
               const int *threads, int n_threads) {
    double load = bench_loadavg();
    char model[128];
    cpu_model(model, sizeof model);
    fprintf(out, "# multimax %s, %s, cpu: %s (%s)\n", mmx_version(), mmx_build_info(), model,
            mmx_cpu_features());
    fprintf(out, "# isa %s, OPENBLAS_CORETYPE=%s (OpenBLAS core %s), load average %.2f\n", isa,
            coretype(), ba_openblas_core(), load);
    fprintf(out, "# B=%lld H=%lld D=%lld, Tq=Tk=T, causal=%d, scale=1/sqrt(D), reps %d (median"
            " after %d warm-up call(s); cut to --budget %g s), float32\n",
            (long long)o->batch, (long long)o->heads, (long long)o->dim, o->causal, o->reps,
            o->warmup, o->budget);
    fprintf(out, "# GFLOP/s counts matmul flops: fwd 4*B*H*T^2*D (q k^T, P v), fwdbwd + 8*B*H*T^2*D"
            " (dv, dP, dq, dk)%s; %%sgemm = GFLOP/s / sgemm 1024^3 GFLOP/s at the same threads\n",
            o->causal ? ", both halved (causal)" : "");
    fprintf(out, "# peak_MB (1e6 B): fused = workspace + stats (B*H*T*%d floats); naive = the "
            "materialised (B,H,T,T) S, P (+ dP/dS for fwdbwd); torch = ru_maxrss growth\n",
            MMX_ATTN_STATS);
    for (int t = 0; t < n_threads; t++)
        fprintf(out, "# sgemm thr=%d: 1024^3 %.1f GFLOP/s; per-thread tiles 64x64x1024 %.1f, "
                "64x1024x64 %.1f GFLOP/s (all threads)\n",
                threads[t], rates[t].big, rates[t].tile, rates[t].strip);
    if (load >= 0.5)
        fprintf(stderr, "%s: note: load average %.2f: other processes are running, so timings "
                "(multi-threaded ones most) will be noisy\n", BA_PROG, load);
}

static const ba_row *find(const ba_rows *all, mmx_norm_kind k, int pass, const char *impl,
                          int64_t T, int threads) {
    for (int i = 0; i < all->n; i++) {
        const ba_row *r = &all->v[i];
        if (r->norm == k && r->pass == pass && r->T == T && r->threads == threads &&
            strcmp(r->impl, impl) == 0 && r->ms > 0)
            return r;
    }
    return NULL;
}

/* ms / ms of SoftMax by the same kind of implementation (fused, naive, torch); < 0 if none. */
static double vs_softmax(const ba_row *r, const ba_rows *all) {
    const char *impl = strncmp(r->impl, "torch_", 6) == 0 ? "torch_softmax" : r->impl;
    const ba_row *s = find(all, MMX_NORM_SOFTMAX, r->pass, impl, r->T, r->threads);
    return s && r->ms > 0 ? r->ms / s->ms : -1.0;
}

void ba_table_header(FILE *out) {
    fprintf(out, "%-9s %-6s %-14s %6s %3s %10s %10s %8s %6s %9s %6s %8s  %s\n", "norm", "pass",
            "impl", "T", "thr", "ms", "bwd_ms", "GFLOP/s", "%sgemm", "peak_MB", "vs_sm",
            "l2diff", "note");
}

void ba_table_row(FILE *out, const ba_row *r, const ba_rows *all, const ba_opts *o,
                  const ba_sgemm *rate) {
    fprintf(out, "%-9s %-6s %-14s %6lld %3d", mmx_norm_name(r->norm), ba_pass_name(r->pass),
            r->impl, (long long)r->T, r->threads);
    if (r->ms <= 0) {
        fprintf(out, " %10s %10s %8s %6s %9s %6s %8s  %s\n", "-", "-", "-", "-", "-", "-", "-",
                r->note);
        return;
    }
    double gf = ba_flops(o, r->T, r->pass) / (r->ms * 1e6), vs = vs_softmax(r, all);
    fprintf(out, " %10.3f", r->ms);
    if (r->bwd_ms >= 0) fprintf(out, " %10.3f", r->bwd_ms);
    else fprintf(out, " %10s", "-");
    fprintf(out, " %8.1f %5.1f%% %9.1f", gf, 100.0 * gf / rate->big, r->peak_mb);
    if (vs > 0) fprintf(out, " %6.2f", vs);
    else fprintf(out, " %6s", "-");
    if (r->l2diff >= 0 || r->l2diff != r->l2diff) fprintf(out, " %8.1e", r->l2diff);
    else fprintf(out, " %8s", "-");
    fprintf(out, "  %s", r->note);
    /* Thresholds: float32 sums over T give ~1e-6; MultiMax's sigma' jumps at its breakpoints,
     * so a score that rounds to the other side of one moves single entries by more (l2diff
     * 1.1e-4 in dq at T = 4096, the naive path's rounding); a real bug shows far above 1e-3. */
    int bad = r->l2diff > 1e-3 || r->l2diff != r->l2diff;
    if (bad) fprintf(out, "check: %s differs from the naive path", r->worst);
    if (r->gdiff > 1e-2 || r->gdiff != r->gdiff)
        fprintf(out, "%sparameter gradients differ by %.1e", bad ? "; " : "check: ", r->gdiff);
    fputc('\n', out);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

/* ",key":other.ms / r.ms when the other row exists. */
static void json_speedup(FILE *out, const char *key, const ba_row *other, const ba_row *r) {
    if (other && r->ms > 0) fprintf(out, ",\"%s\":%.6g", key, other->ms / r->ms);
}

static void json_ratios(FILE *out, const ba_row *r, const ba_rows *all) {
    double vs = vs_softmax(r, all);
    if (vs > 0) fprintf(out, ",\"ratio_to_softmax\":%.6g", vs);
    if (strcmp(r->impl, "fused") != 0) return;
    char same[48];
    snprintf(same, sizeof same, "torch_%s", mmx_norm_name(r->norm));
    json_speedup(out, "speedup_vs_naive", find(all, r->norm, r->pass, "naive", r->T, r->threads),
                 r);
    json_speedup(out, "speedup_vs_torch_softmax",
                 find(all, MMX_NORM_SOFTMAX, r->pass, "torch_softmax", r->T, r->threads), r);
    json_speedup(out, "speedup_vs_torch_same", find(all, r->norm, r->pass, same, r->T, r->threads),
                 r);
    if (r->l2diff >= 0 || r->l2diff != r->l2diff) {
        fprintf(out, ",\"l2diff_vs_naive\":%.3g,\"maxdiff_vs_naive\":%.3g,\"diff_worst_tensor\":",
                r->l2diff, r->maxdiff);
        json_string(out, r->worst);
    }
    if (r->gdiff >= 0) fprintf(out, ",\"param_grad_reldiff_vs_naive\":%.3g", r->gdiff);
}

void ba_json_row(FILE *out, const ba_row *r, const ba_rows *all, const ba_opts *o,
                 const ba_sgemm *rate, const char *isa) {
    fprintf(out, "{\"norm\":\"%s\",\"pass\":\"%s\",\"impl\":", mmx_norm_name(r->norm),
            ba_pass_name(r->pass));
    json_string(out, r->impl);
    fprintf(out, ",\"B\":%lld,\"H\":%lld,\"T\":%lld,\"D\":%lld,\"causal\":%s,\"threads\":%d",
            (long long)o->batch, (long long)o->heads, (long long)r->T, (long long)o->dim,
            o->causal ? "true" : "false", r->threads);
    fprintf(out, ",\"sgemm_gflops\":%.6g,\"sgemm_tile_gflops\":%.6g,\"sgemm_strip_gflops\":%.6g"
            ",\"isa\":", rate->big, rate->tile, rate->strip);
    json_string(out, isa);
    fputs(",\"openblas_coretype\":", out);
    json_string(out, coretype());
    if (r->norm == MMX_NORM_ENTMAX) fprintf(out, ",\"alpha\":%.17g", o->alpha);
    if (r->ms > 0) {
        double fl = ba_flops(o, r->T, r->pass), gf = fl / (r->ms * 1e6);
        fprintf(out, ",\"ms\":%.6g,\"flops\":%.6g,\"gflops\":%.6g,\"frac_sgemm\":%.4g"
                ",\"peak_extra_mb\":%.6g,\"reps\":%d",
                r->ms, fl, gf, gf / rate->big, r->peak_mb, r->reps);
        if (r->bwd_ms >= 0) fprintf(out, ",\"bwd_ms\":%.6g", r->bwd_ms);
        if (r->load >= 0) fprintf(out, ",\"load1\":%.2f", r->load);
        json_ratios(out, r, all);
    }
    if (r->note[0]) {
        fputs(r->ms > 0 ? ",\"note\":" : ",\"error\":", out);
        json_string(out, r->note);
    }
    fputs("}\n", out);
}

/* "what: num / den = ratio"; a pair not measured is said so when `must`, else skipped. */
static void ratio_line(FILE *out, const char *what, const ba_row *num, const ba_row *den,
                       int must) {
    if (num && den)
        fprintf(out, "  %s: %.3f ms / %.3f ms = %.2f\n", what, num->ms, den->ms, num->ms / den->ms);
    else if (must)
        fprintf(out, "  %s: not measured\n", what);
}

/* The targets: fused MultiMax and EntMax-1.5 against fused SoftMax per T, and
 * against PyTorch (the targets are at T = 1024; other T are printed when measured). */
static void summary_ratios(FILE *out, const ba_rows *all, const ba_opts *o, int t) {
    int thr = o->threads[t];
    char what[160];
    for (int i = 0; i < o->n_T; i++) {
        int64_t T = o->T[i];
        snprintf(what, sizeof what, "fused multimax / fused softmax, fwdbwd, T=%lld thr=%d",
                 (long long)T, thr);
        ratio_line(out, what, find(all, MMX_NORM_MULTIMAX, BA_FWDBWD, "fused", T, thr),
                   find(all, MMX_NORM_SOFTMAX, BA_FWDBWD, "fused", T, thr), 1);
    }
    for (int i = 0; i < o->n_T; i++) {
        int64_t T = o->T[i];
        const ba_row *mm = find(all, MMX_NORM_MULTIMAX, BA_FWDBWD, "fused", T, thr);
        snprintf(what, sizeof what, "torch_softmax / fused multimax, fwdbwd, T=%lld thr=%d "
                 "(speedup)", (long long)T, thr);
        ratio_line(out, what, find(all, MMX_NORM_SOFTMAX, BA_FWDBWD, "torch_softmax", T, thr), mm,
                   T == 1024);
        snprintf(what, sizeof what, "torch_multimax / fused multimax, fwdbwd, T=%lld thr=%d "
                 "(speedup)", (long long)T, thr);
        ratio_line(out, what, find(all, MMX_NORM_MULTIMAX, BA_FWDBWD, "torch_multimax", T, thr),
                   mm, T == 1024);
    }
    for (int i = 0; i < o->n_T; i++) {
        int64_t T = o->T[i];
        snprintf(what, sizeof what, "fused entmax15 / fused softmax, fwdbwd, T=%lld thr=%d",
                 (long long)T, thr);
        ratio_line(out, what, find(all, MMX_NORM_ENTMAX15, BA_FWDBWD, "fused", T, thr),
                   find(all, MMX_NORM_SOFTMAX, BA_FWDBWD, "fused", T, thr), T == 1024);
    }
}

/* Peak extra memory of the fused path against one materialised (B, H, T, T) float matrix. */
static void summary_memory(FILE *out, const ba_rows *all, const ba_opts *o) {
    fputs("\npeak extra memory, fused (largest over the norms and passes measured) vs a "
          "materialised (B,H,T,T) float32 matrix:\n", out);
    for (int i = 0; i < o->n_T; i++) {
        int64_t T = o->T[i];
        double mat = (double)o->batch * (double)o->heads * (double)T * (double)T * 4.0 / 1e6;
        double fused = -1.0, naive = -1.0;
        for (int j = 0; j < all->n; j++) {
            const ba_row *r = &all->v[j];
            if (r->T != T || r->ms <= 0) continue;
            if (!strcmp(r->impl, "fused") && r->peak_mb > fused) fused = r->peak_mb;
            if (!strcmp(r->impl, "naive") && r->peak_mb > naive) naive = r->peak_mb;
        }
        fprintf(out, "  T=%-6lld one matrix %10.1f MB; fused ", (long long)T, mat);
        if (fused >= 0) fprintf(out, "%8.2f MB (%.4f of one matrix)", fused, fused / mat);
        else fputs("not measured", out);
        if (naive >= 0) fprintf(out, "; naive %.1f MB", naive);
        fputc('\n', out);
    }
}

void ba_summary(FILE *out, const ba_rows *all, const ba_opts *o) {
    fputs("\nsummary (this run; speedup > 1 = the fused path is faster):\n", out);
    for (int t = 0; t < o->n_threads; t++) summary_ratios(out, all, o, t);
    summary_memory(out, all, o);
    int notes = 0;
    for (int i = 0; i < all->n; i++) notes += all->v[i].ms <= 0 && all->v[i].note[0];
    if (notes) fprintf(out, "\n%d row(s) without a time: see their notes above\n", notes);
}
