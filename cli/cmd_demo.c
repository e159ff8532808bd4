/*
 * cmd_demo.c - `multimax demo`, the main job: trains a SoftMax ViT and a MultiMax ViT
 * (MultiMax in every attention layer and on the classifier output, as in the paper's DeiT
 * experiment) briefly on Fashion-MNIST, then prints them side by side (accuracy, attention
 * sparsity and multi-modality, over-smoothing, time per step) and writes one HTML report.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train_cli.h"

static const char *const k_prog = "multimax demo";

enum { DEMO_MODELS = 2 };

typedef struct {
    const char *name;
    train_result tr;
    vit_model m;
    vit_analysis a;
} demo_run;

static double layer_mean(const double *v, int n)
{
    double s = 0.0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] != MMX_METRIC_UNDEFINED)
            s += v[i], k++;
    return k ? s / k : MMX_METRIC_UNDEFINED;
}

/* Training-step time of the two trained models measured side by side: DEMO_ROUNDS rounds
 * of one step each (after 2 warm-up rounds) on the first 100 test images; medians into ms.
 * The models train further here, so this runs after their analysis and report. */
enum { DEMO_ROUNDS = 9, DEMO_BATCH = 100 };

static mmx_status interleaved_ms(demo_run *r, const mmx_images *test, double *ms)
{
    static float x[DEMO_BATCH * 28 * 28];
    int32_t y[DEMO_BATCH];
    int64_t idx[DEMO_BATCH];
    double t[DEMO_MODELS][DEMO_ROUNDS];
    adamw o[DEMO_MODELS];
    adamw_config oc = adamw_config_default();
    int b = test->n < DEMO_BATCH ? (int)test->n : DEMO_BATCH, built = 0;
    for (int i = 0; i < b; i++)
        idx[i] = i;
    mmx_images_batch(x, y, test, idx, b, 0, 0, 0, 0, MMX_FMNIST_MEAN, MMX_FMNIST_STD);
    mmx_status st = MMX_OK;
    for (; built < DEMO_MODELS && st == MMX_OK; built++)
        st = adamw_build(&o[built], &oc, r[built].m.n_params);
    for (int k = -2; k < DEMO_ROUNDS && st == MMX_OK; k++)
        for (int i = 0; i < DEMO_MODELS && st == MMX_OK; i++) {
            double t0 = train_now(), loss;
            st = vit_forward(&r[i].m, x, y, b, 0.1, 1, &loss);
            if (st == MMX_OK)
                st = vit_backward(&r[i].m, y, b, 0.1);
            if (st == MMX_OK)
                adamw_step(&o[i], &r[i].m, NULL);
            if (k >= 0)
                t[i][k] = 1e3 * (train_now() - t0);
        }
    for (int i = 0; i < DEMO_MODELS && st == MMX_OK; i++) { /* median: insertion sort */
        for (int a = 1; a < DEMO_ROUNDS; a++)
            for (int c = a; c > 0 && t[i][c - 1] > t[i][c]; c--) {
                double tmp = t[i][c];
                t[i][c] = t[i][c - 1], t[i][c - 1] = tmp;
            }
        ms[i] = t[i][DEMO_ROUNDS / 2];
    }
    for (int i = 0; i < built; i++)
        adamw_free(&o[i]);
    return st;
}

static void print_table(const demo_run *r, const double *ims)
{
    printf("\n%-34s %12s %12s\n", "", r[0].name, r[1].name);
    printf("%-34s %11.2f%% %11.2f%%\n", "test accuracy", 100 * r[0].tr.test_acc,
           100 * r[1].tr.test_acc);
    printf("%-34s %12.4f %12.4f\n", "test loss", r[0].tr.test_loss, r[1].tr.test_loss);
    printf("%-34s %12.4f %12.4f\n", "attention sparsity (mean of layers)",
           layer_mean(r[0].a.sparsity, r[0].a.depth), layer_mean(r[1].a.sparsity, r[1].a.depth));
    printf("%-34s %12.4f %12.4f\n", "attention multi-modality (mean)",
           layer_mean(r[0].a.multimodality, r[0].a.depth),
           layer_mean(r[1].a.multimodality, r[1].a.depth));
    printf("%-34s %12.4f %12.4f\n", "over-smoothing, last layer", r[0].a.oversmooth[r[0].a.depth],
           r[1].a.oversmooth[r[1].a.depth]);
    printf("%-34s %12.1f %12.1f\n", "ms per training step", r[0].tr.ms_per_step,
           r[1].tr.ms_per_step);
    printf("%-34s %12.0f %12.0f\n", "training images / s", r[0].tr.images_per_s,
           r[1].tr.images_per_s);
    printf("%-34s %12.1f %12.1f\n", "ms per step, side by side (batch 100)", ims[0], ims[1]);
    if (ims[0] > 0)
        printf("MultiMax step time vs SoftMax: %+.1f%% (side by side: %d interleaved steps each,\n"
               "  medians; the epoch averages above come one after the other; paper, PyTorch\n"
               "  DeiT-small: +12.3%%)\n",
               100.0 * (ims[1] / ims[0] - 1.0), DEMO_ROUNDS);
}

