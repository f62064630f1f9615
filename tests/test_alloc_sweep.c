/* test_alloc_sweep.c - the allocation-failure sweep (tests/alloc/sweep.sh) on a stride:
 * every 4th allocation of our own code and every 200th of the libraries' in four CLI
 * runs (info, embed, encode of 3 photos, enroll of 2 photos into a fresh gallery;
 * about 600 runs, a minute or so), and every 40th / 2000th in `facenet detect` of one
 * photo.  Each must end with status 0 or 2 and one line
 * of stderr, and leave no half-made gallery; failures inside libhdf5 are reported
 * by the script but do not fail it.  Then the same with the weights sandbox (the CLI's
 * default for a model the user names: libhdf5 in forked children, whose allocations
 * the sweep covers too) on a coarser stride: every 16th of ours, every 400th of the
 * rest.  `make alloc-sweep` runs every allocation.
 * Skipped for sanitizer builds: the LD_PRELOAD shim cannot go before their runtime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testutil.h"

/* sweep.sh on the scenarios given (sandbox on or off), every own-th allocation of ours
 * and every other-th of the libraries'. */
static void sweep(const char *scenarios, int sandbox, int own, int other, const char *out_dir)
{
    char *out = NULL, *err = NULL;
    /* a sanitized CLI links its runtime: nothing to sweep there */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "nm -D '%s' 2>/dev/null | grep -c ' __asan_init'", tu_build("facenet"));
    tu_run(cmd, &out, &err);
    int sanitized = out && atoi(out) > 0;
    free(out);
    free(err);
    if (sanitized)
        skip();
    snprintf(cmd, sizeof cmd,
             "BUILD='%s' ALLOC_OUT='%s' ALLOC_SCENARIOS='%s' ALLOC_SANDBOX=%d ALLOC_OWN_STRIDE=%d "
             "ALLOC_OTHER_STRIDE=%d bash tests/alloc/sweep.sh",
             getenv("FACENET_BUILD") ? getenv("FACENET_BUILD") : "build", tu_build(out_dir), scenarios, sandbox, own,
             other);
    int rc = tu_run(cmd, &out, &err);
    printf("%s", out ? out : "");
    if (rc != 0)
        fprintf(stderr, "%s", err ? err : "");
    free(out);
    free(err);
    assert_int_equal(rc, 0);
}

static void test_alloc_sweep_stride(void **state)
{
    (void)state;
    sweep("info embed encode enroll", 0, 4, 200, "alloc-sweep-test");
}

static void test_alloc_sweep_stride_sandbox(void **state)
{
    (void)state;
    sweep("info embed encode enroll", 1, 16, 400, "alloc-sweep-test-sandbox");
}

/* face detection and landmarks on one photo: about 30k allocations, mostly libhdf5's
 * reading the two nets; a coarser stride keeps it to ~100 runs */
static void test_alloc_sweep_detect(void **state)
{
    (void)state;
    sweep("detect", 0, 40, 2000, "alloc-sweep-detect");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_sweep_stride),
        cmocka_unit_test(test_alloc_sweep_detect),
        cmocka_unit_test(test_alloc_sweep_stride_sandbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
