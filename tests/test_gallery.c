/* test_gallery.c - the SQLite gallery (round trip, model mismatch, hostile
 * files, bad input, concurrency, kill -9 during a large enroll, the
 * consistency check) and matching against it (one-gemm distances,
 * identification equal to brute force, exact distances near zero). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app/gallery.h"
#include "lib/testutil.h"
#include "app/match.h"

#define FP_A "3f2a9c1b0d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdd"
#define FP_B "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f"

static char tmpdir[256];
static int file_counter;

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fn_test_gallery_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    return tu_rmtree(tmpdir);
}

/* A fresh path in the temp dir for each use. */
static void new_path(char *out, size_t cap, const char *stem)
{
    snprintf(out, cap, "%s/%s%d.db", tmpdir, stem, file_counter++);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static float *random_unit(int n, int d)
{
    float *v = malloc(sizeof(float) * (size_t)n * (size_t)d);
    assert_non_null(v);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < d; k++)
            v[(size_t)i * d + k] = (float)(urand() * 2 - 1);
        fn_l2_normalize(v + (size_t)i * d, d);
    }
    return v;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *len = 0;
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static long long fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static fn_gallery *open_ok(const char *path, int create)
{
    fn_gallery *g = NULL;
    fn_err err;
    fn_err_clear(&err);
    if (fn_gallery_open(path, create, &g, &err))
        print_error("open %s: %s\n", path, err.msg);
    assert_non_null(g);
    return g;
}

static void enroll_ok(fn_gallery *g, const char *name, const char *fp, int dim, int n,
                      const float *e, const char *const *paths)
{
    fn_err err;
    fn_err_clear(&err);
    int rc = fn_gallery_enroll(g, name, fp, dim, n, e, paths, &err);
    if (rc)
        print_error("enroll %s: %s\n", name, err.msg);
    assert_int_equal(rc, 0);
}

static void check_ok(fn_gallery *g)
{
    fn_err err;
    fn_err_clear(&err);
    int rc = fn_gallery_check(g, &err);
    if (rc)
        print_error("check: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

/* A small valid gallery: alice x3, bob x2, dim 8, model FP_A. */
static void make_small(const char *path)
{
    fn_gallery *g = open_ok(path, 1);
    float *e = random_unit(5, 8);
    enroll_ok(g, "alice", FP_A, 8, 3, e, NULL);
    enroll_ok(g, "bob", FP_A, 8, 2, e + 24, NULL);
    free(e);
    fn_gallery_close(g);
}

/* ---- round trip ------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
    (void)state;
    char path[512];
    new_path(path, sizeof path, "roundtrip");
    fn_gallery *g = open_ok(path, 1);
    assert_true(exists(path));
    char fp[300];
    int dim = -1;
    fn_err err;
    assert_int_equal(fn_gallery_model(g, fp, sizeof fp, &dim, &err), 0);
    assert_string_equal(fp, "");
    assert_int_equal(dim, 0);
    fn_gallery_matrix m;
    assert_int_equal(fn_gallery_load(g, NULL, &m, &err), 0);
    assert_int_equal(m.n_rows, 0);
    assert_int_equal(m.n_ids, 0);
    fn_gallery_matrix_free(&m);

    enum { D = 16 };
    float *e = random_unit(7, D);
    /* Values whose bits must survive: -0, a denormal, the largest float. */
    e[0] = -0.0f;
    e[1] = 1e-40f;
    e[2] = 3.4028235e38f;
    const double t0 = (double)time(NULL);
    const char *paths[4] = {"img/alice_1.jpg", NULL, "img/alice_3.jpg", "img/alice_4.jpg"};
    enroll_ok(g, "bob", FP_A, D, 2, e + 3 * D, NULL);
    enroll_ok(g, "alice", FP_A, D, 3, e, paths);
    enroll_ok(g, "Zoë", FP_A, D, 1, e + 5 * D, NULL);
    enroll_ok(g, "alice", FP_A, D, 1, e + 6 * D, paths + 3);
    assert_int_equal(fn_gallery_model(g, fp, sizeof fp, &dim, &err), 0);
    assert_string_equal(fp, FP_A);
    assert_int_equal(dim, D);
    char tiny[8];
    assert_int_equal(fn_gallery_model(g, tiny, sizeof tiny, &dim, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);

    fn_identity_info *list;
    int n;
    assert_int_equal(fn_gallery_list(g, &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "Zoë"); /* bytewise: 'Z' < 'a' < 'b' */
    assert_string_equal(list[1].name, "alice");
    assert_string_equal(list[2].name, "bob");
    assert_int_equal(list[0].count, 1);
    assert_int_equal(list[1].count, 4);
    assert_int_equal(list[2].count, 2);
    for (int i = 0; i < n; i++) {
        assert_true(list[i].first_time <= list[i].last_time);
        assert_true(list[i].first_time >= t0 - 1 && list[i].last_time <= t0 + 60);
    }
    fn_gallery_list_free(list, n);

    assert_int_equal(fn_gallery_load(g, NULL, &m, &err), 0);
    assert_int_equal(m.n_rows, 7);
    assert_int_equal(m.n_ids, 3);
    assert_int_equal(m.dim, D);
    assert_string_equal(m.names[1], "alice");
    /* Rows grouped by name in enrollment order: Zoë, alice x4, bob x2. */
    static const int src_row[7] = {5, 0, 1, 2, 6, 3, 4};
    static const int owner[7] = {0, 1, 1, 1, 1, 2, 2};
    for (int r = 0; r < 7; r++) {
        assert_int_equal(m.row_id[r], owner[r]);
        assert_memory_equal(m.emb + r * D, e + src_row[r] * D, D * sizeof(float));
    }
    fn_gallery_matrix_free(&m);
    assert_int_equal(fn_gallery_load(g, "bob", &m, &err), 0);
    assert_int_equal(m.n_rows, 2);
    assert_int_equal(m.n_ids, 1);
    assert_string_equal(m.names[0], "bob");
    assert_memory_equal(m.emb, e + 3 * D, 2 * D * sizeof(float));
    fn_gallery_matrix_free(&m);
    assert_int_equal(fn_gallery_load(g, "carol", &m, &err), -1);
    assert_int_equal(err.kind, FN_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "carol"));
    assert_null(m.emb);
    check_ok(g);

    int removed = -1;
    assert_int_equal(fn_gallery_remove(g, "bob", &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(fn_gallery_remove(g, "bob", &removed, &err), -1);
    assert_int_equal(err.kind, FN_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "bob"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(fn_gallery_remove(g, "nobody", NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_NOTFOUND);
    check_ok(g);
    fn_gallery_close(g);

    /* Persisted: reopen for reading; the stored paths are there too. */
    g = open_ok(path, 0);
    assert_int_equal(fn_gallery_list(g, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[1].name, "alice");
    assert_int_equal(list[1].count, 4);
    fn_gallery_list_free(list, n);
    fn_gallery_close(g);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT ifnull(path, '-') FROM embedding e JOIN identity"
                                        " i ON i.id = e.identity_id WHERE i.name = 'alice'"
                                        " ORDER BY e.id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    static const char *want[4] = {"img/alice_1.jpg", "-", "img/alice_3.jpg", "img/alice_4.jpg"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i]);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(e);
}

static void test_open_missing(void **state)
{
    (void)state;
    char path[512];
    new_path(path, sizeof path, "missing");
    fn_gallery *g = (fn_gallery *)1;
    fn_err err;
    assert_int_equal(fn_gallery_open(path, 0, &g, &err), -1);
    assert_null(g);
    assert_int_equal(err.kind, FN_E_IO);
    assert_non_null(strstr(err.msg, path));
    assert_false(exists(path)); /* reading never creates */
    /* A directory is not a gallery either. */
    assert_int_equal(fn_gallery_open(tmpdir, 1, &g, &err), -1);
    assert_int_equal(err.kind, FN_E_IO);
    g = open_ok(path, 1);
    fn_gallery_close(g);
    assert_true(exists(path));
    g = open_ok(path, 0); /* an empty gallery is a gallery */
    fn_gallery_close(g);
}

/* ---- model mismatch ---------------------------------------------------------- */

static void test_model_mismatch(void **state)
{
    (void)state;
    char path[512], wal[600];
    new_path(path, sizeof path, "mismatch");
    snprintf(wal, sizeof wal, "%s-wal", path);
    make_small(path);
    assert_false(exists(wal)); /* the last close checkpointed */
    size_t len0, len1;
    unsigned char *before = slurp(path, &len0);
    assert_non_null(before);

    fn_gallery *g = open_ok(path, 0);
    float *e = random_unit(2, 8);
    fn_err err;
    fn_err_clear(&err);
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_B, 8, 2, e, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    print_message("refusal: %s\n", err.msg);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "3f2a9c1b0d4e")); /* both short forms */
    assert_non_null(strstr(err.msg, "9a8b7c6d5e4f"));
    /* Same fingerprint, other dimension. */
    float *e16 = random_unit(1, 16);
    assert_int_equal(fn_gallery_enroll(g, "alice", FP_A, 16, 1, e16, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_non_null(strstr(err.msg, "dim 8"));
    assert_non_null(strstr(err.msg, "dim 16"));
    /* Fingerprints that agree on their first 12 characters are shown in full. */
    assert_int_equal(fn_gallery_enroll(g, "alice", FP_A "-v2", 8, 1, e, NULL, &err), -1);
    assert_non_null(strstr(err.msg, FP_A "-v2"));
    fn_identity_info *list;
    int n;
    assert_int_equal(fn_gallery_list(g, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    fn_gallery_list_free(list, n);
    fn_gallery_close(g);

    unsigned char *after = slurp(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    assert_false(exists(wal));
    free(before);
    free(after);
    free(e);
    free(e16);
}

/* ---- hostile files ----------------------------------------------------------- */

/* Opening path (for reading and for enrolling) fails with FN_E_FORMAT naming
 * it, and the file is byte-identical afterwards. */
static void refuse_unchanged(const char *path, const char *what)
{
    size_t len0, len1;
    unsigned char *before = slurp(path, &len0);
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
    unsigned char *after = slurp(path, &len1);
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
    new_path(path, sizeof path, "text");
    const char *text = "name,embedding\nalice,0.1 0.2 0.3\n";
    write_bytes(path, text, strlen(text));
    refuse_unchanged(path, "text file");

    new_path(path, sizeof path, "random");
    unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(urand() * 256);
    write_bytes(path, junk, sizeof junk);
    refuse_unchanged(path, "random bytes");

    /* An SQLite header followed by garbage. */
    new_path(path, sizeof path, "badheader");
    memcpy(junk, "SQLite format 3", 16);
    write_bytes(path, junk, sizeof junk);
    refuse_unchanged(path, "SQLite magic + random bytes");

    /* Truncated copies of a real gallery. */
    char good[512];
    new_path(good, sizeof good, "good");
    {
        fn_gallery *g = open_ok(good, 1);
        float *e = random_unit(200, 128);
        enroll_ok(g, "alice", FP_A, 128, 200, e, NULL);
        free(e);
        fn_gallery_close(g);
    }
    size_t glen;
    unsigned char *gbytes = slurp(good, &glen);
    assert_true(glen > 8 * 4096);
    static const size_t cuts[] = {50, 4096, 0, 1};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t cut = cuts[c] == 0 ? glen / 2 : cuts[c] == 1 ? glen - 100 : cuts[c];
        new_path(path, sizeof path, "truncated");
        write_bytes(path, gbytes, cut);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cut, glen);
        refuse_unchanged(path, what);
    }

    /* Garbage in the last pages: open may still work (the schema is intact),
     * but the check (or the load) must report corruption; nothing is written. */
    new_path(path, sizeof path, "damaged");
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(urand() * 256);
    unsigned char *damaged = malloc(glen);
    assert_non_null(damaged);
    memcpy(damaged, gbytes, glen);
    memcpy(damaged + glen - 8192, junk, 8192);
    write_bytes(path, damaged, glen);
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
        unsigned char *now = slurp(path, &dlen);
        assert_int_equal(dlen, glen);
        assert_memory_equal(now, damaged, glen);
        free(now);
    }
    free(damaged);
    free(gbytes);

    /* A foreign SQLite database, and one that only pretends with our id. */
    new_path(path, sizeof path, "foreign");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE people(name TEXT, photo BLOB);"
                                  "INSERT INTO people VALUES('alice', x'00');",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    refuse_unchanged(path, "foreign SQLite database");
    new_path(path, sizeof path, "pretender");
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
    new_path(path, sizeof path, "future");
    make_small(path);
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
    new_path(path, sizeof path, "emptydb");
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
    new_path(path, sizeof path, "zero");
    write_bytes(path, "", 0);
    {
        fn_gallery *g = NULL;
        fn_err err;
        assert_int_equal(fn_gallery_open(path, 0, &g, &err), -1);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_int_equal(fsize(path), 0);
        g = open_ok(path, 1);
        check_ok(g);
        fn_gallery_close(g);
    }
}

/* ---- bad input ---------------------------------------------------------------- */

static void test_invalid_input(void **state)
{
    (void)state;
    char path[512];
    new_path(path, sizeof path, "input");
    make_small(path);
    fn_gallery *g = open_ok(path, 0);
    float *e = random_unit(2, 8);
    char longname[FN_GALLERY_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname);
    longname[FN_GALLERY_MAX_NAME + 1] = '\0';
    const char *bad[] = {"",           " bob",         "bob ",         "a\nb",
                         "tab\there",  "del\x7f",      "\xc3\x28",     "\xc0\xaf",
                         "\xed\xa0\x80", "c1\xc2\x85", "ls\xe2\x80\xa8", "\xf4\x90\x80\x80",
                         "trunc\xe2\x80", longname};
    fn_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fn_err_clear(&err);
        assert_int_equal(fn_gallery_enroll(g, bad[i], FP_A, 8, 1, e, NULL, &err), -1);
        assert_int_equal(err.kind, FN_E_ARG);
        assert_non_null(strstr(err.msg, path));
    }
    longname[FN_GALLERY_MAX_NAME] = '\0'; /* exactly the limit is fine */
    const char *good[] = {"José Álvarez", "李雷", "O'Neil-Smith", longname};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        enroll_ok(g, good[i], FP_A, 8, 1, e, NULL);

    assert_int_equal(fn_gallery_enroll(g, "carol", "", 8, 1, e, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_int_equal(fn_gallery_enroll(g, "carol", "fp\nx", 8, 1, e, NULL, &err), -1);
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_A, 0, 1, e, NULL, &err), -1);
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_A, 8, 0, e, NULL, &err), -1);
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_A, 8, 1, NULL, NULL, &err), -1);
    e[8 + 5] = NAN;
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_A, 8, 2, e, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_non_null(strstr(err.msg, "embedding 1"));
    e[8 + 5] = INFINITY;
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_A, 8, 2, e, NULL, &err), -1);

    fn_identity_info *list;
    int n;
    assert_int_equal(fn_gallery_list(g, &list, &n, &err), 0);
    assert_int_equal(n, 2 + 4); /* alice, bob and the four good names; no carol */
    for (int i = 0; i < n; i++)
        assert_string_not_equal(list[i].name, "carol");
    fn_gallery_list_free(list, n);
    check_ok(g);
    fn_gallery_close(g);
    free(e);
}

