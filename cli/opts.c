/* opts.c - see opts.h. */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *prog, const char *name, const char *val, const char *what)
{
    fprintf(stderr, "%s: --%s '%s': %s (see --help)\n", prog, name, val, what);
    return 2;
}

static int set_value(const char *prog, const opt_spec *s, const char *v)
{
    char *end = NULL;
    errno = 0;
    if (s->type == OPT_STR) {
        *(const char **)s->ptr = v;
        return 0;
    }
    if (s->type == OPT_NORM)
        return mmx_norm_parse(v, (mmx_norm_kind *)s->ptr) == MMX_OK
                   ? 0
                   : bad(prog, s->name, v,
                         "expected softmax, multimax, sparsemax, entmax15, entmax or evsoftmax");
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d))
        return bad(prog, s->name, v, "not a number");
    if (s->min < s->max && (d < s->min || d > s->max)) {
        char what[96];
        snprintf(what, sizeof what, "expected a value in [%g, %g]", s->min, s->max);
        return bad(prog, s->name, v, what);
    }
    if (s->type != OPT_DOUBLE && d != floor(d))
        return bad(prog, s->name, v, "expected an integer");
    switch (s->type) {
    case OPT_INT:
        *(int *)s->ptr = (int)d;
        break;
    case OPT_I64:
        *(int64_t *)s->ptr = (int64_t)d;
        break;
    case OPT_U64:
        *(uint64_t *)s->ptr = (uint64_t)d;
        break;
    default:
        *(double *)s->ptr = d;
    }
    return 0;
}

static const opt_spec *find(const opt_spec *specs, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

int opts_parse(const char *prog, const opt_spec *specs, int n_specs, int argc, char **argv,
               int first, const char **positional, int max_pos, int *n_pos)
{
    if (n_pos)
        *n_pos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (!n_pos || *n_pos >= max_pos) {
                fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, a);
                return 2;
            }
            positional[(*n_pos)++] = a;
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const opt_spec *s = find(specs, n_specs, a + 2, len);
        if (!s) {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, a);
            return 2;
        }
        if (s->type == OPT_FLAG) {
            if (eq)
                return bad(prog, s->name, eq + 1, "this flag takes no value");
            *(int *)s->ptr = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "%s: option --%s needs a value (see --help)\n", prog, s->name);
            return 2;
        }
        if (set_value(prog, s, v) != 0)
            return 2;
    }
    return 0;
}

void opts_usage(FILE *out, const opt_spec *specs, int n_specs)
{
    for (int i = 0; i < n_specs; i++) {
        const opt_spec *s = &specs[i];
        char head[64], def[64] = "";
        snprintf(head, sizeof head, "--%s%s", s->name, s->type == OPT_FLAG ? "" : " V");
        switch (s->type) {
        case OPT_INT:
            snprintf(def, sizeof def, "%d", *(int *)s->ptr);
            break;
        case OPT_I64:
            snprintf(def, sizeof def, "%lld", (long long)*(int64_t *)s->ptr);
            break;
        case OPT_U64:
            snprintf(def, sizeof def, "%llu", (unsigned long long)*(uint64_t *)s->ptr);
            break;
        case OPT_DOUBLE:
            snprintf(def, sizeof def, "%g", *(double *)s->ptr);
            break;
        case OPT_STR:
            snprintf(def, sizeof def, "%s",
                     *(const char **)s->ptr ? *(const char **)s->ptr : "none");
            break;
        case OPT_NORM:
            snprintf(def, sizeof def, "%s", mmx_norm_name(*(mmx_norm_kind *)s->ptr));
            break;
        case OPT_FLAG:
            snprintf(def, sizeof def, "%s", *(int *)s->ptr ? "on" : "off");
            break;
        }
        fprintf(out, "  %-22s %s (default: %s)\n", head, s->help, def);
    }
}

int opts_help_or_parse(const char *prog, const char *usage_head, const opt_spec *specs, int n_specs,
                       int argc, char **argv, int first, const char **positional, int max_pos,
                       int *n_pos)
{
    for (int i = first; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s\noptions:\n", usage_head);
            opts_usage(stdout, specs, n_specs);
            return 1;
        }
    return opts_parse(prog, specs, n_specs, argc, argv, first, positional, max_pos, n_pos);
}
