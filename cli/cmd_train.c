/* cmd_train.c - `multimax train vit [options] --out DIR`: trains a ViT on Fashion-MNIST. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "train_cli.h"

static const char *const k_prog = "multimax train vit";

static const char *const k_usage =
    "usage: multimax train vit [options] --out DIR\n\n"
    "Trains a ViT (pre-norm, global average pooling) on Fashion-MNIST with AdamW,\n"
    "warmup + cosine, label smoothing and random crop + flip; evaluates each epoch;\n"
    "writes DIR/checkpoint.safetensors (each epoch, atomically) and DIR/log.jsonl.\n";

int cmd_train(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "vit") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            fprintf(stdout,
                    "usage: multimax train vit [options] --out DIR (see train vit --help)\n");
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "multimax train: expected a model: 'multimax train vit ...'\n");
        return CLI_EXIT_USAGE;
    }
    train_config tc = train_config_default();
    opt_spec specs[TRAIN_MAX_SPECS];
    int threads = 0, quiet = 0, no_augment = 0;
    int n = train_specs(specs, &tc, &threads, &quiet, &no_augment);
    int rc = opts_help_or_parse(k_prog, k_usage, specs, n, argc, argv, 2, NULL, 0, NULL);
    if (rc != 0)
        return rc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (!tc.out_dir) {
        fprintf(stderr, "%s: --out DIR is required (where the checkpoint and log go)\n", k_prog);
        return CLI_EXIT_USAGE;
    }
    if (train_set_threads(k_prog, threads) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    tc.augment = !no_augment;
    tc.progress = !quiet;
    tc.name = mmx_norm_name(tc.model.attn_norm);
    train_result r;
    mmx_status st = train_run(&tc, &r);
    if (st != MMX_OK)
        return train_cli_error(k_prog, st);
    printf("done: %lld steps, test accuracy %.2f%%, test loss %.4f, %.1f ms/step, "
           "%.0f images/s, %lld parameters\ncheckpoint: %s/checkpoint.safetensors\n",
           (long long)r.steps, 100.0 * r.test_acc, r.test_loss, r.ms_per_step, r.images_per_s,
           (long long)r.params, tc.out_dir);
    return cli_finish_output(k_prog, CLI_EXIT_OK);
}
