/* test_bad_input.c - hostile and broken model files.  Each case must end with exit
 * status 2 and exactly one line on stderr naming the file (and the layer where there
 * is one); nothing may crash (the suite also runs under ASan/UBSan: `make asan`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/testutil.h"

static char *tmp;
static char base_json[4096], base_h5[4096];

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    snprintf(base_json, sizeof base_json, "%s", tu_shared("keras-real/hls4ml-conv2d-k2.0.0/model.json"));
    snprintf(base_h5, sizeof base_h5, "%s", tu_shared("keras-real/hls4ml-conv2d-k2.0.0/model.h5"));
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* Run `facenet info` on (json, h5); expect status 2 and one stderr line containing
 * every needle. */
static void expect_error(const char *json, const char *h5, const char *const *needles)
{
    char cmd[12000], *out = NULL, *err = NULL;
    if (json)
        snprintf(cmd, sizeof cmd, "%s info --model-json '%s' --weights '%s'", tu_build("facenet"), json, h5);
    else
        snprintf(cmd, sizeof cmd, "%s info --weights '%s'", tu_build("facenet"), h5);
    int st = tu_run(cmd, &out, &err);
    if (st != 2)
        fail_msg("status %d (want 2) for %s; stderr: %s", st, cmd, err ? err : "");
    assert_non_null(err);
    char *nl = strchr(err, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, ""); /* exactly one line */
    for (int i = 0; needles[i]; i++)
        if (!strstr(err, needles[i]))
            fail_msg("stderr '%s' does not mention '%s'", err, needles[i]);
    free(out);
    free(err);
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[8][4200];
    static int k;
    char *p = path[k++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", tmp, name);
    assert_int_equal(tu_write(p, text, strlen(text)), 0);
    return p;
}

/* base model.json with one edit applied to layer `idx` (Sequential bare list). */
static const char *edited(const char *name, void (*edit)(cJSON *layers))
{
    cJSON *m = tu_read_json(base_json);
    assert_non_null(m);
    edit(cJSON_GetObjectItem(m, "config"));
    char *text = cJSON_Print(m);
    const char *p = write_tmp(name, text);
    free(text);
    cJSON_Delete(m);
    return p;
}

static void test_missing_files(void **state)
{
    (void)state;
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope.json", tmp);
    expect_error(missing, base_h5, (const char *[]){"nope.json", "cannot open", NULL});
    snprintf(missing, sizeof missing, "%s/nope.h5", tmp);
    expect_error(base_json, missing, (const char *[]){"nope.h5", "cannot open", NULL});
    char cmd[4300], *out, *err;
    snprintf(cmd, sizeof cmd, "%s info --model %s/no-such-dir", tu_build("facenet"), tmp);
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    assert_non_null(strstr(err, "no-such-dir"));
    free(out), free(err);
}

static void test_empty_and_truncated_json(void **state)
{
    (void)state;
    expect_error(write_tmp("empty.json", ""), base_h5, (const char *[]){"empty.json", "empty", NULL});
    char *text = tu_read(base_json, NULL);
    text[strlen(text) / 2] = '\0';
    expect_error(write_tmp("trunc.json", text), base_h5, (const char *[]){"trunc.json", "not valid JSON", NULL});
    free(text);
    expect_error(write_tmp("notmodel.json", "{\"hello\": [1, 2, 3]}"), base_h5,
                 (const char *[]){"notmodel.json", "not a Keras model", NULL});
    expect_error(write_tmp("list.json", "[1, 2]"), base_h5, (const char *[]){"list.json", NULL});
    expect_error(write_tmp("cls.json", "{\"class_name\": \"Functional\", \"config\": {\"layers\": 5}}"), base_h5,
                 (const char *[]){"cls.json", "no layers", NULL});
}

static void set_class(cJSON *layers, int idx, const char *cls)
{
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(layers, idx), "class_name", cJSON_CreateString(cls));
}

static void unknown_class(cJSON *layers)
{
    set_class(layers, 3, "FancyDense");
}

static void test_unknown_layer_class(void **state)
{
    (void)state;
    expect_error(edited("unknown.json", unknown_class), base_h5,
                 (const char *[]){"unknown.json", "dense_1", "FancyDense", NULL});
}

