/* gallery_check.c - checking a gallery file: its SQLite header and size before
 * SQLite ever opens it (so a hostile or truncated file is never written), our
 * schema and format records once it is open, and the full fn_gallery_check.
 * See gallery.h. */
#include "app/gallery.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "app/gallery_internal.h"

/* ---- before SQLite opens the file ---------------------------------------- */

static uint32_t get_be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static long long file_size_or_zero(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Look at an existing file before SQLite does, so that a text file, random
 * bytes or a truncated database is refused without ever being written.
 * *is_new = 1 when there is nothing there yet (missing or zero bytes). */
int gal_precheck_file(const char *path, int create, int *is_new, fn_err *err)
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

/* ---- the schema ---------------------------------------------------------- */

/* Refuse anything that is not our format; g->db is open. */
int gal_validate_schema(fn_gallery *g, fn_err *err)
{
    long long app, ver;
    if (gal_query_int(g, "PRAGMA application_id", &app, err, "reading the application id") ||
        gal_query_int(g, "PRAGMA user_version", &ver, err, "reading the format version"))
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
    if (gal_prep(g, "SELECT value FROM meta WHERE key = 'format'", &st, err,
                 "reading the format"))
        return -1;
    int rc = sqlite3_step(st);
    int ok = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
             strcmp((const char *)sqlite3_column_text(st, 0), FORMAT_NAME) == 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        gal_db_fail(g, err, "reading the format");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (!ok)
        return fn_fail(err, FN_E_FORMAT, "%s: not a facenet gallery (no format record)",
                       g->path);
    return 0;
}

/* ---- check --------------------------------------------------------------- */

static int check_body(fn_gallery *g, fn_err *err)
{
    sqlite3_stmt *st;
    if (gal_prep(g, "PRAGMA integrity_check(5)", &st, err, "checking integrity"))
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
        gal_db_fail(g, err, "checking integrity");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);

    long long n;
    if (gal_query_int(g, "SELECT count(*) FROM pragma_foreign_key_check", &n, err,
                      "checking foreign keys"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: %lld embeddings belong to no identity",
                       g->path, n);
    if (gal_query_int(g,
                      "SELECT count(*) FROM sqlite_master WHERE type IN ('trigger', 'view')",
                      &n, err, "checking the schema"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: unexpected triggers or views in the gallery",
                       g->path);
    if (gal_validate_schema(g, err))
        return -1;

    char fp[FN_GALLERY_MAX_FP + 1];
    int has, dim;
    if (gal_read_model(g, &has, fp, &dim, err))
        return -1;
    if (!has) {
        if (gal_query_int(g, "SELECT count(*) FROM embedding", &n, err, "counting embeddings"))
            return -1;
        if (n)
            return fn_fail(err, FN_E_FORMAT,
                           "%s: %lld embeddings but no model record", g->path, n);
    }

    /* Enrollment times: numbers within years 1970..9999 (listing formats them). */
    if (gal_query_int(g,
                      "SELECT count(*) FROM embedding WHERE typeof(enrolled) NOT IN ('real', 'integer')"
                      " OR enrolled < 0 OR enrolled >= 253402300800",
                      &n, err, "checking enrollment times"))
        return -1;
    if (n)
        return fn_fail(err, FN_E_FORMAT, "%s: %lld embeddings have an impossible enrollment time", g->path, n);

    /* Names, and identities left without any embedding. */
    if (gal_prep(g,
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
        return gal_db_fail(g, err, "checking identities");

    /* Every vector: a blob of dim*4 bytes of finite floats. */
    if (gal_prep(g,
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
            if (!isfinite(gal_get_f32le(blob + 4 * (size_t)k))) {
                fn_fail(err, FN_E_FORMAT,
                        "%s: embedding %lld of '%s' has a non-finite value at %d", g->path,
                        id, name ? name : "?", k);
                sqlite3_finalize(st);
                return -1;
            }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return gal_db_fail(g, err, "checking embeddings");
    return 0;
}

int fn_gallery_check(fn_gallery *g, fn_err *err)
{
    if (!g)
        return fn_fail(err, FN_E_ARG, "gallery check: no gallery");
    if (gal_exec(g, "BEGIN", err, "starting the check"))
        return -1;
    int r = check_body(g, err);
    if (r == 0 && gal_exec(g, "COMMIT", err, "finishing the check"))
        r = -1;
    if (r)
        gal_rollback(g);
    return r;
}
