/* gallery_internal.h - what the gallery's three source files share; not a public
 * API (see gallery.h for that).
 *
 *   gallery.c        opening (schema creation, pragmas), identity names, the model
 *                    record, and the SQLite helpers below
 *   gallery_store.c  enroll, remove, list, load
 *   gallery_check.c  the checks of an existing file: its header before SQLite opens
 *                    it, the schema after, and fn_gallery_check
 *   gallery_admin.c  the gallery as a whole: summary, notes, stored photos, re-encoding
 *
 * Schema (format 1; PRAGMA application_id 'FNET', PRAGMA user_version 1):
 *   meta(key, value)        'format' = 'facenet-gallery', 'model_fp', 'dim'
 *   identity(id, name UNIQUE, created)
 *   embedding(id, identity_id -> identity.id, vec BLOB, path, enrolled)
 *   photo(embedding_id -> embedding.id ON DELETE CASCADE, content)   optional: made by
 *                           the first fn_gallery_enroll_content with content hashes;
 *                           readers that predate it ignore it
 * meta may also hold notes (fn_gallery_set_note: 'profile').
 * Times are Unix seconds (REAL). vec is dim float32 values, little-endian.
 */
#ifndef FN_GALLERY_INTERNAL_H
#define FN_GALLERY_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "app/gallery.h"

#define APP_ID 0x464e4554 /* "FNET" */
#define FORMAT_VERSION 1
#define FORMAT_NAME "facenet-gallery"

struct fn_gallery {
    sqlite3 *db;
    char *path;
    int readonly;
};

/* Turn the connection's last SQLite error into an fn_err naming the file
 * (kind from the SQLite code: corrupt -> FN_E_FORMAT, busy -> FN_E_DB, ...). */
int gal_db_fail(const fn_gallery *g, fn_err *err, const char *what);
/* Run sql (no results) / prepare one statement (*st NULL on failure). */
int gal_exec(fn_gallery *g, const char *sql, fn_err *err, const char *what);
int gal_prep(fn_gallery *g, const char *sql, sqlite3_stmt **st, fn_err *err,
             const char *what);
/* Undo an open transaction after an error; the error is already recorded. */
void gal_rollback(fn_gallery *g);
/* Run a statement returning one integer (count(*), PRAGMA x). */
int gal_query_int(fn_gallery *g, const char *sql, long long *out, fn_err *err,
                  const char *what);
char *gal_dup_str(const char *s);

/* Read the model record. has = 0 when there is none yet. fp: FN_GALLERY_MAX_FP+1. */
int gal_read_model(fn_gallery *g, int *has, char *fp, int *dim, fn_err *err);

/* gallery_check.c: look at an existing file before SQLite does (*is_new = 1 when
 * there is nothing there yet), and refuse an open database that is not our format. */
int gal_precheck_file(const char *path, int create, int *is_new, fn_err *err);
int gal_validate_schema(fn_gallery *g, fn_err *err);

/* float32 from little-endian bytes, independent of the host's byte order. */
static inline float gal_get_f32le(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                 ((uint32_t)b[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif
