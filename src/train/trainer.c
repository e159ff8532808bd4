/* trainer.c - the training loop; see trainer.h. */
#include "train/trainer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/internal.h"
#include "core/rng.h"
#include "train/checkpoint.h"
#include "train/progress.h"

#define AUG_SEED_SALT 0xA5A5F00Dull

train_config train_config_default(void)
{
    train_config t;
    memset(&t, 0, sizeof t);
    t.model = vit_config_default();
    t.opt = adamw_config_default();
    t.epochs = 10;
    t.batch = 128;
    t.warmup_epochs = 1.0;
    t.seed = 1;
    t.label_smoothing = 0.1;
    t.augment = 1;
    t.pad = 2;
    t.log_every = 50;
    t.progress = 1;
    t.name = "vit";
    return t;
}

mmx_status train_mkdir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        return MMX_OK;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return mmx_fail(MMX_ERR_IO, "train_mkdir", "cannot create directory '%s': %s", dir,
                        strerror(errno));
    return MMX_OK;
}

mmx_status train_evaluate(vit_model *m, const mmx_images *test, int batch, double ls, double *loss,
                          double *acc)
{
    int64_t S = test->rows * test->cols, n = test->n;
    float *x = malloc((size_t)(batch * S) * sizeof(float));
    int32_t *y = malloc((size_t)batch * sizeof(int32_t)), *pred = malloc((size_t)batch * 4);
    int64_t *idx = malloc((size_t)batch * sizeof(int64_t));
    mmx_status st = (x && y && pred && idx)
                        ? MMX_OK
                        : mmx_fail(MMX_ERR_NOMEM, "train_evaluate", "out of memory");
    double sl = 0.0;
    int64_t correct = 0;
    for (int64_t i0 = 0; i0 < n && st == MMX_OK; i0 += batch) {
        int b = (int)(n - i0 < batch ? n - i0 : batch);
        for (int j = 0; j < b; j++)
            idx[j] = i0 + j;
        mmx_images_batch(x, y, test, idx, b, 0, 0, 0, 0, MMX_FMNIST_MEAN, MMX_FMNIST_STD);
        double ml;
        st = vit_forward(m, x, y, b, ls, 0, &ml);
        if (st == MMX_OK)
            st = vit_predict(m, pred, b);
        sl += ml * b;
        for (int j = 0; j < b && st == MMX_OK; j++)
            correct += pred[j] == y[j];
    }
    free(x), free(y), free(pred), free(idx);
    if (st == MMX_OK) {
        *loss = sl / (double)n;
        *acc = (double)correct / (double)n;
    }
    return st;
}

static mmx_status load_data(const train_config *tc, mmx_images *train, mmx_images *test)
{
    mmx_status st = mmx_fmnist_load(train, test, tc->data_dir);
    if (st != MMX_OK)
        return st;
    if (tc->train_limit > 0 && tc->train_limit < train->n)
        mmx_images_truncate(train, tc->train_limit);
    if (tc->test_limit > 0 && tc->test_limit < test->n)
        mmx_images_truncate(test, tc->test_limit);
    if (train->rows != tc->model.image || train->cols != tc->model.image)
        return mmx_fail(MMX_ERR_PARAM, "train_run", "images are %lldx%lld, model expects %d",
                        (long long)train->rows, (long long)train->cols, tc->model.image);
    if (train->n < tc->batch)
        return mmx_fail(MMX_ERR_PARAM, "train_run",
                        "batch = %d is larger than the %lld training images", tc->batch,
                        (long long)train->n);
    return MMX_OK;
}

/* Every setting that must match for a resume to replay the same run. */
static void run_meta(ckpt_meta *md, const train_config *tc)
{
    memset(md, 0, sizeof *md);
    ckpt_meta_model(md, &tc->model);
    ckpt_meta_add(md, "train.epochs", "%d", tc->epochs);
    ckpt_meta_add(md, "train.batch", "%d", tc->batch);
    ckpt_meta_add(md, "train.seed", "%llu", (unsigned long long)tc->seed);
    ckpt_meta_add(md, "train.lr", "%.17g", tc->opt.lr);
    ckpt_meta_add(md, "train.min_lr", "%.17g", tc->opt.min_lr);
    ckpt_meta_add(md, "train.weight_decay", "%.17g", tc->opt.weight_decay);
    ckpt_meta_add(md, "train.clip", "%.17g", tc->opt.clip);
    ckpt_meta_add(md, "train.mod_clip", "%.17g", tc->opt.mod_clip);
    ckpt_meta_add(md, "train.mod_lr_scale", "%.17g", tc->opt.mod_lr_scale);
    ckpt_meta_add(md, "train.warmup_epochs", "%.17g", tc->warmup_epochs);
    ckpt_meta_add(md, "train.label_smoothing", "%.17g", tc->label_smoothing);
    ckpt_meta_add(md, "train.augment", "%d", tc->augment);
    ckpt_meta_add(md, "train.pad", "%d", tc->pad);
    ckpt_meta_add(md, "train.train_limit", "%lld", (long long)tc->train_limit);
}

