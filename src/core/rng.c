/* rng.c - xoshiro256** (Blackman and Vigna) seeded by splitmix64; see rng.h. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void mmx_rng_seed(mmx_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

void mmx_rng_derive(mmx_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (a * 0xD1B54A32D192ED03ull);
    h = splitmix64(&x);
    x = h ^ (b * 0x8CB92BA72F3D8DD7ull);
    mmx_rng_seed(r, splitmix64(&x));
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mmx_rng_u64(mmx_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mmx_rng_uniform(mmx_rng *r) { return (double)(mmx_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t mmx_rng_below(mmx_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* accept [0, limit): a multiple of n */
    uint64_t x;
    do {
        x = mmx_rng_u64(r);
    } while (x >= limit);
    return x % n;
}

double mmx_rng_normal(mmx_rng *r)
{
    double u1 = 1.0 - mmx_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = mmx_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double mmx_rng_trunc_normal(mmx_rng *r, double std, double lo, double hi)
{
    for (;;) {
        double x = std * mmx_rng_normal(r);
        if (x >= lo && x <= hi)
            return x;
    }
}

void mmx_rng_shuffle(mmx_rng *r, int64_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mmx_rng_below(r, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
