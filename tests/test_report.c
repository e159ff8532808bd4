/*
 * test_report.c - the analysis report writer (src/viz/report.h): two synthetic ViTs (one
 * with MultiMax modulators, one without; depth 3, 7 x 7 tokens, two 28 x 28 test images
 * each) written into a temporary directory, then every file read back: the PNGs decoded
 * with libpng (size, colour type, the image panel pixel for pixel, the attention peak in
 * the right place), the CSVs parsed against the inputs (to the 6 significant digits
 * written, empty fields for undefined values), the page searched for names, files, charts
 * and escaped text. Then the errors: every kind of invalid description is MMX_ERR_PARAM
 * and writes nothing; unwritable places (a missing parent, a file in the way, a full
 * device) are MMX_ERR_IO naming the file.
 *
 * MMX_TEST_KEEP=1 keeps the directory (its path is printed) for looking at the report.
 */
#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "viz/png.h"
#include "viz/report.h"

enum { DEPTH = 3, GRID = 7, TOK = GRID * GRID, IMG = 28, NMAP = 2, NMOD = 2 };
#define UNDEF MMX_METRIC_UNDEFINED

typedef struct {
    double sp[DEPTH], mm[DEPTH], os[DEPTH + 1];
    double ranges[DEPTH * 4], ts[DEPTH * 4], hr[4], ht[4];
    uint8_t images[NMAP * IMG * IMG];
    int32_t labels[NMAP], preds[NMAP];
    float maps[NMAP * DEPTH * TOK];
    int peak_y[NMAP][DEPTH], peak_x[NMAP][DEPTH]; /* token with the most attention */
} fixture;

static fixture g_fx[NMOD];
static mmx_report_model g_models[NMOD];
static char g_root[64]; /* the mkdtemp directory; everything goes below it */

static const char *const k_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const mmx_report_info k_info = {"ViT <fmnist> & \"quotes\"", k_classes, 10,
                                       "multimax analyze --out 'r&d'"};

/* ---------------------------------------------------------------------------------
 * The synthetic models
 * ------------------------------------------------------------------------------- */

/* A garment-like blob (an ellipse with shading and stripes), shifted per image. */
static void make_image(uint8_t *img, int i)
{
    for (int y = 0; y < IMG; y++)
        for (int x = 0; x < IMG; x++) {
            double dy = (y - 13.0 - 2 * i) / 11.0, dx = (x - 14.0 + 3 * i) / 7.0;
            int inside = dy * dy + dx * dx <= 1.0;
            img[y * IMG + x] = inside ? (uint8_t)(70 + 5 * y + (x % 5 == 0 ? 30 : 0)) : 0;
        }
}

/* A Gaussian bump of attention over a small floor, peaked at token (py, px); sums to 1. */
static void make_map(float *map, int py, int px)
{
    double sum = 0.0, v[TOK];
    for (int t = 0; t < TOK; t++) {
        double dy = t / GRID - py, dx = t % GRID - px;
        v[t] = 0.02 + exp(-(dy * dy + dx * dx) / 1.5);
        sum += v[t];
    }
    for (int t = 0; t < TOK; t++) map[t] = (float)(v[t] / sum);
}

