/* PNG writing with libpng's classic API, and the heat colormap. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "viz/png.h"

/* libpng reports errors by calling back and longjmp-ing; the callback keeps the message here
 * instead of printing it, so that the library stays silent and the caller gets it. */
typedef struct {
    char msg[160];
} png_err_ctx;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_err_ctx *ctx = (png_err_ctx *)png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* The setjmp lives in its own function whose locals are all set before it, so nothing
 * that a longjmp could leave half-updated (C11 7.13.2.1) is read afterwards. */
static int png_encode(png_structp png, png_infop info, FILE *f, const uint8_t *pixels,
                      int width, int height, int channels) {
    if (setjmp(png_jmpbuf(png))) return -1;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    return 0;
}

mmx_status mmx_png_write(const char *path, const uint8_t *pixels, int width, int height,
                         int channels) {
    static const char fn[] = "mmx_png_write";
    if (!path || !pixels)
        return mmx_fail(MMX_ERR_NULL, fn, "argument '%s' is NULL", path ? "pixels" : "path");
    if (width < 1 || height < 1 || width > 65535 || height > 65535)
        return mmx_fail(MMX_ERR_PARAM, fn, "image %d x %d, expected sides in [1, 65535]", width,
                        height);
    if (channels != 1 && channels != 3)
        return mmx_fail(MMX_ERR_PARAM, fn, "argument 'channels' = %d, expected 1 or 3", channels);
    FILE *f = fopen(path, "wb");
    if (!f) return mmx_fail(MMX_ERR_IO, fn, "cannot create '%s': %s", path, strerror(errno));
    png_err_ctx ctx = {{0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error,
                                              on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        return mmx_fail(MMX_ERR_NOMEM, fn, "cannot allocate libpng state for '%s'", path);
    }
    errno = 0;
    int bad = png_encode(png, info, f, pixels, width, height, channels);
    int err = errno; /* a short fwrite inside libpng leaves the reason here */
    png_destroy_write_struct(&png, &info);
    if (bad) {
        fclose(f);
        return mmx_fail(MMX_ERR_IO, fn, "cannot write '%s': %s%s%s", path, ctx.msg,
                        err ? ": " : "", err ? strerror(err) : "");
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) /* a full disk may show only when the buffer is flushed */
        return mmx_fail(MMX_ERR_IO, fn, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    return MMX_OK;
}

/* Hand-picked sRGB control points at t = 0, 1/4, 1/2, 3/4, 1. CIE L* of each is about
 * 14, 36, 55, 72, 90: near-equal steps, so perceived intensity follows t. */
static const uint8_t k_ramp[5][3] = {
    {38, 20, 95},   /* deep indigo */
    {40, 82, 165},  /* blue        */
    {28, 146, 150}, /* teal        */
    {118, 196, 86}, /* green       */
    {248, 230, 48}, /* yellow      */
};

void mmx_colormap(double t, uint8_t rgb[3]) {
    if (!(t > 0.0)) t = 0.0; /* also catches NaN */
    if (t > 1.0) t = 1.0;
    double pos = t * 4.0;
    int k = pos >= 4.0 ? 3 : (int)pos;
    double w = pos - (double)k;
    for (int c = 0; c < 3; c++) {
        double v = (1.0 - w) * k_ramp[k][c] + w * k_ramp[k + 1][c];
        rgb[c] = (uint8_t)lround(v);
    }
}
