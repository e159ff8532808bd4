/* cmd_eval.c - `multimax eval CHECKPOINT`: test loss and accuracy of a trained ViT. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train_cli.h"

static const char *const k_prog = "multimax eval";

int cmd_eval(int argc, char **argv)
{
    int threads = 0, batch = 250;
    int64_t limit = 0;
    const char *data = NULL;
    opt_spec s[] = {
        {"batch", OPT_INT, &batch, "images per forward pass", 1, 65536},
        {"test-limit", OPT_I64, &limit, "evaluate on the first N test images (0 = all)", 0, 1e9},
        {"threads", OPT_INT, &threads, "threads (0 = all cores)", 0, 1024},
        {"data", OPT_STR, &data, "Fashion-MNIST directory", 0, 0},
    };
    int ns = (int)(sizeof s / sizeof s[0]);
    const char *pos[1];
    int npos = 0;
    int rc = opts_help_or_parse(k_prog,
                                "usage: multimax eval CHECKPOINT [options]\n\nTest loss and "
                                "accuracy of a checkpoint written by `multimax train vit`.\n",
                                s, ns, argc, argv, 1, pos, 1, &npos);
    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (npos != 1) {
        fprintf(stderr, "%s: expected one CHECKPOINT argument (see --help)\n", k_prog);
        return CLI_EXIT_USAGE;
    }
    if (train_set_threads(k_prog, threads) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    vit_model m;
    mmx_images test;
    memset(&test, 0, sizeof test);
    mmx_status st = train_load_model(&m, pos[0], batch);
    if (st == MMX_OK)
        st = mmx_fmnist_load(NULL, &test, data);
    if (st == MMX_OK && limit > 0 && limit < test.n)
        mmx_images_truncate(&test, limit);
    double loss = 0.0, acc = 0.0;
    if (st == MMX_OK)
        st = train_evaluate(&m, &test, batch, 0.0, &loss, &acc);
    if (st == MMX_OK)
        printf("checkpoint: %s\nmodel: norm %s, head %s, depth %d, dim %d, heads %d, patch %d, "
               "%lld parameters\ntest images: %lld\ntest accuracy: %.2f%%\ntest loss: %.4f\n",
               pos[0], mmx_norm_name(m.cfg.attn_norm), mmx_norm_name(m.cfg.head_norm), m.cfg.depth,
               m.cfg.dim, m.cfg.heads, m.cfg.patch, (long long)m.n_params, (long long)test.n,
               100.0 * acc, loss);
    vit_free(&m);
    mmx_images_free(&test);
    if (st != MMX_OK)
        return train_cli_error(k_prog, st);
    return cli_finish_output(k_prog, CLI_EXIT_OK);
}
