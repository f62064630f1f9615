/* test_gallery_store.c - the SQLite gallery's normal life: a round trip (enroll,
 * list, load, remove, reopen), opening missing files and directories, the model
 * mismatch refusal, and bad input (names, fingerprints, dimensions, values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app/gallery.h"
#include "app/match.h"
#include "lib/gallery_fixture.h"
#include "lib/testutil.h"

/* ---- round trip ------------------------------------------------------------ */

static void test_roundtrip(void **state)
{
    (void)state;
    char path[512];
    tg_new_path(path, sizeof path, "roundtrip");
    fn_gallery *g = tg_open_ok(path, 1);
    assert_true(tg_exists(path));
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
    float *e = tu_random_unit(7, D);
    /* Values whose bits must survive: -0, a denormal, the largest float. */
    e[0] = -0.0f;
    e[1] = 1e-40f;
    e[2] = 3.4028235e38f;
    const double t0 = (double)time(NULL);
    const char *paths[4] = {"img/alice_1.jpg", NULL, "img/alice_3.jpg", "img/alice_4.jpg"};
    tg_enroll_ok(g, "bob", FP_A, D, 2, e + 3 * D, NULL);
    tg_enroll_ok(g, "alice", FP_A, D, 3, e, paths);
    tg_enroll_ok(g, "Zoë", FP_A, D, 1, e + 5 * D, NULL);
    tg_enroll_ok(g, "alice", FP_A, D, 1, e + 6 * D, paths + 3);
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
    tg_check_ok(g);

    int removed = -1;
    assert_int_equal(fn_gallery_remove(g, "bob", &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(fn_gallery_remove(g, "bob", &removed, &err), -1);
    assert_int_equal(err.kind, FN_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "bob"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(fn_gallery_remove(g, "nobody", NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_NOTFOUND);
    tg_check_ok(g);
    fn_gallery_close(g);

    /* Persisted: reopen for reading; the stored paths are there too. */
    g = tg_open_ok(path, 0);
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
    tg_new_path(path, sizeof path, "missing");
    fn_gallery *g = (fn_gallery *)1;
    fn_err err;
    assert_int_equal(fn_gallery_open(path, 0, &g, &err), -1);
    assert_null(g);
    assert_int_equal(err.kind, FN_E_IO);
    assert_non_null(strstr(err.msg, path));
    assert_false(tg_exists(path)); /* reading never creates */
    /* A directory is not a gallery either. */
    assert_int_equal(fn_gallery_open(tg_tmpdir(), 1, &g, &err), -1);
    assert_int_equal(err.kind, FN_E_IO);
    g = tg_open_ok(path, 1);
    fn_gallery_close(g);
    assert_true(tg_exists(path));
    g = tg_open_ok(path, 0); /* an empty gallery is a gallery */
    fn_gallery_close(g);
}

/* ---- model mismatch ---------------------------------------------------------- */

static void test_model_mismatch(void **state)
{
    (void)state;
    char path[512], wal[600];
    tg_new_path(path, sizeof path, "mismatch");
    snprintf(wal, sizeof wal, "%s-wal", path);
    tg_make_small(path);
    assert_false(tg_exists(wal)); /* the last close checkpointed */
    size_t len0, len1;
    unsigned char *before = tg_slurp(path, &len0);
    assert_non_null(before);

    fn_gallery *g = tg_open_ok(path, 0);
    float *e = tu_random_unit(2, 8);
    fn_err err;
    fn_err_clear(&err);
    assert_int_equal(fn_gallery_enroll(g, "carol", FP_B, 8, 2, e, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    print_message("refusal: %s\n", err.msg);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "3f2a9c1b0d4e")); /* both short forms */
    assert_non_null(strstr(err.msg, "9a8b7c6d5e4f"));
    /* Same fingerprint, other dimension. */
    float *e16 = tu_random_unit(1, 16);
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

    unsigned char *after = tg_slurp(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    assert_false(tg_exists(wal));
    free(before);
    free(after);
    free(e);
    free(e16);
}

/* ---- bad input ---------------------------------------------------------------- */

static void test_invalid_input(void **state)
{
    (void)state;
    char path[512];
    tg_new_path(path, sizeof path, "input");
    tg_make_small(path);
    fn_gallery *g = tg_open_ok(path, 0);
    float *e = tu_random_unit(2, 8);
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
        tg_enroll_ok(g, good[i], FP_A, 8, 1, e, NULL);

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
    tg_check_ok(g);
    fn_gallery_close(g);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_model_mismatch),
        cmocka_unit_test(test_invalid_input),
    };
    return cmocka_run_group_tests(tests, tg_setup, tg_teardown);
}
