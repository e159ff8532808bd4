/* train_cli.c - see train_cli.h. */
#include "train_cli.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train/checkpoint.h"

int train_specs(opt_spec *s, train_config *tc, int *threads, int *quiet, int *no_augment)
{
    int n = 0;
#define SPEC(nm, ty, p, h, lo, hi) s[n++] = (opt_spec){nm, ty, p, h, lo, hi}
    SPEC("norm", OPT_NORM, &tc->model.attn_norm, "attention normalizer", 0, 0);
    SPEC("head-norm", OPT_NORM, &tc->model.head_norm,
         "classifier output normalizer (not evsoftmax)", 0, 0);
    SPEC("alpha", OPT_DOUBLE, &tc->model.alpha, "alpha of --norm/--head-norm entmax", 1.0001, 10);
    SPEC("mm-zero-init", OPT_FLAG, &tc->model.mm_zero_init, "MultiMax coefficients start at 0", 0,
         0);
    SPEC("depth", OPT_INT, &tc->model.depth, "transformer blocks", 1, VIT_MAX_DEPTH);
    SPEC("dim", OPT_INT, &tc->model.dim, "model width", 2, 4096);
    SPEC("heads", OPT_INT, &tc->model.heads, "attention heads", 1, 256);
    SPEC("patch", OPT_INT, &tc->model.patch, "patch side in pixels (divides 28)", 1, 28);
    SPEC("mlp-ratio", OPT_INT, &tc->model.mlp_ratio, "MLP width / model width", 1, 16);
    SPEC("epochs", OPT_INT, &tc->epochs, "training epochs", 1, 100000);
    SPEC("batch", OPT_INT, &tc->batch, "images per step", 1, 65536);
    SPEC("lr", OPT_DOUBLE, &tc->opt.lr, "peak learning rate (AdamW)", 1e-9, 10);
    SPEC("min-lr", OPT_DOUBLE, &tc->opt.min_lr, "final learning rate of the cosine", 0, 10);
    SPEC("wd", OPT_DOUBLE, &tc->opt.weight_decay, "weight decay of the weight matrices", 0, 10);
    SPEC("warmup", OPT_DOUBLE, &tc->warmup_epochs, "warmup epochs (linear)", 0, 1000);
    SPEC("clip", OPT_DOUBLE, &tc->opt.clip, "max gradient norm (0 = off)", 0, 1e9);
    SPEC("mod-clip", OPT_DOUBLE, &tc->opt.mod_clip, "max modulator gradient norm (0 = off)", 0,
         1e9);
    SPEC("mod-lr-scale", OPT_DOUBLE, &tc->opt.mod_lr_scale, "modulator lr / lr", 0, 1000);
    SPEC("label-smoothing", OPT_DOUBLE, &tc->label_smoothing, "label smoothing", 0, 0.99);
    SPEC("no-augment", OPT_FLAG, no_augment, "no random crop / flip", 0, 0);
    SPEC("pad", OPT_INT, &tc->pad, "random-crop padding in pixels", 0, 14);
    SPEC("seed", OPT_U64, &tc->seed, "seed of init, shuffling and augmentation", 0, 1e15);
    SPEC("threads", OPT_INT, threads, "threads (0 = all cores)", 0, 1024);
    SPEC("train-limit", OPT_I64, &tc->train_limit, "use the first N training images (0 = all)", 0,
         1e9);
    SPEC("test-limit", OPT_I64, &tc->test_limit, "evaluate on the first N test images (0 = all)", 0,
         1e9);
    SPEC("data", OPT_STR, &tc->data_dir,
         "Fashion-MNIST directory (default: $MMX_FMNIST_DIR or " MMX_FMNIST_DEFAULT_DIR ")", 0, 0);
    SPEC("out", OPT_STR, &tc->out_dir, "output directory (checkpoint, log), required", 0, 0);
    SPEC("resume", OPT_FLAG, &tc->resume, "continue from OUT/checkpoint.safetensors", 0, 0);
    SPEC("save-every", OPT_I64, &tc->save_every, "also checkpoint every N steps (0 = epochs only)",
         0, 1e12);
    SPEC("stop-at", OPT_I64, &tc->stop_at, "stop after N steps in total, saved (0 = off)", 0, 1e12);
    SPEC("log-every", OPT_INT, &tc->log_every, "steps between log.jsonl step lines", 0, 1000000);
    SPEC("quiet", OPT_FLAG, quiet, "no progress or epoch lines", 0, 0);
#undef SPEC
    return n;
}

int train_cli_error(const char *prog, mmx_status st)
{
    fprintf(stderr, "%s: %s\n", prog, mmx_last_error());
    if (st == MMX_ERR_NOMEM)
        fprintf(stderr, "hint: try a smaller --batch or model\n");
    return CLI_EXIT_DATA;
}

mmx_status train_load_model(vit_model *m, const char *path, int max_batch)
{
    mmx_st_file f;
    vit_config c;
    memset(m, 0, sizeof *m);
    mmx_status st = mmx_st_read(&f, path);
    if (st != MMX_OK)
        return st;
    st = ckpt_read_config(&f, path, &c);
    if (st == MMX_OK)
        st = vit_build(m, &c, max_batch);
    if (st == MMX_OK)
        st = ckpt_load(&f, path, m, NULL, NULL);
    if (st != MMX_OK)
        vit_free(m);
    mmx_st_free(&f);
    return st;
}

int train_set_threads(const char *prog, int threads)
{
    if (threads > 0 && mmx_set_num_threads(threads) != MMX_OK) {
        fprintf(stderr, "%s: --threads %d: %s\n", prog, threads, mmx_last_error());
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}
