/* gallery_admin.c - a gallery as a whole: its summary (fn_gallery_info), notes beside
 * the model record, the stored photos (fn_gallery_photos) and moving every embedding
 * to another model in one transaction (fn_gallery_reencode).  See gallery.h. */
#include "app/gallery.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "app/gallery_internal.h"

/* Keys of the meta table that belong to the gallery itself, never to notes. */
static int reserved_key(const char *k)
{
    return !strcmp(k, "format") || !strcmp(k, "model_fp") || !strcmp(k, "dim");
}

int fn_gallery_info_get(fn_gallery *g, fn_gallery_info *info, fn_err *err)
{
    if (!g || !info)
        return fn_fail(err, FN_E_ARG, "gallery info: bad arguments");
    memset(info, 0, sizeof *info);
    if (gal_exec(g, "BEGIN", err, "starting to read the summary"))
        return -1;
    int has;
    sqlite3_stmt *st = NULL;
    if (gal_read_model(g, &has, info->fp, &info->dim, err) ||
        gal_prep(g,
                 "SELECT (SELECT count(*) FROM identity), (SELECT count(*) FROM embedding),"
                 " (SELECT min(created) FROM identity), (SELECT max(enrolled) FROM embedding)",
                 &st, err, "reading the summary"))
        goto fail;
    if (sqlite3_step(st) != SQLITE_ROW) {
        gal_db_fail(g, err, "reading the summary");
        goto fail;
    }
    info->n_ids = sqlite3_column_int64(st, 0);
    info->n_rows = sqlite3_column_int64(st, 1);
    info->created = sqlite3_column_double(st, 2);
    info->updated = sqlite3_column_double(st, 3);
    sqlite3_finalize(st);
    st = NULL;
    if (gal_exec(g, "COMMIT", err, "finishing the summary"))
        goto fail;
    return 0;
fail:
    sqlite3_finalize(st);
    gal_rollback(g);
    return -1;
}

int fn_gallery_note(fn_gallery *g, const char *key, char *val, size_t cap, fn_err *err)
{
    if (!g || !key || !val || cap == 0)
        return fn_fail(err, FN_E_ARG, "gallery note: bad arguments");
    val[0] = '\0';
    sqlite3_stmt *st;
    if (gal_prep(g, "SELECT value FROM meta WHERE key = ?1", &st, err, "reading a note"))
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(val, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        gal_db_fail(g, err, "reading a note");
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int fn_gallery_set_note(fn_gallery *g, const char *key, const char *val, fn_err *err)
{
    if (!g || !key || !*key || !val || reserved_key(key))
        return fn_fail(err, FN_E_ARG, "gallery note: '%s' cannot be set", key ? key : "(null)");
    sqlite3_stmt *st;
    if (gal_prep(g, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", &st, err, "writing a note"))
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        gal_db_fail(g, err, "writing a note");
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void fn_gallery_photos_free(fn_gallery_photo *p, int n)
{
    if (!p)
        return;
    for (int i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].path);
        free(p[i].content);
    }
    free(p);
}

/* A copy of column c (NULL stays NULL); -1 when out of memory. */
static int dup_col(sqlite3_stmt *st, int c, char **out)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    *out = NULL;
    if (!s)
        return 0;
    return (*out = gal_dup_str(s)) ? 0 : -1;
}

int fn_gallery_photos(fn_gallery *g, const char *only_name, fn_gallery_photo **out, int *n, fn_err *err)
{
    if (!g || !out || !n)
        return fn_fail(err, FN_E_ARG, "gallery photos: bad arguments");
    *out = NULL;
    *n = 0;
    long long has_content = 0;
    if (gal_query_int(g, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'photo'",
                      &has_content, err, "looking for content hashes"))
        return -1;
    sqlite3_stmt *st;
    const char *sql = has_content ? "SELECT e.id, i.name, e.path, p.content FROM embedding e"
                                    " JOIN identity i ON i.id = e.identity_id"
                                    " LEFT JOIN photo p ON p.embedding_id = e.id"
                                    " WHERE ?1 IS NULL OR i.name = ?1 ORDER BY i.name, e.id"
                                  : "SELECT e.id, i.name, e.path, NULL FROM embedding e"
                                    " JOIN identity i ON i.id = e.identity_id"
                                    " WHERE ?1 IS NULL OR i.name = ?1 ORDER BY i.name, e.id";
    if (gal_prep(g, sql, &st, err, "listing photos"))
        return -1;
    if (only_name)
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
    fn_gallery_photo *list = NULL;
    int len = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            int ncap = cap ? cap * 2 : 64;
            fn_gallery_photo *nl = ncap > cap ? realloc(list, (size_t)ncap * sizeof *list) : NULL;
            if (!nl)
                goto nomem;
            list = nl;
            cap = ncap;
        }
        fn_gallery_photo *p = &list[len];
        memset(p, 0, sizeof *p);
        len++;
        p->id = sqlite3_column_int64(st, 0);
        if (dup_col(st, 1, &p->name) || dup_col(st, 2, &p->path) || dup_col(st, 3, &p->content) || !p->name)
            goto nomem;
    }
    if (rc != SQLITE_DONE) {
        gal_db_fail(g, err, "listing photos");
        sqlite3_finalize(st);
        fn_gallery_photos_free(list, len);
        return -1;
    }
    sqlite3_finalize(st);
    *out = list;
    *n = len;
    return 0;
nomem:
    sqlite3_finalize(st);
    fn_gallery_photos_free(list, len);
    return fn_fail(err, FN_E_NOMEM, "%s: out of memory listing photos", g->path);
}

