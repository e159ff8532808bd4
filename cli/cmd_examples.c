/*
 * cmd_examples.c - `multimax examples`: the paper's worked examples (Zhou, Fritz, Keuper, ICML
 * 2024). Every normalizer on x = (10, x2, -1) with its multi-modality M and sparsity S,
 * the SoftMax temperature trade-off (Proposition 1), and a hand-set MultiMax that escapes
 * it. Everything is computed in float64 through the public API.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const k_prog = "multimax examples";

#define DEMO_COLS 3

/* First-order MultiMax in the official order-2 layout: sigma(x) = x - 20 relu(-x)
 * - 0.734 relu(x - 5), i.e. slope 21 below 0, 1 on [0, 5], 0.266 above 5. */
static const double k_ranges[4] = {0.0, 5.0, 0.0, 0.0};
static const double k_ts[4] = {-20.0, -0.734, 0.0, 0.0};

typedef struct {
    const char *label;
    mmx_norm norm;
} demo_norm;

static void print_metric(double v) {
    if (v == MMX_METRIC_UNDEFINED)
        printf("  %7s", "undef");
    else
        printf("  %7.4f", v);
}

/* y = f(x) and its (M, S) for one row of DEMO_COLS entries, eps = 0. */
static int run_row(const mmx_norm *norm, const double *x, double *y, double *m, double *s) {
    mmx_status st = mmx_forward_f64(norm, y, DEMO_COLS, x, DEMO_COLS, 1, DEMO_COLS);
    if (st == MMX_OK)
        st = mmx_metrics_f64(m, s, NULL, NULL, y, DEMO_COLS, x, DEMO_COLS, 1, DEMO_COLS, 0.0);
    if (st != MMX_OK) {
        cli_lib_error(k_prog, 0, st);
        return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

static int print_norm_row(const demo_norm *d, const double *x) {
    double y[DEMO_COLS], m = 0.0, s = 0.0;
    if (run_row(&d->norm, x, y, &m, &s) != CLI_EXIT_OK) return CLI_EXIT_DATA;
    printf("  %-18s", d->label);
    for (int j = 0; j < DEMO_COLS; j++) printf("  %10.4g", y[j]);
    print_metric(m);
    print_metric(s);
    putchar('\n');
    return CLI_EXIT_OK;
}

static int section_norms(void) {
    const demo_norm norms[] = {
        {"softmax", mmx_norm_softmax(1.0)},
        {"sparsemax", mmx_norm_sparsemax()},
        {"entmax15", mmx_norm_entmax15()},
        {"entmax alpha=1.25", mmx_norm_entmax(1.25)},
        {"evsoftmax (eval)", mmx_norm_evsoftmax(1)},
        {"multimax (hand-set)", mmx_norm_multimax(2, k_ranges, k_ts)},
    };
    const double x2s[] = {8.0, 6.0, 4.0};
    puts("1. Every normalizer on x = (10, x2, -1). A good attention map keeps the two");
    puts("   positive scores comparable (high M) and gives -1 exactly zero (high S).");
    for (size_t i = 0; i < sizeof x2s / sizeof x2s[0]; i++) {
        const double x[DEMO_COLS] = {10.0, x2s[i], -1.0};
        printf("\n  x = (10, %g, -1)\n", x2s[i]);
        printf("  %-18s  %10s  %10s  %10s  %7s  %7s\n", "normalizer", "p1", "p2", "p3", "M", "S");
        for (size_t k = 0; k < sizeof norms / sizeof norms[0]; k++)
            if (print_norm_row(&norms[k], x) != CLI_EXIT_OK) return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

static int section_temperature(void) {
    const double x[DEMO_COLS] = {10.0, 8.0, -1.0};
    const double temps[] = {0.5, 1.0, 2.0, 4.0};
    puts("\n2. SoftMax temperature sweep on x = (10, 8, -1). A low t is sparse but keeps one");
    puts("   mode, a high t keeps both modes but is dense: no t gets both (Proposition 1).");
    printf("\n  %-6s  %7s  %7s\n", "t", "M", "S");
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) {
        const mmx_norm sm = mmx_norm_softmax(temps[i]);
        double y[DEMO_COLS], m = 0.0, s = 0.0;
        if (run_row(&sm, x, y, &m, &s) != CLI_EXIT_OK) return CLI_EXIT_DATA;
        printf("  %-6g", temps[i]);
        print_metric(m);
        print_metric(s);
        putchar('\n');
    }
    return CLI_EXIT_OK;
}

static int section_multimax(void) {
    const mmx_norm mm = mmx_norm_multimax(2, k_ranges, k_ts);
    const double x[DEMO_COLS] = {10.0, 8.0, -1.0};
    const double pts[] = {-1.0, 0.0, 5.0, 8.0, 10.0};
    double y[DEMO_COLS], m = 0.0, s = 0.0;
    puts("\n3. A hand-set first-order MultiMax, ranges = {0, 5, 0, 0}, ts = {-20, -0.734, 0, 0}:");
    puts("   slope 21 below 0 pushes small scores to zero (low temperature there), slope 0.266");
    puts("   above 5 keeps 8 and 10 comparable (high temperature there).");
    printf("\n  %-8s", "x");
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) printf("  %8g", pts[i]);
    printf("\n  %-8s", "sigma(x)");
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++)
        printf("  %8.3f", mmx_multimax_sigma(&mm, pts[i]));
    putchar('\n');
    if (run_row(&mm, x, y, &m, &s) != CLI_EXIT_OK) return CLI_EXIT_DATA;
    printf("\n  MultiMax(10, 8, -1) = (%.4g, %.4g, %.4g):  M = %.4f, S = %.4f\n", y[0], y[1],
           y[2], m, s);
    puts("  Both high at once, which no SoftMax temperature above reaches.");
    return CLI_EXIT_OK;
}

int cmd_examples(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cli_usage(stdout);
        return cli_finish_output(k_prog, CLI_EXIT_OK);
    }
    if (argc > 1) {
        fprintf(stderr, "%s: unexpected argument '%s' (examples takes none)\n", k_prog, argv[1]);
        return CLI_EXIT_USAGE;
    }
    puts("MultiMax demo: the paper's examples (Zhou, Fritz, Keuper, ICML 2024).");
    puts("M = multi-modality (Def. 3.2), S = sparsity (Def. 3.3), eps = 0; both in [0, 1],");
    puts("higher is better. p = 0 is an exact zero; tiny values print as e.g. 1.5e-05.\n");
    int rc = section_norms();
    if (rc == CLI_EXIT_OK) rc = section_temperature();
    if (rc == CLI_EXIT_OK) rc = section_multimax();
    return cli_finish_output(k_prog, rc);
}