/* ---- concurrency ---------------------------------------------------------------- */

static int count_rows(const char *path)
{
    fn_gallery *g = NULL;
    fn_err err;
    if (fn_gallery_open(path, 0, &g, &err))
        return -1;
    fn_gallery_matrix m;
    int r = fn_gallery_load(g, NULL, &m, &err) ? -1 : m.n_rows;
    fn_gallery_matrix_free(&m);
    fn_gallery_close(g);
    return r;
}

static void test_concurrent_reader(void **state)
{
    (void)state;
    char path[512];
    new_path(path, sizeof path, "concurrent");
    make_small(path); /* 5 rows */

    /* A writer holds an open transaction with an uncommitted identity. */
    sqlite3 *w;
    assert_int_equal(sqlite3_open(path, &w), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE;"
             "INSERT INTO identity(name, created) VALUES('mallory', 0);"
             "INSERT INTO embedding(identity_id, vec, enrolled)"
             " VALUES(last_insert_rowid(), zeroblob(32), 0);");
    assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);

    /* A reader in this process and one in another process see the last
     * committed state without waiting. */
    fn_gallery *r = open_ok(path, 0);
    fn_gallery_matrix m;
    fn_err err;
    assert_int_equal(fn_gallery_load(r, NULL, &m, &err), 0);
    assert_int_equal(m.n_rows, 5);
    assert_int_equal(m.n_ids, 2);
    fn_gallery_matrix_free(&m);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(count_rows(path) == 5 ? 0 : 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A second writer gives up after its busy timeout with a clear message. */
    float *e = random_unit(1, 8);
    assert_int_equal(fn_gallery_set_busy_timeout(r, 50, &err), 0);
    fn_err_clear(&err);
    assert_int_equal(fn_gallery_enroll(r, "carol", FP_A, 8, 1, e, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_DB);
    assert_non_null(strstr(err.msg, "locked"));
    assert_non_null(strstr(err.msg, path));

    assert_int_equal(sqlite3_exec(w, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(w);
    assert_int_equal(fn_gallery_load(r, NULL, &m, &err), 0);
    assert_int_equal(m.n_rows, 6);
    assert_int_equal(m.n_ids, 3);
    fn_gallery_matrix_free(&m);
    enroll_ok(r, "carol", FP_A, 8, 1, e, NULL);
    check_ok(r);
    fn_gallery_close(r);
    free(e);
}

/* ---- kill -9 during a large enroll ------------------------------------------------ */

static void test_kill9_during_enroll(void **state)
{
    (void)state;
    enum { N = 20000, D = 128 };
    float *big = random_unit(N, D);
    /* Kill points: WAL sizes at which the child is killed (the whole enroll
     * writes ~11 MB of WAL before its commit); 0 = as soon as the WAL exists
     * (possibly before the transaction starts); LLONG_MAX = never, the child
     * finishes and the identity must be there in full. */
    static const long long kill_at[] = {0, 64 << 10, 1 << 20, 4 << 20, 8 << 20, LLONG_MAX};
    int killed_mid = 0;
    for (size_t round = 0; round < sizeof kill_at / sizeof kill_at[0]; round++) {
        char path[512], wal[600];
        new_path(path, sizeof path, "kill9");
        snprintf(wal, sizeof wal, "%s-wal", path);
        fn_gallery *g = open_ok(path, 1);
        enroll_ok(g, "base", FP_A, D, 3, big, NULL);
        fn_gallery_close(g);

        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            fn_gallery *c = NULL;
            fn_err err;
            if (fn_gallery_open(path, 1, &c, &err) ||
                fn_gallery_enroll(c, "big", FP_A, D, N, big, NULL, &err))
                _exit(2);
            fn_gallery_close(c);
            _exit(0);
        }
        /* Wait for the transaction to be well under way, then kill. */
        int status = 0, exited = 0;
        for (;;) {
            if (fsize(wal) >= kill_at[round])
                break;
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                exited = 1;
                break;
            }
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
        }
        const int was_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        if (!was_killed)
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        g = open_ok(path, 0);
        check_ok(g);
        fn_identity_info *list;
        int n;
        fn_err err;
        assert_int_equal(fn_gallery_list(g, &list, &n, &err), 0);
        int big_rows = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(list[i].name, "base") == 0)
                assert_int_equal(list[i].count, 3);
            else if (strcmp(list[i].name, "big") == 0)
                big_rows = list[i].count;
            else
                fail_msg("unexpected identity %s", list[i].name);
        }
        fn_gallery_list_free(list, n);
        /* all or nothing */
        assert_true(big_rows == 0 || big_rows == N);
        if (kill_at[round] == LLONG_MAX)
            assert_int_equal(big_rows, N);
        fn_gallery_matrix m;
        assert_int_equal(fn_gallery_load(g, NULL, &m, &err), 0);
        assert_int_equal(m.n_rows, 3 + big_rows);
        if (big_rows) /* rows sorted by name: base's 3, then big's */
            assert_memory_equal(m.emb + 3 * D, big, (size_t)N * D * sizeof(float));
        fn_gallery_matrix_free(&m);
        fn_gallery_close(g);
        print_message("kill at WAL >= %lld bytes: child %s, 'big' has %d rows\n",
                      kill_at[round], was_killed ? "killed" : "finished", big_rows);
        killed_mid += was_killed && big_rows == 0;
    }
    /* Not a timing assertion: the report says how often we caught it mid-way. */
    print_message("%d of %d rounds were killed with nothing committed\n", killed_mid,
                  (int)(sizeof kill_at / sizeof kill_at[0]));
    free(big);
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
    fn_gallery *g = open_ok(path, 0);
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
    new_path(path, sizeof path, "orphan");
    make_small(path);
    tamper(path, "INSERT INTO identity(name, created) VALUES('ghost', 0)");
    expect_check_fails(path, "ghost", 0);

    new_path(path, sizeof path, "short");
    make_small(path);
    tamper(path, "UPDATE embedding SET vec = zeroblob(31) WHERE id = 2");
    expect_check_fails(path, "31 bytes", 1);

    new_path(path, sizeof path, "nan");
    make_small(path);
    /* 0x7fc00000 little-endian = NaN in the first component */
    unsigned char nanvec[32] = {0x00, 0x00, 0xc0, 0x7f};
    tamper_blob(path, 1, nanvec, 32);
    expect_check_fails(path, "non-finite", 1);

    new_path(path, sizeof path, "text");
    make_small(path);
    tamper(path, "UPDATE embedding SET vec = 'abcdefghabcdefghabcdefghabcdefgh' WHERE id = 3");
    expect_check_fails(path, "not a blob", 0);

    new_path(path, sizeof path, "dangling");
    make_small(path);
    tamper(path, "PRAGMA foreign_keys = OFF;"
                 "INSERT INTO embedding(identity_id, vec, enrolled) VALUES(99, zeroblob(32), 0)");
    expect_check_fails(path, "no identity", 0);

    new_path(path, sizeof path, "nomodel");
    make_small(path);
    tamper(path, "DELETE FROM meta WHERE key = 'dim'");
    expect_check_fails(path, "model", 1);

    new_path(path, sizeof path, "trigger");
    make_small(path);
    tamper(path, "CREATE TRIGGER t AFTER INSERT ON embedding BEGIN DELETE FROM meta; END");
    expect_check_fails(path, "trigger", 0);
}

