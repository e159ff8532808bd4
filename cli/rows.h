/*
 * rows.h - reading rows of numbers: a tokenizer for "1, 2 -inf | 0.5 ..." text with
 * 1-based column positions, and a line reader over a stream (any line length).
 */
#ifndef MMX_CLI_ROWS_H
#define MMX_CLI_ROWS_H

#include <stddef.h>
#include <stdio.h>

/* A growable list of parsed numbers with the 1-based column where each one starts. */
typedef struct {
    double *v;   /* (n) values */
    size_t *col; /* (n) 1-based byte column of each value in its text */
    size_t n;
    size_t cap;
} cli_vec;

void cli_vec_free(cli_vec *v);

/* No '|' on the line. */
#define CLI_NO_SPLIT ((size_t)-1)

/* Where and why a text did not parse. */
typedef struct {
    size_t col;    /* 1-based byte column of the offending character or token */
    char msg[160]; /* e.g. "expected a number, got 'abc'" */
} cli_parse_err;

enum { CLI_PARSE_OK = 0, CLI_PARSE_BAD = -1, CLI_PARSE_NOMEM = -2 };

/*
 * Parses s[0..len) into out (overwritten). Numbers are separated by whitespace and/or
 * one comma; "-inf", "inf", "nan" parse (strtod syntax). With allow_bar, one '|' may
 * split the list and *split gets the count of values before it (else CLI_NO_SPLIT).
 * Returns CLI_PARSE_OK, CLI_PARSE_BAD (err filled) or CLI_PARSE_NOMEM.
 */
int cli_parse_list(const char *s, size_t len, int allow_bar, cli_vec *out, size_t *split,
                   cli_parse_err *err);

/* Reads non-blank lines of a stream and parses each into vals. */
typedef struct {
    FILE *in;
    char *line; /* getline buffer */
    size_t line_cap;
    long lineno; /* 1-based number of the last line read */
    cli_vec vals;
    size_t split; /* values before '|', or CLI_NO_SPLIT */
} cli_rows;

enum { CLI_ROW_EOF = 0, CLI_ROW_OK = 1, CLI_ROW_ERR = -1 };

void cli_rows_init(cli_rows *r, FILE *in);
void cli_rows_free(cli_rows *r);

/* Next non-blank line: CLI_ROW_OK, CLI_ROW_EOF, or CLI_ROW_ERR after printing
 * "PROG: stdin line N, column C: ..." (or a read / memory error) to stderr. */
int cli_rows_next(cli_rows *r, const char *prog, int allow_bar);

#endif /* MMX_CLI_ROWS_H */
