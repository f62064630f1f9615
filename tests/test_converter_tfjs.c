/* test_converter_tfjs.c - faceapi2keras refuses bad face-api inputs.
 *
 * Corrupted copies of the synthetic model (tests/lib/faceapi_fixture.h): a missing
 * tensor, a wrong shape or rank, a truncated or overlong .bin, bad JSON, an unknown
 * quantisation, a NaN, an unexpected tensor, missing files, a manifest or shards over
 * a limit (json-bytes, json-values, weight-bytes).  Each must exit with
 * status 1 and one stderr line naming the file and tensor, and leave neither an
 * existing nor a new output directory with files in it.
 * Run from the repository root (as `make test` does); the converter is found at
 * $FACENET_BUILD/tools/faceapi2keras. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "lib/faceapi_fixture.h"
#include "lib/testutil.h"

/* A corrupted model must fail with status 1, exactly one stderr line containing all
 * needles, and leave neither an existing nor a new output directory with files. */
static void expect_rejected(const char *label, const variant *v, const char *needle1,
                            const char *needle2)
{
    const char *dir = fx_subdir(label);
    fx_write_model(dir, v);
    char out[4300], fresh[4300];
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(mkdir(out, 0777), 0);
    char *so = NULL, *se = NULL;
    int st = fx_convert(dir, out, &so, &se);
    assert_non_null(se);
    if (st != 1 || fx_count_lines(se) != 1 || !strstr(se, needle1) ||
        (needle2 && !strstr(se, needle2)))
        fail_msg("%s: status %d, stderr \"%s\" (wanted 1 line with '%s' and '%s')", label, st,
                 se, needle1, needle2 ? needle2 : "");
    assert_int_equal(fx_count_entries(out), 0);
    free(so);
    free(se);
    snprintf(fresh, sizeof fresh, "%s/not-yet", dir);
    st = fx_convert(dir, fresh, NULL, NULL);
    assert_int_equal(st, 1);
    assert_false(fx_exists(fresh));
}

/* ---- converter: rejected inputs ------------------------------------------------------ */

static void t_missing_tensor(void **state)
{
    (void)state;
    variant v = {.omit = "conv128_1/conv2/scale/biases"};
    expect_rejected("missing", &v, "conv128_1/conv2/scale/biases", MANIFEST_NAME);
}

static void t_wrong_shape(void **state)
{
    (void)state;
    variant v = {.reshape = "conv64_2/conv1/conv/filters", .rank = 4, .dims = {3, 3, 64, 32}};
    expect_rejected("shape", &v, "conv64_2/conv1/conv/filters", "[3,3,64,64]");
}

static void t_wrong_rank(void **state)
{
    (void)state;
    variant v = {.reshape = "fc", .rank = 1, .dims = {256 * 128}};
    expect_rejected("rank", &v, "'fc'", "[256,128]");
}

static void t_truncated_bin(void **state)
{
    (void)state;
    variant v = {.bin_delta = -1};
    expect_rejected("truncated", &v, BIN_NAME ": truncated", "'fc'");
}

static void t_extra_bytes(void **state)
{
    (void)state;
    variant v = {.bin_delta = 3};
    expect_rejected("extra-bytes", &v, BIN_NAME, "3 extra bytes");
}

static void t_bad_json(void **state)
{
    (void)state;
    variant v = {.bad_json = 1};
    expect_rejected("bad-json", &v, MANIFEST_NAME, "not valid JSON");
}

static void t_unknown_quantization(void **state)
{
    (void)state;
    variant v = {.bad_quant = "conv32_3/conv1/conv/filters"};
    expect_rejected("bad-quant", &v, "conv32_3/conv1/conv/filters", "int4");
}

static void t_nan_value(void **state)
{
    (void)state;
    variant v = {.nan_in = "conv64_3/conv2/conv/filters"};
    expect_rejected("nan", &v, "conv64_3/conv2/conv/filters", "not finite");
}

static void t_unexpected_tensor(void **state)
{
    (void)state;
    variant v = {.extra = "conv512_1/conv1/conv/bias"};
    expect_rejected("extra-tensor", &v, "conv512_1/conv1/conv/bias", "unexpected");
}

