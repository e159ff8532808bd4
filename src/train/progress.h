/* progress.h - the training progress line and the JSON-lines log. */
#ifndef MMX_TRAIN_PROGRESS_H
#define MMX_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

/* Monotonic seconds. */
double train_now(void);

typedef struct {
    const char *name;
    int enabled;    /* draw on stderr (only when stderr is a terminal, or forced) */
    int tty;        /* redraw in place with \r                                     */
    double last;    /* time of the last redraw                                     */
} progress;

void progress_init(progress *p, const char *name, int enabled);
/* "name  epoch 2/10 [######----] 120/468  loss 0.6123  acc 78.1%  352 img/s  ETA 3:12" */
void progress_update(progress *p, int epoch, int epochs, int64_t j, int64_t spe, double loss,
                     double acc, double ips, double eta_s, int force);
/* Ends the current line (before printing other output). */
void progress_end(progress *p);

#endif
