/*
 * cmd_bench.c - `multimax bench WHAT [options]`: the benchmarks of bench/ (documented in
 * docs/BENCHMARKS.md). WHAT: norms, attn, train.
 */
#include <string.h>

#include "bench.h"
#include "cli.h"

int cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        fputs("multimax bench: expected what to benchmark: norms, attn or train\n"
              "  multimax bench norms --help   lists its options\n"
              "  multimax bench attn --help    lists its options\n"
              "  multimax bench train --help   lists its options\n", stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "norms")) return mmx_bench_norms_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "attn")) return mmx_bench_attn_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return mmx_bench_train_main(argc - 1, argv + 1);
    fprintf(stderr, "multimax bench: unknown benchmark '%s', expected: norms, attn, train\n", argv[1]);
    return CLI_EXIT_USAGE;
}
