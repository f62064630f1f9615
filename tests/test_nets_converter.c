/* test_nets_converter.c - tools/faceapi_nets2keras on good and broken inputs, and the
 * int32 tensors of tools/lib/tfjs_manifest:
 *   - face-api's real tiny-detector manifest (from `make weights`' cache) converts into
 *     model.json, model.h5, facenet.json and detector.json;
 *   - a renamed tensor, a wrong shape, a tensor the net does not use, the manifest of
 *     another net: exit status 1 and one line naming the file and the tensor;
 *   - a bad NET: usage, exit status 2;
 *   - int32 entries decode as tfjs does: raw little-endian, or Math.round(q*scale + min);
 *     other dtypes are refused by name. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../tools/lib/tfjs_manifest.h"
#include "lib/testutil.h"

#define CACHE "weights/.cache/face-api-1.7.15/model/"
#define TINY "tiny_face_detector_model"

static char *tmp;

static int setup(void **state)
{
    (void)state;
    struct stat st;
    if (stat(CACHE TINY ".bin", &st) != 0) {
        fprintf(stderr, "%s is missing: run `make weights`\n", CACHE TINY ".bin");
        return -1;
    }
    tmp = tu_tmpdir();
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

typedef void (*mutate_fn)(cJSON *weights, const char *bin_path);

/* A copy of the tiny manifest + .bin in tmp/<tag>/, changed by f; returns the manifest path. */
static const char *variant(const char *tag, mutate_fn f)
{
    static char path[4400];
    char dir[4300], bin[4400];
    snprintf(dir, sizeof dir, "%s/%s", tmp, tag);
    assert_int_equal(mkdir(dir, 0777), 0);
    size_t len;
    unsigned char *b = tu_read_must(CACHE TINY ".bin", &len);
    snprintf(bin, sizeof bin, "%s/" TINY ".bin", dir);
    tu_write_must(bin, b, len);
    free(b);
    cJSON *m = tu_read_json(CACHE TINY "-weights_manifest.json");
    assert_non_null(m);
    if (f)
        f(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "weights"), bin);
    char *text = cJSON_Print(m);
    snprintf(path, sizeof path, "%s/" TINY "-weights_manifest.json", dir);
    tu_write_text(path, text);
    cJSON_free(text);
    cJSON_Delete(m);
    return path;
}

static cJSON *entry(cJSON *weights, const char *name)
{
    cJSON *e;
    cJSON_ArrayForEach(e, weights) if (!strcmp(cJSON_GetObjectItem(e, "name")->valuestring, name)) return e;
    fail_msg("no entry %s", name);
    return NULL;
}

static void rename_bias(cJSON *w, const char *bin)
{
    (void)bin;
    cJSON_SetValuestring(cJSON_GetObjectItem(entry(w, "conv8/bias"), "name"), "conv9/bias");
}

static void reshape_filters(cJSON *w, const char *bin)
{
    (void)bin;
    cJSON_ReplaceItemInObject(entry(w, "conv8/filters"), "shape", cJSON_CreateIntArray((int[]){1, 1, 256, 50}, 4));
}

static void extra_tensor(cJSON *w, const char *bin)
{
    cJSON_AddItemToArray(w, cJSON_Parse("{\"name\": \"extra/thing\", \"shape\": [2], \"dtype\": \"float32\"}"));
    FILE *f = fopen(bin, "ab");
    float v[2] = {1, 2};
    assert_int_equal(fwrite(v, sizeof v, 1, f), 1);
    fclose(f);
}

/* Run the converter; returns its status, stderr in *err. */
static int convert(const char *net, const char *manifest, const char *out, char **err)
{
    char cmd[13000], *so = NULL;
    snprintf(cmd, sizeof cmd, "%s %s '%s' '%s'", tu_build("tools/faceapi_nets2keras"), net, manifest, out);
    int st = tu_run(cmd, &so, err);
    free(so);
    return st;
}

static void test_tiny_converts(void **state)
{
    (void)state;
    char out[4300], *err = NULL;
    snprintf(out, sizeof out, "%s/out-good", tmp);
    assert_int_equal(convert("tiny-face-detector", variant("good", NULL), out, &err), 0);
    free(err);
    const char *files[4] = {"model.json", "model.h5", "facenet.json", "detector.json"};
    for (int i = 0; i < 4; i++) {
        struct stat st;
        if (stat(tu_path_in(out, files[i]), &st) != 0 || st.st_size == 0)
            fail_msg("%s missing", tu_path_in(out, files[i]));
    }
}

