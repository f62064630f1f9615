/* gallery.h - the enrolled-faces database (one SQLite file).
 *
 * A gallery holds identities (unique names) and, for each, one or more
 * embeddings with the path of the image they came from and the time they were
 * enrolled. It also records, once, which model produced the embeddings (a
 * caller-computed fingerprint string such as the hex SHA-256 of the model
 * files) and their dimension: the first enroll sets them and every later
 * enroll must match, because distances between embeddings of different
 * models mean nothing.
 *
 * Durability and concurrency:
 *  - every write (enroll, remove, creation of the schema) is one
 *    BEGIN IMMEDIATE ... COMMIT transaction, rolled back on any error, so a
 *    crash or kill -9 leaves either all of an enroll or none of it;
 *  - the file is in WAL mode: readers never block the writer or each other
 *    and see a consistent snapshot; a writer waits up to the busy timeout
 *    (default 5 s) for another writer;
 *  - synchronous=FULL: the WAL is fsynced at every commit, so an enroll that
 *    returned success survives a power cut too. NORMAL would only risk the
 *    last commits on power loss (never consistency), but enrolls are rare and
 *    tiny next to computing the embeddings, so the fsync costs nothing that
 *    matters.
 *
 * Hostile or wrong files: before SQLite touches an existing file we check its
 * 16-byte header and its size against the page count in the header, so a
 * text file, random bytes or a truncated database is refused with its name
 * and never modified. An SQLite file without our application_id / format is
 * refused as "not a facenet gallery"; a newer format is refused too.
 * fn_gallery_check runs SQLite's full integrity_check plus our own checks.
 *
 * Embeddings are stored as float32 little-endian blobs of dim*4 bytes.
 *
 * Example:
 *     fn_gallery *g; fn_err err;
 *     if (fn_gallery_open("office.db", 1, &g, &err)) { puts(err.msg); ... }
 *     fn_gallery_enroll(g, "bertrand", fp, 128, 1, emb, paths, &err);
 *     fn_gallery_matrix m;
 *     fn_gallery_load(g, NULL, &m, &err);   then fn_identify (match.h)
 *     fn_gallery_matrix_free(&m); fn_gallery_close(g);
 */
#ifndef FN_GALLERY_H
#define FN_GALLERY_H

#include <stddef.h>

#include "core/error.h"

#define FN_GALLERY_MAX_NAME 255   /* bytes of UTF-8 in an identity name */
#define FN_GALLERY_MAX_FP 256     /* bytes in a model fingerprint */
#define FN_GALLERY_MAX_DIM 65536  /* embedding dimension */

typedef struct fn_gallery fn_gallery;

/* Open the gallery at path. create == 0: the file must exist (else FN_E_IO)
 * and be a facenet gallery; it is opened read-write, or read-only when the
 * file is not writable (writes then fail with FN_E_DB). create != 0: a
 * missing (or zero-byte) file becomes a new empty gallery; an existing file
 * must be a facenet gallery. Corrupt, truncated, non-SQLite or foreign
 * SQLite files give FN_E_FORMAT naming the file and are left untouched. */
int fn_gallery_open(const char *path, int create, fn_gallery **out, fn_err *err);
void fn_gallery_close(fn_gallery *g); /* NULL is fine */

/* How long a write waits for another process's write to finish (ms >= 0). */
int fn_gallery_set_busy_timeout(fn_gallery *g, int ms, fn_err *err);

/* The path the gallery was opened with (for messages). */
const char *fn_gallery_path(const fn_gallery *g);

/* The model the gallery was built with: fp receives the fingerprint (fpcap
 * bytes including the NUL), dim the dimension. Empty gallery: fp = "",
 * dim = 0. The fingerprint stays after every identity is removed; to switch
 * models, start a new gallery file. */
int fn_gallery_model(fn_gallery *g, char *fp, size_t fpcap, int *dim, fn_err *err);

/* 0 if name is acceptable as an identity name: 1..FN_GALLERY_MAX_NAME bytes
 * of valid UTF-8, no control characters (C0, DEL, C1, U+2028/9), no leading
 * or trailing space (so "bob" and "bob " cannot both exist). FN_E_ARG else. */
int fn_gallery_check_name(const char *name, fn_err *err);

/* Add n embeddings (n x dim floats, all finite) to identity name, creating
 * it if new. paths: n image paths (or NULL; entries may be NULL) stored with
 * them. model_fp: non-empty printable fingerprint of the model. The first
 * enroll sets the gallery's model; a different fingerprint or dimension is
 * refused (FN_E_ARG, message names both fingerprints and the file) and the
 * gallery is unchanged. One transaction: all n rows or none. */
