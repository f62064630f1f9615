/* gallery_store.c - the gallery's rows: enroll and remove (one write transaction
 * each), list and load (one read snapshot each). See gallery.h. */
#include "app/gallery.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "app/gallery_internal.h"

/* ---- small helpers ---------------------------------------------------- */

static double wall_time(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (double)time(NULL);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* float32 -> little-endian bytes, independent of the host's byte order
 * (gal_get_f32le reads them back). */
static void put_f32le(unsigned char *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b[0] = (unsigned char)(u & 0xff);
    b[1] = (unsigned char)((u >> 8) & 0xff);
    b[2] = (unsigned char)((u >> 16) & 0xff);
    b[3] = (unsigned char)(u >> 24);
}

/* Length of the fingerprint's short form used in messages. */
#define FP_SHORT 12

static int check_fp(const char *fp, fn_err *err)
{
    if (!fp || !*fp)
        return fn_fail(err, FN_E_ARG, "model fingerprint is empty");
    size_t len = strlen(fp);
    if (len > FN_GALLERY_MAX_FP)
        return fn_fail(err, FN_E_ARG, "model fingerprint is %zu bytes; the limit is %d", len,
                       FN_GALLERY_MAX_FP);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)fp[i] < 0x20 || (unsigned char)fp[i] > 0x7e)
            return fn_fail(err, FN_E_ARG,
                           "model fingerprint has a non-printable byte at %zu", i);
    return 0;
}

/* "abcdef012345" or the whole string when the short forms would not differ. */
static void fp_short(char *out, size_t cap, const char *fp, const char *other)
{
    if (strlen(fp) > FP_SHORT && strncmp(fp, other, FP_SHORT) != 0)
        snprintf(out, cap, "%.*s...", FP_SHORT, fp);
    else
        snprintf(out, cap, "%s", fp);
}

/* ---- writes -------------------------------------------------------------- */

int fn_gallery_enroll(fn_gallery *g, const char *name, const char *model_fp, int dim,
                      int n, const float *emb, const char *const *paths, fn_err *err)
{
    return fn_gallery_enroll_content(g, name, model_fp, dim, n, emb, paths, NULL, err);
}

/* Record contents[i] for each new embedding row (the table is made on first use;
 * ON DELETE CASCADE keeps fn_gallery_remove working as before). */
