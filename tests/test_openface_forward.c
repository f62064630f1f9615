/* test_openface_forward.c - the converted course model (tools/openface2keras) computes what
 * the course's Keras model computes.
 *   - random weights (He-scaled kernels, batch norms with some variances small enough
 *     that bn1's epsilon 1e-3 vs the others' 1e-5 shows) are written as a CSV folder and
 *     converted; the engine's output for a random 3x96x96 input, fast kernels with
 *     folding and naive kernels without, equals the independent NCHW reference of
 *     lib/openface_ref.c (Torch layouts straight from the CSV arrays) within 1e-5;
 *   - `facenet embed --raw X.f32` takes X in the layout the model declares (NCHW,
 *     3x96x96, a batch of two in one file) and gives the same numbers;
 *   - the 18 course photos through `facenet encode --json` give the embeddings of the
 *     course's img_to_encoding: RGB, /255, transposed to channels first (computed here
 *     from the decoded pixels), through the model - checked against the engine run on
 *     those tensors for all 18 and against the reference for two of them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "io/image.h"
#include "lib/openface_ref.h"
#include "lib/testutil.h"
#include "facenet.h"

#define N_IN ((size_t)3 * OF_SIZE * OF_SIZE)
#define TOL 1e-5

static char *tmp, *csv_dir, *model_dir;
static of_weights *W;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (!tmp)
        return -1;
    csv_dir = strdup(tu_path_in(tmp, "csv"));
    model_dir = strdup(tu_path_in(tmp, "model"));
    mkdir(csv_dir, 0777);
    W = of_weights_make(OF_RANDOM, 2024);
    of_weights_write(W, csv_dir, 0);
    char cmd[8192], *out, *err;
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'", tu_build("tools/openface2keras"), csv_dir, model_dir);
    int rc = tu_run(cmd, &out, &err);
    if (rc)
        fprintf(stderr, "openface2keras failed: %s", err);
    free(out), free(err);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    of_weights_free(W);
    int rc = tu_rmtree(tmp);
    free(tmp), free(csv_dir), free(model_dir);
    return rc;
}

/* The engine in-process on n inputs (NCHW) -> out (n x 128). */
static void engine(int no_fuse, int reference, const float *x, int n, float *out)
{
    char json[4200], h5[4200];
    snprintf(json, sizeof json, "%s/model.json", model_dir);
    snprintf(h5, sizeof h5, "%s/model.h5", model_dir);
    fn_load_opts o = {.model_json = json, .weights = h5, .no_fuse = no_fuse};
    fn_net *net;
    fn_err err;
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    if (fn_net_set_reference(net, reference, &err))
        fail_msg("%s", err.msg);
    if (fn_net_run(net, x, n, NULL, &err))
        fail_msg("%s", err.msg);
    fn_shape s;
    const float *y = fn_net_output(net, 0, &s);
    assert_int_equal(fn_shape_count(&s), OF_EMB);
    memcpy(out, y, sizeof(float) * OF_EMB * (size_t)n);
    fn_net_free(net);
}

static void check_close(const char *what, const float *got, const float *want, double tol)
{
    double d = tu_maxdiff(got, want, OF_EMB);
    print_message("%s: max |difference| %.2g\n", what, d);
    if (!(d <= tol))
        fail_msg("%s: max |difference| %.3g > %.1g", what, d, tol);
}

