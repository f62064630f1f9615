/* gallery_fixture.c - shared helpers of the gallery tests (see gallery_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/gallery.h"
#include "gallery_fixture.h"
#include "testutil.h"

static char tmpdir[256];
static int file_counter;

int tg_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fn_test_gallery_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int tg_teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmpdir);
}

void tg_new_path(char *out, size_t cap, const char *stem)
{
    snprintf(out, cap, "%s/%s%d.db", tmpdir, stem, file_counter++);
}

unsigned char *tg_slurp(const char *path, size_t *len)
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

void tg_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

int tg_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

long long tg_fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

fn_gallery *tg_open_ok(const char *path, int create)
{
    fn_gallery *g = NULL;
    fn_err err;
    fn_err_clear(&err);
    if (fn_gallery_open(path, create, &g, &err))
        print_error("open %s: %s\n", path, err.msg);
    assert_non_null(g);
    return g;
}

void tg_enroll_ok(fn_gallery *g, const char *name, const char *fp, int dim, int n,
                  const float *e, const char *const *paths)
{
    fn_err err;
    fn_err_clear(&err);
    int rc = fn_gallery_enroll(g, name, fp, dim, n, e, paths, &err);
    if (rc)
        print_error("enroll %s: %s\n", name, err.msg);
    assert_int_equal(rc, 0);
}

void tg_check_ok(fn_gallery *g)
{
    fn_err err;
    fn_err_clear(&err);
    int rc = fn_gallery_check(g, &err);
    if (rc)
        print_error("check: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

void tg_make_small(const char *path)
{
    fn_gallery *g = tg_open_ok(path, 1);
    float *e = tu_random_unit(5, 8);
    tg_enroll_ok(g, "alice", FP_A, 8, 3, e, NULL);
    tg_enroll_ok(g, "bob", FP_A, 8, 2, e + 24, NULL);
    free(e);
    fn_gallery_close(g);
}

const char *tg_tmpdir(void)
{
    return tmpdir;
}
