/* embeddings.h - write a set of embeddings with their image paths, format chosen by
 * the file extension:
 *   .npy  float32 N x D (NumPy format 1.0), paths one per line in the .txt beside it
 *   .csv  one row per image: path, then D values
 *   .h5   datasets "embeddings" (N x D float32) and "paths" (N variable-length UTF-8)
 * Each file is written under a temporary name and renamed into place, so a failed or
 * interrupted write never leaves a half-written output.
 *
 * Provenance (fn_emb_meta): an .h5 file carries it as attributes of its root group
 * (facenet_model, facenet_profile, facenet_threshold, facenet_l2_normalize,
 * facenet_version, rows, dim, and for a shard shard = "K/N" and total) and, when
 * given, a dataset "index" (int64 N: each row's position in the whole input list, which
 * `facenet merge` orders by); an .npy or .csv gets the same in a sidecar FILE.json
 * (out.npy -> out.npy.json; "format": "facenet-embeddings").
 *
 * Rows that are detected faces (faces6 != NULL: per row the face's index in its image,
 * its box x, y, width, height in pixels and the detector's score) also carry those:
 * .csv columns face,x,y,width,height,score after path; .h5 datasets "face" (int32 N),
 * "box" (float32 N x 4), "score" (float32 N); .npy a second sidecar FILE.faces.csv
 * (out.npy -> out.faces.csv: row,face,x,y,width,height,score).
 *
 * fn_read_embeddings reads any of the three back (with its provenance when present);
 * fn_embeddings_check_writable says before any work whether an output can be made. */
#ifndef FN_EMBEDDINGS_H
#define FN_EMBEDDINGS_H

#include "core/error.h"

#include <stddef.h>
#include <stdio.h>

/* One CSV field: as is, or quoted (quotes doubled) when it holds a comma, quote or line
 * break - the one quoting rule of every CSV facenet writes. */
void fn_csv_field(FILE *f, const char *s);

typedef struct {
    char model[72];       /* model fingerprint; "" unknown */
    char profile[256];    /* the model folder the profile came from; "" unknown */
    double threshold;     /* the profile's distance threshold; 0 unknown */
    int l2_normalize;     /* -1 unknown */
    char version[32];     /* the program that wrote it */
    int shard_k, shard_n; /* shard_n == 0: not a shard */
    long long total;      /* images in the whole list (all shards); 0 unknown */
} fn_emb_meta;

void fn_emb_meta_init(fn_emb_meta *m);

int fn_write_embeddings(const char *path, const char *const *paths, int n, int dim, const float *emb,
                        fn_err *err);
/* With provenance (meta may be NULL), per-row list positions (index may be NULL) and
 * per-row faces (faces6: n x 6 floats face, x, y, width, height, score; may be NULL). */
int fn_write_embeddings_ex(const char *path, const char *const *paths, const long long *index, const float *faces6,
                           int n, int dim, const float *emb, const fn_emb_meta *meta, fn_err *err);

typedef struct {
    int n, dim;
    char **paths;         /* n */
    float *emb;           /* n x dim */
    long long *index;     /* n, or NULL when the file has none */
    float *faces6;        /* n x 6 (face, x, y, width, height, score), or NULL: not face rows */
    int has_meta;
    fn_emb_meta meta;
} fn_emb_set;

/* Read an output back.  lenient != 0 (resuming after a kill): an .npy whose paths or
 * sidecar list more rows than its data, or a .csv whose last line is cut, give the rows
 * all parts agree on (outputs only ever grow, so these are a prefix); else any
 * disagreement is an error naming the file. */
int fn_read_embeddings(const char *path, int lenient, fn_emb_set *out, fn_err *err);
void fn_emb_set_free(fn_emb_set *s);

/* Can path be written?  Its folder exists and a file can be created there (tried and
 * removed), and path is not a directory.  Takes microseconds; called before any work. */
int fn_embeddings_check_writable(const char *path, fn_err *err);

/* The sidecar of an .npy or .csv output (path + ".json") into out. */
int fn_embeddings_sidecar(const char *path, char *out, size_t cap, fn_err *err);

#endif