static void expect_failure(const char *tag, const char *net, mutate_fn f, const char *want1, const char *want2)
{
    char out[4300], *err = NULL;
    snprintf(out, sizeof out, "%s/out-%s", tmp, tag);
    const char *manifest = f ? variant(tag, f) : CACHE "face_landmark_68_tiny_model-weights_manifest.json";
    int st = convert(net, manifest, out, &err);
    if (st != 1 || !strstr(err, want1) || !strstr(err, want2) || !strstr(err, "manifest.json") ||
        strchr(err, '\n') != err + strlen(err) - 1)
        fail_msg("%s: status %d, stderr: %s", tag, st, err);
    free(err);
}

static void test_broken_manifests(void **state)
{
    (void)state;
    expect_failure("renamed", "tiny-face-detector", rename_bias, "'conv8/bias'", "missing");
    expect_failure("reshaped", "tiny-face-detector", reshape_filters, "'conv8/filters'", "expected float32 [-1,-1,512,-1]");
    expect_failure("extra", "tiny-face-detector", extra_tensor, "unexpected tensor 'extra/thing'", "tiny-face-detector");
    expect_failure("other-net", "tiny-face-detector", NULL, "'conv0/filters'", "missing");
}

static void test_usage(void **state)
{
    (void)state;
    char cmd[8192], *so = NULL, *se = NULL;
    snprintf(cmd, sizeof cmd, "%s yolo-v9 a b", tu_build("tools/faceapi_nets2keras"));
    assert_int_equal(tu_run(cmd, &so, &se), 2);
    assert_non_null(strstr(se, "usage"));
    free(so);
    free(se);
}

static void test_int32_tensors(void **state)
{
    (void)state;
    char dir[4300], path[4400], bin[4400];
    snprintf(dir, sizeof dir, "%s/int32", tmp);
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/m.json", dir);
    snprintf(bin, sizeof bin, "%s/m.bin", dir);
    tu_write_text(path, "[{\"paths\": [\"m.bin\"], \"weights\": ["
                        "{\"name\": \"q\", \"shape\": [5], \"dtype\": \"int32\", \"quantization\": "
                        "{\"dtype\": \"uint8\", \"scale\": 0.5, \"min\": -1}},"
                        "{\"name\": \"raw\", \"shape\": [2], \"dtype\": \"int32\"}]}]");
    unsigned char data[5 + 8] = {0, 1, 3, 5, 255, 0xf9, 0xff, 0xff, 0xff, 0x40, 0xe2, 0x01, 0x00};
    tu_write_must(bin, data, sizeof data);
    fn_tfjs_weights w;
    fn_err err = {0};
    if (fn_tfjs_load(path, &w, &err))
        fail_msg("%s", err.msg);
    const fn_tfjs_tensor *q = fn_tfjs_find(&w, "q"), *r = fn_tfjs_find(&w, "raw");
    assert_string_equal(q->dtype, "int32");
    /* q*0.5 - 1 = -1, -0.5, 0.5, 1.5, 126.5 -> Math.round: -1, -0, 1, 2, 127 */
    const float wq[5] = {-1, 0, 1, 2, 127}, wr[2] = {-7, 123456};
    assert_true(tu_maxdiff(q->data, wq, 5) == 0);
    assert_true(tu_maxdiff(r->data, wr, 2) == 0);
    fn_tfjs_free(&w);
    tu_write_text(path, "[{\"paths\": [\"m.bin\"], \"weights\": [{\"name\": \"b\", \"shape\": [13], \"dtype\": \"bool\"}]}]");
    assert_int_not_equal(fn_tfjs_load(path, &w, &err), 0);
    assert_non_null(strstr(err.msg, "'b'"));
    assert_non_null(strstr(err.msg, "bool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_converts),
        cmocka_unit_test(test_broken_manifests),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_int32_tensors),
    };
    return cmocka_run_group_tests_name("faceapi_nets2keras", tests, setup, teardown);
}
