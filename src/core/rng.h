/*
 * rng.h - a small, fast, seedable random number generator (xoshiro256**, seeded through
 * splitmix64), used by the training engine for initialisation, shuffling and augmentation.
 * Streams are derived from (seed, purpose, index) with mmx_rng_derive, so any step of a run
 * can be replayed without saving generator state (bit-exact --resume).
 */
#ifndef MMX_RNG_H
#define MMX_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mmx_rng;

/* Seeds the four words from splitmix64(seed). */
void mmx_rng_seed(mmx_rng *r, uint64_t seed);
/* A generator for the independent stream (seed, a, b), e.g. (run seed, epoch, batch). */
void mmx_rng_derive(mmx_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint64_t mmx_rng_u64(mmx_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double mmx_rng_uniform(mmx_rng *r);
/* Uniform integer in [0, n), n >= 1 (unbiased: rejection). */
uint64_t mmx_rng_below(mmx_rng *r, uint64_t n);
/* Standard normal (Box-Muller, one value per call). */
double mmx_rng_normal(mmx_rng *r);
/* Normal(0, std) truncated to [-2 std, 2 std] by rejection (timm's trunc_normal_(std=s)
 * truncates at absolute +-2, which for std = 0.02 is never reached; ViT/DeiT init). */
double mmx_rng_trunc_normal(mmx_rng *r, double std, double lo, double hi);
/* Fisher-Yates shuffle of idx[0..n). */
void mmx_rng_shuffle(mmx_rng *r, int64_t *idx, int64_t n);

#endif
