/* gallery.c - the SQLite gallery (see gallery.h for the guarantees): opening and
 * creating a gallery, identity names, the model record, and the SQLite helpers the
 * other gallery files share (gallery_internal.h describes the schema and the split).
 */
#include "app/gallery.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app/gallery_internal.h"

#define DEFAULT_BUSY_MS 5000

static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE identity(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created REAL NOT NULL);"
    "CREATE TABLE embedding(id INTEGER PRIMARY KEY,"
    " identity_id INTEGER NOT NULL REFERENCES identity(id),"
    " vec BLOB NOT NULL, path TEXT, enrolled REAL NOT NULL);"
    "CREATE INDEX embedding_by_identity ON embedding(identity_id);"
    "INSERT INTO meta(key, value) VALUES('format', '" FORMAT_NAME "');"
    "PRAGMA application_id = 1179534676;" /* APP_ID in decimal */
    "PRAGMA user_version = 1;";

/* ---- small helpers ---------------------------------------------------- */

/* Turn the connection's last SQLite error into an fn_err naming the file. */
int gal_db_fail(const fn_gallery *g, fn_err *err, const char *what)
{
    const int code = sqlite3_errcode(g->db) & 0xff;
    const char *msg = sqlite3_errmsg(g->db);
    switch (code) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt gallery database (%s) while %s",
                       g->path, msg, what);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return fn_fail(err, FN_E_DB,
                       "%s: gallery is locked by another process (%s) while %s; try again",
                       g->path, msg, what);
    case SQLITE_NOMEM:
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory while %s", g->path, what);
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
        return fn_fail(err, FN_E_IO, "%s: I/O error (%s) while %s", g->path, msg, what);
    case SQLITE_READONLY:
        return fn_fail(err, FN_E_DB, "%s: gallery is read-only (%s) while %s", g->path,
                       msg, what);
    default:
        return fn_fail(err, FN_E_DB, "%s: database error (%s) while %s", g->path, msg,
                       what);
    }
}

