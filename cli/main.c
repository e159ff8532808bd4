/*
 * main.c - the `multimax` program: dispatch to one subcommand per file, usage text, and
 * the error reporting shared by the subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command k_commands[] = {
    {"info", cmd_info},
    {"apply", cmd_apply},
    {"metrics", cmd_metrics},
    {"demo", cmd_demo},
    {"examples", cmd_examples},
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"analyze", cmd_analyze},
    {"bench", cmd_bench},
};

void cli_usage(FILE *out) {
    fputs("usage: multimax <command> [options]\n"
          "\n"
          "commands:\n"
          "  info                     version, build options, CPU features, threads\n"
          "  apply NORM [options]     read rows from stdin, print f(x) per row (dx with --vjp)\n"
          "  metrics NORM [options]   read rows from stdin, print 'M S' per row (paper's metrics)\n"
          "  demo [options]           the main job: trains a SoftMax and a MultiMax ViT on\n"
          "                           Fashion-MNIST briefly, compares them, writes a report\n"
          "  train vit [options]      trains a ViT (any attention / output normalizer);\n"
          "                           `multimax train vit --help`\n"
          "  eval CHECKPOINT          test accuracy and loss of a trained ViT\n"
          "  analyze CHECKPOINT --out DIR   attention sparsity, multi-modality,\n"
          "                           over-smoothing, modulators, maps: DIR/report.html\n"
          "  examples                 the paper's examples: every normalizer's output, M and S\n"
          "  bench norms [options]    speed of every normalizer vs memcpy (and PyTorch/entmax\n"
          "                           with --peers); `multimax bench norms --help`\n"
          "  bench attn [options]     speed and memory of the fused attention vs sgemm (naive\n"
          "                           path with --naive, PyTorch with --peers);\n"
          "                           `multimax bench attn --help`\n"
          "  bench train [options]    ViT training step time per normalizer (and PyTorch with\n"
          "                           --peers); `multimax bench train --help`\n"
          "  help, --help, -h         this message\n"
          "  --version                print the version\n"
          "\n"
          "NORM: softmax | multimax | sparsemax | entmax15 | entmax | evsoftmax\n"
          "\n"
          "options of apply and metrics (also written --opt=value):\n"
          "  --temperature T   softmax only: temperature, T > 0 (default 1)\n"
          "  --alpha A         entmax only: alpha > 1 (default 1.5)\n"
          "  --ranges r,r,..   multimax only, required: 2N thresholds b1,d1,..,bN,dN (order N)\n"
          "  --ts t,t,..       multimax only, required: 2N coefficients tb1,td1,..,tbN,tdN\n"
          "  --eval            evsoftmax only: evaluation mode, exact zeros (default: training,\n"
          "                    below-mean entries weighted 1e-6)\n"
          "  --double          compute in float64 and print %.17g (default: float32, %.9g)\n"
          "  --vjp             apply only: lines are 'x1 x2 .. | dy1 dy2 ..', print dx per row;\n"
          "                    then 'dranges ..' and 'dts ..' (multimax, summed over rows) or\n"
          "                    'dalpha v' (entmax) (default: off)\n"
          "  --eps E           metrics only: relevance threshold eps (default 0)\n"
          "\n"
          "input: one row per line; numbers separated by spaces and/or commas; -inf masks an\n"
          "entry; blank lines are skipped; rows may differ in length. metrics prints\n"
          "'undefined' where a metric has no qualifying entry.\n"
          "exit status: 0 ok, 1 bad input data or library error, 2 bad command line.\n"
          "\n"
          "examples:\n"
          "  echo '10 8 -1' | multimax apply softmax --temperature 2\n"
          "  echo '10 8 -1' | multimax apply multimax --ranges 0,5,0,0 --ts -20,-0.734,0,0\n"
          "  echo '1 2 3 | 1 0 0' | multimax apply entmax --alpha 1.25 --vjp\n"
          "  echo '10 8 -1' | multimax metrics sparsemax\n",
          out);
}

static const char *status_hint(mmx_status st) {
    switch (st) {
    case MMX_ERR_VALUE:
        return "rows may hold finite numbers and -inf (masked); NaN and +inf are rejected";
    case MMX_ERR_PARAM:
        return "check the normalizer's options; see 'multimax help'";
    case MMX_ERR_SIZE:
        return "every row needs at least one number";
    case MMX_ERR_NOMEM:
        return "the row is too long for the available memory";
    default:
        return NULL;
    }
}

void cli_lib_error(const char *prog, long lineno, mmx_status st) {
    const char *msg = mmx_last_error();
    if (!msg || !*msg) msg = mmx_status_str(st);
    if (lineno > 0)
        fprintf(stderr, "%s: stdin line %ld: %s\n", prog, lineno, msg);
    else
        fprintf(stderr, "%s: %s\n", prog, msg);
    const char *hint = status_hint(st);
    if (hint) fprintf(stderr, "%s: hint: %s\n", prog, hint);
}

int cli_finish_output(const char *prog, int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: writing stdout: %s\n", prog, strerror(errno));
        return rc != CLI_EXIT_OK ? rc : CLI_EXIT_DATA;
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        cli_usage(stdout);
        return cli_finish_output("multimax", CLI_EXIT_OK);
    }
    if (!strcmp(name, "--version")) {
        printf("multimax %s\n", mmx_version());
        return cli_finish_output("multimax", CLI_EXIT_OK);
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (!strcmp(name, k_commands[i].name)) return k_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "multimax: unknown command '%s'\n\n", name);
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
}
