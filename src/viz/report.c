/* mmx_report_write: checks everything, makes the directory, then writes the CSVs, the PNGs
 * and last the page (which refers to the PNGs). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "viz/report_impl.h"

mmx_status mmx_report_path(char *path, const char *dir, const char *file) {
    int n = snprintf(path, MMX_REPORT_PATH_MAX, "%s/%s", dir, file);
    if (n < 0 || n >= MMX_REPORT_PATH_MAX)
        return mmx_fail(MMX_ERR_PARAM, MMX_REPORT_FN, "path '%s/%s' longer than %d bytes", dir,
                        file, MMX_REPORT_PATH_MAX - 1);
    return MMX_OK;
}

mmx_status mmx_report_open(FILE **f, const char *path) {
    *f = fopen(path, "w");
    if (!*f)
        return mmx_fail(MMX_ERR_IO, MMX_REPORT_FN, "cannot create '%s': %s", path,
                        strerror(errno));
    return MMX_OK;
}

mmx_status mmx_report_close(FILE *f, const char *path) {
    /* stdio buffers, so a full disk shows at some later fprintf (setting the error flag and
     * errno, which later successful calls leave alone) or only at fflush / fclose. Keep
     * the first reason found. */
    int earlier = errno, failed = ferror(f);
    errno = 0;
    int bad = fflush(f) != 0 || failed;
    int err = errno ? errno : failed ? earlier : 0;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad)
        return mmx_fail(MMX_ERR_IO, MMX_REPORT_FN, "cannot write '%s': %s", path,
                        strerror(err ? err : EIO));
    return MMX_OK;
}

double mmx_report_gap(double v) { return v == MMX_METRIC_UNDEFINED ? NAN : v; }

/* One level only: a missing parent is more likely a typo than a wish for a new tree. */
static mmx_status make_dir(const char *dir) {
    struct stat st;
    if (mkdir(dir, 0777) == 0) return MMX_OK;
    int err = errno;
    if (err == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return MMX_OK;
    if (err == EEXIST)
        return mmx_fail(MMX_ERR_IO, MMX_REPORT_FN, "'%s' exists and is not a directory", dir);
    return mmx_fail(MMX_ERR_IO, MMX_REPORT_FN, "cannot create directory '%s': %s%s", dir,
                    strerror(err), err == ENOENT ? " (its parent must exist)" : "");
}

mmx_status mmx_report_write(const char *dir, const mmx_report_info *info,
                            const mmx_report_model *models, int n_models) {
    mmx_status st;
    if ((st = mmx_report_check(dir, info, models, n_models)) || (st = make_dir(dir)) ||
        (st = mmx_report_write_csvs(dir, models, n_models)) ||
        (st = mmx_report_write_maps(dir, models, n_models)) ||
        (st = mmx_report_write_html(dir, info, models, n_models)))
        return st;
    return MMX_OK;
}