int gal_exec(fn_gallery *g, const char *sql, fn_err *err, const char *what)
{
    if (sqlite3_exec(g->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return gal_db_fail(g, err, what);
    return 0;
}

int gal_prep(fn_gallery *g, const char *sql, sqlite3_stmt **st, fn_err *err,
             const char *what)
{
    *st = NULL;
    if (sqlite3_prepare_v2(g->db, sql, -1, st, NULL) != SQLITE_OK) {
        gal_db_fail(g, err, what);
        sqlite3_finalize(*st);
        *st = NULL;
        return -1;
    }
    return 0;
}

/* Undo an open transaction after an error; the error is already recorded. */
void gal_rollback(fn_gallery *g)
{
    if (!sqlite3_get_autocommit(g->db))
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a statement returning one integer (count(*), PRAGMA x). */
int gal_query_int(fn_gallery *g, const char *sql, long long *out, fn_err *err,
                  const char *what)
{
    sqlite3_stmt *st;
    if (gal_prep(g, sql, &st, err, what))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    } else if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return fn_fail(err, FN_E_FORMAT, "%s: no result while %s", g->path, what);
    }
    if (rc != SQLITE_DONE) {
        gal_db_fail(g, err, what);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

char *gal_dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- opening ------------------------------------------------------------ */

/* Is the schema completely empty (a brand-new database)? */
static int schema_objects(fn_gallery *g, long long *n, fn_err *err)
{
    return gal_query_int(g, "SELECT count(*) FROM sqlite_master", n, err, "reading the schema");
}

static int create_schema(fn_gallery *g, fn_err *err)
{
    if (gal_exec(g, "BEGIN IMMEDIATE", err, "starting to create the gallery"))
        return -1;
    long long n;
    /* Another process may have created it between our check and our lock. */
    if (schema_objects(g, &n, err))
        goto fail;
    if (n == 0 && gal_exec(g, SCHEMA_SQL, err, "creating the gallery tables"))
        goto fail;
    if (gal_exec(g, "COMMIT", err, "committing the new gallery"))
        goto fail;
    return 0;
fail:
    gal_rollback(g);
    return -1;
}

int fn_gallery_open(const char *path, int create, fn_gallery **out, fn_err *err)
{
    if (!out)
        return fn_fail(err, FN_E_ARG, "gallery: NULL output");
    *out = NULL;
    if (!path || !*path)
        return fn_fail(err, FN_E_ARG, "gallery: empty file name");
    int is_new;
    struct stat before;
    const int existed = stat(path, &before) == 0;
    if (gal_precheck_file(path, create, &is_new, err))
        return -1;
    fn_gallery *g = calloc(1, sizeof *g);
    if (!g || !(g->path = gal_dup_str(path))) {
        free(g);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (!create && access(path, W_OK) != 0) {
        flags = SQLITE_OPEN_READONLY;
        g->readonly = 1;
    }
    if (sqlite3_open_v2(path, &g->db, flags, NULL) != SQLITE_OK) {
        if (g->db)
            gal_db_fail(g, err, "opening");
        else
            fn_fail(err, FN_E_NOMEM, "%s: out of memory opening the gallery", path);
        goto fail;
    }
    sqlite3_extended_result_codes(g->db, 0);
    sqlite3_busy_timeout(g->db, DEFAULT_BUSY_MS);
    /* The file may come from anyone: do not let its schema call functions
     * with side effects, and forbid writes that could corrupt it. */
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(g->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);

    long long nobj;
    if (schema_objects(g, &nobj, err))
        goto fail;
    if (nobj == 0) {
        long long app;
        if (gal_query_int(g, "PRAGMA application_id", &app, err, "reading the application id"))
            goto fail;
        /* An SQLite database with nothing at all in it holds nothing to lose;
         * after a crash during creation that is exactly what is left. */
        if (!create || (app != 0 && app != APP_ID)) {
            fn_fail(err, FN_E_FORMAT, "%s: %s", path,
                    is_new ? "empty file, not a facenet gallery"
                           : "an empty SQLite database, not a facenet gallery");
            goto fail;
        }
        if (create_schema(g, err))
            goto fail;
    }
    if (gal_validate_schema(g, err))
        goto fail;
    if (!g->readonly) {
        /* WAL is a property of the file; a gallery created before a crash
         * could still be in rollback mode. Failing to switch (another
         * connection open) is harmless: writes stay atomic either way. */
        sqlite3_stmt *st;
        if (gal_prep(g, "PRAGMA journal_mode", &st, err, "reading the journal mode"))
            goto fail;
        const char *mode = sqlite3_step(st) == SQLITE_ROW
                               ? (const char *)sqlite3_column_text(st, 0)
                               : NULL;
        const int wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal)
            sqlite3_exec(g->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (gal_exec(g, "PRAGMA synchronous=FULL", err, "setting synchronous mode"))
            goto fail;
    }
    if (gal_exec(g, "PRAGMA foreign_keys=ON", err, "enabling foreign keys"))
        goto fail;
    *out = g;
    return 0;
fail:
    fn_gallery_close(g);
    /* A file this call created but could not make a gallery of (out of memory or
     * disk while creating the tables) is still empty: remove it rather than leave
     * a 0-byte gallery behind.  Not empty: another process made it meanwhile. */
    struct stat after;
    if (!existed && stat(path, &after) == 0 && S_ISREG(after.st_mode) && after.st_size == 0)
        unlink(path);
    return -1;
}

void fn_gallery_close(fn_gallery *g)
{
    if (!g)
        return;
    if (g->db)
        sqlite3_close(g->db);
    free(g->path);
    free(g);
}

int fn_gallery_set_busy_timeout(fn_gallery *g, int ms, fn_err *err)
{
    if (!g || ms < 0)
        return fn_fail(err, FN_E_ARG, "gallery: bad busy timeout %d ms", ms);
    sqlite3_busy_timeout(g->db, ms);
    return 0;
}

const char *fn_gallery_path(const fn_gallery *g)
{
    return g ? g->path : "";
}

/* ---- names and models ---------------------------------------------------- */

int fn_gallery_check_name(const char *name, fn_err *err)
{
    if (!name)
        return fn_fail(err, FN_E_ARG, "identity name is missing");
    const size_t len = strlen(name);
    if (len == 0)
        return fn_fail(err, FN_E_ARG, "identity name is empty");
    if (len > FN_GALLERY_MAX_NAME)
        return fn_fail(err, FN_E_ARG, "identity name is %zu bytes long; the limit is %d",
                       len, FN_GALLERY_MAX_NAME);
    const unsigned char *s = (const unsigned char *)name;
    if (s[0] == ' ' || s[len - 1] == ' ')
        return fn_fail(err, FN_E_ARG, "identity name '%s' has a leading or trailing space",
                       name);
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        uint32_t cp;
        int extra;
        if (c < 0x80) {
            cp = c;
            extra = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            cp = c & 0x1F;
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F;
            extra = 2;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07;
            extra = 3;
        } else {
            return fn_fail(err, FN_E_ARG, "identity name is not valid UTF-8 (byte %zu)", i);
        }
        if ((size_t)extra >= len - i)
            return fn_fail(err, FN_E_ARG, "identity name is not valid UTF-8 (byte %zu)", i);
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fn_fail(err, FN_E_ARG, "identity name is not valid UTF-8 (byte %zu)",
                               i + k);
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return fn_fail(err, FN_E_ARG, "identity name is not valid UTF-8 (byte %zu)", i);
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 ||
            cp == 0x2029)
            return fn_fail(err, FN_E_ARG,
                           "identity name contains control character U+%04X at byte %zu",
                           (unsigned)cp, i);
        i += 1 + (size_t)extra;
    }
    return 0;
}

/* Read the model record. has = 0 when there is none yet. fp: FN_GALLERY_MAX_FP+1. */
int gal_read_model(fn_gallery *g, int *has, char *fp, int *dim, fn_err *err)
{
    sqlite3_stmt *st;
    if (gal_prep(g, "SELECT key, value FROM meta WHERE key IN ('model_fp', 'dim')", &st, err,
                 "reading the model record"))
        return -1;
    int have_fp = 0, have_dim = 0, rc;
    fp[0] = '\0';
    *dim = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v)
            continue;
        if (strcmp(k, "model_fp") == 0) {
            if (strlen(v) > FN_GALLERY_MAX_FP || !*v) {
                sqlite3_finalize(st);
                return fn_fail(err, FN_E_FORMAT, "%s: corrupt model fingerprint record",
                               g->path);
            }
            strcpy(fp, v);
            have_fp = 1;
        } else {
            char *end;
            errno = 0;
            long d = strtol(v, &end, 10);
            if (errno || *end || end == v || d < 1 || d > FN_GALLERY_MAX_DIM) {
                /* the message quotes v, which finalize frees: write it first */
                fn_fail(err, FN_E_FORMAT, "%s: corrupt dimension record '%.40s'", g->path, v);
                sqlite3_finalize(st);
                return -1;
            }
            *dim = (int)d;
            have_dim = 1;
        }
    }
    if (rc != SQLITE_DONE) {
        gal_db_fail(g, err, "reading the model record");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (have_fp != have_dim)
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt model record (%s without %s)", g->path,
                       have_fp ? "fingerprint" : "dimension",
                       have_fp ? "dimension" : "fingerprint");
    *has = have_fp;
    return 0;
}

int fn_gallery_model(fn_gallery *g, char *fp, size_t fpcap, int *dim, fn_err *err)
{
    if (!g || !fp || fpcap == 0 || !dim)
        return fn_fail(err, FN_E_ARG, "gallery model: bad arguments");
    char buf[FN_GALLERY_MAX_FP + 1];
    int has;
    if (gal_read_model(g, &has, buf, dim, err))
        return -1;
    size_t len = strlen(buf);
    if (len >= fpcap)
        return fn_fail(err, FN_E_ARG, "%s: model fingerprint needs %zu bytes, buffer has %zu",
                       g->path, len + 1, fpcap);
    memcpy(fp, buf, len + 1);
    return 0;
}
