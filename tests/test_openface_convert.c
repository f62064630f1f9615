/* test_openface_convert.c - tools/openface2keras: the course's nn4.small2 CSV folder to
 * Keras files.
 *   - a folder whose every value is its own index over all files (CRLF line ends, the
 *     two stray files of course folders beside it): every weight lands where
 *     fr_utils.load_weights puts it - conv kernels OIHW -> HWIO (2, 3, 1, 0), dense
 *     (128, 736) -> (736, 128), biases and the four batch-norm vectors as they are;
 *   - model.json: the layers of the Keras summary (../shared/models/openface-nn4small2/
 *     layers.txt) with their names, classes and epsilons, channels_first; facenet.json;
 *   - `facenet info --layers` on the converted model: 3,743,280 parameters and every
 *     layer's output shape as in layers.txt;
 *   - broken folders (missing file, wrong count, non-number, CRLF/LF mix, trailing
 *     comma, not a folder): exit status 1, one line naming the file and the problem,
 *     no output files.
 * The converter is $FACENET_BUILD/tools/openface2keras. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/openface_ref.h"
#include "lib/testutil.h"

static char *tmp;             /* per-run temporary folder */
static of_weights *W_index;   /* values = their index */
static of_weights *W_rand;    /* random, converted into tmp/rand-out */

/* tmp/name, in rotating buffers of its own (tu_path_in's may be in use by the caller) */
static const char *in_tmp(const char *name)
{
    static char buf[8][4200];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
    return b;
}

static int convert(const char *csv, const char *out, char **so, char **se)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s '%s' '%s'", tu_build("tools/openface2keras"), csv, out);
    return tu_run(cmd, so, se);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (!tmp)
        return -1;
    W_index = of_weights_make(OF_INDEX, 0);
    W_rand = of_weights_make(OF_RANDOM, 7);
    mkdir(in_tmp("index"), 0777);
    mkdir(in_tmp("rand"), 0777);
    of_weights_write(W_index, in_tmp("index"), 1);
    of_weights_write(W_rand, in_tmp("rand"), 0);
    /* the two stray files course folders carry; the loader never reads them */
    tu_write_text(tu_path_in(in_tmp("index"), "inception_5a_3x3_conv2_m.csv"), "not,numbers\n");
    tu_write_text(tu_path_in(in_tmp("index"), "inception_5a_3x3_conv2_v.csv"), "1,2\r\n3\n");
    char *so, *se;
    int rc = convert(in_tmp("rand"), in_tmp("rand-out"), &so, &se);
    if (rc)
        fprintf(stderr, "conversion of the random folder failed: %s", se);
    free(so), free(se);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    of_weights_free(W_index);
    of_weights_free(W_rand);
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* A dataset of the h5 as floats (dims in d, rank returned). */
static float *read_ds(hid_t f, const char *layer, const char *wname, hsize_t *d, int *rank)
{
    char path[256];
    snprintf(path, sizeof path, "/%s/%s/%s", layer, layer, wname);
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    if (ds < 0)
        fail_msg("model.h5 has no dataset %s", path);
    hid_t sp = H5Dget_space(ds);
    *rank = H5Sget_simple_extent_ndims(sp);
    assert_true(*rank >= 1 && *rank <= 4);
    H5Sget_simple_extent_dims(sp, d, NULL);
    size_t n = (size_t)H5Sget_simple_extent_npoints(sp);
    float *v = malloc(sizeof(float) * n);
    assert_non_null(v);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(sp);
    H5Dclose(ds);
    return v;
}

static const float *csv_values(const char *name)
{
    const of_file *f = of_weights_find(W_index, name);
    if (!f)
        fail_msg("no CSV %s", name);
    return f->v;
}