/* ---- matching ------------------------------------------------------------------------- */

static double sq_exact(const float *a, const float *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

static void test_pairwise_odd_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {{5, 7, 13}, {1, 1, 1}, {3, 11, 128}, {17, 2, 3}, {0, 4, 5},
                                    {4, 0, 5},  {2, 3, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int na = shapes[s][0], nb = shapes[s][1], d = shapes[s][2];
        float *a = random_unit(na ? na : 1, d ? d : 1), *b = random_unit(nb ? nb : 1, d ? d : 1);
        for (int i = 0; i < na * d; i++)
            a[i] *= 3.0f; /* not only unit vectors */
        float out[17 * 11 + 1];
        fn_err err;
        assert_int_equal(fn_pairwise_sqdist(a, na, b, nb, d, out, &err), 0);
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++) {
                double ref = sq_exact(a + i * d, b + j * d, d);
                assert_true(out[i * nb + j] >= 0.0f);
                assert_true(fabs(out[i * nb + j] - ref) < 1e-5 * (1 + ref));
            }
        free(a);
        free(b);
    }
    fn_err err;
    float o;
    assert_int_equal(fn_pairwise_sqdist(NULL, -1, NULL, 1, 1, &o, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
}

static void test_l2_helpers(void **state)
{
    (void)state;
    float v[3] = {3, 0, 4};
    fn_l2_normalize(v, 3);
    assert_true(fabs(v[0] - 0.6) < 1e-7 && v[1] == 0.0f && fabs(v[2] - 0.8) < 1e-7);
    float z[2] = {0, 0};
    fn_l2_normalize(z, 2);
    assert_true(z[0] == 0.0f && z[1] == 0.0f);
    const float a[2] = {1, 2}, b[2] = {4, 6};
    assert_true(fn_l2_distance(a, b, 2) == 5.0f);
    assert_true(fn_l2_distance(a, a, 2) == 0.0f);
}

/* Identification equals a double-precision brute force: same identity and
 * distances within 1e-5 - and exactly 0 for a query equal to a gallery row,
 * where the gemm formula alone would give ~1e-3. */
static void test_identify_brute_force(void **state)
{
    (void)state;
    enum { ROWS = 300, D = 128, NQ = 90 };
    fn_gallery_matrix m = {0};
    m.n_rows = ROWS;
    m.dim = D;
    m.n_ids = 37;
    m.emb = random_unit(ROWS, D);
    m.row_id = malloc(sizeof(int) * ROWS);
    assert_non_null(m.row_id);
    for (int r = 0; r < ROWS; r++)
        m.row_id[r] = (int)(urand() * m.n_ids);
    /* Near-duplicate rows of different identities: the nearest must be
     * decided by exact arithmetic, not by the gemm's rounding. */
    for (int r = 200; r < 210; r++) {
        memcpy(m.emb + (size_t)r * D, m.emb + (size_t)(r - 100) * D, D * sizeof(float));
        m.emb[(size_t)r * D + r % D] += 3e-6f;
        m.row_id[r] = (m.row_id[r - 100] + 1) % m.n_ids;
    }
    float *q = random_unit(NQ, D);
    for (int i = 0; i < 30; i++) /* exact copies of gallery rows */
        memcpy(q + (size_t)i * D, m.emb + (size_t)(i * 7) * D, D * sizeof(float));
    for (int i = 30; i < 60; i++) { /* tiny perturbations of rows 100..129 */
        memcpy(q + (size_t)i * D, m.emb + (size_t)(70 + i) * D, D * sizeof(float));
        q[(size_t)i * D + (i * 3) % D] += (float)(1e-6 * (1 + i % 5));
    }
    int id[NQ];
    float dist[NQ];
    fn_err err;
    assert_int_equal(fn_identify(&m, q, NQ, id, dist, &err), 0);

    float *gemm = malloc(sizeof(float) * NQ * ROWS);
    assert_non_null(gemm);
    assert_int_equal(fn_pairwise_sqdist(q, NQ, m.emb, ROWS, D, gemm, &err), 0);
    double max_diff = 0, gemm_at_zero = 0;
    for (int i = 0; i < NQ; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int r = 0; r < ROWS; r++) {
            double s = sq_exact(q + (size_t)i * D, m.emb + (size_t)r * D, D);
            if (s < bd) {
                bd = s;
                best = r;
            }
        }
        assert_int_equal(id[i], m.row_id[best]);
        double diff = fabs(dist[i] - sqrt(bd));
        if (diff > max_diff)
            max_diff = diff;
        assert_true(diff <= 1e-5);
        if (i < 30) {
            assert_true(dist[i] == 0.0f);
            double g = sqrt(gemm[(size_t)i * ROWS + best]);
            if (g > gemm_at_zero)
                gemm_at_zero = g;
        }
    }
    print_message("identify vs brute force: max |distance difference| = %.3g; "
                  "gemm-only distance for identical vectors up to %.3g\n",
                  max_diff, gemm_at_zero);
    free(gemm);
    free(q);

    /* Through the database: enroll the same rows, load, identify the same way. */
    char path[512];
    new_path(path, sizeof path, "identify");
    fn_gallery *g = open_ok(path, 1);
    char name[32];
    for (int idn = 0; idn < m.n_ids; idn++) {
        int cnt = 0;
        float *rows = malloc(sizeof(float) * ROWS * D);
        assert_non_null(rows);
        for (int r = 0; r < ROWS; r++)
            if (m.row_id[r] == idn)
                memcpy(rows + (size_t)cnt++ * D, m.emb + (size_t)r * D, D * sizeof(float));
        snprintf(name, sizeof name, "person%02d", idn);
        if (cnt)
            enroll_ok(g, name, FP_A, D, cnt, rows, NULL);
        free(rows);
    }
    fn_gallery_matrix lm;
    assert_int_equal(fn_gallery_load(g, NULL, &lm, &err), 0);
    assert_int_equal(lm.n_rows, ROWS);
    int qid;
    float qd;
    assert_int_equal(fn_identify(&lm, m.emb + (size_t)123 * D, 1, &qid, &qd, &err), 0);
    snprintf(name, sizeof name, "person%02d", m.row_id[123]);
    assert_string_equal(lm.names[qid], name);
    assert_true(qd == 0.0f);
    fn_gallery_matrix_free(&lm);
    assert_int_equal(fn_gallery_load(g, name, &lm, &err), 0); /* verify against one person */
    assert_int_equal(fn_identify(&lm, m.emb + (size_t)123 * D, 1, &qid, &qd, &err), 0);
    assert_int_equal(qid, 0);
    assert_true(qd == 0.0f);
    fn_gallery_matrix_free(&lm);
    fn_gallery_close(g);

    float bad[D];
    memcpy(bad, m.emb, sizeof bad);
    bad[5] = NAN;
    assert_int_equal(fn_identify(&m, bad, 1, &qid, &qd, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    fn_gallery_matrix empty = {0};
    assert_int_equal(fn_identify(&empty, m.emb, 1, &qid, &qd, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    free(m.emb);
    free(m.row_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_model_mismatch),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_concurrent_reader),
        cmocka_unit_test(test_kill9_during_enroll),
        cmocka_unit_test(test_check_detects_inconsistency),
        cmocka_unit_test(test_pairwise_odd_shapes),
        cmocka_unit_test(test_l2_helpers),
        cmocka_unit_test(test_identify_brute_force),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
