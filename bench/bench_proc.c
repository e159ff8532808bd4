/*
 * bench_proc.c - a peer benchmark as a child process spoken to line by line (bench_proc.h):
 * `multimax bench train --peers` times PyTorch steps interleaved with its own.
 */
#include "bench_proc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

int bench_proc_open(bench_proc *p, const char *cmd)
{
    int in[2], out[2];
    memset(p, 0, sizeof *p);
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]), close(in[1]);
        return -1;
    }
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return -1;
    }
    if (pid == 0) { /* child: stdin from in[0], stdout to out[1] */
        dup2(in[0], 0), dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    p->pid = pid;
    p->to = fdopen(in[1], "w");
    p->from = fdopen(out[0], "r");
    if (!p->to || !p->from) {
        bench_proc_close(p);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* a dead child shows as a failed read, not a signal */
    return 0;
}

int bench_proc_read(bench_proc *p, char *line, size_t n)
{
    while (fgets(line, (int)n, p->from))
        if (line[0] == '{')
            return 0;
    return -1;
}

int bench_proc_ask(bench_proc *p, const char *req, char *line, size_t n)
{
    if (fprintf(p->to, "%s\n", req) < 0 || fflush(p->to) != 0)
        return -1;
    return bench_proc_read(p, line, n);
}

int bench_proc_close(bench_proc *p)
{
    int st = -1;
    if (p->to)
        fclose(p->to);
    if (p->from)
        fclose(p->from);
    if (p->pid > 0 && waitpid(p->pid, &st, 0) < 0)
        st = -1;
    memset(p, 0, sizeof *p);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
