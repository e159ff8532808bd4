/*
 * cmd_info.c - `multimax info`: library version, how it was built, the CPU features it
 * detected, the float32 kernels in use, and its thread count.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cli_usage(stdout);
        return cli_finish_output("multimax info", CLI_EXIT_OK);
    }
    if (argc > 1) {
        fprintf(stderr, "multimax info: unexpected argument '%s' (info takes none)\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    printf("version:      %s (header %d.%d.%d)\n", mmx_version(), MMX_VERSION_MAJOR,
           MMX_VERSION_MINOR, MMX_VERSION_PATCH);
    printf("build:        %s\n", mmx_build_info());
    const char *features = mmx_cpu_features();
    printf("cpu features: %s\n", *features ? features : "(none beyond baseline)");
    printf("f32 kernels:  %s (MMX_ISA=avx512|avx2|portable forces one)\n", mmx_isa());
    printf("threads:      %d\n", mmx_get_num_threads());
    return cli_finish_output("multimax info", CLI_EXIT_OK);
}
