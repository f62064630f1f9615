/* test_bench_faces.c - the input `make bench-faces` feeds face-api (bench/faceapi_bench.js):
 *  - `faces_speed --dump-rgb` of dlib's 2007_007763.jpg is one FNRGB1 record (magic,
 *    500, 375, the name, 500x375x3 bytes) whose pixels are face-api's golden input for
 *    that photo (golden/faceapi-detect/2007_007763.png, the exact decoded pixels), so
 *    both engines of the benchmark see the same image;
 *  - with --list, one record an image, in order;
 *  - an unreadable image is named and the exit status is 2.
 * The timing itself is bench/ (never a test); the Node side needs npm and is not run here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/image.h"
#include "lib/testutil.h"

static uint32_t u32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Check the record at buf + *pos against the decoded image want and its name. */
static void check_record(const unsigned char *buf, size_t len, size_t *pos, const char *name,
                         const fn_image *want)
{
    size_t p = *pos, nl = strlen(name), n = (size_t)want->w * want->h * 3;
    assert_true(p + 19 <= len);
    assert_memory_equal(buf + p, "FNRGB1\n", 7);
    assert_int_equal(u32(buf + p + 7), want->w);
    assert_int_equal(u32(buf + p + 11), want->h);
    assert_int_equal(u32(buf + p + 15), nl);
    p += 19;
    assert_true(p + nl + n <= len);
    assert_memory_equal(buf + p, name, nl);
    p += nl;
    size_t differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += buf[p + i] != want->rgb[i];
    print_message("%s: %zu of %zu bytes differ from the reference pixels\n", name, differ, n);
    assert_int_equal(differ, 0);
    *pos = p + n;
}

static void test_dump_is_faceapi_input(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), cmd[4096];
    char *out = strdup(tu_path_in(dir, "photo.rgb"));
    char *jpg = tu_shared_dup("images/dlib-faces/2007_007763.jpg");
    snprintf(cmd, sizeof cmd, "'%s' --dump-rgb '%s' '%s'", tu_build("bench/faces_speed"), out, jpg);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    fn_image want = {0};
    fn_err err = {0};
    if (fn_image_load(tu_shared("golden/faceapi-detect/2007_007763.png"), 0, &want, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(want.w, 500);
    size_t len, pos = 0;
    unsigned char *buf = tu_read_must(out, &len);
    check_record(buf, len, &pos, jpg, &want);
    assert_int_equal(pos, len);
    free(buf);
    fn_image_free(&want);
    free(jpg), free(out);
    tu_rmtree(dir);
    free(dir);
}

static void test_dump_list(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), cmd[4096];
    char *a = tu_shared_dup("golden/faceapi-detect/2007_007763.png");
    char *b = tu_shared_dup("lfw/original-150/Adam_Scott/Adam_Scott_0001.jpg");
    char *list = strdup(tu_path_in(dir, "list.txt")), *out = strdup(tu_path_in(dir, "all.rgb"));
    char text[8192];
    snprintf(text, sizeof text, "%s\n\n%s\n", a, b); /* an empty line is skipped */
    tu_write_text(list, text);
    snprintf(cmd, sizeof cmd, "'%s' --dump-rgb '%s' --list '%s'", tu_build("bench/faces_speed"), out,
             list);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    fn_image ia = {0}, ib = {0};
    fn_err err = {0};
    if (fn_image_load(a, 0, &ia, &err) || fn_image_load(b, 0, &ib, &err))
        fail_msg("%s", err.msg);
    size_t len, pos = 0;
    unsigned char *buf = tu_read_must(out, &len);
    check_record(buf, len, &pos, a, &ia);
    check_record(buf, len, &pos, b, &ib);
    assert_int_equal(pos, len);
    free(buf);
    fn_image_free(&ia);
    fn_image_free(&ib);
    /* an unreadable image: named, exit status 2 */
    snprintf(text, sizeof text, "%s\n%s/missing.jpg\n", a, dir);
    tu_write_text(list, text);
    char *se = NULL;
    assert_int_equal(tu_run(cmd, NULL, &se), 2);
    assert_non_null(strstr(se, "missing.jpg"));
    free(se);
    free(a), free(b), free(list), free(out);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_is_faceapi_input),
        cmocka_unit_test(test_dump_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
