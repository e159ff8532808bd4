/* cmd_analyze.c - `multimax analyze CHECKPOINT --out DIR`: the attention analysis report. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train_cli.h"

static const char *const k_prog = "multimax analyze";

const char *const k_fmnist_classes[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                          "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                          "Bag",         "Ankle boot"};

static void print_analysis(const char *name, const vit_analysis *a)
{
    printf("%-10s layer   sparsity  multi-modality  over-smoothing\n", name);
    for (int l = 0; l <= a->depth; l++) {
        if (l == 0) {
            printf("%-10s embed   %8s  %14s  %14.4f\n", "", "", "", a->oversmooth[0]);
            continue;
        }
        printf("%-10s %5d   %8.4f  %14.4f  %14.4f\n", "", l, a->sparsity[l - 1],
               a->multimodality[l - 1], a->oversmooth[l]);
    }
}

int cmd_analyze(int argc, char **argv)
{
    int threads = 0, images = 1000, maps = 4;
    const char *data = NULL, *out = NULL;
    opt_spec s[] = {
        {"out", OPT_STR, &out, "report directory, required", 0, 0},
        {"images", OPT_INT, &images, "test images for the metrics", 1, 10000},
        {"maps", OPT_INT, &maps, "test images with attention maps", 0, 64},
        {"threads", OPT_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {"data", OPT_STR, &data, "Fashion-MNIST directory", 0, 0},
    };
    int ns = (int)(sizeof s / sizeof s[0]);
    const char *pos[1];
    int npos = 0;
    int rc = opts_help_or_parse(k_prog,
                                "usage: multimax analyze CHECKPOINT --out DIR [options]\n\n"
                                "Per-layer attention sparsity and multi-modality, over-smoothing,"
                                " learned modulators\nand attention maps: DIR/report.html and "
                                "CSV files.\n",
                                s, ns, argc, argv, 1, pos, 1, &npos);
    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (npos != 1 || !out) {
        fprintf(stderr, "%s: expected CHECKPOINT and --out DIR (see --help)\n", k_prog);
        return CLI_EXIT_USAGE;
    }
    if (train_set_threads(k_prog, threads) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    vit_model m;
    mmx_images test;
    vit_analysis a;
    memset(&test, 0, sizeof test), memset(&a, 0, sizeof a);
    mmx_status st = train_load_model(&m, pos[0], 100);
    if (st == MMX_OK)
        st = mmx_fmnist_load(NULL, &test, data);
    if (st == MMX_OK && maps > m.max_batch)
        maps = m.max_batch;
    if (st == MMX_OK)
        st = vit_analyze(&m, &test, images < test.n ? images : (int)test.n,
                         maps < images ? maps : images, &a);
    double loss = 0.0, acc = 0.0;
    if (st == MMX_OK)
        st = train_evaluate(&m, &test, m.max_batch, 0.0, &loss, &acc);
    if (st == MMX_OK) {
        mmx_report_model rm;
        vit_analysis_report(&rm, &a, &m, mmx_norm_name(m.cfg.attn_norm));
        rm.accuracy = acc, rm.loss = loss;
        mmx_report_info info = {"MultiMax ViT analysis", k_fmnist_classes, 10, "multimax analyze"};
        st = mmx_report_write(out, &info, &rm, 1);
    }
    if (st == MMX_OK) {
        printf("test accuracy %.2f%%, loss %.4f (%lld images)\n", 100 * acc, loss,
               (long long)test.n);
        print_analysis(mmx_norm_name(m.cfg.attn_norm), &a);
        printf("report: %s/report.html\n", out);
    }
    vit_analysis_free(&a);
    vit_free(&m);
    mmx_images_free(&test);
    if (st != MMX_OK)
        return train_cli_error(k_prog, st);
    return cli_finish_output(k_prog, CLI_EXIT_OK);
}
