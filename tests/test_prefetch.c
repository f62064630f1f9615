/* test_prefetch.c - the CLI's decode-ahead (src/cli/prefetch.c): images come back in
 * the order given, each equal to a plain fn_image_load of the same file, with each
 * file's own error (a missing file, a text file) in its place; duplicates, one image,
 * none, a ring of one slot, and stopping before everything was taken (nothing leaks:
 * LeakSanitizer under make asan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/prefetch.h"
#include "lib/testutil.h"

static const char *photo(int i)
{
    static const char *names[] = {"images/happy-house/camera_0.jpg", "images/happy-house/camera_1.jpg",
                                  "images/dlib-faces/2007_007763.jpg"};
    return tu_shared(names[i]);
}

/* take every image of paths[0..n) from a prefetcher with `ahead` slots and compare with
 * fn_image_load */
static void check_list(const char *const *paths, int n, int ahead)
{
    fn_prefetch *p = fn_prefetch_start(paths, n, 0, ahead);
    assert_non_null(p);
    for (int i = 0; i < n; i++) {
        fn_image a = {0}, b = {0};
        fn_err ea = {0}, eb = {0};
        int ra = fn_prefetch_take(p, &a, &ea), rb = fn_image_load(paths[i], 0, &b, &eb);
        assert_int_equal(ra, rb);
        if (ra) {
            assert_string_equal(ea.msg, eb.msg);
            assert_int_equal(ea.kind, eb.kind);
            assert_null(a.rgb);
        } else {
            assert_int_equal(a.w, b.w);
            assert_int_equal(a.h, b.h);
            assert_memory_equal(a.rgb, b.rgb, (size_t)a.w * a.h * 3);
        }
        fn_image_free(&a), fn_image_free(&b);
    }
    fn_image none;
    fn_err e = {0};
    assert_int_equal(fn_prefetch_take(p, &none, &e), -1); /* nothing left */
    fn_prefetch_stop(p);
}

static void test_order_and_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *text = strdup(tu_path_in(dir, "notes.jpg")), *missing = strdup(tu_path_in(dir, "missing.jpg"));
    tu_write_text(text, "not a photo\n");
    char *p0 = strdup(photo(0)), *p1 = strdup(photo(1)), *p2 = strdup(photo(2));
    const char *paths[] = {p0, missing, p1, text, p2, p0, p1, missing, p2};
    for (int ahead = 1; ahead <= 3; ahead++)
        check_list(paths, 9, ahead);
    check_list(paths, 1, 2); /* one image: decoded on the caller's thread */
    check_list(paths, 0, 2);
    free(text), free(missing), free(p0), free(p1), free(p2);
    tu_rmtree(dir);
    free(dir);
}

static void test_stop_early(void **state)
{
    (void)state;
    char *p0 = strdup(photo(0)), *p1 = strdup(photo(1));
    const char *paths[] = {p0, p1, p0, p1, p0, p1};
    for (int taken = 0; taken <= 3; taken++) {
        fn_prefetch *p = fn_prefetch_start(paths, 6, 0, 2);
        assert_non_null(p);
        for (int i = 0; i < taken; i++) {
            fn_image img;
            fn_err e = {0};
            assert_int_equal(fn_prefetch_take(p, &img, &e), 0);
            fn_image_free(&img);
        }
        fn_prefetch_stop(p); /* decoded, untaken images are freed */
    }
    fn_prefetch_stop(NULL);
    free(p0), free(p1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_errors),
        cmocka_unit_test(test_stop_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