static void test_random_weights_match_reference(void **state)
{
    (void)state;
    float *x = malloc(sizeof(float) * 2 * N_IN);
    assert_non_null(x);
    uint32_t s = 99;
    for (size_t i = 0; i < 2 * N_IN; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        x[i] = (float)((s >> 8) / 16777216.0);
    }
    float ref[2][OF_EMB], fast[2][OF_EMB], naive[OF_EMB];
    of_reference(W, x, ref[0]);
    of_reference(W, x + N_IN, ref[1]);
    engine(0, 0, x, 2, fast[0]);
    engine(1, 1, x, 1, naive);
    check_close("engine (fast, folded) vs reference, input 0", fast[0], ref[0], TOL);
    check_close("engine (fast, folded) vs reference, input 1", fast[1], ref[1], TOL);
    check_close("engine (naive, unfolded) vs reference", naive, ref[0], TOL);
    /* the two inputs are told apart, and the output is a unit vector */
    assert_true(tu_maxdiff(ref[0], ref[1], OF_EMB) > 1e-2);
    double nn = 0;
    for (int i = 0; i < OF_EMB; i++)
        nn += (double)fast[0][i] * fast[0][i];
    assert_true(fabs(nn - 1) < 1e-5);

    /* the CLI: both inputs in one raw file, NCHW as the model declares */
    char f32[4200], cmd[8192], *out, *err;
    snprintf(f32, sizeof f32, "%s/x.f32", tmp);
    tu_write_must(f32, x, sizeof(float) * 2 * N_IN);
    snprintf(cmd, sizeof cmd, "%s embed --model '%s' --raw '%s' --json", tu_build("facenet"), model_dir, f32);
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    char *line = out;
    for (int k = 0; k < 2; k++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        size_t n;
        float *v = tu_json_floats(cJSON_GetObjectItem(j, "output"), &n);
        assert_int_equal(n, OF_EMB);
        check_close("facenet embed --raw vs reference", v, ref[k], TOL);
        check_close("facenet embed --raw vs engine in-process", v, fast[k], 1e-6);
        free(v);
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(out), free(err);
    /* a file that is not a whole number of 3x96x96 inputs is refused, naming the size */
    tu_write_must(f32, x, sizeof(float) * (N_IN + 5));
    assert_int_equal(tu_run(cmd, &out, &err), 2);
    assert_non_null(strstr(err, "inputs of 27648 floats"));
    free(out), free(err);
    free(x);
}

static const char *const PHOTOS[] = {"andrew.jpg", "arnaud.jpg", "benoit.jpg", "bertrand.jpg", "camera_0.jpg",
                                     "camera_1.jpg", "camera_2.jpg", "camera_3.jpg", "camera_4.jpg",
                                     "camera_5.jpg", "dan.jpg", "danielle.png", "felix.jpg", "kevin.jpg",
                                     "kian.jpg", "sebastiano.jpg", "tian.jpg", "younes.jpg"};
#define N_PHOTOS ((int)(sizeof PHOTOS / sizeof *PHOTOS))

/* img_to_encoding's input: np.around(np.transpose(img, (2, 0, 1)) / 255.0, 12) as float32
 * (the rounding to 12 decimals changes no float32 value of k/255, k = 0..255). */
static void course_input(const char *path, float *x)
{
    fn_image img;
    fn_err err;
    if (fn_image_load(path, 0, &img, &err))
        fail_msg("%s", err.msg);
    assert_true(img.w == OF_SIZE && img.h == OF_SIZE);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < OF_SIZE; y++)
            for (int i = 0; i < OF_SIZE; i++)
                x[((size_t)c * OF_SIZE + y) * OF_SIZE + i] = (float)(img.rgb[((size_t)y * OF_SIZE + i) * 3 + c] / 255.0);
    fn_image_free(&img);
}

static void test_course_photos_encode(void **state)
{
    (void)state;
    float *x = malloc(sizeof(float) * N_IN * N_PHOTOS), (*want)[OF_EMB] = malloc(sizeof *want * N_PHOTOS);
    assert_true(x && want);
    char dir[4200], cmd[8192], *out, *err;
    snprintf(dir, sizeof dir, "%s", tu_shared("images/happy-house"));
    for (int k = 0; k < N_PHOTOS; k++)
        course_input(tu_path_in(dir, PHOTOS[k]), x + N_IN * k);
    engine(0, 0, x, N_PHOTOS, want[0]);
    float ref[OF_EMB];
    for (int k = 0; k < N_PHOTOS; k += 11) { /* andrew, danielle (the PNG) */
        of_reference(W, x + N_IN * k, ref);
        check_close(PHOTOS[k], want[k], ref, TOL);
    }
    snprintf(cmd, sizeof cmd, "%s encode --no-detect --model '%s' --json '%s'", tu_build("facenet"), model_dir, dir);
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    int seen = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const char *p = cJSON_GetObjectItem(j, "image")->valuestring, *base = strrchr(p, '/') + 1;
        int k = 0;
        while (k < N_PHOTOS && strcmp(PHOTOS[k], base))
            k++;
        assert_true(k < N_PHOTOS);
        size_t n;
        float *v = tu_json_floats(cJSON_GetObjectItem(j, "embedding"), &n);
        assert_int_equal(n, OF_EMB);
        check_close(PHOTOS[k], v, want[k], 1e-6);
        free(v);
        cJSON_Delete(j);
        seen++;
    }
    assert_int_equal(seen, N_PHOTOS);
    free(out), free(err);
    free(x), free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_weights_match_reference),
        cmocka_unit_test(test_course_photos_encode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
