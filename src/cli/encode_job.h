/* encode_job.h - the outputs of a `facenet encode` run: checked before the work,
 * checkpointed during it, resumed after a kill (encode_job.c says how). */
#ifndef FN_ENCODE_JOB_H
#define FN_ENCODE_JOB_H

#include "app/encoder.h"
#include "cli/faces_cli.h"
#include "io/embeddings.h"
#include "io/landmarks.h"

typedef struct {
    const char *const *outs;
    int n_out;
    double checkpoint_s;   /* rewrite the outputs this often (0: only at the end) */
    int resumed;           /* outs[0] existed and was read */
    fn_emb_set prev;       /* its rows (--resume) */
    const char **set;      /* open-addressing set of prev's paths */
    size_t set_cap;
    fn_emb_meta meta;      /* provenance written with every output */
    int dim;
    double t_last, write_cost;
    int detect;            /* rows are detected faces (face, box, score with each) */
} fn_encode_job;

/* Check every output can be written; with resume, read outs[0] (when it exists).
 * 0, or FN_EXIT_ERROR after printing why. */
int fn_encode_job_begin(fn_encode_job *j, const char *const *outs, int n_out, int resume, double checkpoint_s);
/* The provenance; refuses (FN_EXIT_ERROR, printed) to resume a file of another model,
 * dimension or shard. */
int fn_encode_job_meta(fn_encode_job *j, const fn_encoder *enc, const char *model_dir, int shard_k, int shard_n,
                       long long total);
/* Is path already in the output being resumed? */
int fn_encode_job_has(const fn_encode_job *j, const char *path);
/* Whether this run detects faces; refuses (FN_EXIT_ERROR, printed) to resume a file
 * made the other way. */
int fn_encode_job_detect(fn_encode_job *j, int detect);
/* fn_cli_encode_faces in chunks, checkpointing the outputs as it goes; index[i] is
 * paths[i]'s position in the whole input list. */
int fn_encode_job_encode(fn_encode_job *j, fn_face_source *src, fn_encoder *enc, const char *const *paths,
                         const char *const *keys, const long long *index, int n, int want_raw, int keep_lm,
                         fn_cli_face_set *set, fn_err *err);
/* Write every output: the resumed rows, then the faces of set. */
int fn_encode_job_write(fn_encode_job *j, const fn_cli_face_set *set, const char *const *paths,
                        const long long *index, fn_err *err);
void fn_encode_job_free(fn_encode_job *j);

#endif
