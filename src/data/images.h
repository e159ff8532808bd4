/*
 * images.h - labelled grey-scale image sets (Fashion-MNIST) read from gzipped IDX files, and
 * mini-batch assembly with the light augmentation of the ViT recipe (random crop with zero
 * padding, horizontal flip).
 *
 * IDX (big-endian): u32 magic 0x00000803 (images) or 0x00000801 (labels), one u32 per
 * dimension, then raw u8 data. Files are read with zlib (gzopen/gzread), so plain and gzipped
 * files both work.
 */
#ifndef MMX_DATA_IMAGES_H
#define MMX_DATA_IMAGES_H

#include <stdint.h>

#include "multimax.h"

/* Where Debian's dataset-fashion-mnist package puts the files. MMX_FMNIST_DIR overrides. */
#define MMX_FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define MMX_FMNIST_PACKAGE "dataset-fashion-mnist"
/* Mean and standard deviation of the Fashion-MNIST training pixels (in [0, 1]). */
#define MMX_FMNIST_MEAN 0.2860f
#define MMX_FMNIST_STD 0.3530f

typedef struct {
    int64_t n;         /* number of images                       */
    int64_t rows, cols; /* image height and width (28 x 28)       */
    uint8_t *pixels;   /* (n, rows, cols), owned                 */
    int32_t *labels;   /* (n) class indices in [0, classes)      */
    int32_t classes;   /* 1 + largest label                      */
} mmx_images;

/*
 * Reads an image IDX file (n, rows, cols) and its label IDX file (n). Sizes must be sane
 * (1 <= n <= 10^8, rows and cols in 1..4096) and each file must end exactly where its header
 * says (this also makes zlib verify a gzip file's CRC). On failure returns MMX_ERR_NULL, MMX_ERR_IO
 * (missing or unreadable: the message names the file and, when it is under
 * MMX_FMNIST_DEFAULT_DIR, the Debian package to install), MMX_ERR_FORMAT (bad magic, bad sizes,
 * truncated or damaged data, trailing bytes, image and label counts that differ, a label > 254)
 * or MMX_ERR_NOMEM; *im is then left empty (all zero) and nothing leaks.
 */
mmx_status mmx_images_load_idx(mmx_images *im, const char *images_path, const char *labels_path);

/* Fashion-MNIST's train (60000) and test (10000) sets from dir (NULL: $MMX_FMNIST_DIR if set and
 * not empty, else MMX_FMNIST_DEFAULT_DIR), files train-images-idx3-ubyte.gz,
 * train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped or
 * plain). Either output may be NULL. Errors as mmx_images_load_idx, except that a missing file
 * always names the Debian package, wherever dir is; on failure both outputs are left zero. */
mmx_status mmx_fmnist_load(mmx_images *train, mmx_images *test, const char *dir);

/* Keeps the first n images (0 <= n <= im->n; otherwise nothing changes); for quick runs and
 * tests. classes is kept, so a model's output count does not depend on the prefix. */
void mmx_images_truncate(mmx_images *im, int64_t n);

/* Frees the arrays and zeroes *im; NULL or an already freed set is fine. */
void mmx_images_free(mmx_images *im);

/*
 * One mini-batch: x (bsz, rows, cols) float = (pixel / 255 - mean) / std, y (bsz) labels, for the
 * images idx[0..bsz). With augment != 0 each image is, independently, shifted by a random
 * crop of the zero-padded image (padding `pad` on every side, offsets uniform in [0, 2 pad])
 * and flipped left-right with probability 1/2; the randomness comes from
 * mmx_rng_derive(seed, stream, image index in the batch), so a batch is a pure function of its
 * arguments (resume replays it bit-exactly). Padding is the normalised value of a 0 pixel.
 * Draws for image j, in this order: g = mmx_rng_derive(seed, stream, j); dy =
 * mmx_rng_below(g, 2 pad + 1); dx = the same; flip = mmx_rng_uniform(g) < 0.5; then
 * x(r, c) = pixel(r + dy - pad, c' + dx - pad) with c' = flip ? cols - 1 - c : c.
 * idx entries must lie in [0, im->n); y may be NULL; pad < 0 counts as 0.
 */
void mmx_images_batch(float *x, int32_t *y, const mmx_images *im, const int64_t *idx, int64_t bsz,
                      int augment, int pad, uint64_t seed, uint64_t stream, float mean, float std);

#endif