int fn_gallery_enroll(fn_gallery *g, const char *name, const char *model_fp, int dim,
                      int n, const float *emb, const char *const *paths, fn_err *err);

/* As fn_gallery_enroll, and contents (n strings or NULL; entries may be NULL): a hash
 * of each photo's bytes, recorded in the table photo(embedding_id, content) (created
 * on first use) so a later enroll can skip the same photo under another path. */
int fn_gallery_enroll_content(fn_gallery *g, const char *name, const char *model_fp, int dim, int n,
                              const float *emb, const char *const *paths, const char *const *contents,
                              fn_err *err);

/* Delete identity name and all its embeddings (one transaction). removed
 * (may be NULL) receives the number of embeddings deleted. Unknown name:
 * FN_E_NOTFOUND. */
int fn_gallery_remove(fn_gallery *g, const char *name, int *removed, fn_err *err);

typedef struct {
    char *name;
    int count;                    /* embeddings */
    double first_time, last_time; /* enrollment times, seconds since the Unix epoch */
} fn_identity_info;

/* All identities sorted by name (bytewise). *out is NULL when *n == 0. */
int fn_gallery_list(fn_gallery *g, fn_identity_info **out, int *n, fn_err *err);
void fn_gallery_list_free(fn_identity_info *list, int n);

typedef struct {
    int n_rows, dim, n_ids;
    float *emb;   /* n_rows x dim */
    int *row_id;  /* n_rows: index into names of the identity owning the row */
    char **names; /* n_ids, sorted bytewise; rows are grouped in this order */
} fn_gallery_matrix;

/* Load every embedding (only_name == NULL) or those of one identity
 * (unknown name: FN_E_NOTFOUND) from one consistent snapshot. An empty
 * gallery gives n_rows = n_ids = 0 and dim = 0. A blob of the wrong size is
 * an error (FN_E_FORMAT). Free with fn_gallery_matrix_free (also safe on a
 * zeroed struct or after a failed load). */
int fn_gallery_load(fn_gallery *g, const char *only_name, fn_gallery_matrix *m,
                    fn_err *err);
void fn_gallery_matrix_free(fn_gallery_matrix *m);

/* ---- the gallery as a whole (gallery_admin.c) ---- */

typedef struct {
    char fp[FN_GALLERY_MAX_FP + 1]; /* "" while empty */
    int dim;
    long long n_ids, n_rows;        /* people, photos (embeddings) */
    double created, updated;        /* first identity created, last photo enrolled (Unix s; 0 if none) */
} fn_gallery_info;

/* The summary, from one snapshot. */
int fn_gallery_info_get(fn_gallery *g, fn_gallery_info *info, fn_err *err);

/* Notes: free text kept in the gallery beside the model record (e.g. the profile the
 * embeddings were made with).  A missing note reads as "". The gallery's own keys
 * (format, model_fp, dim) cannot be set. */
int fn_gallery_note(fn_gallery *g, const char *key, char *val, size_t cap, fn_err *err);
int fn_gallery_set_note(fn_gallery *g, const char *key, const char *val, fn_err *err);

typedef struct {
    long long id;   /* the embedding's row */
    char *name;     /* its identity */
    char *path;     /* the photo it came from, or NULL */
    char *content;  /* hash of the photo's bytes when recorded, or NULL */
} fn_gallery_photo;

/* Every stored photo (only_name == NULL) or one identity's, sorted by name then row. */
int fn_gallery_photos(fn_gallery *g, const char *only_name, fn_gallery_photo **out, int *n, fn_err *err);
void fn_gallery_photos_free(fn_gallery_photo *p, int n);

/* Move the gallery to another model in one transaction: row ids[i] gets embedding i
 * (n x dim floats) or, when keep is given and keep[i] == 0, is dropped (identities left
 * without photos go too); the model record becomes new_fp / dim.  ids must be every
 * row of the gallery and old_fp its current model ("" for none), else nothing changes
 * (FN_E_DB: the gallery changed meanwhile). */
int fn_gallery_reencode(fn_gallery *g, const char *old_fp, const char *new_fp, int dim, int n,
                        const long long *ids, const float *emb, const int *keep, fn_err *err);

/* Full check: SQLite integrity_check and foreign_key_check, then ours: the
 * format and model records, every blob exactly dim*4 bytes of finite
 * floats, no identity without embeddings, no invalid names, no triggers or
 * views. 0 if all is well; else FN_E_FORMAT naming the first problem. */
int fn_gallery_check(fn_gallery *g, fn_err *err);

#endif