static int record_contents(fn_gallery *g, const sqlite3_int64 *rows, int n, const char *const *contents,
                           fn_err *err)
{
    if (gal_exec(g,
                 "CREATE TABLE IF NOT EXISTS photo(embedding_id INTEGER PRIMARY KEY"
                 " REFERENCES embedding(id) ON DELETE CASCADE, content TEXT NOT NULL)",
                 err, "creating the photo table"))
        return -1;
    sqlite3_stmt *st;
    if (gal_prep(g, "INSERT OR REPLACE INTO photo(embedding_id, content) VALUES(?1, ?2)", &st, err,
                 "recording photo contents"))
        return -1;
    for (int i = 0; i < n; i++) {
        if (!contents[i])
            continue;
        sqlite3_bind_int64(st, 1, rows[i]);
        sqlite3_bind_text(st, 2, contents[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            gal_db_fail(g, err, "recording photo contents");
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return 0;
}

int fn_gallery_enroll_content(fn_gallery *g, const char *name, const char *model_fp, int dim, int n,
                              const float *emb, const char *const *paths, const char *const *contents,
                              fn_err *err)
{
    if (!g)
        return fn_fail(err, FN_E_ARG, "gallery enroll: no gallery");
    if (fn_gallery_check_name(name, err))
        return fn_wrap(err, "%s: ", g->path);
    if (check_fp(model_fp, err))
        return fn_wrap(err, "%s: ", g->path);
    if (dim < 1 || dim > FN_GALLERY_MAX_DIM)
        return fn_fail(err, FN_E_ARG, "%s: embedding dimension %d is out of range 1..%d",
                       g->path, dim, FN_GALLERY_MAX_DIM);
    if (n < 1 || !emb)
        return fn_fail(err, FN_E_ARG, "%s: enroll '%s': no embeddings given", g->path, name);
    size_t total;
    if (fn_mul_size((size_t)n, (size_t)dim, &total))
        return fn_fail(err, FN_E_NOMEM, "%s: %d x %d embeddings overflow", g->path, n, dim);
    for (size_t i = 0; i < total; i++)
        if (!isfinite(emb[i]))
            return fn_fail(err, FN_E_ARG,
                           "%s: enroll '%s': embedding %zu has a non-finite value at %zu",
                           g->path, name, i / (size_t)dim, i % (size_t)dim);
    const size_t blob_bytes = (size_t)dim * 4;
    unsigned char *blob = malloc(blob_bytes);
    sqlite3_int64 *rows = contents ? malloc(sizeof *rows * (size_t)n) : NULL;
    if (!blob || (contents && !rows)) {
        free(blob);
        free(rows);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", g->path);
    }
    sqlite3_stmt *ins_id = NULL, *get_id = NULL, *ins_emb = NULL;
    const double now = wall_time();

    if (gal_exec(g, "BEGIN IMMEDIATE", err, "starting the enroll")) {
        free(blob);
        free(rows);
        return -1;
    }
    /* The model check happens under the write lock, so two enrolls with
     * different models cannot both become "the first". */
    char have_fp[FN_GALLERY_MAX_FP + 1];
    int has, have_dim;
    if (gal_read_model(g, &has, have_fp, &have_dim, err))
        goto fail;
    if (has && (strcmp(have_fp, model_fp) != 0 || have_dim != dim)) {
        char a[FN_GALLERY_MAX_FP + 8], b[FN_GALLERY_MAX_FP + 8];
        fp_short(a, sizeof a, have_fp, model_fp);
        fp_short(b, sizeof b, model_fp, have_fp);
        fn_fail(err, FN_E_ARG,
                "%s: gallery was built with model %s (dim %d); refusing to enroll '%s' "
                "with embeddings from model %s (dim %d). Use one gallery file per model.",
                g->path, a, have_dim, name, b, dim);
        goto fail;
    }
    if (!has) {
        sqlite3_stmt *st;
        if (gal_prep(g, "INSERT INTO meta(key, value) VALUES('model_fp', ?1), ('dim', ?2)", &st,
                     err, "recording the model"))
            goto fail;
        char dimtxt[16];
        snprintf(dimtxt, sizeof dimtxt, "%d", dim);
        sqlite3_bind_text(st, 1, model_fp, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, dimtxt, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            gal_db_fail(g, err, "recording the model");
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    if (gal_prep(g, "INSERT OR IGNORE INTO identity(name, created) VALUES(?1, ?2)", &ins_id,
                 err, "adding the identity") ||
        gal_prep(g, "SELECT id FROM identity WHERE name = ?1", &get_id, err,
                 "finding the identity") ||
        gal_prep(g,
                 "INSERT INTO embedding(identity_id, vec, path, enrolled) VALUES(?1, ?2, ?3, ?4)",
                 &ins_emb, err, "adding embeddings"))
        goto fail;
    sqlite3_bind_text(ins_id, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(ins_id, 2, now);
    if (sqlite3_step(ins_id) != SQLITE_DONE) {
        gal_db_fail(g, err, "adding the identity");
        goto fail;
    }
    sqlite3_bind_text(get_id, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(get_id) != SQLITE_ROW) {
        gal_db_fail(g, err, "finding the identity");
        goto fail;
    }
    const sqlite3_int64 id = sqlite3_column_int64(get_id, 0);
    for (int i = 0; i < n; i++) {
        const float *e = emb + (size_t)i * (size_t)dim;
        for (int k = 0; k < dim; k++)
            put_f32le(blob + 4 * (size_t)k, e[k]);
        sqlite3_bind_int64(ins_emb, 1, id);
        sqlite3_bind_blob(ins_emb, 2, blob, (int)blob_bytes, SQLITE_STATIC);
        if (paths && paths[i])
            sqlite3_bind_text(ins_emb, 3, paths[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins_emb, 3);
        sqlite3_bind_double(ins_emb, 4, now);
        if (sqlite3_step(ins_emb) != SQLITE_DONE) {
            gal_db_fail(g, err, "adding embeddings");
            goto fail;
        }
        if (rows)
            rows[i] = sqlite3_last_insert_rowid(g->db);
        sqlite3_reset(ins_emb);
    }
    if (contents && record_contents(g, rows, n, contents, err))
        goto fail;
    sqlite3_finalize(ins_id);
    sqlite3_finalize(get_id);
    sqlite3_finalize(ins_emb);
    ins_id = get_id = ins_emb = NULL;
    if (gal_exec(g, "COMMIT", err, "committing the enroll"))
        goto fail;
    free(blob);
    free(rows);
    return 0;
fail:
    sqlite3_finalize(ins_id);
    sqlite3_finalize(get_id);
    sqlite3_finalize(ins_emb);
    gal_rollback(g);
    free(blob);
    free(rows);
    return -1;
}

int fn_gallery_remove(fn_gallery *g, const char *name, int *removed, fn_err *err)
{
    if (!g || !name)
        return fn_fail(err, FN_E_ARG, "gallery remove: bad arguments");
    if (removed)
        *removed = 0;
    sqlite3_stmt *st = NULL;
    if (gal_exec(g, "BEGIN IMMEDIATE", err, "starting the removal"))
        return -1;
    if (gal_prep(g, "SELECT id FROM identity WHERE name = ?1", &st, err,
                 "finding the identity"))
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        fn_fail(err, FN_E_NOTFOUND, "%s: no identity named '%s'", g->path, name);
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        gal_db_fail(g, err, "finding the identity");
        goto fail;
    }
    const sqlite3_int64 id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (gal_prep(g, "DELETE FROM embedding WHERE identity_id = ?1", &st, err,
                 "deleting embeddings"))
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        gal_db_fail(g, err, "deleting embeddings");
        goto fail;
    }
    const int count = sqlite3_changes(g->db);
    sqlite3_finalize(st);
    st = NULL;
    if (gal_prep(g, "DELETE FROM identity WHERE id = ?1", &st, err, "deleting the identity"))
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        gal_db_fail(g, err, "deleting the identity");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (gal_exec(g, "COMMIT", err, "committing the removal"))
        goto fail;
    if (removed)
        *removed = count;
    return 0;
fail:
    sqlite3_finalize(st);
    gal_rollback(g);
    return -1;
}

/* ---- reads --------------------------------------------------------------- */

void fn_gallery_list_free(fn_identity_info *list, int n)
{
    if (!list)
        return;
    for (int i = 0; i < n; i++)
        free(list[i].name);
    free(list);
}

int fn_gallery_list(fn_gallery *g, fn_identity_info **out, int *n, fn_err *err)
{
    if (!g || !out || !n)
        return fn_fail(err, FN_E_ARG, "gallery list: bad arguments");
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (gal_prep(g,
                 "SELECT i.name, count(e.id), min(e.enrolled), max(e.enrolled), i.created"
                 " FROM identity i LEFT JOIN embedding e ON e.identity_id = i.id"
                 " GROUP BY i.id ORDER BY i.name",
                 &st, err, "listing identities"))
        return -1;
    fn_identity_info *list = NULL;
    int len = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            if (cap > INT_MAX / 2)
                goto nomem;
            int ncap = cap ? cap * 2 : 16;
            fn_identity_info *nl = realloc(list, (size_t)ncap * sizeof *list);
            if (!nl)
                goto nomem;
            list = nl;
            cap = ncap;
        }
        const char *name = (const char *)sqlite3_column_text(st, 0);
        fn_identity_info *it = &list[len];
        if (!(it->name = gal_dup_str(name ? name : "")))
            goto nomem;
        len++;
        it->count = sqlite3_column_int(st, 1);
        const int empty = sqlite3_column_type(st, 2) == SQLITE_NULL;
        it->first_time = sqlite3_column_double(st, empty ? 4 : 2);
        it->last_time = sqlite3_column_double(st, empty ? 4 : 3);
    }
    if (rc != SQLITE_DONE) {
        gal_db_fail(g, err, "listing identities");
        sqlite3_finalize(st);
        fn_gallery_list_free(list, len);
        return -1;
    }
    sqlite3_finalize(st);
    *out = list;
    *n = len;
    return 0;
nomem:
    sqlite3_finalize(st);
    fn_gallery_list_free(list, len);
    return fn_fail(err, FN_E_NOMEM, "%s: out of memory listing identities", g->path);
}

void fn_gallery_matrix_free(fn_gallery_matrix *m)
{
    if (!m)
        return;
    if (m->names)
        for (int i = 0; i < m->n_ids; i++)
            free(m->names[i]);
    free(m->names);
    free(m->emb);
    free(m->row_id);
    memset(m, 0, sizeof *m);
}

/* Body of fn_gallery_load, run inside a read transaction. */
static int load_rows(fn_gallery *g, const char *only_name, fn_gallery_matrix *m,
                     fn_err *err)
{
    char fp[FN_GALLERY_MAX_FP + 1];
    int has, dim;
    if (gal_read_model(g, &has, fp, &dim, err))
        return -1;
    sqlite3_stmt *st;
    if (only_name) {
        if (gal_prep(g, "SELECT id FROM identity WHERE name = ?1", &st, err,
                     "finding the identity"))
            return -1;
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return fn_fail(err, FN_E_NOTFOUND, "%s: no identity named '%s'", g->path,
                           only_name);
        if (rc != SQLITE_ROW)
            return gal_db_fail(g, err, "finding the identity");
    }
    static const char count_sql[] =
        "SELECT count(*) FROM embedding e JOIN identity i ON i.id = e.identity_id"
        " WHERE ?1 IS NULL OR i.name = ?1";
    if (gal_prep(g, count_sql, &st, err, "counting embeddings"))
        return -1;
    if (only_name)
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        gal_db_fail(g, err, "counting embeddings");
        sqlite3_finalize(st);
        return -1;
    }
    const long long rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rows == 0)
        return 0;
    if (!has)
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt gallery: embeddings without a model",
                       g->path);
    if (rows > INT32_MAX)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: %lld embeddings are too many", g->path,
                       rows);
    size_t nfloat, nbytes;
    if (fn_mul_size((size_t)rows, (size_t)dim, &nfloat) ||
        fn_mul_size(nfloat, sizeof(float), &nbytes))
        return fn_fail(err, FN_E_NOMEM, "%s: %lld x %d embeddings overflow", g->path, rows,
                       dim);
    m->dim = dim;
    m->emb = malloc(nbytes);
    m->row_id = malloc((size_t)rows * sizeof *m->row_id);
    if (!m->emb || !m->row_id)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory loading %lld embeddings", g->path,
                       rows);
    if (gal_prep(g,
                 "SELECT i.name, e.vec, e.id FROM embedding e JOIN identity i"
                 " ON i.id = e.identity_id WHERE ?1 IS NULL OR i.name = ?1"
                 " ORDER BY i.name, e.id",
                 &st, err, "loading embeddings"))
        return -1;
    if (only_name)
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
    int cap_ids = 0, rc;
    const size_t want = (size_t)dim * 4;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const unsigned char *blob = sqlite3_column_blob(st, 1);
        const size_t bytes = (size_t)sqlite3_column_bytes(st, 1);
        if (!name)
            name = "";
        if (m->n_rows >= rows) {
            fn_fail(err, FN_E_FORMAT, "%s: embeddings changed while loading", g->path);
            goto fail;
        }
        if (bytes != want || !blob) {
            fn_fail(err, FN_E_FORMAT,
                    "%s: corrupt embedding %lld of '%s': %zu bytes, expected %zu (dim %d)",
                    g->path, (long long)sqlite3_column_int64(st, 2), name, bytes, want, dim);
            goto fail;
        }
        if (m->n_ids == 0 || strcmp(m->names[m->n_ids - 1], name) != 0) {
            if (m->n_ids == cap_ids) {
                if (cap_ids > INT_MAX / 2)
                    goto nomem;
                int ncap = cap_ids ? cap_ids * 2 : 16;
                char **nn = realloc(m->names, (size_t)ncap * sizeof *nn);
                if (!nn)
                    goto nomem;
                m->names = nn;
                cap_ids = ncap;
            }
            if (!(m->names[m->n_ids] = gal_dup_str(name)))
                goto nomem;
            m->n_ids++;
        }
        float *row = m->emb + (size_t)m->n_rows * (size_t)dim;
        for (int k = 0; k < dim; k++) {
            row[k] = gal_get_f32le(blob + 4 * (size_t)k);
            if (!isfinite(row[k])) {
                fn_fail(err, FN_E_FORMAT,
                        "%s: corrupt embedding %lld of '%s': non-finite value at %d",
                        g->path, (long long)sqlite3_column_int64(st, 2), name, k);
                goto fail;
            }
        }
        m->row_id[m->n_rows++] = m->n_ids - 1;
    }
    if (rc != SQLITE_DONE) {
        gal_db_fail(g, err, "loading embeddings");
        goto fail;
    }
    sqlite3_finalize(st);
    if (m->n_rows != rows)
        return fn_fail(err, FN_E_FORMAT, "%s: embeddings changed while loading", g->path);
    return 0;
nomem:
    fn_fail(err, FN_E_NOMEM, "%s: out of memory loading embeddings", g->path);
fail:
    sqlite3_finalize(st);
    return -1;
}

int fn_gallery_load(fn_gallery *g, const char *only_name, fn_gallery_matrix *m,
                    fn_err *err)
{
    if (!m)
        return fn_fail(err, FN_E_ARG, "gallery load: NULL output");
    memset(m, 0, sizeof *m);
    if (!g)
        return fn_fail(err, FN_E_ARG, "gallery load: no gallery");
    /* One read transaction = one snapshot: the model record, the count and
     * the rows agree even while another process enrolls. */
    if (gal_exec(g, "BEGIN", err, "starting to load"))
        return -1;
    int r = load_rows(g, only_name, m, err);
    if (r == 0 && gal_exec(g, "COMMIT", err, "finishing the load"))
        r = -1;
    if (r) {
        gal_rollback(g);
        fn_gallery_matrix_free(m);
    }
    return r;
}