static void make_fixture(int k)
{
    fixture *fx = &g_fx[k];
    for (int l = 0; l < DEPTH; l++) {
        fx->sp[l] = 0.123456789 + 0.2345678 * l + 0.01 * k;
        fx->mm[l] = 0.987654321 - 0.3141592 * l - 0.01 * k;
        for (int j = 0; j < 4; j++) {
            fx->ranges[4 * l + j] = (j % 2 ? 1.5 : -1.25) + 0.1 * l + 0.001 * j;
            fx->ts[4 * l + j] = (j % 2 ? -0.0712345 : 0.4) * (1.0 + 0.5 * l) / (1 + j / 2);
        }
    }
    for (int l = 0; l <= DEPTH; l++) fx->os[l] = 0.3 + 0.123456789 * l - 0.05 * k;
    for (int j = 0; j < 4; j++) {
        fx->hr[j] = j % 2 ? 2.0 : -2.5;
        fx->ht[j] = j % 2 ? -0.15 : 0.25 / (1 + j / 2);
    }
    if (k == 0) fx->mm[2] = UNDEF; /* a layer with no relevant entries */
    if (k == 1) fx->sp[0] = UNDEF;
    for (int i = 0; i < NMAP; i++) {
        make_image(fx->images + i * IMG * IMG, i);
        fx->labels[i] = (3 * i + k) % 10;
        fx->preds[i] = i == 1 ? (fx->labels[i] + 1) % 10 : fx->labels[i];
        for (int l = 0; l < DEPTH; l++) {
            /* asymmetric peaks, so a transposed or mirrored map would be noticed */
            fx->peak_y[i][l] = (1 + 2 * l + i) % GRID;
            fx->peak_x[i][l] = (5 - l + 3 * k) % GRID;
            make_map(fx->maps + (i * DEPTH + l) * TOK, fx->peak_y[i][l], fx->peak_x[i][l]);
        }
    }
}

static void make_models(void)
{
    for (int k = 0; k < NMOD; k++) {
        make_fixture(k);
        fixture *fx = &g_fx[k];
        g_models[k] = (mmx_report_model){
            .name = k ? "softmax" : "mmx-a_1", .norm = k ? "softmax" : "multimax",
            .head_norm = k ? "soft\"max\", t=1" : "multimax", .depth = DEPTH, .heads = 4,
            .grid = GRID, .params = k ? 98765 : 123456, .accuracy = 0.9012345 - 0.01 * k,
            .loss = 0.28765432 + 0.01 * k, .ms_per_step = k ? 0.0 : 12.3456789,
            .images_per_s = k ? 0.0 : 2590.12345, .sparsity = fx->sp,
            .multimodality = fx->mm, .oversmooth = fx->os, .ranges = k ? NULL : fx->ranges,
            .ts = k ? NULL : fx->ts, .head_ranges = k ? NULL : fx->hr,
            .head_ts = k ? NULL : fx->ht, .n_maps = NMAP, .image = IMG,
            .images = fx->images, .labels = fx->labels, .preds = fx->preds, .maps = fx->maps};
    }
}

/* ---------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------- */

static void join(char *out, size_t cap, const char *dir, const char *file)
{
    snprintf(out, cap, "%s/%s", dir, file);
}

static int exists(const char *dir, const char *file)
{
    char p[512];
    struct stat st;
    join(p, sizeof p, dir, file);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* The whole file, NUL-terminated, or NULL. */
static char *slurp(const char *dir, const char *file)
{
    char p[512];
    join(p, sizeof p, dir, file);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb) free(buf);
        buf = nb;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[512];
            join(p, sizeof p, path, e->d_name);
            remove_tree(p);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ---------------------------------------------------------------------------------
 * PNG decoding (libpng's reading API)
 * ------------------------------------------------------------------------------- */

typedef struct {
    int w, h, color, bits, channels;
    uint8_t *px; /* (h, w, channels) */
} t_png;

/* setjmp in its own function, every local set before it (see png.c). */
static png_bytepp read_rows(png_structp p, png_infop info, FILE *f)
{
    if (setjmp(png_jmpbuf(p))) return NULL;
    png_init_io(p, f);
    png_read_png(p, info, PNG_TRANSFORM_IDENTITY, NULL);
    return png_get_rows(p, info);
}

static int png_load(const char *dir, const char *file, t_png *out)
{
    char path[512];
    join(path, sizeof path, dir, file);
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    png_bytepp rows = info ? read_rows(p, info, f) : NULL;
    if (rows) {
        out->w = (int)png_get_image_width(p, info);
        out->h = (int)png_get_image_height(p, info);
        out->color = png_get_color_type(p, info);
        out->bits = png_get_bit_depth(p, info);
        out->channels = png_get_channels(p, info);
        size_t rb = (size_t)out->w * (size_t)out->channels;
        out->px = malloc(rb * (size_t)out->h);
        for (int y = 0; out->px && y < out->h; y++) memcpy(out->px + rb * y, rows[y], rb);
    }
    png_destroy_read_struct(&p, &info, NULL);
    fclose(f);
    return out->px != NULL;
}

/* ---------------------------------------------------------------------------------
 * CSV reading (RFC 4180 quoting)
 * ------------------------------------------------------------------------------- */

/* Splits one line in place into at most max fields; returns the count. */
static int csv_fields(char *s, char **f, int max)
{
    int n = 0;
    for (;;) {
        char *out = s, *start = s;
        if (*s == '"') {
            for (s++;; s++) {
                if (*s == '"' && s[1] == '"') s++;
                else if (*s == '"' || !*s) break;
                *out++ = *s;
            }
            if (*s == '"') s++;
        } else {
            while (*s && *s != ',') *out++ = *s++;
        }
        char sep = *s;
        *out = '\0';
        if (n < max) f[n++] = start;
        if (sep != ',') return n;
        s++;
    }
}

/* Next line of a slurped text (cut in place), or NULL at the end. */
static char *next_line(char **cur)
{
    if (!*cur || !**cur) return NULL;
    char *line = *cur, *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    *cur = nl ? nl + 1 : NULL;
    return line;
}

/* A written number must be exactly the input printed with %.6g; undefined: empty. */
static void check_field(const char *field, double want, double undefined)
{
    if (want == undefined) {
        CHECKF(field[0] == '\0', "field '%s', expected empty", field);
        return;
    }
    char buf[64], *end;
    snprintf(buf, sizeof buf, "%.6g", want);
    double got = strtod(field, &end);
    CHECKF(field[0] && *end == '\0', "field '%s' is not a number", field);
    CHECKF(got == strtod(buf, NULL), "field '%s', expected %s", field, buf);
    CHECK_REL(got, want, 5e-6, 0.0);
}

/* ---------------------------------------------------------------------------------
 * The written report
 * ------------------------------------------------------------------------------- */

static void check_files(const char *dir)
{
    static const char *const fixed[] = {"report.html", "metrics.csv", "summary.csv",
                                        "modulators.csv"};
    T_CTX("files");
    for (int i = 0; i < 4; i++) CHECKF(exists(dir, fixed[i]), "%s missing or empty", fixed[i]);
    for (int k = 0; k < NMOD; k++)
        for (int i = 0; i < NMAP; i++) {
            char file[64];
            snprintf(file, sizeof file, "attn_%s_%d.png", g_models[k].name, i);
            CHECKF(exists(dir, file), "%s missing or empty", file);
        }
}

/* Panel 0 is the image upscaled (nearest, grey in RGB); the gaps are white. */
static void check_image_panel(const t_png *p, const uint8_t *img)
{
    int s = MMX_REPORT_SCALE(IMG), panel = MMX_REPORT_PANEL(IMG), bad = 0, gap_bad = 0;
    for (int y = 0; y < panel; y++) {
        for (int x = 0; x < panel; x++)
            for (int c = 0; c < 3; c++)
                bad += p->px[(y * p->w + x) * 3 + c] != img[(y / s) * IMG + x / s];
        for (int l = 1; l <= DEPTH; l++)
            for (int x = l * (panel + MMX_REPORT_GAP) - MMX_REPORT_GAP;
                 x < l * (panel + MMX_REPORT_GAP); x++)
                gap_bad += p->px[(y * p->w + x) * 3] != 255;
    }
    CHECKF(bad == 0, "%d channel values differ from the upscaled image", bad);
    CHECKF(gap_bad == 0, "%d gap pixels not white", gap_bad);
}

/* R - B of the blend is alpha (colour R - colour B) whatever the grey below, and the
 * colormap has it largest at the top: so its arg-max must lie on the peak token's patch. */
static void check_peaks(const t_png *p, const fixture *fx, int i)
{
    int panel = MMX_REPORT_PANEL(IMG), patch = panel / GRID;
    for (int l = 0; l < DEPTH; l++) {
        int left = (l + 1) * (panel + MMX_REPORT_GAP), best = -1000, by = -1, bx = -1;
        for (int y = 0; y < panel; y++)
            for (int x = 0; x < panel; x++) {
                const uint8_t *q = p->px + (y * p->w + left + x) * 3;
                if (q[0] - q[2] > best) best = q[0] - q[2], by = y, bx = x;
            }
        CHECKF(by / patch == fx->peak_y[i][l] && bx / patch == fx->peak_x[i][l],
               "layer %d: hottest pixel (%d, %d) is in token (%d, %d), expected (%d, %d)", l + 1,
               by, bx, by / patch, bx / patch, fx->peak_y[i][l], fx->peak_x[i][l]);
    }
}

static void check_attention_pngs(const char *dir)
{
    for (int k = 0; k < NMOD; k++)
        for (int i = 0; i < NMAP; i++) {
            char file[64];
            snprintf(file, sizeof file, "attn_%s_%d.png", g_models[k].name, i);
            T_CTX("%s", file);
            t_png p;
            if (!CHECK(png_load(dir, file, &p))) continue;
            CHECK_EQ_INT(p.w, MMX_REPORT_STRIP_W(IMG, DEPTH));
            CHECK_EQ_INT(p.w, 4 * 112 + 3 * 4);
            CHECK_EQ_INT(p.h, 112);
            CHECK_EQ_INT(p.color, PNG_COLOR_TYPE_RGB);
            CHECK_EQ_INT(p.bits, 8);
            if (p.w == MMX_REPORT_STRIP_W(IMG, DEPTH) && p.h == 112 && p.channels == 3) {
                check_image_panel(&p, g_fx[k].images + i * IMG * IMG);
                check_peaks(&p, &g_fx[k], i);
            }
            free(p.px);
        }
}

static void check_metrics_csv(const char *dir)
{
    T_CTX("metrics.csv");
    char *txt = slurp(dir, "metrics.csv"), *cur = txt, *line, *f[8];
    if (!CHECK(txt)) return;
    line = next_line(&cur);
    CHECK(line && !strcmp(line, "model,layer,sparsity,multimodality,oversmooth"));
    for (int k = 0; k < NMOD; k++)
        for (int l = 0; l <= DEPTH; l++) {
            T_CTX("metrics.csv model %d layer %d", k, l);
            if (!CHECK((line = next_line(&cur)))) break;
            int nf = csv_fields(line, f, 8);
            if (!CHECKF(nf == 5, "%d fields", nf)) continue;
            CHECKF(!strcmp(f[0], g_models[k].name), "model '%s'", f[0]);
            CHECKF(atoi(f[1]) == l && f[1][0], "layer '%s'", f[1]);
            check_field(f[2], l ? g_fx[k].sp[l - 1] : UNDEF, UNDEF);
            check_field(f[3], l ? g_fx[k].mm[l - 1] : UNDEF, UNDEF);
            check_field(f[4], g_fx[k].os[l], UNDEF);
        }
    T_CTX("metrics.csv");
    CHECKF(next_line(&cur) == NULL, "more than %d rows", NMOD * (DEPTH + 1));
    free(txt);
}

static void check_summary_csv(const char *dir)
{
    T_CTX("summary.csv");
    char *txt = slurp(dir, "summary.csv"), *cur = txt, *line, *f[12];
    if (!CHECK(txt)) return;
    line = next_line(&cur);
    CHECK(line && !strcmp(line, "model,norm,head_norm,accuracy,loss,ms_per_step,images_per_s,params"));
    for (int k = 0; k < NMOD; k++) {
        const mmx_report_model *m = &g_models[k];
        T_CTX("summary.csv model %d", k);
        if (!CHECK((line = next_line(&cur)))) break;
        int nf = csv_fields(line, f, 12);
        if (!CHECKF(nf == 8, "%d fields", nf)) continue;
        CHECKF(!strcmp(f[0], m->name), "model '%s'", f[0]);
        CHECKF(!strcmp(f[1], m->norm), "norm '%s'", f[1]);
        CHECKF(!strcmp(f[2], m->head_norm), "head_norm '%s' (quoting)", f[2]);
        check_field(f[3], m->accuracy, NAN);
        check_field(f[4], m->loss, NAN);
        check_field(f[5], m->ms_per_step, 0.0); /* 0 = unknown: empty */
        check_field(f[6], m->images_per_s, 0.0);
        CHECKF(atoll(f[7]) == m->params, "params '%s'", f[7]);
    }
    T_CTX("summary.csv");
    CHECK(next_line(&cur) == NULL);
    free(txt);
}

static void check_modulator_row(char *line, const char *model, const char *layer,
                                const double *r, const double *t)
{
    char *f[12];
    int nf = csv_fields(line, f, 12);
    if (!CHECKF(nf == 10, "%d fields", nf)) return;
    CHECKF(!strcmp(f[0], model), "model '%s'", f[0]);
    CHECKF(!strcmp(f[1], layer), "layer '%s', expected '%s'", f[1], layer);
    for (int j = 0; j < 4; j++) check_field(f[2 + j], r[j], NAN);
    for (int j = 0; j < 4; j++) check_field(f[6 + j], t[j], NAN);
}

/* Only the MultiMax model has rows: layers 1..depth, then the head. */
static void check_modulators_csv(const char *dir)
{
    T_CTX("modulators.csv");
    char *txt = slurp(dir, "modulators.csv"), *cur = txt, *line;
    if (!CHECK(txt)) return;
    line = next_line(&cur);
    CHECK(line && !strcmp(line, "model,layer,b1,d1,b2,d2,tb1,td1,tb2,td2"));
    const fixture *fx = &g_fx[0];
    for (int l = 0; l <= DEPTH; l++) {
        char layer[8];
        snprintf(layer, sizeof layer, "%d", l + 1);
        T_CTX("modulators.csv row %d", l + 1);
        if (!CHECK((line = next_line(&cur)))) break;
        if (l < DEPTH)
            check_modulator_row(line, g_models[0].name, layer, fx->ranges + 4 * l, fx->ts + 4 * l);
        else
            check_modulator_row(line, g_models[0].name, "head", fx->hr, fx->ht);
    }
    T_CTX("modulators.csv");
    CHECK(next_line(&cur) == NULL);
    free(txt);
}

static void check_html(const char *dir)
{
    T_CTX("report.html");
    char *h = slurp(dir, "report.html");
    if (!CHECK(h)) return;
    CHECK(strstr(h, "<!DOCTYPE html>") == h);
    CHECK(strstr(h, "</html>\n") != NULL);
    CHECK(strstr(h, "<svg") != NULL);
    CHECK(strstr(h, "<script") == NULL);
    for (int k = 0; k < NMOD; k++) {
        CHECKF(strstr(h, g_models[k].name) != NULL, "no '%s'", g_models[k].name);
        for (int i = 0; i < NMAP; i++) {
            char src[80];
            snprintf(src, sizeof src, "src=\"attn_%s_%d.png\"", g_models[k].name, i);
            CHECKF(strstr(h, src) != NULL, "no %s", src);
        }
    }
    /* user text is escaped: title, command, a head_norm with quotes, a class with '/' */
    CHECK(strstr(h, "ViT &lt;fmnist&gt; &amp; &quot;quotes&quot;") != NULL);
    CHECK(strstr(h, "<fmnist>") == NULL);
    CHECK(strstr(h, "--out &#39;r&amp;d&#39;") != NULL);
    CHECK(strstr(h, "soft&quot;max&quot;, t=1") != NULL);
    CHECK(strstr(h, k_classes[g_fx[0].labels[1]]) != NULL);
    CHECK(strstr(h, "sigma(x)") != NULL);   /* the modulator chart */
    CHECK(strstr(h, "layer 3") != NULL);    /* one curve per layer */
    CHECK(strstr(h, ">head<") != NULL);     /* and the head's      */
    CHECK(strstr(h, "stroke-dasharray") != NULL); /* the identity */
    free(h);
}

/* A grey image through mmx_png_write and back. */
static void test_grey_png(const char *dir)
{
    T_CTX("grey PNG");
    uint8_t img[IMG * IMG];
    make_image(img, 1);
    char path[512];
    join(path, sizeof path, dir, "grey.png");
    CHECK_STATUS(mmx_png_write(path, img, IMG, IMG, 1), MMX_OK);
    t_png p;
    if (CHECK(png_load(dir, "grey.png", &p))) {
        CHECK_EQ_INT(p.w, IMG);
        CHECK_EQ_INT(p.h, IMG);
        CHECK_EQ_INT(p.color, PNG_COLOR_TYPE_GRAY);
        CHECK_EQ_INT(p.bits, 8);
        CHECK(p.channels == 1 && memcmp(p.px, img, sizeof img) == 0);
        free(p.px);
    }
    CHECK_STATUS(mmx_png_write(path, img, IMG, IMG, 2), MMX_ERR_PARAM);
    CHECK_STATUS(mmx_png_write(path, img, 0, IMG, 1), MMX_ERR_PARAM);
    CHECK_STATUS(mmx_png_write(path, NULL, IMG, IMG, 1), MMX_ERR_NULL);
    CHECK_STATUS(mmx_png_write("/proc/nonexistent/x.png", img, IMG, IMG, 1), MMX_ERR_IO);
    CHECK(strstr(mmx_last_error(), "/proc/nonexistent/x.png") != NULL);
    if (access("/dev/full", W_OK) == 0) { /* every write fails with ENOSPC */
        CHECK_STATUS(mmx_png_write("/dev/full", img, IMG, IMG, 1), MMX_ERR_IO);
        CHECKF(strstr(mmx_last_error(), "/dev/full") != NULL, "%s", mmx_last_error());
    }
    uint8_t a[3], b[3];
    mmx_colormap(0.0, a);
    mmx_colormap(1.0, b);
    CHECK(b[0] + b[1] + b[2] > a[0] + a[1] + a[2] + 300); /* dark to light */
    mmx_colormap(NAN, b);
    CHECK(!memcmp(a, b, 3));
}

static void test_report(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/report", g_root); /* created by the call */
    T_CTX("mmx_report_write");
    CHECK_STATUS(mmx_report_write(dir, &k_info, g_models, NMOD), MMX_OK);
    check_files(dir);
    check_attention_pngs(dir);
    check_metrics_csv(dir);
    check_summary_csv(dir);
    check_modulators_csv(dir);
    check_html(dir);
    test_grey_png(dir);
    T_CTX("mmx_report_write again");
    CHECK_STATUS(mmx_report_write(dir, &k_info, g_models, NMOD), MMX_OK); /* dir exists */
}

/* One model, no maps, no modulators, no info: still a whole page. */
static void test_minimal(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/minimal", g_root);
    mmx_report_model m = g_models[1];
    m.n_maps = 0;
    m.images = NULL;
    m.labels = m.preds = NULL;
    m.maps = NULL;
    m.image = 0;
    T_CTX("minimal report");
    CHECK_STATUS(mmx_report_write(dir, NULL, &m, 1), MMX_OK);
    char *h = slurp(dir, "report.html");
    if (CHECK(h)) {
        CHECK(strstr(h, "No attention maps") != NULL);
        CHECK(strstr(h, "No model here has a learned modulator") != NULL);
        free(h);
    }
    char *mod = slurp(dir, "modulators.csv");
    if (CHECK(mod)) CHECK(!strcmp(mod, "model,layer,b1,d1,b2,d2,tb1,td1,tb2,td2\n"));
    free(mod);
    /* without class names, captions give numbers */
    mmx_report_model two[2] = {m, g_models[0]};
    CHECK_STATUS(mmx_report_write(dir, NULL, two, 2), MMX_OK);
    h = slurp(dir, "report.html");
    if (CHECK(h)) {
        CHECK(strstr(h, "true <b>class 0</b>") != NULL);
        free(h);
    }
}

/* ---------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------- */

enum {
    BAD_NAME_NULL, BAD_NAME_EMPTY, BAD_NAME_UPPER, BAD_NAME_SLASH, BAD_NAME_LONG, BAD_NAME_DUP,
    BAD_NORM, BAD_HEAD_NORM, BAD_DEPTH, BAD_HEADS, BAD_GRID, BAD_PARAMS, BAD_SPARSITY,
    BAD_MULTIMODALITY, BAD_OVERSMOOTH, BAD_RANGES_ONLY, BAD_HEAD_TS_ONLY, BAD_RANGES_NAN,
    BAD_HEAD_TS_INF, BAD_NMAPS, BAD_IMAGE, BAD_IMAGES, BAD_LABELS, BAD_PREDS, BAD_MAPS,
    BAD_MAP_NAN, BAD_MAP_NEG, BAD_LABEL, BAD_PRED, BAD_COUNT
};
static const char *const k_bad[BAD_COUNT] = {
    "name NULL", "name empty", "name upper case", "name with '/'", "name of 65", "names equal",
    "norm NULL", "head_norm NULL", "depth 0", "heads 0", "grid 0", "params < 0",
    "sparsity NULL", "multimodality NULL", "oversmooth NULL", "ranges without ts",
    "head_ts without head_ranges", "ranges NaN", "head_ts inf", "n_maps -1", "image 0",
    "images NULL", "labels NULL", "preds NULL", "maps NULL", "map NaN", "map < 0",
    "label >= classes", "pred < 0"};

/* Spoils ms[0] (or the pair) in way c; r and mp are scratch copies for spoiled values. */
static void spoil(mmx_report_model *ms, int c, double *r, float *mp, int32_t *lab)
{
    static char long_name[66]; /* 65 letters: one above the limit of report.h */
    mmx_report_model *m = &ms[0];
    memset(long_name, 'a', 65);
    memcpy(r, m->ranges, sizeof g_fx[0].ranges);
    memcpy(mp, m->maps, sizeof g_fx[0].maps);
    memcpy(lab, m->labels, sizeof g_fx[0].labels);
    switch (c) {
    case BAD_NAME_NULL: m->name = NULL; break;
    case BAD_NAME_EMPTY: m->name = ""; break;
    case BAD_NAME_UPPER: m->name = "MultiMax"; break;
    case BAD_NAME_SLASH: m->name = "../x"; break;
    case BAD_NAME_LONG: m->name = long_name; break;
    case BAD_NAME_DUP: ms[1].name = m->name; break;
    case BAD_NORM: m->norm = NULL; break;
    case BAD_HEAD_NORM: m->head_norm = NULL; break;
    case BAD_DEPTH: m->depth = 0; break;
    case BAD_HEADS: m->heads = 0; break;
    case BAD_GRID: m->grid = 0; break;
    case BAD_PARAMS: m->params = -1; break;
    case BAD_SPARSITY: m->sparsity = NULL; break;
    case BAD_MULTIMODALITY: m->multimodality = NULL; break;
    case BAD_OVERSMOOTH: m->oversmooth = NULL; break;
    case BAD_RANGES_ONLY: m->ts = NULL; break;
    case BAD_HEAD_TS_ONLY: m->head_ranges = NULL; break;
    case BAD_RANGES_NAN: r[5] = NAN, m->ranges = r; break;
    case BAD_HEAD_TS_INF: r[2] = INFINITY, m->head_ts = r; break;
    case BAD_NMAPS: m->n_maps = -1; break;
    case BAD_IMAGE: m->image = 0; break;
    case BAD_IMAGES: m->images = NULL; break;
    case BAD_LABELS: m->labels = NULL; break;
    case BAD_PREDS: m->preds = NULL; break;
    case BAD_MAPS: m->maps = NULL; break;
    case BAD_MAP_NAN: mp[100] = NAN, m->maps = mp; break;
    case BAD_MAP_NEG: mp[7] = -1e-3f, m->maps = mp; break;
    case BAD_LABEL: lab[1] = 10, m->labels = lab; break;
    case BAD_PRED: lab[0] = -1, m->preds = lab; break;
    }
}

/* Invalid input: the status, a message from the entry point, and nothing written. */
static void expect_invalid(const char *dir, const mmx_report_info *info,
                           const mmx_report_model *ms, int n, mmx_status want)
{
    struct stat st;
    CHECK_STATUS(mmx_report_write(dir, info, ms, n), want);
    CHECKF(strncmp(mmx_last_error(), "mmx_report_write: ", 18) == 0, "'%s'", mmx_last_error());
    CHECKF(!dir || stat(dir, &st) != 0, "%s was created", dir);
}

static void test_invalid(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/never", g_root);
    double r[DEPTH * 4];
    float mp[NMAP * DEPTH * TOK];
    int32_t lab[NMAP];
    for (int c = 0; c < BAD_COUNT; c++) {
        mmx_report_model ms[NMOD] = {g_models[0], g_models[1]};
        spoil(ms, c, r, mp, lab);
        T_CTX("invalid: %s", k_bad[c]);
        expect_invalid(dir, &k_info, ms, NMOD, MMX_ERR_PARAM);
    }
    const char *names[10];
    memcpy(names, k_classes, sizeof names);
    names[4] = NULL;
    mmx_report_info no_classes = {"t", k_classes, 0, NULL}, null_class = {"t", names, 10, NULL};
    T_CTX("invalid: classes 0");
    expect_invalid(dir, &no_classes, g_models, NMOD, MMX_ERR_PARAM);
    T_CTX("invalid: a NULL class name");
    expect_invalid(dir, &null_class, g_models, NMOD, MMX_ERR_PARAM);
    T_CTX("invalid: n_models 0");
    expect_invalid(dir, &k_info, g_models, 0, MMX_ERR_PARAM);
    T_CTX("invalid: models NULL");
    expect_invalid(dir, &k_info, NULL, NMOD, MMX_ERR_NULL);
    T_CTX("invalid: dir NULL");
    expect_invalid(NULL, &k_info, g_models, NMOD, MMX_ERR_NULL);
}

/* A fresh directory where file is a directory (full = 0) or a link to /dev/full. */
static void expect_blocked(const char *file, int full)
{
    static int count;
    char dir[128], path[256];
    snprintf(dir, sizeof dir, "%s/blocked%d", g_root, count++);
    join(path, sizeof path, dir, file);
    if (mkdir(dir, 0700) != 0 || (full ? symlink("/dev/full", path) : mkdir(path, 0700)) != 0) {
        T_CTX("setting up %s", path);
        CHECKF(0, "%s", strerror(errno));
        return;
    }
    T_CTX("%s %s", file, full ? "on a full device" : "is a directory");
    CHECK_STATUS(mmx_report_write(dir, &k_info, g_models, NMOD), MMX_ERR_IO);
    CHECKF(strstr(mmx_last_error(), path) != NULL, "'%s'", mmx_last_error());
    if (full)
        CHECKF(strstr(mmx_last_error(), strerror(ENOSPC)) != NULL, "'%s'", mmx_last_error());
}

static void test_io_errors(void)
{
    T_CTX("missing parent");
    CHECK_STATUS(mmx_report_write("/proc/nonexistent/x", &k_info, g_models, NMOD), MMX_ERR_IO);
    CHECKF(strstr(mmx_last_error(), "/proc/nonexistent/x") != NULL, "'%s'", mmx_last_error());
    char file[128];
    snprintf(file, sizeof file, "%s/plain", g_root);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    T_CTX("dir is a file");
    CHECK_STATUS(mmx_report_write(file, &k_info, g_models, NMOD), MMX_ERR_IO);
    CHECKF(strstr(mmx_last_error(), file) != NULL, "'%s'", mmx_last_error());
    expect_blocked("metrics.csv", 0);
    expect_blocked("attn_softmax_1.png", 0);
    expect_blocked("report.html", 0);
    if (access("/dev/full", W_OK) == 0) {
        expect_blocked("summary.csv", 1);
        expect_blocked("modulators.csv", 1);
        expect_blocked("attn_mmx-a_1_0.png", 1);
        expect_blocked("report.html", 1);
    }
}

int main(void)
{
    snprintf(g_root, sizeof g_root, "/tmp/mmx_test_report_XXXXXX");
    if (!mkdtemp(g_root)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    make_models();
    test_report();
    test_minimal();
    test_invalid();
    test_io_errors();
    const char *keep = getenv("MMX_TEST_KEEP");
    if (keep && keep[0] == '1')
        printf("kept %s\n", g_root);
    else
        remove_tree(g_root);
    return t_summary();
}