static void other_lambda(cJSON *layers)
{
    /* marshalled `lambda x: x * 2` (CPython 3.7) - a Lambda we do not recognise */
    cJSON *l = cJSON_GetArrayItem(layers, 1);
    set_class(layers, 1, "Lambda");
    cJSON *cfg = cJSON_GetObjectItem(l, "config");
    cJSON *fn = cJSON_CreateArray();
    cJSON_AddItemToArray(fn, cJSON_CreateString("4wEAAAAAAAAAAQAAAAIAAABTAAAAcwgAAAB8AGQBFABTACkCTukCAAAAqQApAdoBeHIBAAAAcgEA\nAAD6CDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA==\n"));
    cJSON_AddItemToArray(fn, cJSON_CreateNull());
    cJSON_AddItemToArray(fn, cJSON_CreateNull());
    cJSON_AddItemToObject(cfg, "function", fn);
    cJSON_AddStringToObject(cfg, "function_type", "lambda");
}

static void test_unrecognised_lambda(void **state)
{
    (void)state;
    expect_error(edited("lambda.json", other_lambda), base_h5,
                 (const char *[]){"lambda.json", "dropout_1", "Lambda", "not recognised", NULL});
}

static void extra_layer(cJSON *layers)
{
    cJSON *d = cJSON_Duplicate(cJSON_GetArrayItem(layers, 3), 1);
    cJSON *cfg = cJSON_GetObjectItem(d, "config");
    cJSON_ReplaceItemInObject(cfg, "name", cJSON_CreateString("dense_extra"));
    cJSON_AddItemToArray(layers, d);
}

static void test_weights_missing_a_layer(void **state)
{
    (void)state;
    expect_error(edited("extra.json", extra_layer), base_h5,
                 (const char *[]){"model.h5", "dense_extra", "missing", NULL});
}

static void wider_conv(cJSON *layers)
{
    cJSON *cfg = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 0), "config");
    cJSON_ReplaceItemInObject(cfg, "filters", cJSON_CreateNumber(3));
}

static void test_dataset_with_wrong_shape(void **state)
{
    (void)state;
    expect_error(edited("wide.json", wider_conv), base_h5,
                 (const char *[]){"model.h5", "conv2d_1", "kernel shape 3x3x1x2, config says 3x3x1x3", NULL});
}

static void test_non_hdf5_and_truncated_h5(void **state)
{
    (void)state;
    expect_error(base_json, write_tmp("text.h5", "this is not HDF5\n"),
                 (const char *[]){"text.h5", "not an HDF5 file", NULL});
    size_t len;
    char *h5 = tu_read(base_h5, &len);
    char path[4200];
    snprintf(path, sizeof path, "%s/trunc.h5", tmp);
    assert_int_equal(tu_write(path, h5, len / 2), 0);
    expect_error(base_json, path, (const char *[]){"trunc.h5", NULL});
    assert_int_equal(tu_write(path, h5, 0), 0);
    expect_error(base_json, path, (const char *[]){"trunc.h5", NULL});
    free(h5);
    /* a weights-only file without model.json */
    expect_error(NULL, base_h5, (const char *[]){"model.h5", "model_config", NULL});
}

static void huge_input(cJSON *layers)
{
    cJSON *cfg = cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 0), "config");
    cJSON *bis = cJSON_CreateIntArray((const int[]){0, 100000000, 100000000, 1}, 4);
    cJSON_ReplaceItemInArray(bis, 0, cJSON_CreateNull());
    cJSON_ReplaceItemInObject(cfg, "batch_input_shape", bis);
}

static void test_huge_dimensions(void **state)
{
    (void)state;
    expect_error(edited("huge.json", huge_input), base_h5, (const char *[]){"huge.json", NULL});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_empty_and_truncated_json),
        cmocka_unit_test(test_unknown_layer_class),
        cmocka_unit_test(test_unrecognised_lambda),
        cmocka_unit_test(test_weights_missing_a_layer),
        cmocka_unit_test(test_dataset_with_wrong_shape),
        cmocka_unit_test(test_non_hdf5_and_truncated_h5),
        cmocka_unit_test(test_huge_dimensions),
    };
    return cmocka_run_group_tests_name("bad input", tests, setup, teardown);
}
