/* encode_job.c - what keeps a long `facenet encode` from losing work:
 *
 *  - every output is checked before anything else (folder there, a file can be created
 *    in it), so a typo fails at once instead of after hours of encoding;
 *  - the outputs are rewritten every --checkpoint seconds (each file atomically: a
 *    temporary name renamed into place) with the rows encoded so far, so a killed run
 *    leaves a valid, shorter output;
 *  - --resume reads that output back, skips the images whose path is in it and appends
 *    the new rows after the old ones: rows stay in list order, so the result equals
 *    one uninterrupted run.
 * Each output carries its provenance (io/embeddings.h: fn_emb_meta).  Writing every
 * row again at each checkpoint is simple and keeps every file valid at every moment;
 * its cost is bounded by spacing checkpoints at least 10 times the last write's time.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/encode_job.h"
#include "io/embeddings.h"

/* FNV-1a of a path, for the set of paths already encoded. */
static size_t path_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int build_set(fn_encode_job *j)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)j->prev.n + 1)
        cap *= 2;
    j->set = calloc(cap, sizeof *j->set);
    if (!j->set)
        return -1;
    j->set_cap = cap;
    for (int i = 0; i < j->prev.n; i++) {
        size_t h = path_hash(j->prev.paths[i]) & (cap - 1);
        while (j->set[h] && strcmp(j->set[h], j->prev.paths[i]))
            h = (h + 1) & (cap - 1);
        j->set[h] = j->prev.paths[i];
    }
    return 0;
}

int fn_encode_job_has(const fn_encode_job *j, const char *path)
{
    if (!j->set)
        return 0;
    size_t h = path_hash(path) & (j->set_cap - 1);
    for (; j->set[h]; h = (h + 1) & (j->set_cap - 1))
        if (!strcmp(j->set[h], path))
            return 1;
    return 0;
}

int fn_encode_job_begin(fn_encode_job *j, const char *const *outs, int n_out, int resume, double checkpoint_s)
{
    memset(j, 0, sizeof *j);
    j->outs = outs;
    j->n_out = n_out;
    j->checkpoint_s = checkpoint_s;
    fn_emb_meta_init(&j->meta);
    fn_err err = {0};
    for (int o = 0; o < n_out; o++) /* before any image is decoded */
        if (fn_embeddings_check_writable(outs[o], &err))
            return fn_cli_fail("encode: %s", err.msg);
    if (resume && n_out == 0)
        return fn_cli_fail("encode: --resume needs an output (-o FILE) to resume");
    if (resume) {
        struct stat st;
        if (stat(outs[0], &st) == 0) { /* there is something to resume (a FIFO is refused by the reader) */
            if (fn_read_embeddings(outs[0], 1, &j->prev, &err))
                return fn_cli_fail("encode --resume: %s", err.msg);
            j->resumed = 1;
        }
        if (build_set(j))
            return fn_cli_fail("out of memory");
    }
    j->t_last = fn_cli_now();
    return 0;
}

int fn_encode_job_meta(fn_encode_job *j, const fn_encoder *enc, const char *model_dir, int shard_k, int shard_n,
                       long long total)
{
    fn_emb_meta *m = &j->meta;
    snprintf(m->model, sizeof m->model, "%s", enc->fingerprint);
    snprintf(m->profile, sizeof m->profile, "%s", model_dir ? model_dir : "");
    snprintf(m->version, sizeof m->version, "facenet %s", FN_CLI_VERSION);
    m->threshold = enc->prof.threshold;
    m->l2_normalize = enc->prof.l2_normalize;
    m->shard_k = shard_k, m->shard_n = shard_n;
    m->total = total;
    j->dim = enc->dim;
    if (!j->resumed)
        return 0;
    const fn_emb_meta *p = &j->prev.meta;
    if (j->prev.n && j->prev.dim != enc->dim)
        return fn_cli_fail("encode --resume: %s holds %d-d rows, this model makes %d-d ones", j->outs[0],
                           j->prev.dim, enc->dim);
    if (j->prev.has_meta && strcmp(p->model, m->model))
        return fn_cli_fail("encode --resume: %s was written with model %.15s, this is %.15s; resume with the "
                           "same model or write a new file",
                           j->outs[0], p->model, m->model);
    if (j->prev.has_meta && (p->shard_n != m->shard_n || p->shard_k != m->shard_k))
        return fn_cli_fail("encode --resume: %s holds shard %d/%d, this run is shard %d/%d", j->outs[0], p->shard_k,
                           p->shard_n, m->shard_k, m->shard_n);
    return 0;
}

/* Write every output: the previous rows, then the faces of set (their images named
 * by paths, placed in the list by index). */