static void test_every_weight_in_place(void **state)
{
    (void)state;
    char *so, *se;
    assert_int_equal(convert(in_tmp("index"), in_tmp("index-out"), &so, &se), 0);
    assert_non_null(strstr(so, "224 CSV files, 3743280 parameters"));
    free(so), free(se);
    hid_t f = H5Fopen(tu_path_in(in_tmp("index-out"), "model.h5"), H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t d[4];
    int rank;
    size_t checked = 0;
    char name[80], bnl[64];
    for (int c = 0; c < OF_N_CONV; c++) {
        const of_conv *cv = &of_convs[c];
        snprintf(name, sizeof name, "%s_w", cv->name);
        const float *t = csv_values(name);
        float *k = read_ds(f, cv->name, "kernel:0", d, &rank);
        assert_int_equal(rank, 4);
        assert_true(d[0] == (hsize_t)cv->k && d[1] == (hsize_t)cv->k && d[2] == (hsize_t)cv->i &&
                    d[3] == (hsize_t)cv->o);
        /* Keras kernel[y][x][i][o] = Torch W[o][i][y][x] */
        for (int y = 0; y < cv->k; y++)
            for (int x = 0; x < cv->k; x++)
                for (int i = 0; i < cv->i; i++)
                    for (int o = 0; o < cv->o; o++) {
                        float got = k[(((size_t)y * cv->k + x) * cv->i + i) * cv->o + o];
                        float want = t[(((size_t)o * cv->i + i) * cv->k + y) * cv->k + x];
                        if (got != want)
                            fail_msg("%s kernel[%d][%d][%d][%d] = %.0f, expected %.0f", cv->name, y, x, i, o,
                                     (double)got, (double)want);
                    }
        checked += (size_t)cv->o * cv->i * cv->k * cv->k;
        free(k);
        snprintf(name, sizeof name, "%s_b", cv->name);
        float *b = read_ds(f, cv->name, "bias:0", d, &rank);
        assert_true(rank == 1 && d[0] == (hsize_t)cv->o);
        assert_memory_equal(b, csv_values(name), sizeof(float) * (size_t)cv->o);
        checked += (size_t)cv->o;
        free(b);
        /* the batch norm after it: <..>_conv[N] -> <..>_bn[N] */
        const char *p = strstr(cv->name, "conv");
        snprintf(bnl, sizeof bnl, "%.*sbn%s", (int)(p - cv->name), cv->name, p + 4);
        static const char *const keras[4] = {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"};
        for (int j = 0; j < 4; j++) {
            snprintf(name, sizeof name, "%s_%c", bnl, "wbmv"[j]);
            float *v = read_ds(f, bnl, keras[j], d, &rank);
            assert_true(rank == 1 && d[0] == (hsize_t)cv->o);
            assert_memory_equal(v, csv_values(name), sizeof(float) * (size_t)cv->o);
            checked += (size_t)cv->o;
            free(v);
        }
    }
    const float *t = csv_values("dense_w");
    float *k = read_ds(f, "dense_layer", "kernel:0", d, &rank);
    assert_true(rank == 2 && d[0] == 736 && d[1] == OF_EMB);
    for (int i = 0; i < 736; i++)
        for (int o = 0; o < OF_EMB; o++)
            if (k[(size_t)i * OF_EMB + o] != t[(size_t)o * 736 + i])
                fail_msg("dense kernel[%d][%d] = %.0f, expected %.0f", i, o, (double)k[(size_t)i * OF_EMB + o],
                         (double)t[(size_t)o * 736 + i]);
    free(k);
    float *b = read_ds(f, "dense_layer", "bias:0", d, &rank);
    assert_memory_equal(b, csv_values("dense_b"), sizeof(float) * OF_EMB);
    free(b);
    checked += 736 * OF_EMB + OF_EMB;
    assert_int_equal(checked, OF_PARAMS);
    assert_int_equal(W_index->total, OF_PARAMS);
    H5Fclose(f);
}

/* layers.txt: "name  Class(args)  (None, c, h, w)  params" per layer */
typedef struct {
    char name[64], cls[64], shape[40];
} summary_row;

static int read_summary(summary_row *rows, int cap)
{
    char *text = (char *)tu_read_must(tu_shared("models/openface-nn4small2/layers.txt"), NULL);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        assert_true(n < cap);
        char *paren = strstr(line, "(None, ");
        assert_non_null(paren);
        char *close = strchr(paren, ')');
        assert_true(sscanf(line, "%63s %63[A-Za-z0-9]", rows[n].name, rows[n].cls) == 2);
        /* "(None, 64, 48, 48)" -> "64x48x48" */
        char *o = rows[n].shape;
        for (char *p = paren + 7; p < close; p++)
            if (*p != ' ')
                *o++ = *p == ',' ? 'x' : *p;
        *o = '\0';
        n++;
    }
    free(text);
    return n;
}

static void test_model_json_and_profile(void **state)
{
    (void)state;
    summary_row rows[200];
    int n = read_summary(rows, 200);
    cJSON *m = tu_read_json(tu_path_in(in_tmp("rand-out"), "model.json"));
    assert_non_null(m);
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "layers");
    assert_int_equal(cJSON_GetArraySize(layers), n);
    int i = 0;
    for (const cJSON *L = layers->child; L; L = L->next, i++) {
        const cJSON *cfg = cJSON_GetObjectItem(L, "config");
        assert_string_equal(cJSON_GetObjectItem(L, "name")->valuestring, rows[i].name);
        assert_string_equal(cJSON_GetObjectItem(L, "class_name")->valuestring, rows[i].cls);
        const cJSON *df = cJSON_GetObjectItem(cfg, "data_format");
        if (df)
            assert_string_equal(df->valuestring, "channels_first");
        if (!strcmp(rows[i].cls, "BatchNormalization")) {
            double eps = cJSON_GetObjectItem(cfg, "epsilon")->valuedouble;
            assert_true(eps == (strcmp(rows[i].name, "bn1") ? 1e-5 : 1e-3));
        }
    }
    cJSON_Delete(m);
    cJSON *p = tu_read_json(tu_path_in(in_tmp("rand-out"), "facenet.json"));
    assert_non_null(p);
    const cJSON *size = cJSON_GetObjectItem(p, "input_size");
    assert_true(cJSON_GetArrayItem(size, 0)->valueint == 96 && cJSON_GetArrayItem(size, 1)->valueint == 96);
    assert_true(cJSON_GetObjectItem(p, "std")->valuedouble == 255);
    assert_true(cJSON_GetObjectItem(p, "mean")->valuedouble == 0);
    assert_string_equal(cJSON_GetObjectItem(p, "channel_order")->valuestring, "rgb");
    assert_true(cJSON_GetObjectItem(p, "threshold")->valuedouble == 0.7);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(p, "l2_normalize"))); /* the model's Lambda does it */
    cJSON_Delete(p);
}