static mmx_status resume_from(const train_config *tc, const char *path, vit_model *m, adamw *o,
                              int64_t *step)
{
    mmx_st_file f;
    mmx_status st = mmx_st_read(&f, path);
    if (st != MMX_OK)
        return st;
    ckpt_meta md;
    run_meta(&md, tc);
    for (int i = 0; i < md.n && st == MMX_OK; i++) {
        const char *v = mmx_st_meta(&f, md.keys[i]);
        if (!v || strcmp(v, md.vals[i]) != 0)
            st = mmx_fail(MMX_ERR_PARAM, "train_run",
                          "--resume: setting '%s' is %s in %s but %s now; resume with the "
                          "same settings",
                          md.keys[i], v ? v : "(missing)", path, md.vals[i]);
    }
    if (st == MMX_OK)
        st = ckpt_load(&f, path, m, o, step);
    mmx_st_free(&f);
    return st;
}

/* Buffers and counters of one run. */
typedef struct {
    const train_config *tc;
    mmx_images train, test;
    vit_model m;
    adamw o;
    float *x;          /* (B, S, S) */
    int32_t *y, *pred; /* (B) */
    int64_t *perm;     /* (n_train) */
    FILE *log;
    char ckpt[4096];
    int64_t spe;        /* steps per epoch */
    int64_t perm_epoch; /* the epoch perm holds the order of, -1 before the first */
    double ep_loss, t_train;
    int64_t ep_correct, ep_seen, timed_steps;
    progress pr;
} run;

static void run_free(run *r)
{
    mmx_images_free(&r->train);
    mmx_images_free(&r->test);
    vit_free(&r->m);
    adamw_free(&r->o);
    free(r->x), free(r->y), free(r->pred), free(r->perm);
    if (r->log)
        fclose(r->log);
}

static mmx_status run_setup(run *r, const train_config *tc)
{
    memset(r, 0, sizeof *r);
    r->tc = tc;
    r->perm_epoch = -1;
    mmx_status st;
    if ((st = train_mkdir(tc->out_dir)) || (st = load_data(tc, &r->train, &r->test)) ||
        (st = vit_build(&r->m, &tc->model, tc->batch)))
        return st;
    r->spe = r->train.n / tc->batch;
    adamw_config oc = tc->opt;
    oc.total = r->spe * tc->epochs;
    oc.warmup = (int64_t)(tc->warmup_epochs * (double)r->spe);
    if ((st = adamw_build(&r->o, &oc, r->m.n_params)))
        return st;
    int64_t S = r->train.rows * r->train.cols;
    r->x = malloc((size_t)(tc->batch * S) * sizeof(float));
    r->y = malloc((size_t)tc->batch * sizeof(int32_t));
    r->pred = malloc((size_t)tc->batch * sizeof(int32_t));
    r->perm = malloc((size_t)r->train.n * sizeof(int64_t));
    if (!r->x || !r->y || !r->pred || !r->perm)
        return mmx_fail(MMX_ERR_NOMEM, "train_run", "out of memory");
    snprintf(r->ckpt, sizeof r->ckpt, "%s/checkpoint.safetensors", tc->out_dir);
    if (tc->resume)
        st = resume_from(tc, r->ckpt, &r->m, &r->o, &r->o.step);
    else
        vit_init(&r->m, tc->seed);
    if (st)
        return st;
    char logp[4200];
    snprintf(logp, sizeof logp, "%s/log.jsonl", tc->out_dir);
    r->log = fopen(logp, tc->resume ? "a" : "w");
    if (!r->log)
        return mmx_fail(MMX_ERR_IO, "train_run", "cannot write '%s': %s", logp, strerror(errno));
    progress_init(&r->pr, tc->name, tc->progress);
    return MMX_OK;
}

static mmx_status save(run *r)
{
    ckpt_meta md;
    run_meta(&md, r->tc);
    return ckpt_save(r->ckpt, &r->m, &r->o, r->o.step, &md);
}