static void t_missing_files(void **state)
{
    (void)state;
    const char *dir = fx_subdir("no-bin");
    variant v = {0};
    fx_write_model(dir, &v);
    char p[4300], out[4300];
    snprintf(p, sizeof p, "%s/%s", dir, BIN_NAME);
    assert_int_equal(remove(p), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    char *se = NULL;
    assert_int_equal(fx_convert(dir, out, NULL, &se), 1);
    assert_non_null(strstr(se, BIN_NAME));
    assert_int_equal(fx_count_lines(se), 1);
    assert_false(fx_exists(out));
    free(se);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' '%s/nothing.json' '%s'", tu_build("tools/faceapi2keras"),
             dir, out);
    assert_int_equal(tu_run(cmd, NULL, &se), 1);
    assert_non_null(strstr(se, "nothing.json"));
    free(se);
    snprintf(cmd, sizeof cmd, "'%s'", tu_build("tools/faceapi2keras"));
    assert_int_equal(tu_run(cmd, NULL, NULL), 2); /* usage */
}

/* The converter runs `faceapi2keras ARGS MANIFEST OUT` in dir: status, stderr. */
static int convert_with(const char *dir, const char *args, char **se)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s/%s' '%s/out'", tu_build("tools/faceapi2keras"), args, dir, MANIFEST_NAME,
             dir);
    return tu_run(cmd, NULL, se);
}

static void expect_limit(const char *dir, const char *args, const char *name, const char *needle)
{
    char *se = NULL;
    int st = convert_with(dir, args, &se);
    char raise[64];
    snprintf(raise, sizeof raise, "--limit %s=N raises it", name);
    if (st != 1 || fx_count_lines(se) != 1 || !strstr(se, needle) || !strstr(se, raise))
        fail_msg("%s: status %d, stderr \"%s\" (wanted 1 line with '%s' and '%s')", args, st, se, needle, raise);
    free(se);
}

/* The manifest and its shards are held to limits, as the engine's inputs are
 * (json-bytes, json-values, weight-bytes; --limit NAME=N moves them). */
static void t_limits(void **state)
{
    (void)state;
    const char *dir = fx_subdir("limits");
    variant v = {0};
    fx_write_model(dir, &v);
    char bin[4300];
    snprintf(bin, sizeof bin, "%s/%s", dir, BIN_NAME);
    struct stat st;
    assert_int_equal(stat(bin, &st), 0);
    long long size = (long long)st.st_size;
    expect_limit(dir, "--limit json-bytes=100", "json-bytes", "json-bytes=100");
    expect_limit(dir, "--limit=json-values=10", "json-values", "json-values=10");
    expect_limit(dir, "--limit weight-bytes=1k", "weight-bytes", BIN_NAME);
    /* two shards, each under the limit, together over it */
    char cmd[9000], args[64];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && head -c %lld %s > a.bin && tail -c +%lld %s > b.bin && rm %s && "
             "sed -i 's/\"paths\":\\[\"%s\"\\]/\"paths\":[\"a.bin\",\"b.bin\"]/' %s",
             dir, size / 2, BIN_NAME, size / 2 + 1, BIN_NAME, BIN_NAME, BIN_NAME, MANIFEST_NAME);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    snprintf(args, sizeof args, "--limit weight-bytes=%lld", size * 3 / 4);
    expect_limit(dir, args, "weight-bytes", "its shards reach");
    char *se = NULL;
    assert_int_equal(convert_with(dir, "", &se), 0); /* the defaults take it, split or not */
    free(se);
    assert_int_equal(convert_with(dir, "--limit weight-bytes=0", NULL), 2);
    assert_int_equal(convert_with(dir, "--limit pixels=5", NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_missing_tensor),
        cmocka_unit_test(t_wrong_shape),
        cmocka_unit_test(t_wrong_rank),
        cmocka_unit_test(t_truncated_bin),
        cmocka_unit_test(t_extra_bytes),
        cmocka_unit_test(t_bad_json),
        cmocka_unit_test(t_unknown_quantization),
        cmocka_unit_test(t_nan_value),
        cmocka_unit_test(t_unexpected_tensor),
        cmocka_unit_test(t_missing_files),
        cmocka_unit_test(t_limits),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
