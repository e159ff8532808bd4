/*
 * png.h - 8-bit grey / RGB PNG files (through libpng) and the report's colormap.
 *
 * The name clashes with libpng's own <png.h> only if src/viz itself is put on the include
 * path; include this one as "viz/png.h" with -Isrc, as every other header here.
 */
#ifndef MMX_VIZ_PNG_H
#define MMX_VIZ_PNG_H

#include <stdint.h>

#include "multimax.h"

/*
 * Writes pixels (height, width, channels) row-major, channels 1 (grey) or 3 (RGB), as an
 * 8-bit PNG at path (overwritten). MMX_ERR_PARAM for sizes < 1, channels not 1 or 3, or
 * an image over 65535 pixels a side; MMX_ERR_NULL for a NULL pointer; MMX_ERR_IO naming
 * path (with strerror or libpng's message) when the file cannot be opened, written or
 * closed. libpng's own messages never reach stderr; a partial file may be left on error.
 */
mmx_status mmx_png_write(const char *path, const uint8_t *pixels, int width, int height,
                         int channels);

/*
 * The report's heat colormap: t in [0, 1] (clamped; NaN is 0) to an sRGB colour on a ramp
 * from deep indigo through blue, teal and green to yellow, with lightness rising steadily
 * so that order survives greyscale printing and the common colour-vision deficiencies.
 */
void mmx_colormap(double t, uint8_t rgb[3]);

#endif