static void test_info_matches_keras_summary(void **state)
{
    (void)state;
    summary_row rows[200];
    int n = read_summary(rows, 200);
    char cmd[4096], *out, *err;
    snprintf(cmd, sizeof cmd, "%s info --layers --model '%s'", tu_build("facenet"), in_tmp("rand-out"));
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    assert_non_null(strstr(out, "parameters:   3743280\n"));
    assert_non_null(strstr(out, "input:        3x96x96 (input_1)"));
    assert_non_null(strstr(out, "output:       128 (lambda)"));
    for (int i = 0; i < n; i++) {
        /* "#  name  class  shape ..." */
        char pat[400];
        snprintf(pat, sizeof pat, "\n%-4d %-34.63s %-22.63s %-14.39s ", i, rows[i].name, rows[i].cls, rows[i].shape);
        if (!strstr(out, pat))
            fail_msg("facenet info has no line \"%s\"", pat + 1);
    }
    free(out), free(err);
}

/* Copy a valid folder's file list by symlinks, then replace one file with text. */
static const char *broken_folder(const char *tag, const char *file, const char *text)
{
    char cmd[8192];
    const char *dir = in_tmp(tag);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && ln -sf '%s'/*.csv '%s'/", dir, in_tmp("rand"), dir);
    assert_int_equal(system(cmd), 0);
    const char *path = tu_path_in(dir, file);
    unlink(path);
    if (text)
        tu_write_text(path, text);
    return dir;
}

static void expect_failure(const char *dir, const char *must1, const char *must2)
{
    char *out, *err;
    const char *outdir = in_tmp("never");
    assert_int_equal(convert(dir, outdir, &out, &err), 1);
    if (!strstr(err, must1) || (must2 && !strstr(err, must2)))
        fail_msg("expected '%s' and '%s' in: %s", must1, must2 ? must2 : "", err);
    assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
    struct stat st;
    assert_int_not_equal(stat(outdir, &st), 0); /* not even the folder is left behind */
    free(out), free(err);
}

static void test_broken_folders(void **state)
{
    (void)state;
    char b64[200];
    expect_failure(broken_folder("missing", "inception_4e_5x5_bn2_m.csv", NULL), "inception_4e_5x5_bn2_m.csv: cannot open",
                   "layer inception_4e_5x5_bn2 moving mean");
    expect_failure(broken_folder("short", "conv1_b.csv", "1,2,3\n"), "conv1_b.csv: has 3 values, expected 64",
                   "layer conv1 bias");
    /* 65 values */
    char longv[400] = "0";
    for (int i = 1; i < 65; i++)
        strcat(longv, ",1");
    strcat(longv, "\n");
    expect_failure(broken_folder("long", "bn2_v.csv", longv), "bn2_v.csv: has more than the expected 64 values",
                   NULL);
    expect_failure(broken_folder("word", "bn1_w.csv", "0.5,abc,1\n"), "bn1_w.csv: line 1: value 2 is not a number: 'abc'",
                   NULL);
    expect_failure(broken_folder("nan", "bn1_w.csv", "0.5,nan,1\n"), "value 2 is not a number: 'nan'", NULL);
    expect_failure(broken_folder("mix", "bn1_b.csv", "0.5,1\r\n2\n"), "bn1_b.csv: line 2: mixes CRLF and LF", NULL);
    expect_failure(broken_folder("cr", "bn1_b.csv", "0.5,1\r2\n"), "carriage return without a line feed", NULL);
    expect_failure(broken_folder("comma", "conv2_b.csv", "1,\n"), "conv2_b.csv: line 1: trailing comma after value 1",
                   NULL);
    expect_failure(broken_folder("big", "conv2_b.csv", "1e39\n"), "value 1 (1e39) is outside float32's range", NULL);
    snprintf(b64, sizeof b64, "%s", in_tmp("nothere"));
    expect_failure(b64, "cannot open the weights folder", NULL);
    expect_failure(tu_path_in(in_tmp("rand"), "conv1_b.csv"), "not a directory", NULL);
    /* one CRLF file in an LF folder is fine (both kinds of copies exist) */
    char *crlf = malloc(64 * 4 + 8), *out, *err;
    assert_non_null(crlf);
    crlf[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(crlf, i ? ",0.5" : "0.5");
    strcat(crlf, "\r\n");
    const char *dir = broken_folder("onecrlf", "conv1_b.csv", crlf);
    assert_int_equal(convert(dir, in_tmp("onecrlf-out"), &out, &err), 0);
    free(crlf), free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_weight_in_place),
        cmocka_unit_test(test_model_json_and_profile),
        cmocka_unit_test(test_info_matches_keras_summary),
        cmocka_unit_test(test_broken_folders),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
