/* The attention strips: the test image, then each layer's attention map over it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "viz/png.h"
#include "viz/report_impl.h"

/* Weight of the colour over the grey image: enough for the heat to read clearly while the
 * garment's outline still shows through. */
#define HEAT_ALPHA 0.55

/* heat (panel, panel) = bilinear resampling of map (g, g), sampling at pixel centres
 * (half-pixel offsets, as OpenCV and align_corners=False) with edges clamped, so a
 * token's value sits over the patch it came from. */
static void upsample(float *heat, int panel, const float *map, int g) {
    for (int y = 0; y < panel; y++) {
        double sy = ((double)y + 0.5) * g / panel - 0.5;
        sy = sy < 0.0 ? 0.0 : sy > g - 1 ? g - 1 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < g ? y0 + 1 : y0;
        double wy = sy - y0;
        for (int x = 0; x < panel; x++) {
            double sx = ((double)x + 0.5) * g / panel - 0.5;
            sx = sx < 0.0 ? 0.0 : sx > g - 1 ? g - 1 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < g ? x0 + 1 : x0;
            double wx = sx - x0;
            double top = (1.0 - wx) * map[y0 * g + x0] + wx * map[y0 * g + x1];
            double bot = (1.0 - wx) * map[y1 * g + x0] + wx * map[y1 * g + x1];
            heat[(size_t)y * panel + x] = (float)((1.0 - wy) * top + wy * bot);
        }
    }
}

/* Panel p of the strip: the grey image upscaled (nearest), with heat blended over it
 * (heat NULL: the plain image). heat is divided by its maximum so every panel uses the
 * colormap's full range; an all-zero map shows as 0 everywhere. */
static void draw_panel(uint8_t *rgb, int strip_w, int p, const uint8_t *img, int image,
                       const float *heat, float heat_max) {
    int scale = MMX_REPORT_SCALE(image), panel = MMX_REPORT_PANEL(image);
    int left = p * (panel + MMX_REPORT_GAP);
    for (int y = 0; y < panel; y++)
        for (int x = 0; x < panel; x++) {
            uint8_t g = img[(y / scale) * image + x / scale];
            uint8_t *out = rgb + ((size_t)y * strip_w + (size_t)(left + x)) * 3;
            if (!heat) {
                out[0] = out[1] = out[2] = g;
                continue;
            }
            uint8_t c[3];
            double a = heat_max > 0.0f ? heat[(size_t)y * panel + x] / heat_max : 0.0;
            mmx_colormap(a, c);
            for (int k = 0; k < 3; k++)
                out[k] = (uint8_t)lround((1.0 - HEAT_ALPHA) * g + HEAT_ALPHA * c[k]);
        }
}

void mmx_report_attn_strip(uint8_t *rgb, float *heat, const mmx_report_model *m, int i) {
    int panel = MMX_REPORT_PANEL(m->image), w = MMX_REPORT_STRIP_W(m->image, m->depth);
    size_t tokens = (size_t)m->grid * (size_t)m->grid;
    const uint8_t *img = m->images + (size_t)i * (size_t)m->image * (size_t)m->image;
    memset(rgb, 255, (size_t)w * (size_t)panel * 3); /* the gaps stay white */
    draw_panel(rgb, w, 0, img, m->image, NULL, 0.0f);
    for (int l = 0; l < m->depth; l++) {
        const float *map = m->maps + ((size_t)i * (size_t)m->depth + (size_t)l) * tokens;
        float mx = 0.0f;
        for (size_t t = 0; t < tokens; t++) mx = map[t] > mx ? map[t] : mx;
        upsample(heat, panel, map, m->grid);
        draw_panel(rgb, w, l + 1, img, m->image, heat, mx);
    }
}

static mmx_status write_model_maps(const char *dir, const mmx_report_model *m) {
    int panel = MMX_REPORT_PANEL(m->image), w = MMX_REPORT_STRIP_W(m->image, m->depth);
    uint8_t *rgb = malloc((size_t)w * (size_t)panel * 3);
    float *heat = malloc((size_t)panel * (size_t)panel * sizeof *heat);
    mmx_status st = MMX_OK;
    if (!rgb || !heat)
        st = mmx_fail(MMX_ERR_NOMEM, MMX_REPORT_FN, "cannot allocate a %d x %d strip", w, panel);
    char file[MMX_REPORT_NAME_MAX + 32], path[MMX_REPORT_PATH_MAX];
    for (int i = 0; st == MMX_OK && i < m->n_maps; i++) {
        snprintf(file, sizeof file, "attn_%s_%d.png", m->name, i);
        if ((st = mmx_report_path(path, dir, file))) break;
        mmx_report_attn_strip(rgb, heat, m, i);
        if ((st = mmx_png_write(path, rgb, w, panel, 3))) {
            char why[512]; /* the PNG writer's message, re-issued under this entry point */
            snprintf(why, sizeof why, "%s", mmx_last_error());
            st = mmx_fail(st, MMX_REPORT_FN, "%s", why);
        }
    }
    free(rgb);
    free(heat);
    return st;
}

mmx_status mmx_report_write_maps(const char *dir, const mmx_report_model *models, int n_models) {
    mmx_status st;
    for (int k = 0; k < n_models; k++)
        if (models[k].n_maps > 0 && (st = write_model_maps(dir, &models[k]))) return st;
    return MMX_OK;
}
