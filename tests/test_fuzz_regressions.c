/* test_fuzz_regressions.c - inputs the fuzz targets (fuzz/) found crashing, rebuilt
 * here so each stays fixed.  The crashes show under the sanitizer build (`make
 * asan`); the checks below hold in every build.
 *
 * 1. fuzz_gallery: a gallery whose 'dim' record is not a number made
 *    fn_gallery_model quote the record in its error message after sqlite3_finalize
 *    had freed it (heap-use-after-free, app/gallery.c read_model).  The fuzzer's
 *    input was a 28 KB database; the same record is written here with SQLite.
 * 2. fuzz_detect_post: tiny-detector outputs whose box was finite relative to the image
 *    but ~1e300 times its size gave a detection at y = -inf, height inf once scaled to
 *    pixels (app/detect_tiny.c now drops boxes beyond a million times the image).  The
 *    fuzzer's 56-byte input is below, decoded as fuzz/fuzz_detect_post.c does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <math.h>

#include "app/detect.h"
#include "app/gallery.h"
#include "lib/testutil.h"

#define FP "0123456789abcdef0123456789abcdef"

static void set_meta(const char *path, const char *key, const char *value)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE meta SET value = ?1 WHERE key = ?2", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_gallery_bad_dim_record_message(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    const char *path = tu_path_in(dir, "g.db");
    fn_gallery *g;
    fn_err err;
    assert_int_equal(fn_gallery_open(path, 1, &g, &err), 0);
    float emb[4] = {1, 0, 0, 0};
    assert_int_equal(fn_gallery_enroll(g, "ann", FP, 4, 1, emb, NULL, &err), 0);
    fn_gallery_close(g);

    set_meta(path, "dim", "12x-not-a-number");
    assert_int_equal(fn_gallery_open(path, 0, &g, &err), 0);
    char fp[FN_GALLERY_MAX_FP + 1];
    int dim = -1;
    assert_int_equal(fn_gallery_model(g, fp, sizeof fp, &dim, &err), -1);
    assert_int_equal(err.kind, FN_E_FORMAT);
    assert_non_null(strstr(err.msg, "corrupt dimension record '12x-not-a-number'"));
    /* the same record read by the full check and by a load */
    assert_int_equal(fn_gallery_check(g, &err), -1);
    fn_gallery_matrix m = {0};
    (void)fn_gallery_load(g, NULL, &m, &err);
    fn_gallery_matrix_free(&m);
    fn_gallery_close(g);
    assert_int_equal(tu_rmtree(dir), 0);
    free(dir);
}

static void test_tiny_huge_box_is_no_detection(void **state)
{
    (void)state;
    static const unsigned char in[56] = {
        0xf3, 0xf3, 0xf3, 0xf3, 0x21, 0xbd, 0x2b, 0x0b, 0x0b, 0x30, 0x0b, 0x0b, 0xfe, 0x0b,
        0x00, 0x6e, 0x0b, 0x0b, 0x0b, 0x30, 0x44, 0x25, 0x42, 0xbd, 0x28, 0x30, 0x31, 0xbd,
        0x21, 0xbd, 0x2b, 0x0b, 0x0b, 0x30, 0x0b, 0x00, 0x00, 0x00, 0x10, 0x0b, 0xff, 0x0b,
        0x00, 0x6e, 0x0b, 0x0b, 0x0b, 0x30, 0x44, 0x25, 0x42, 0xbd, 0x28, 0x30, 0x31, 0xbd};
    /* byte 0: tiny path (((0xf3 >> 1) % 3) == 1), grid 1 + (0xf3 >> 3) % 6 = 1, threshold 0
     * (odd); bytes 1-4: the image size; the rest: float32 outputs, zero past the end */
    const int w = 1 + ((in[1] | in[2] << 8) & 4095), h = 1 + ((in[3] | in[4] << 8) & 4095);
    fn_tiny_params p;
    fn_tiny_default(&p);
    p.score_threshold = 0.0;
    float raw[25] = {0};
    for (int k = 0; k < 25 && 5 + 4 * k + 4 <= (int)sizeof in; k++)
        memcpy(&raw[k], in + 5 + 4 * k, 4);
    assert_int_equal(w, 1012);
    assert_int_equal(h, 500);
    fn_detection cands[5], dets[5];
    int keep[5], nd = -1;
    fn_err err;
    assert_int_equal(fn_tiny_postprocess(raw, 1, w, h, &p, cands, keep, dets, &nd, &err), 0);
    assert_true(nd >= 0 && nd <= 5);
    for (int k = 0; k < nd; k++)
        assert_true(isfinite(dets[k].box.x) && isfinite(dets[k].box.y) && isfinite(dets[k].box.width) &&
                    isfinite(dets[k].box.height));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gallery_bad_dim_record_message),
        cmocka_unit_test(test_tiny_huge_box_is_no_detection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
