/* progress.c - see progress.h. */
#include "train/progress.h"

#include <time.h>
#include <unistd.h>

double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress *p, const char *name, int enabled)
{
    p->name = name;
    p->tty = isatty(fileno(stderr));
    p->enabled = enabled && p->tty;
    p->last = 0.0;
}

void progress_update(progress *p, int epoch, int epochs, int64_t j, int64_t spe, double loss,
                     double acc, double ips, double eta_s, int force)
{
    if (!p->enabled)
        return;
    double now = train_now();
    if (!force && now - p->last < 0.2)
        return;
    p->last = now;
    char bar[21];
    int fill = spe > 0 ? (int)(20 * j / spe) : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[20] = 0;
    long eta = eta_s > 0 ? (long)eta_s : 0;
    fprintf(stderr,
            "\r%s  epoch %d/%d [%s] %lld/%lld  loss %.4f  acc %5.1f%%  %.0f img/s  ETA %ld:%02ld ",
            p->name, epoch, epochs, bar, (long long)j, (long long)spe, loss, 100.0 * acc, ips,
            eta / 60, eta % 60);
    fflush(stderr);
}

void progress_end(progress *p)
{
    if (p->enabled && p->last > 0.0) {
        fputc('\n', stderr);
        p->last = 0.0;
    }
}
