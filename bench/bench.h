/*
 * bench.h - entry points of the `multimax bench ...` subcommands (the .c files of bench/).
 *
 * Each returns an exit status: 0 ok, 1 a library / runtime error (message printed),
 * 2 a bad command line (message printed). argv[0] is the subcommand's own name.
 */
#ifndef MMX_BENCH_H
#define MMX_BENCH_H

/* `multimax bench norms [options]`: forward / backward speed of every normalizer against
 * a memcpy of the same bytes, optionally against the PyTorch / entmax peers. */
int mmx_bench_norms_main(int argc, char **argv);

/* `multimax bench attn [options]`: the fused attention (mmx_attn_forward / _backward) of each
 * normalizer against the machine's sgemm rate, optionally against the naive materialised path
 * and the PyTorch peers. */
int mmx_bench_attn_main(int argc, char **argv);

/* `multimax bench train`: ViT training step time per normalizer (bench_train.c). */
int mmx_bench_train_main(int argc, char **argv);

#endif /* MMX_BENCH_H */