/* One statement with two bound integers (or a blob and an integer) run to completion. */
static int step_done(fn_gallery *g, sqlite3_stmt *st, fn_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : gal_db_fail(g, err, what);
}

int fn_gallery_reencode(fn_gallery *g, const char *old_fp, const char *new_fp, int dim, int n,
                        const long long *ids, const float *emb, const int *keep, fn_err *err)
{
    if (!g || !old_fp || !new_fp || !*new_fp || strlen(new_fp) > FN_GALLERY_MAX_FP || n < 0 || (n && (!ids || !emb)))
        return fn_fail(err, FN_E_ARG, "gallery reencode: bad arguments");
    if (dim < 1 || dim > FN_GALLERY_MAX_DIM)
        return fn_fail(err, FN_E_ARG, "%s: embedding dimension %d is out of range", g->path, dim);
    for (size_t i = 0; i < (size_t)n * (size_t)dim; i++)
        if ((!keep || keep[i / (size_t)dim]) && !isfinite(emb[i]))
            return fn_fail(err, FN_E_ARG, "%s: new embedding %zu has a non-finite value", g->path, i / (size_t)dim);
    unsigned char *blob = malloc((size_t)dim * 4);
    if (!blob)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", g->path);
    sqlite3_stmt *upd = NULL, *del = NULL, *st = NULL;
    if (gal_exec(g, "BEGIN IMMEDIATE", err, "starting the re-enrollment")) {
        free(blob);
        return -1;
    }
    /* Under the write lock: the gallery must still be what the caller encoded. */
    char fp[FN_GALLERY_MAX_FP + 1];
    int has, have_dim;
    long long rows;
    if (gal_read_model(g, &has, fp, &have_dim, err) ||
        gal_query_int(g, "SELECT count(*) FROM embedding", &rows, err, "counting embeddings"))
        goto fail;
    if ((has ? strcmp(fp, old_fp) : *old_fp != '\0') || rows != n) {
        fn_fail(err, FN_E_DB, "%s: the gallery changed while its photos were being encoded; run it again", g->path);
        goto fail;
    }
    if (gal_prep(g, "UPDATE embedding SET vec = ?1 WHERE id = ?2", &upd, err, "updating embeddings") ||
        gal_prep(g, "DELETE FROM embedding WHERE id = ?1", &del, err, "dropping embeddings"))
        goto fail;
    for (int i = 0; i < n; i++) {
        if (keep && !keep[i]) {
            sqlite3_bind_int64(del, 1, ids[i]);
            if (step_done(g, del, err, "dropping embeddings"))
                goto fail;
        } else {
            for (int k = 0; k < dim; k++) {
                uint32_t u;
                memcpy(&u, &emb[(size_t)i * dim + k], 4);
                for (int b = 0; b < 4; b++)
                    blob[4 * (size_t)k + b] = (unsigned char)(u >> (8 * b));
            }
            sqlite3_bind_blob(upd, 1, blob, dim * 4, SQLITE_STATIC);
            sqlite3_bind_int64(upd, 2, ids[i]);
            if (step_done(g, upd, err, "updating embeddings"))
                goto fail;
        }
        if (sqlite3_changes(g->db) != 1) {
            fn_fail(err, FN_E_DB, "%s: embedding %lld disappeared during the re-enrollment", g->path, ids[i]);
            goto fail;
        }
    }
    /* identities whose every photo was dropped go too (a gallery has none without) */
    if (gal_exec(g, "DELETE FROM identity WHERE id NOT IN (SELECT identity_id FROM embedding)", err,
                 "dropping empty identities") ||
        gal_prep(g, "INSERT OR REPLACE INTO meta(key, value) VALUES('model_fp', ?1), ('dim', ?2)", &st, err,
                 "recording the model"))
        goto fail;
    char dimtxt[16];
    snprintf(dimtxt, sizeof dimtxt, "%d", dim);
    sqlite3_bind_text(st, 1, new_fp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dimtxt, -1, SQLITE_STATIC);
    if (step_done(g, st, err, "recording the model"))
        goto fail;
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_finalize(st);
    upd = del = st = NULL;
    if (gal_exec(g, "COMMIT", err, "committing the re-enrollment"))
        goto fail;
    free(blob);
    return 0;
fail:
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_finalize(st);
    gal_rollback(g);
    free(blob);
    return -1;
}