static int write_all(fn_encode_job *j, const fn_cli_face_set *set, const char *const *paths, const long long *index,
                     fn_err *err)
{
    const int n_new = set->n, n = j->prev.n + n_new, d = j->dim;
    const int faces = j->detect; /* face rows: with detection (a resumed file was checked to agree) */
    const char **p = malloc(sizeof *p * (size_t)(n ? n : 1));
    long long *ix = malloc(sizeof *ix * (size_t)(n ? n : 1));
    float *e = malloc(sizeof *e * (size_t)(n ? n : 1) * (size_t)d);
    float *f6 = faces ? malloc(sizeof *f6 * 6 * (size_t)(n ? n : 1)) : NULL;
    if (!p || !ix || !e || (faces && !f6)) {
        free(p), free(ix), free(e), free(f6);
        return fn_fail(err, FN_E_NOMEM, "out of memory writing the outputs");
    }
    for (int i = 0; i < j->prev.n; i++) {
        p[i] = j->prev.paths[i];
        ix[i] = j->prev.index ? j->prev.index[i] : -1;
    }
    if (j->prev.n)
        memcpy(e, j->prev.emb, sizeof *e * (size_t)j->prev.n * d);
    if (faces && j->prev.n)
        memcpy(f6, j->prev.faces6, sizeof *f6 * 6 * (size_t)j->prev.n);
    for (int i = 0; i < n_new; i++) {
        const fn_cli_face *f = &set->face[i];
        p[j->prev.n + i] = paths[f->image];
        ix[j->prev.n + i] = index[f->image];
        if (faces) {
            float *r = f6 + 6 * (size_t)(j->prev.n + i);
            r[0] = (float)f->face, r[1] = (float)f->box.x, r[2] = (float)f->box.y;
            r[3] = (float)f->box.width, r[4] = (float)f->box.height, r[5] = (float)f->score;
        }
    }
    if (n_new)
        memcpy(e + (size_t)j->prev.n * d, set->emb, sizeof *e * (size_t)n_new * d);
    int rc = 0;
    for (int o = 0; o < j->n_out && !rc; o++)
        rc = fn_write_embeddings_ex(j->outs[o], p, ix, f6, n, d, e, &j->meta, err);
    free(p), free(ix), free(e), free(f6);
    return rc;
}

int fn_encode_job_detect(fn_encode_job *j, int detect)
{
    j->detect = detect;
    if (j->resumed && j->prev.n && (j->prev.faces6 != NULL) != (detect != 0))
        return fn_cli_fail("encode --resume: %s holds %s, this run %s; resume with the same setting", j->outs[0],
                           j->prev.faces6 ? "detected faces" : "whole images (--no-detect)",
                           detect ? "detects faces" : "takes whole images");
    return 0;
}

int fn_encode_job_write(fn_encode_job *j, const fn_cli_face_set *set, const char *const *paths,
                        const long long *index, fn_err *err)
{
    double t0 = fn_cli_now();
    if (write_all(j, set, paths, index, err))
        return -1;
    j->t_last = fn_cli_now();
    j->write_cost = j->t_last - t0;
    return 0;
}

int fn_encode_job_encode(fn_encode_job *j, fn_face_source *src, fn_encoder *enc, const char *const *paths,
                         const char *const *keys, const long long *index, int n, int want_raw, int keep_lm,
                         fn_cli_face_set *set, fn_err *err)
{
    if (j->n_out == 0 || j->checkpoint_s <= 0)
        return fn_cli_encode_faces(src, enc, paths, keys, n, "skipped", want_raw, keep_lm, set, err);
    /* chunks of a few batches; after each, the outputs are rewritten when a checkpoint is due */
    memset(set, 0, sizeof *set);
    set->dim = enc->dim;
    const int chunk = src->batch * 4;
    int rc = 0;
    for (int start = 0; start < n && !rc; start += chunk) {
        int m = n - start < chunk ? n - start : chunk;
        fn_cli_face_set part;
        rc = fn_cli_encode_faces(src, enc, paths + start, keys + start, m, "skipped", want_raw, keep_lm, &part, err);
        if (!rc)
            rc = fn_cli_face_set_append(set, &part, start, err);
        fn_cli_face_set_free(&part);
        double wait = j->checkpoint_s > 10 * j->write_cost ? j->checkpoint_s : 10 * j->write_cost;
        if (!rc && start + m < n && fn_cli_now() - j->t_last >= wait)
            rc = fn_encode_job_write(j, set, paths, index, err);
    }
    return rc;
}

void fn_encode_job_free(fn_encode_job *j)
{
    free(j->set);
    fn_emb_set_free(&j->prev);
    memset(j, 0, sizeof *j);
}
