/* test_golden_faceapi.c - the default model (dlib ResNet from face-api, converted by
 * `make weights` into weights/dlib-resnet) run by the generic engine:
 *  - the converted profile turns the golden PNGs into face-api's input tensors bit for bit;
 *  - the 42 golden PNGs give face-api's descriptors (descriptors-wasm.json) within 1e-5
 *    per value;
 *  - the course's office: the camera shots are identified as younes, bertrand, benoit,
 *    bertrand, dan, arnaud;
 *  - LFW View 1 (threshold from pairsDevTrain, applied to pairsDevTest, landmark-aligned
 *    original-150 chips): accuracy >= 98.4% and ROC AUC >= 0.997.  This one encodes
 *    ~2000 images; the sanitizer build (FACENET_TEST_LFW_LIMIT set) skips it.
 * The model directory is $FACENET_MODEL or weights/dlib-resnet; it must exist
 * (`make test` runs `make weights` first). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/encoder.h"
#include "io/image.h"
#include "lib/testutil.h"

static char dir[4096], json[4200], h5[4200], prof[4200];

static int setup(void **state)
{
    (void)state;
    const char *m = getenv("FACENET_MODEL");
    snprintf(dir, sizeof dir, "%s", m && *m ? m : "weights/dlib-resnet");
    snprintf(json, sizeof json, "%s/model.json", dir);
    snprintf(h5, sizeof h5, "%s/model.h5", dir);
    snprintf(prof, sizeof prof, "%s/facenet.json", dir);
    FILE *f = fopen(h5, "rb");
    if (!f) {
        fprintf(stderr, "%s is missing: run `make weights`\n", h5);
        return -1;
    }
    fclose(f);
    return 0;
}

static void test_input_tensors_bit_exact(void **state)
{
    (void)state;
    fn_encoder enc;
    fn_err err = {0};
    if (fn_encoder_open(&enc, json, h5, prof, &err))
        fail_msg("%s", err.msg);
    cJSON *man = tu_read_json(tu_shared("golden/faceapi-resnet/input-tensors/inputs.json")), *it;
    assert_non_null(man);
    int count = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(man, "inputs"))
    {
        char rel[512];
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/inputs/%s", cJSON_GetObjectItem(it, "png")->valuestring);
        char png[4200];
        snprintf(png, sizeof png, "%s", tu_shared(rel));
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/input-tensors/%s", cJSON_GetObjectItem(it, "file")->valuestring);
        size_t len;
        float *want = (float *)tu_read(tu_shared(rel), &len);
        assert_int_equal(len, 150 * 150 * 3 * sizeof(float));
        float *got = malloc(len);
        if (fn_encoder_prepare(&enc, png, NULL, got, &err))
            fail_msg("%s", err.msg);
        assert_memory_equal(got, want, len);
        free(got);
        free(want);
        count++;
    }
    assert_int_equal(count, 2);
    cJSON_Delete(man);
    fn_encoder_close(&enc);
}

/* Image file (relative to the shared data) for a descriptors-wasm.json key, or NULL to
 * skip that key. */
typedef int (*image_for_key)(const char *key, char *rel, size_t cap);

/* Every selected reference descriptor against the encoder's (the whole image pipeline),
 * within 1e-5 per value; returns how many were compared. */
