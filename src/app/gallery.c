/* gallery.c - the SQLite gallery (see gallery.h for the guarantees).
 *
 * Schema (format 1; PRAGMA application_id 'FNET', PRAGMA user_version 1):
 *   meta(key, value)        'format' = 'facenet-gallery', 'model_fp', 'dim'
 *   identity(id, name UNIQUE, created)
 *   embedding(id, identity_id -> identity.id, vec BLOB, path, enrolled)
 * Times are Unix seconds (REAL). vec is dim float32 values, little-endian.
 */
#include "app/gallery.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define APP_ID 0x464e4554 /* "FNET" */
#define FORMAT_VERSION 1
#define FORMAT_NAME "facenet-gallery"
#define DEFAULT_BUSY_MS 5000

struct fn_gallery {
    sqlite3 *db;
    char *path;
    int readonly;
};

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
static int db_fail(const fn_gallery *g, fn_err *err, const char *what)
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

static int exec(fn_gallery *g, const char *sql, fn_err *err, const char *what)
{
    if (sqlite3_exec(g->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(g, err, what);
    return 0;
}

static int prep(fn_gallery *g, const char *sql, sqlite3_stmt **st, fn_err *err,
                const char *what)
{
    *st = NULL;
    if (sqlite3_prepare_v2(g->db, sql, -1, st, NULL) != SQLITE_OK) {
        db_fail(g, err, what);
        sqlite3_finalize(*st);
        *st = NULL;
        return -1;
    }
    return 0;
}

/* Undo an open transaction after an error; the error is already recorded. */
static void rollback(fn_gallery *g)
{
    if (!sqlite3_get_autocommit(g->db))
        sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a statement returning one integer (count(*), PRAGMA x). */
static int query_int(fn_gallery *g, const char *sql, long long *out, fn_err *err,
                     const char *what)
{
    sqlite3_stmt *st;
    if (prep(g, sql, &st, err, what))
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
        db_fail(g, err, what);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static double wall_time(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (double)time(NULL);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* float32 <-> little-endian bytes, independent of the host's byte order. */
static void put_f32le(unsigned char *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b[0] = (unsigned char)(u & 0xff);
    b[1] = (unsigned char)((u >> 8) & 0xff);
    b[2] = (unsigned char)((u >> 16) & 0xff);
    b[3] = (unsigned char)(u >> 24);
}

static float get_f32le(const unsigned char *b)
{
    uint32_t u = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                 ((uint32_t)b[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t get_be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static long long file_size_or_zero(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Length of the fingerprint's short form used in messages. */
#define FP_SHORT 12

/* ---- opening ------------------------------------------------------------ */

/* Look at an existing file before SQLite does, so that a text file, random
 * bytes or a truncated database is refused without ever being written.
 * *is_new = 1 when there is nothing there yet (missing or zero bytes). */
static int precheck_file(const char *path, int create, int *is_new, fn_err *err)
{
    struct stat st;
    *is_new = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) {
            if (!create)
                return fn_fail(err, FN_E_IO, "%s: no such gallery file", path);
            *is_new = 1;
            return 0;
        }
        return fn_fail(err, FN_E_IO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: not a regular file", path);
    if (st.st_size == 0) {
        if (!create)
            return fn_fail(err, FN_E_FORMAT, "%s: empty file, not a facenet gallery", path);
        *is_new = 1;
        return 0;
    }
    unsigned char hdr[100];
    FILE *f = fopen(path, "rb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: %s", path, strerror(errno));
    size_t got = fread(hdr, 1, sizeof hdr, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr)
        return fn_fail(err, FN_E_IO, "%s: read error", path);
    if (got < 16 || memcmp(hdr, "SQLite format 3", 16) != 0)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: not a facenet gallery (not an SQLite database); "
                       "refusing to touch it",
                       path);
    if (got < sizeof hdr)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: truncated SQLite database (%lld bytes, shorter than its "
                       "100-byte header); refusing to touch it",
                       path, (long long)st.st_size);
    long long page = (long long)hdr[16] << 8 | hdr[17];
    if (page == 1)
        page = 65536;
    if (page < 512 || (page & (page - 1)) != 0)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: corrupt SQLite header (page size %lld); refusing to touch it",
                       path, page);
    /* A hot journal or a non-empty WAL may legitimately hold pages the main
     * file does not have yet; SQLite recovers from those itself. */
    size_t plen = strlen(path);
    char *side = malloc(plen + 9);
    if (!side)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    memcpy(side, path, plen);
    memcpy(side + plen, "-wal", 5);
    long long wal = file_size_or_zero(side);
    memcpy(side + plen, "-journal", 9);
    long long journal = file_size_or_zero(side);
    free(side);
    if (wal > 0 || journal > 0)
        return 0;
    if (st.st_size % page != 0)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: truncated SQLite database (%lld bytes is not a whole number "
                       "of %lld-byte pages); refusing to touch it",
                       path, (long long)st.st_size, page);
    uint32_t change = get_be32(hdr + 24), npages = get_be32(hdr + 28);
    uint32_t valid_for = get_be32(hdr + 92);
    /* The in-header page count is only meaningful when valid_for matches. */
    if (valid_for == change && npages > 0 && (long long)npages * page > st.st_size)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: truncated SQLite database (header says %u pages = %lld bytes, "
                       "file has %lld); refusing to touch it",
                       path, npages, (long long)npages * page, (long long)st.st_size);
    return 0;
}

/* Is the schema completely empty (a brand-new database)? */
static int schema_objects(fn_gallery *g, long long *n, fn_err *err)
{
    return query_int(g, "SELECT count(*) FROM sqlite_master", n, err, "reading the schema");
}

static int create_schema(fn_gallery *g, fn_err *err)
{
    if (exec(g, "BEGIN IMMEDIATE", err, "starting to create the gallery"))
        return -1;
    long long n;
    /* Another process may have created it between our check and our lock. */
    if (schema_objects(g, &n, err))
        goto fail;
    if (n == 0 && exec(g, SCHEMA_SQL, err, "creating the gallery tables"))
        goto fail;
    if (exec(g, "COMMIT", err, "committing the new gallery"))
        goto fail;
    return 0;
fail:
    rollback(g);
    return -1;
}

/* Refuse anything that is not our format; g->db is open. */
static int validate_schema(fn_gallery *g, fn_err *err)
{
    long long app, ver;
    if (query_int(g, "PRAGMA application_id", &app, err, "reading the application id") ||
        query_int(g, "PRAGMA user_version", &ver, err, "reading the format version"))
        return -1;
    if (app != APP_ID)
        return fn_fail(err, FN_E_FORMAT,
                       "%s: an SQLite database but not a facenet gallery "
                       "(application_id 0x%08llx, expected 0x%08x)",
                       g->path, (unsigned long long)app & 0xffffffffULL, APP_ID);
    if (ver > FORMAT_VERSION)
        return fn_fail(err, FN_E_UNSUPPORTED,
                       "%s: gallery format %lld is newer than this build reads (%d)", g->path,
                       ver, FORMAT_VERSION);
    if (ver < 1)
        return fn_fail(err, FN_E_FORMAT, "%s: gallery has no format version", g->path);
    /* Each of our tables with the columns we use must be there. */
    static const char *const probes[] = {
        "SELECT key, value FROM meta LIMIT 0",
        "SELECT id, name, created FROM identity LIMIT 0",
        "SELECT id, identity_id, vec, path, enrolled FROM embedding LIMIT 0",
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(g->db, probes[i], -1, &st, NULL) != SQLITE_OK) {
            fn_fail(err, FN_E_FORMAT, "%s: not a facenet gallery (missing tables: %s)",
                    g->path, sqlite3_errmsg(g->db));
            sqlite3_finalize(st);
            return -1;
        }
        sqlite3_finalize(st);
    }
    sqlite3_stmt *st;
    if (prep(g, "SELECT value FROM meta WHERE key = 'format'", &st, err,
             "reading the format"))
        return -1;
    int rc = sqlite3_step(st);
    int ok = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
             strcmp((const char *)sqlite3_column_text(st, 0), FORMAT_NAME) == 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_fail(g, err, "reading the format");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (!ok)
        return fn_fail(err, FN_E_FORMAT, "%s: not a facenet gallery (no format record)",
                       g->path);
    return 0;
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
    if (precheck_file(path, create, &is_new, err))
        return -1;
    fn_gallery *g = calloc(1, sizeof *g);
    if (!g || !(g->path = dup_str(path))) {
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
            db_fail(g, err, "opening");
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
        if (query_int(g, "PRAGMA application_id", &app, err, "reading the application id"))
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
    if (validate_schema(g, err))
        goto fail;
    if (!g->readonly) {
        /* WAL is a property of the file; a gallery created before a crash
         * could still be in rollback mode. Failing to switch (another
         * connection open) is harmless: writes stay atomic either way. */
        sqlite3_stmt *st;
        if (prep(g, "PRAGMA journal_mode", &st, err, "reading the journal mode"))
            goto fail;
        const char *mode = sqlite3_step(st) == SQLITE_ROW
                               ? (const char *)sqlite3_column_text(st, 0)
                               : NULL;
        const int wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal)
            sqlite3_exec(g->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (exec(g, "PRAGMA synchronous=FULL", err, "setting synchronous mode"))
            goto fail;
    }
    if (exec(g, "PRAGMA foreign_keys=ON", err, "enabling foreign keys"))
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

/* Read the model record. has = 0 when there is none yet. fp: FN_GALLERY_MAX_FP+1. */
static int read_model(fn_gallery *g, int *has, char *fp, int *dim, fn_err *err)
{
    sqlite3_stmt *st;
    if (prep(g, "SELECT key, value FROM meta WHERE key IN ('model_fp', 'dim')", &st, err,
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
        db_fail(g, err, "reading the model record");
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
    if (read_model(g, &has, buf, dim, err))
        return -1;
    size_t len = strlen(buf);
    if (len >= fpcap)
        return fn_fail(err, FN_E_ARG, "%s: model fingerprint needs %zu bytes, buffer has %zu",
                       g->path, len + 1, fpcap);
    memcpy(fp, buf, len + 1);
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
    if (!blob)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", g->path);
    sqlite3_stmt *ins_id = NULL, *get_id = NULL, *ins_emb = NULL;
    const double now = wall_time();

    if (exec(g, "BEGIN IMMEDIATE", err, "starting the enroll")) {
        free(blob);
        return -1;
    }
    /* The model check happens under the write lock, so two enrolls with
     * different models cannot both become "the first". */
    char have_fp[FN_GALLERY_MAX_FP + 1];
    int has, have_dim;
    if (read_model(g, &has, have_fp, &have_dim, err))
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
        if (prep(g, "INSERT INTO meta(key, value) VALUES('model_fp', ?1), ('dim', ?2)", &st,
                 err, "recording the model"))
            goto fail;
        char dimtxt[16];
        snprintf(dimtxt, sizeof dimtxt, "%d", dim);
        sqlite3_bind_text(st, 1, model_fp, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, dimtxt, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            db_fail(g, err, "recording the model");
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    if (prep(g, "INSERT OR IGNORE INTO identity(name, created) VALUES(?1, ?2)", &ins_id, err,
             "adding the identity") ||
        prep(g, "SELECT id FROM identity WHERE name = ?1", &get_id, err,
             "finding the identity") ||
        prep(g,
             "INSERT INTO embedding(identity_id, vec, path, enrolled) VALUES(?1, ?2, ?3, ?4)",
             &ins_emb, err, "adding embeddings"))
        goto fail;
    sqlite3_bind_text(ins_id, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(ins_id, 2, now);
    if (sqlite3_step(ins_id) != SQLITE_DONE) {
        db_fail(g, err, "adding the identity");
        goto fail;
    }
    sqlite3_bind_text(get_id, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(get_id) != SQLITE_ROW) {
        db_fail(g, err, "finding the identity");
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
            db_fail(g, err, "adding embeddings");
            goto fail;
        }
        sqlite3_reset(ins_emb);
    }
    sqlite3_finalize(ins_id);
    sqlite3_finalize(get_id);
    sqlite3_finalize(ins_emb);
    ins_id = get_id = ins_emb = NULL;
    if (exec(g, "COMMIT", err, "committing the enroll"))
        goto fail;
    free(blob);
    return 0;
fail:
    sqlite3_finalize(ins_id);
    sqlite3_finalize(get_id);
    sqlite3_finalize(ins_emb);
    rollback(g);
    free(blob);
    return -1;
}

int fn_gallery_remove(fn_gallery *g, const char *name, int *removed, fn_err *err)
{
    if (!g || !name)
        return fn_fail(err, FN_E_ARG, "gallery remove: bad arguments");
    if (removed)
        *removed = 0;
    sqlite3_stmt *st = NULL;
    if (exec(g, "BEGIN IMMEDIATE", err, "starting the removal"))
        return -1;
    if (prep(g, "SELECT id FROM identity WHERE name = ?1", &st, err, "finding the identity"))
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        fn_fail(err, FN_E_NOTFOUND, "%s: no identity named '%s'", g->path, name);
        goto fail;
    }
    if (rc != SQLITE_ROW) {
        db_fail(g, err, "finding the identity");
        goto fail;
    }
    const sqlite3_int64 id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (prep(g, "DELETE FROM embedding WHERE identity_id = ?1", &st, err,
             "deleting embeddings"))
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(g, err, "deleting embeddings");
        goto fail;
    }
    const int count = sqlite3_changes(g->db);
    sqlite3_finalize(st);
    st = NULL;
    if (prep(g, "DELETE FROM identity WHERE id = ?1", &st, err, "deleting the identity"))
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        db_fail(g, err, "deleting the identity");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (exec(g, "COMMIT", err, "committing the removal"))
        goto fail;
    if (removed)
        *removed = count;
    return 0;
fail:
    sqlite3_finalize(st);
    rollback(g);
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
    if (prep(g,
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
        if (!(it->name = dup_str(name ? name : "")))
            goto nomem;
        len++;
        it->count = sqlite3_column_int(st, 1);
        const int empty = sqlite3_column_type(st, 2) == SQLITE_NULL;
        it->first_time = sqlite3_column_double(st, empty ? 4 : 2);
        it->last_time = sqlite3_column_double(st, empty ? 4 : 3);
    }
    if (rc != SQLITE_DONE) {
        db_fail(g, err, "listing identities");
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
    if (read_model(g, &has, fp, &dim, err))
        return -1;
    sqlite3_stmt *st;
    if (only_name) {
        if (prep(g, "SELECT id FROM identity WHERE name = ?1", &st, err,
                 "finding the identity"))
            return -1;
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return fn_fail(err, FN_E_NOTFOUND, "%s: no identity named '%s'", g->path,
                           only_name);
        if (rc != SQLITE_ROW)
            return db_fail(g, err, "finding the identity");
    }
    static const char count_sql[] =
        "SELECT count(*) FROM embedding e JOIN identity i ON i.id = e.identity_id"
        " WHERE ?1 IS NULL OR i.name = ?1";
    if (prep(g, count_sql, &st, err, "counting embeddings"))
        return -1;
    if (only_name)
        sqlite3_bind_text(st, 1, only_name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_fail(g, err, "counting embeddings");
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
    if (prep(g,
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
            if (!(m->names[m->n_ids] = dup_str(name)))
                goto nomem;
            m->n_ids++;
        }
        float *row = m->emb + (size_t)m->n_rows * (size_t)dim;
        for (int k = 0; k < dim; k++) {
            row[k] = get_f32le(blob + 4 * (size_t)k);
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
        db_fail(g, err, "loading embeddings");
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
    if (exec(g, "BEGIN", err, "starting to load"))
        return -1;
    int r = load_rows(g, only_name, m, err);
    if (r == 0 && exec(g, "COMMIT", err, "finishing the load"))
        r = -1;
    if (r) {
        rollback(g);
        fn_gallery_matrix_free(m);
    }
    return r;
}

/* ---- check --------------------------------------------------------------- */

static int check_body(fn_gallery *g, fn_err *err)
{
    sqlite3_stmt *st;
    if (prep(g, "PRAGMA integrity_check(5)", &st, err, "checking integrity"))
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (!r || strcmp(r, "ok") != 0) {
            /* SQLite's report spans lines; messages are one line. */
            char one[320];
            snprintf(one, sizeof one, "%s", r ? r : "(null)");
            const char *skip = "*** in database main ***\n";
            char *txt = strncmp(one, skip, strlen(skip)) == 0 ? one + strlen(skip) : one;
            for (char *c = txt; *c; c++)
                if (*c == '\n')
                    *c = ';';
            fn_fail(err, FN_E_FORMAT, "%s: integrity check failed: %s", g->path, txt);
            sqlite3_finalize(st);
            return -1;
        }
    } else {
        db_fail(g, err, "checking integrity");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);

    long long n;
    if (query_int(g, "SELECT count(*) FROM pragma_foreign_key_check", &n, err,
                  "checking foreign keys"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: %lld embeddings belong to no identity",
                       g->path, n);
    if (query_int(g,
                  "SELECT count(*) FROM sqlite_master WHERE type IN ('trigger', 'view')",
                  &n, err, "checking the schema"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: unexpected triggers or views in the gallery",
                       g->path);
    if (validate_schema(g, err))
        return -1;

    char fp[FN_GALLERY_MAX_FP + 1];
    int has, dim;
    if (read_model(g, &has, fp, &dim, err))
        return -1;
    if (!has) {
        if (query_int(g, "SELECT count(*) FROM embedding", &n, err, "counting embeddings"))
            return -1;
        if (n)
            return fn_fail(err, FN_E_FORMAT,
                           "%s: %lld embeddings but no model record", g->path, n);
    }

    /* Enrollment times: numbers within years 1970..9999 (listing formats them). */
    if (query_int(g,
                  "SELECT count(*) FROM embedding WHERE typeof(enrolled) NOT IN ('real', 'integer')"
                  " OR enrolled < 0 OR enrolled >= 253402300800",
                  &n, err, "checking enrollment times"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: %lld embeddings have an impossible enrollment time", g->path, n);

    /* Names, and identities left without any embedding. */
    if (prep(g,
             "SELECT i.name, (SELECT count(*) FROM embedding e WHERE e.identity_id = i.id)"
             " FROM identity i ORDER BY i.name",
             &st, err, "checking identities"))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        fn_err nerr;
        fn_err_clear(&nerr);
        if (fn_gallery_check_name(name, &nerr)) {
            fn_fail(err, FN_E_FORMAT, "%s: bad stored name: %s", g->path, nerr.msg);
            sqlite3_finalize(st);
            return -1;
        }
        if (sqlite3_column_int64(st, 1) == 0) {
            fn_fail(err, FN_E_FORMAT, "%s: identity '%s' has no embeddings", g->path, name);
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(g, err, "checking identities");

    /* Every vector: a blob of dim*4 bytes of finite floats. */
    if (prep(g,
             "SELECT e.id, i.name, e.vec FROM embedding e"
             " LEFT JOIN identity i ON i.id = e.identity_id ORDER BY e.id",
             &st, err, "checking embeddings"))
        return -1;
    const size_t want = (size_t)dim * 4;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const long long id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const int type = sqlite3_column_type(st, 2);
        const unsigned char *blob = sqlite3_column_blob(st, 2);
        const size_t bytes = (size_t)sqlite3_column_bytes(st, 2);
        if (type != SQLITE_BLOB) {
            fn_fail(err, FN_E_FORMAT, "%s: embedding %lld of '%s' is not a blob", g->path,
                    id, name ? name : "?");
            sqlite3_finalize(st);
            return -1;
        }
        if (bytes != want || !blob) {
            fn_fail(err, FN_E_FORMAT,
                    "%s: embedding %lld of '%s' is %zu bytes, expected %zu (dim %d)",
                    g->path, id, name ? name : "?", bytes, want, dim);
            sqlite3_finalize(st);
            return -1;
        }
        for (int k = 0; k < dim; k++)
            if (!isfinite(get_f32le(blob + 4 * (size_t)k))) {
                fn_fail(err, FN_E_FORMAT,
                        "%s: embedding %lld of '%s' has a non-finite value at %d", g->path,
                        id, name ? name : "?", k);
                sqlite3_finalize(st);
                return -1;
            }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(g, err, "checking embeddings");
    return 0;
}

int fn_gallery_check(fn_gallery *g, fn_err *err)
{
    if (!g)
        return fn_fail(err, FN_E_ARG, "gallery check: no gallery");
    if (exec(g, "BEGIN", err, "starting the check"))
        return -1;
    int r = check_body(g, err);
    if (r == 0 && exec(g, "COMMIT", err, "finishing the check"))
        r = -1;
    if (r)
        rollback(g);
    return r;
}
