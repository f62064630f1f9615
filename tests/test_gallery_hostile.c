/* test_gallery_hostile.c - the gallery against files it did not write: text,
 * random bytes, truncated and damaged databases and foreign SQLite files are refused
 * with their name and left untouched; fn_gallery_check finds tampered rows (orphans,
 * bad blobs, non-finite values, impossible times, bad names, triggers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app/gallery.h"
#include "lib/gallery_fixture.h"
#include "lib/testutil.h"

/* ---- hostile files ----------------------------------------------------------- */

/* Opening path (for reading and for enrolling) fails with FN_E_FORMAT naming
 * it, and the file is byte-identical afterwards. */
static void refuse_unchanged(const char *path, const char *what)
{
    size_t len0, len1;
    unsigned char *before = tg_slurp(path, &len0);
    for (int create = 0; create <= 1; create++) {
        fn_gallery *g = NULL;
        fn_err err;
        fn_err_clear(&err);
        int rc = fn_gallery_open(path, create, &g, &err);
        if (rc != -1 || err.kind != FN_E_FORMAT)
            print_error("%s (create=%d): rc %d kind %d: %s\n", what, create, rc, err.kind,
                        err.msg);
        else
            print_message("%s: %s\n", what, err.msg);
        assert_int_equal(rc, -1);
        assert_null(g);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_non_null(strstr(err.msg, path));
    }
    unsigned char *after = tg_slurp(path, &len1);
    assert_int_equal(len0, len1);
    if (len0)
        assert_memory_equal(before, after, len0);
    free(before);
    free(after);
}

static void test_corrupt_files(void **state)
{
    (void)state;
    char path[512];
    tg_new_path(path, sizeof path, "text");
    const char *text = "name,embedding\nalice,0.1 0.2 0.3\n";
    tg_write_bytes(path, text, strlen(text));
    refuse_unchanged(path, "text file");

    tg_new_path(path, sizeof path, "random");
    unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(tu_urand() * 256);
    tg_write_bytes(path, junk, sizeof junk);
    refuse_unchanged(path, "random bytes");

    /* An SQLite header followed by garbage. */
    tg_new_path(path, sizeof path, "badheader");
    memcpy(junk, "SQLite format 3", 16);
    tg_write_bytes(path, junk, sizeof junk);
    refuse_unchanged(path, "SQLite magic + random bytes");

    /* Truncated copies of a real gallery. */
    char good[512];
    tg_new_path(good, sizeof good, "good");
    {
        fn_gallery *g = tg_open_ok(good, 1);
        float *e = tu_random_unit(200, 128);
        tg_enroll_ok(g, "alice", FP_A, 128, 200, e, NULL);
        free(e);
        fn_gallery_close(g);
    }
    size_t glen;
    unsigned char *gbytes = tg_slurp(good, &glen);
    assert_true(glen > 8 * 4096);
    static const size_t cuts[] = {50, 4096, 0, 1};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t cut = cuts[c] == 0 ? glen / 2 : cuts[c] == 1 ? glen - 100 : cuts[c];
        tg_new_path(path, sizeof path, "truncated");
        tg_write_bytes(path, gbytes, cut);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cut, glen);
        refuse_unchanged(path, what);
    }

    /* Garbage in the last pages: open may still work (the schema is intact),
     * but the check (or the load) must report corruption; nothing is written. */
    tg_new_path(path, sizeof path, "damaged");
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(tu_urand() * 256);
    unsigned char *damaged = malloc(glen);
    assert_non_null(damaged);
    memcpy(damaged, gbytes, glen);
    memcpy(damaged + glen - 8192, junk, 8192);
    tg_write_bytes(path, damaged, glen);
    {
        fn_gallery *g = NULL;
        fn_err err;
        fn_err_clear(&err);
        if (fn_gallery_open(path, 0, &g, &err) == 0) {
            int rc = fn_gallery_check(g, &err);
            print_message("damaged pages: check says: %s\n", err.msg);
            assert_int_equal(rc, -1);
            assert_int_equal(err.kind, FN_E_FORMAT);
            assert_non_null(strstr(err.msg, path));
            fn_gallery_close(g);
        } else {
            assert_int_equal(err.kind, FN_E_FORMAT);
        }
        size_t dlen;
        unsigned char *now = tg_slurp(path, &dlen);
        assert_int_equal(dlen, glen);
        assert_memory_equal(now, damaged, glen);
        free(now);
    }
    free(damaged);
    free(gbytes);

    /* A foreign SQLite database, and one that only pretends with our id. */
    tg_new_path(path, sizeof path, "foreign");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE people(name TEXT, photo BLOB);"
                                  "INSERT INTO people VALUES('alice', x'00');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    refuse_unchanged(path, "foreign SQLite database");
    tg_new_path(path, sizeof path, "pretender");
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE identity(id INTEGER PRIMARY KEY, name TEXT);"
                                  "PRAGMA application_id = 1179534676;"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    refuse_unchanged(path, "SQLite file with our id but not our tables");
    /* Our id with a future format version. */
    tg_new_path(path, sizeof path, "future");
    tg_make_small(path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    {
        fn_gallery *g = NULL;
        fn_err err;
        assert_int_equal(fn_gallery_open(path, 1, &g, &err), -1);
        assert_int_equal(err.kind, FN_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "newer"));
    }
    /* An empty SQLite database (no tables): not a gallery for reading. */
    tg_new_path(path, sizeof path, "emptydb");
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "VACUUM", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    {
        fn_gallery *g = NULL;
        fn_err err;
        assert_int_equal(fn_gallery_open(path, 0, &g, &err), -1);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_non_null(strstr(err.msg, path));
    }
    /* A zero-byte file: refused for reading, becomes a gallery for enrolling. */
    tg_new_path(path, sizeof path, "zero");
    tg_write_bytes(path, "", 0);
    {
        fn_gallery *g = NULL;
        fn_err err;
        assert_int_equal(fn_gallery_open(path, 0, &g, &err), -1);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_int_equal(tg_fsize(path), 0);
        g = tg_open_ok(path, 1);
        tg_check_ok(g);
        fn_gallery_close(g);
    }
}

