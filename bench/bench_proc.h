/*
 * bench_proc.h - a peer benchmark as a child process spoken to line by line: requests go to
 * its standard input, JSON result lines (starting with '{') come back on its standard output;
 * its other output lines are skipped, its standard error is inherited.
 */
#ifndef MMX_BENCH_PROC_H
#define MMX_BENCH_PROC_H

#include <stdio.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    FILE *to, *from;
} bench_proc;

/* Starts /bin/sh -c cmd; 0 on success. */
int bench_proc_open(bench_proc *p, const char *cmd);
/* The next JSON line into line (n bytes); 0, or -1 at end of output. */
int bench_proc_read(bench_proc *p, char *line, size_t n);
/* Sends req (a line) and reads the next JSON line; 0, or -1. */
int bench_proc_ask(bench_proc *p, const char *req, char *line, size_t n);
/* Closes its input, waits for it; 0 if it exited with status 0. */
int bench_proc_close(bench_proc *p);

#endif