/* One optimisation step on batch j of epoch e. */
static mmx_status train_step(run *r, int64_t e, int64_t j)
{
    const train_config *tc = r->tc;
    if (r->perm_epoch != e) {
        mmx_rng g;
        r->perm_epoch = e;
        for (int64_t i = 0; i < r->train.n; i++)
            r->perm[i] = i;
        mmx_rng_derive(&g, tc->seed, 1, (uint64_t)e);
        mmx_rng_shuffle(&g, r->perm, r->train.n);
    }
    mmx_images_batch(r->x, r->y, &r->train, r->perm + j * tc->batch, tc->batch, tc->augment,
                     tc->pad, tc->seed ^ AUG_SEED_SALT, (uint64_t)r->o.step, MMX_FMNIST_MEAN,
                     MMX_FMNIST_STD);
    double t0 = train_now(), loss;
    adamw_report rep;
    mmx_status st = vit_forward(&r->m, r->x, r->y, tc->batch, tc->label_smoothing, 1, &loss);
    if (st == MMX_OK)
        st = vit_backward(&r->m, r->y, tc->batch, tc->label_smoothing);
    if (st != MMX_OK)
        return st;
    adamw_step(&r->o, &r->m, &rep);
    r->t_train += train_now() - t0;
    r->timed_steps++;
    if (vit_predict(&r->m, r->pred, tc->batch) == MMX_OK)
        for (int i = 0; i < tc->batch; i++)
            r->ep_correct += r->pred[i] == r->y[i];
    r->ep_loss += loss * tc->batch;
    r->ep_seen += tc->batch;
    if (tc->log_every > 0 && r->o.step % tc->log_every == 0)
        fprintf(r->log,
                "{\"kind\":\"step\",\"step\":%lld,\"epoch\":%lld,\"loss\":%.9g,\"lr\":%.9g,"
                "\"grad_norm\":%.9g,\"mod_grad_norm\":%.9g}\n",
                (long long)r->o.step, (long long)e + 1, loss, rep.lr, rep.grad_norm,
                rep.mod_grad_norm);
    return MMX_OK;
}

static mmx_status end_epoch(run *r, int64_t e, train_result *res)
{
    const train_config *tc = r->tc;
    progress_end(&r->pr);
    double tl, ta;
    mmx_status st = train_evaluate(&r->m, &r->test, tc->batch, tc->label_smoothing, &tl, &ta);
    if (st != MMX_OK)
        return st;
    res->train_loss = r->ep_seen ? r->ep_loss / (double)r->ep_seen : 0.0;
    res->train_acc = r->ep_seen ? (double)r->ep_correct / (double)r->ep_seen : 0.0;
    res->test_loss = tl;
    res->test_acc = ta;
    res->ms_per_step = r->timed_steps ? 1e3 * r->t_train / (double)r->timed_steps : 0.0;
    res->images_per_s = r->t_train > 0 ? (double)r->timed_steps * tc->batch / r->t_train : 0.0;
    fprintf(
        r->log,
        "{\"kind\":\"epoch\",\"epoch\":%lld,\"step\":%lld,\"train_loss\":%.9g,\"train_acc\":%.9g,"
        "\"test_loss\":%.9g,\"test_acc\":%.9g,\"ms_per_step\":%.4f,\"images_per_s\":%.2f}\n",
        (long long)e + 1, (long long)r->o.step, res->train_loss, res->train_acc, tl, ta,
        res->ms_per_step, res->images_per_s);
    fflush(r->log);
    if (tc->progress)
        printf("%s  epoch %lld/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  "
               "%.0f img/s\n",
               tc->name, (long long)e + 1, tc->epochs, res->train_loss, 100 * res->train_acc, tl,
               100 * ta, res->images_per_s);
    fflush(stdout);
    r->ep_loss = 0.0, r->ep_correct = r->ep_seen = 0;
    return save(r);
}

mmx_status train_run(const train_config *tc, train_result *res)
{
    run r;
    memset(res, 0, sizeof *res);
    mmx_status st = run_setup(&r, tc);
    int64_t total = r.spe * tc->epochs;
    int saved = 1;
    double t_start = train_now();
    for (int64_t s = r.o.step; s < total && st == MMX_OK; s = r.o.step) {
        int64_t e = s / r.spe, j = s % r.spe;
        st = train_step(&r, e, j);
        saved = 0;
        double per = (train_now() - t_start) / (double)(r.timed_steps ? r.timed_steps : 1);
        progress_update(&r.pr, (int)e + 1, tc->epochs, j + 1, r.spe,
                        r.ep_seen ? r.ep_loss / (double)r.ep_seen : 0.0,
                        r.ep_seen ? (double)r.ep_correct / (double)r.ep_seen : 0.0,
                        r.t_train > 0 ? (double)r.timed_steps * tc->batch / r.t_train : 0.0,
                        per * (double)(total - r.o.step), j + 1 == r.spe);
        if (st == MMX_OK && j + 1 == r.spe)
            st = end_epoch(&r, e, res), saved = 1;
        else if (st == MMX_OK && tc->save_every > 0 && r.o.step % tc->save_every == 0)
            st = save(&r), saved = 1;
        if (st == MMX_OK && tc->stop_at > 0 && r.o.step >= tc->stop_at)
            break;
    }
    if (st == MMX_OK && !saved)
        st = save(&r);
    res->steps = r.o.step;
    res->params = r.m.n_params;
    run_free(&r);
    return st;
}