/* ---- the consistency check ---------------------------------------------------------- */

static void tamper(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("tamper: %s\n", msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

/* Replace the vector of embedding id with the given bytes (a real blob). */
static void tamper_blob(const char *path, int id, const void *bytes, int len)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE embedding SET vec = ?1 WHERE id = ?2", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, bytes, len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void expect_check_fails(const char *path, const char *needle, int load_fails)
{
    fn_gallery *g = tg_open_ok(path, 0);
    fn_err err;
    fn_err_clear(&err);
    assert_int_equal(fn_gallery_check(g, &err), -1);
    print_message("check: %s\n", err.msg);
    assert_int_equal(err.kind, FN_E_FORMAT);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.msg, path));
    fn_gallery_matrix m;
    if (load_fails) {
        assert_int_equal(fn_gallery_load(g, NULL, &m, &err), -1);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_null(m.emb);
    }
    fn_gallery_close(g);
}

static void test_check_detects_inconsistency(void **state)
{
    (void)state;
    char path[512];
    tg_new_path(path, sizeof path, "orphan");
    tg_make_small(path);
    tamper(path, "INSERT INTO identity(name, created) VALUES('ghost', 0)");
    expect_check_fails(path, "ghost", 0);

    tg_new_path(path, sizeof path, "short");
    tg_make_small(path);
    tamper(path, "UPDATE embedding SET vec = zeroblob(31) WHERE id = 2");
    expect_check_fails(path, "31 bytes", 1);

    tg_new_path(path, sizeof path, "nan");
    tg_make_small(path);
    /* 0x7fc00000 little-endian = NaN in the first component */
    unsigned char nanvec[32] = {0x00, 0x00, 0xc0, 0x7f};
    tamper_blob(path, 1, nanvec, 32);
    expect_check_fails(path, "non-finite", 1);

    tg_new_path(path, sizeof path, "text");
    tg_make_small(path);
    tamper(path, "UPDATE embedding SET vec = 'abcdefghabcdefghabcdefghabcdefgh' WHERE id = 3");
    expect_check_fails(path, "not a blob", 0);

    tg_new_path(path, sizeof path, "dangling");
    tg_make_small(path);
    tamper(path, "PRAGMA foreign_keys = OFF;"
                 "INSERT INTO embedding(identity_id, vec, enrolled) VALUES(99, zeroblob(32), 0)");
    expect_check_fails(path, "no identity", 0);

    tg_new_path(path, sizeof path, "nomodel");
    tg_make_small(path);
    tamper(path, "DELETE FROM meta WHERE key = 'dim'");
    expect_check_fails(path, "model", 1);

    tg_new_path(path, sizeof path, "trigger");
    tg_make_small(path);
    tamper(path, "CREATE TRIGGER t AFTER INSERT ON embedding BEGIN DELETE FROM meta; END");
    expect_check_fails(path, "trigger", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_check_detects_inconsistency),
    };
    return cmocka_run_group_tests(tests, tg_setup, tg_teardown);
}
