/*
 * rows.c - tokenizer for rows of numbers and a line reader built on getline, so a line
 * of any length (100000 numbers) is read whole and each number keeps its column for
 * error messages.
 */
#include "rows.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Longest piece of a bad token quoted back in a message. */
#define TOKEN_QUOTE_MAX 40

void cli_vec_free(cli_vec *v) {
    free(v->v);
    free(v->col);
    v->v = NULL;
    v->col = NULL;
    v->n = v->cap = 0;
}

static int vec_push(cli_vec *v, double x, size_t col) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        double *nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) return CLI_PARSE_NOMEM;
        v->v = nv;
        size_t *nc = realloc(v->col, cap * sizeof *nc);
        if (!nc) return CLI_PARSE_NOMEM;
        v->col = nc;
        v->cap = cap;
    }
    v->v[v->n] = x;
    v->col[v->n] = col;
    v->n++;
    return CLI_PARSE_OK;
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int is_sep(char c) { return is_space(c) || c == ',' || c == '|'; }

static int fail(cli_parse_err *err, size_t pos, const char *msg) {
    err->col = pos + 1;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return CLI_PARSE_BAD;
}

/* Parses the token s[0..n) as one number (strtod syntax, C locale). */
static int parse_token(const char *s, size_t n, size_t pos, double *x, cli_parse_err *err) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    int quoted = n > TOKEN_QUOTE_MAX ? TOKEN_QUOTE_MAX : (int)n;
    const char *more = n > TOKEN_QUOTE_MAX ? "..." : "";
    const char *nul = memchr(s, '\0', n);
    if (nul) return fail(err, pos + (size_t)(nul - s), "expected a number, got a NUL byte");
    if (end != s + n) {
        err->col = pos + 1;
        snprintf(err->msg, sizeof err->msg, "expected a number, got '%.*s%s'", quoted, s, more);
        return CLI_PARSE_BAD;
    }
    if (errno == ERANGE && isinf(v)) {
        err->col = pos + 1;
        snprintf(err->msg, sizeof err->msg, "number '%.*s%s' is beyond double range", quoted,
                 s, more);
        return CLI_PARSE_BAD;
    }
    *x = v;
    return CLI_PARSE_OK;
}

/* What the tokenizer saw last: a '|' or the start, a number, or a comma. */
enum { SEEN_START, SEEN_VALUE, SEEN_COMMA };

static int on_bar(int allow_bar, int seen, size_t i, size_t n, size_t *split,
                  cli_parse_err *err) {
    if (!allow_bar) return fail(err, i, "unexpected '|' (only valid with --vjp)");
    if (*split != CLI_NO_SPLIT) return fail(err, i, "a second '|' (one is allowed per line)");
    if (seen == SEEN_COMMA) return fail(err, i, "expected a number after ',', got '|'");
    *split = n;
    return CLI_PARSE_OK;
}

int cli_parse_list(const char *s, size_t len, int allow_bar, cli_vec *out, size_t *split,
                   cli_parse_err *err) {
    int seen = SEEN_START;
    size_t comma_at = 0;
    out->n = 0;
    *split = CLI_NO_SPLIT;
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (is_space(c)) {
            i++;
        } else if (c == ',') {
            if (seen != SEEN_VALUE) return fail(err, i, "expected a number, got ','");
            seen = SEEN_COMMA;
            comma_at = i++;
        } else if (c == '|') {
            int rc = on_bar(allow_bar, seen, i, out->n, split, err);
            if (rc != CLI_PARSE_OK) return rc;
            seen = SEEN_START;
            i++;
        } else {
            size_t j = i;
            while (j < len && !is_sep(s[j])) j++;
            double x = 0.0;
            int rc = parse_token(s + i, j - i, i, &x, err);
            if (rc == CLI_PARSE_OK) rc = vec_push(out, x, i + 1);
            if (rc != CLI_PARSE_OK) return rc;
            seen = SEEN_VALUE;
            i = j;
        }
    }
    if (seen == SEEN_COMMA) return fail(err, comma_at, "expected a number after ','");
    return CLI_PARSE_OK;
}

void cli_rows_init(cli_rows *r, FILE *in) {
    memset(r, 0, sizeof *r);
    r->in = in;
    r->split = CLI_NO_SPLIT;
}

void cli_rows_free(cli_rows *r) {
    free(r->line);
    r->line = NULL;
    r->line_cap = 0;
    cli_vec_free(&r->vals);
}

int cli_rows_next(cli_rows *r, const char *prog, int allow_bar) {
    for (;;) {
        errno = 0;
        ssize_t len = getline(&r->line, &r->line_cap, r->in);
        if (len < 0) {
            if (!ferror(r->in) && errno == 0) return CLI_ROW_EOF;
            fprintf(stderr, "%s: reading stdin after line %ld: %s\n", prog, r->lineno,
                    strerror(errno ? errno : EIO));
            return CLI_ROW_ERR;
        }
        r->lineno++;
        cli_parse_err err;
        int rc = cli_parse_list(r->line, (size_t)len, allow_bar, &r->vals, &r->split, &err);
        if (rc == CLI_PARSE_NOMEM) {
            fprintf(stderr, "%s: stdin line %ld: out of memory\n", prog, r->lineno);
            return CLI_ROW_ERR;
        }
        if (rc != CLI_PARSE_OK) {
            fprintf(stderr, "%s: stdin line %ld, column %zu: %s\n", prog, r->lineno, err.col,
                    err.msg);
            return CLI_ROW_ERR;
        }
        if (r->vals.n > 0 || r->split != CLI_NO_SPLIT) return CLI_ROW_OK;
    }
}