static int compare_descriptors(image_for_key image_of, const char *label)
{
    fn_encoder enc;
    fn_err err = {0};
    if (fn_encoder_open(&enc, json, h5, prof, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(enc.dim, 128);
    cJSON *ref = tu_read_json(tu_shared("golden/faceapi-resnet/descriptors-wasm.json")), *d;
    assert_non_null(ref);
    double worst = 0;
    const char *worst_name = "";
    int count = 0;
    cJSON_ArrayForEach(d, ref)
    {
        char rel[512], path[4200];
        if (!image_of(d->string, rel, sizeof rel))
            continue;
        snprintf(path, sizeof path, "%s", tu_shared(rel));
        const char *paths[1] = {path};
        float emb[128];
        if (fn_encoder_encode_files(&enc, paths, NULL, 1, emb, &err))
            fail_msg("%s", err.msg);
        size_t n;
        float *want = tu_json_floats(d, &n);
        assert_int_equal(n, 128);
        double diff = tu_maxdiff(emb, want, 128);
        if (diff > worst)
            worst = diff, worst_name = d->string;
        if (!(diff <= 1e-5))
            fail_msg("%s: max diff %.3g > 1e-5", path, diff);
        free(want);
        count++;
    }
    printf("  %d %s vs face-api (wasm): worst %.2e (%s)\n", count, label, worst, worst_name);
    cJSON_Delete(ref);
    fn_encoder_close(&enc);
    return count;
}

static int golden_png(const char *key, char *rel, size_t cap)
{
    snprintf(rel, cap, "golden/faceapi-resnet/inputs/%s.png", key);
    return 1;
}

/* The golden happy-house chips are the 96x96 course photos upscaled to 150x150 by
 * half-pixel bilinear: the original photos go through the profile's resize path. */
static int original_photo(const char *key, char *rel, size_t cap)
{
    if (strncmp(key, "happy-house/", 12))
        return 0;
    const char *name = key + 12;
    snprintf(rel, cap, "images/happy-house/%s.%s", name, strcmp(name, "danielle") ? "jpg" : "png");
    return 1;
}

static void test_descriptors_match_faceapi(void **state)
{
    (void)state;
    assert_int_equal(compare_descriptors(golden_png, "golden 150x150 PNGs"), 42);
}

static void test_resized_originals_match_faceapi(void **state)
{
    (void)state;
    assert_int_equal(compare_descriptors(original_photo, "original 96x96 course photos, resized"), 18);
}

static void test_office_identification(void **state)
{
    (void)state;
    static const char *people[] = {"andrew", "arnaud", "benoit", "bertrand", "dan", "danielle",
                                   "felix", "kevin", "kian", "sebastiano", "tian", "younes"};
    static const char *expect[] = {"younes", "bertrand", "benoit", "bertrand", "dan", "arnaud"};
    char *tmp = tu_tmpdir(), cmd[60000], *out, *err;
    size_t k = 0;
    for (int i = 0; i < 12; i++)
        k += (size_t)snprintf(cmd + k, sizeof cmd - k, "%s enroll --model %s --db %s/o.db %s %s/%s.%s >/dev/null && ",
                              tu_build("facenet"), dir, tmp, people[i], tu_shared("images/happy-house"), people[i],
                              strcmp(people[i], "danielle") ? "jpg" : "png");
    k += (size_t)snprintf(cmd + k, sizeof cmd - k, "%s identify --model %s --db %s/o.db --json", tu_build("facenet"), dir, tmp);
    for (int c = 0; c < 6; c++)
        k += (size_t)snprintf(cmd + k, sizeof cmd - k, " %s/camera_%d.jpg", tu_shared("images/happy-house"), c);
    snprintf(cmd + k, sizeof cmd - k, " | grep identity");
    if (tu_run(cmd, &out, &err))
        fail_msg("%s", err);
    char *line = out;
    for (int c = 0; c < 6; c++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const cJSON *id = cJSON_GetObjectItem(j, "identity");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, expect[c]))
            fail_msg("camera_%d: %s (expected %s)", c, line, expect[c]);
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(out), free(err);
    assert_int_equal(tu_rmtree(tmp), 0);
    free(tmp);
}

static void test_lfw_view1_accuracy(void **state)
{
    (void)state;
    if (getenv("FACENET_TEST_LFW_LIMIT"))
        skip(); /* ~2000 images: too slow under the sanitizers; runs in `make test` */
    char cmd[16000], *out, *err;
    snprintf(cmd, sizeof cmd,
             "%s evaluate --model %s --pairs %s --train-pairs %s --images %s --landmarks %s --landmark-scale 0.6 --json",
             tu_build("facenet"), dir, tu_shared("lfw/pairsDevTest.txt"), tu_shared("lfw/pairsDevTrain.txt"),
             tu_shared("lfw/original-150"), tu_shared("lfw/landmarks-5pt-250px.txt"));
    if (tu_run(cmd, &out, &err))
        fail_msg("%s", err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double acc = cJSON_GetObjectItem(j, "accuracy")->valuedouble, auc = cJSON_GetObjectItem(j, "auc")->valuedouble;
    printf("  LFW View 1: accuracy %.2f%%, AUC %.4f, threshold %.4f, %d pairs, %d skipped\n", 100 * acc, auc,
           cJSON_GetObjectItem(j, "threshold")->valuedouble, cJSON_GetObjectItem(j, "pairs")->valueint,
           cJSON_GetObjectItem(j, "skipped")->valueint);
    assert_true(acc >= 0.984);
    assert_true(auc >= 0.997);
    assert_int_equal(cJSON_GetObjectItem(j, "pairs")->valueint, 1000);
    assert_int_equal(cJSON_GetObjectItem(j, "skipped")->valueint, 1); /* Betsy_Coffin_0001 is missing */
    cJSON_Delete(j);
    free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_tensors_bit_exact),
        cmocka_unit_test(test_descriptors_match_faceapi),
        cmocka_unit_test(test_resized_originals_match_faceapi),
        cmocka_unit_test(test_office_identification),
        cmocka_unit_test(test_lfw_view1_accuracy),
    };
    return cmocka_run_group_tests_name("default model: dlib ResNet (face-api)", tests, setup, NULL);
}