static mmx_status run_one(demo_run *r, train_config tc, const char *out, mmx_images *test)
{
    char dir[4096], ckpt[4200];
    snprintf(dir, sizeof dir, "%s/%s", out, r->name);
    tc.out_dir = dir;
    tc.name = r->name;
    mmx_status st = train_run(&tc, &r->tr);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    if (st == MMX_OK)
        st = train_load_model(&r->m, ckpt, 100);
    if (st == MMX_OK)
        st = vit_analyze(&r->m, test, test->n < 1000 ? (int)test->n : 1000, 4, &r->a);
    return st;
}

int cmd_demo(int argc, char **argv)
{
    train_config tc = train_config_default();
    const char *out = "multimax-demo";
    int threads = 0;
    tc.epochs = 2; /* about 3.5 minutes in total on 2 cores (README) */
    tc.train_limit = 0;
    tc.model.depth = 4;
    tc.model.dim = 64;
    tc.model.heads = 4;
    tc.warmup_epochs = 0.25;
    opt_spec s[] = {
        {"epochs", OPT_INT, &tc.epochs, "epochs per model", 1, 1000},
        {"train-limit", OPT_I64, &tc.train_limit, "training images (0 = all 60000)", 0, 1e9},
        {"depth", OPT_INT, &tc.model.depth, "blocks", 1, VIT_MAX_DEPTH},
        {"dim", OPT_INT, &tc.model.dim, "model width", 2, 4096},
        {"seed", OPT_U64, &tc.seed, "seed", 0, 1e15},
        {"threads", OPT_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {"out", OPT_STR, &out, "output directory (models, report)", 0, 0},
        {"data", OPT_STR, &tc.data_dir, "Fashion-MNIST directory", 0, 0},
    };
    int ns = (int)(sizeof s / sizeof s[0]);
    int rc = opts_help_or_parse(k_prog,
                                "usage: multimax demo [options]\n\nTrains a SoftMax and a "
                                "MultiMax ViT on Fashion-MNIST, compares them, writes "
                                "OUT/report.html.\n",
                                s, ns, argc, argv, 1, NULL, 0, NULL);
    if (rc == 1)
        return CLI_EXIT_OK;
    if (rc != 0 || train_set_threads(k_prog, threads) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    demo_run r[DEMO_MODELS];
    memset(r, 0, sizeof r);
    r[0].name = "softmax", r[1].name = "multimax";
    mmx_images test;
    memset(&test, 0, sizeof test);
    printf("multimax demo: ViT (depth %d, dim %d, %d heads, patch %d) on %lld Fashion-MNIST "
           "images, %d epochs, %d threads, %s kernels\n",
           tc.model.depth, tc.model.dim, tc.model.heads, tc.model.patch,
           (long long)(tc.train_limit > 0 ? tc.train_limit : 60000),
           tc.epochs, mmx_get_num_threads(), mmx_isa());
    mmx_status st = train_mkdir(out);
    if (st == MMX_OK)
        st = mmx_fmnist_load(NULL, &test, tc.data_dir);
    for (int i = 0; i < DEMO_MODELS && st == MMX_OK; i++) {
        train_config t = tc;
        t.model.attn_norm = t.model.head_norm = i == 0 ? MMX_NORM_SOFTMAX : MMX_NORM_MULTIMAX;
        st = run_one(&r[i], t, out, &test);
    }
    if (st == MMX_OK) {
        mmx_report_model rm[DEMO_MODELS];
        for (int i = 0; i < DEMO_MODELS; i++) {
            vit_analysis_report(&rm[i], &r[i].a, &r[i].m, r[i].name);
            rm[i].accuracy = r[i].tr.test_acc, rm[i].loss = r[i].tr.test_loss;
            rm[i].ms_per_step = r[i].tr.ms_per_step, rm[i].images_per_s = r[i].tr.images_per_s;
        }
        mmx_report_info info = {"multimax demo: SoftMax vs MultiMax ViT on Fashion-MNIST",
                                k_fmnist_classes, 10, "multimax demo"};
        st = mmx_report_write(out, &info, rm, DEMO_MODELS);
    }
    double ims[DEMO_MODELS] = {0, 0};
    if (st == MMX_OK)
        st = interleaved_ms(r, &test, ims);
    if (st == MMX_OK) {
        print_table(r, ims);
        printf("report: %s/report.html (checkpoints in %s/softmax, %s/multimax)\n", out, out, out);
    }
    for (int i = 0; i < DEMO_MODELS; i++)
        vit_analysis_free(&r[i].a), vit_free(&r[i].m);
    mmx_images_free(&test);
    if (st != MMX_OK)
        return train_cli_error(k_prog, st);
    return cli_finish_output(k_prog, CLI_EXIT_OK);
}
