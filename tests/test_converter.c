/* test_converter.c - faceapi2keras, the Keras HDF5 writer and scripts/fetch_weights.sh.
 *
 * Nothing here needs the npm package: the tests synthesise a model in face-api's
 * format (all 117 tensors with their real shapes, small deterministic values; mostly
 * uint8-quantised, the conv64_* filters raw float32 like the real file, one tensor
 * uint16 and one float16 to exercise every decoder) in a mkdtemp() directory, then:
 *   - convert it and check model.json (structure, configs), model.h5 (Keras layout,
 *     fixed-length name lists, empty float64 weight_names, exact folded values) and
 *     facenet.json, and that the engine CLI loads the result;
 *   - convert corrupted copies (missing tensor, wrong shape, truncated / overlong
 *     .bin, bad JSON, unknown quantisation, NaN, unexpected tensor): exit status 1,
 *     one stderr line naming the file and tensor, no output files;
 *   - drive the writer directly (chunked layer_names0/1, model.save() layout with a
 *     model_config over 64 KiB, scoped weight names, misuse);
 *   - run fetch_weights.sh against a stub npm: success and the quick re-run, checksum
 *     mismatch, failing and missing npm, a failing conversion - never a partial
 *     weights/dlib-resnet/.
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
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>

#include "io/h5.h"
#include "../tools/lib/keras_h5w.h"
#include "app/align.h"
#include "lib/testutil.h"

/* The writer lives in tools/lib, which the Makefile links into tools only; compile it
 * into this test so it can be exercised directly. */

#define MANIFEST_NAME "face_recognition_model-weights_manifest.json"
#define BIN_NAME "face_recognition_model.bin"
#define N_LAYERS 70

/* ---- a synthetic model in face-api's format --------------------------------------- */

enum { Q_RAW, Q_U8, Q_U16, Q_F16 };

typedef struct {
    char name[80];
    int rank;
    long long dims[4];
    int q;
    double scale, min;
    size_t count;
    unsigned char *bytes;  /* as stored in the .bin */
    size_t nbytes;
    float *value;          /* what tfjs decodes */
} gtensor;

typedef struct {
    const char *omit;      /* leave this tensor out (manifest and bin) */
    const char *reshape;   /* give this tensor the shape below (bin sized to match) */
    int rank;
    long long dims[4];
    long bin_delta;        /* bytes cut from (<0) or appended to (>0) the bin */
    int bad_json;          /* cut the manifest text short */
    const char *nan_in;    /* raw float32 tensor that gets a NaN */
    const char *extra;     /* an additional tensor */
    const char *bad_quant; /* tensor whose quantisation dtype becomes "int4" */
} variant;

static const struct {
    const char *name;
    int cin, c;
} BLOCKS[] = {
    {"conv32_1", 32, 32},    {"conv32_2", 32, 32},      {"conv32_3", 32, 32},
    {"conv64_down", 32, 64}, {"conv64_1", 64, 64},      {"conv64_2", 64, 64},
    {"conv64_3", 64, 64},    {"conv128_down", 64, 128}, {"conv128_1", 128, 128},
    {"conv128_2", 128, 128}, {"conv256_down", 128, 256}, {"conv256_1", 256, 256},
    {"conv256_2", 256, 256}, {"conv256_down_out", 256, 256},
};
#define N_BLOCKS ((int)(sizeof BLOCKS / sizeof BLOCKS[0]))

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* IEEE half -> float, written independently of the converter's decoder. */
static float half_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
    return (float)((h & 0x8000) ? -v : v);
}

static void fill_tensor(gtensor *t, const variant *v)
{
    t->count = 1;
    for (int i = 0; i < t->rank; i++)
        t->count *= (size_t)t->dims[i];
    int bpe = t->q == Q_RAW ? 4 : t->q == Q_U8 ? 1 : 2;
    t->nbytes = t->count * (size_t)bpe;
    t->bytes = malloc(t->nbytes ? t->nbytes : 1);
    t->value = malloc(sizeof(float) * (t->count ? t->count : 1));
    assert_non_null(t->bytes);
    assert_non_null(t->value);
    static const uint16_t HALVES[] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x3555, 0x83ff, 0x0000,
                                      0x8000, 0x2e66};
    for (size_t i = 0; i < t->count; i++) {
        switch (t->q) {
        case Q_RAW: {
            float f = ((float)(next_u32() % 20001) - 10000.0f) * 1e-5f;
            if (v->nan_in && strcmp(v->nan_in, t->name) == 0 && i == t->count / 2)
                f = NAN;
            uint32_t u;
            memcpy(&u, &f, 4);
            for (int b = 0; b < 4; b++)
                t->bytes[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
            t->value[i] = f;
            break;
        }
        case Q_U8: {
            unsigned q = next_u32() & 0xff;
            t->bytes[i] = (unsigned char)q;
            t->value[i] = (float)((double)q * t->scale + t->min); /* tfjs: JS doubles */
            break;
        }
        case Q_U16: {
            unsigned q = next_u32() & 0xffff;
            t->bytes[2 * i] = (unsigned char)(q & 0xff);
            t->bytes[2 * i + 1] = (unsigned char)(q >> 8);
            t->value[i] = (float)((double)q * t->scale + t->min);
            break;
        }
        default: {
            uint16_t h = HALVES[i % (sizeof HALVES / sizeof HALVES[0])];
            t->bytes[2 * i] = (unsigned char)(h & 0xff);
            t->bytes[2 * i + 1] = (unsigned char)(h >> 8);
            t->value[i] = half_value(h);
            break;
        }
        }
    }
}

static void add_tensor(gtensor *ts, int *n, const char *name, int rank, const long long *dims,
                       const variant *v)
{
    if (v->omit && strcmp(v->omit, name) == 0)
        return;
    gtensor *t = &ts[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rank = rank;
    memcpy(t->dims, dims, sizeof(long long) * (size_t)rank);
    if (v->reshape && strcmp(v->reshape, name) == 0) {
        t->rank = v->rank;
        memcpy(t->dims, v->dims, sizeof t->dims);
    }
    /* Value ranges like the real model's: scales near 1, small filters and biases. */
    t->q = Q_U8;
    t->scale = 0.0008;
    t->min = -0.1;
    if (strstr(name, "scale/weights")) {
        t->scale = 0.002;
        t->min = 0.5;
    } else if (strstr(name, "bias")) {
        t->scale = 0.0004;
        t->min = -0.05;
    }
    if (strncmp(name, "conv64_", 7) == 0 && strstr(name, "filters"))
        t->q = Q_RAW;
    if (strcmp(name, "conv32_2/conv1/conv/bias") == 0) {
        t->q = Q_U16;
        t->scale = 1.5e-6;
        t->min = -0.05;
    }
    if (strcmp(name, "conv32_1/conv1/scale/biases") == 0)
        t->q = Q_F16;
    fill_tensor(t, v);
}

static void add_conv(gtensor *ts, int *n, const char *prefix, int k, int cin, int c,
                     const variant *v)
{
    char nm[96];
    long long f[4] = {k, k, cin, c}, b[1] = {c};
    snprintf(nm, sizeof nm, "%s/conv/filters", prefix);
    add_tensor(ts, n, nm, 4, f, v);
    snprintf(nm, sizeof nm, "%s/conv/bias", prefix);
    add_tensor(ts, n, nm, 1, b, v);
    snprintf(nm, sizeof nm, "%s/scale/weights", prefix);
    add_tensor(ts, n, nm, 1, b, v);
    snprintf(nm, sizeof nm, "%s/scale/biases", prefix);
    add_tensor(ts, n, nm, 1, b, v);
}

/* face-api's full tensor set (plus the variant's changes), in manifest order. */
static gtensor *gen_tensors(const variant *v, int *n)
{
    gtensor *ts = calloc(4 + 8 * N_BLOCKS + 2, sizeof *ts);
    assert_non_null(ts);
    rng = 0x243f6a8885a308d3ull;
    *n = 0;
    add_conv(ts, n, "conv32_down", 7, 3, 32, v);
    for (int b = 0; b < N_BLOCKS; b++) {
        char p[64];
        snprintf(p, sizeof p, "%s/conv1", BLOCKS[b].name);
        add_conv(ts, n, p, 3, BLOCKS[b].cin, BLOCKS[b].c, v);
        snprintf(p, sizeof p, "%s/conv2", BLOCKS[b].name);
        add_conv(ts, n, p, 3, BLOCKS[b].c, BLOCKS[b].c, v);
    }
    long long fc[2] = {256, 128}, ex[1] = {8};
    add_tensor(ts, n, "fc", 2, fc, v);
    if (v->extra)
        add_tensor(ts, n, v->extra, 1, ex, v);
    return ts;
}

static void free_tensors(gtensor *ts, int n)
{
    for (int i = 0; i < n; i++) {
        free(ts[i].bytes);
        free(ts[i].value);
    }
    free(ts);
}

static const gtensor *find_t(const gtensor *ts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0)
            return &ts[i];
    fail_msg("synthetic tensor %s missing", name);
    return NULL;
}

/* Write dir/<manifest> and dir/<bin>. */
static void write_model(const char *dir, const variant *v)
{
    int n;
    gtensor *ts = gen_tensors(v, &n);
    size_t cap = 1 << 16, len = 0, total = 0;
    char *js = malloc(cap);
    assert_non_null(js);
    len += (size_t)snprintf(js + len, cap - len, "[{\"paths\":[\"%s\"],\"weights\":[", BIN_NAME);
    for (int i = 0; i < n; i++) {
        const gtensor *t = &ts[i];
        char shape[96] = "", q[200] = "";
        size_t sl = 0;
        for (int d = 0; d < t->rank; d++)
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%lld", d ? "," : "",
                                   t->dims[d]);
        const char *qd = t->q == Q_U8 ? "uint8" : t->q == Q_U16 ? "uint16" : "float16";
        if (v->bad_quant && strcmp(v->bad_quant, t->name) == 0)
            qd = "int4";
        if (t->q == Q_U8 || t->q == Q_U16)
            snprintf(q, sizeof q, ",\"quantization\":{\"dtype\":\"%s\",\"scale\":%.17g,"
                     "\"min\":%.17g}", qd, t->scale, t->min);
        else if (t->q == Q_F16)
            snprintf(q, sizeof q, ",\"quantization\":{\"dtype\":\"%s\"}", qd);
        if (cap - len < 512) {
            cap *= 2;
            js = realloc(js, cap);
            assert_non_null(js);
        }
        len += (size_t)snprintf(js + len, cap - len,
                                "%s{\"name\":\"%s\",\"shape\":[%s],\"dtype\":\"float32\"%s}",
                                i ? "," : "", t->name, shape, q);
        total += t->nbytes;
    }
    len += (size_t)snprintf(js + len, cap - len, "]}]\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_NAME);
    assert_int_equal(tu_write(path, js, v->bad_json ? len / 2 : len), 0);
    free(js);

    unsigned char *bin = calloc(total + 16, 1);
    assert_non_null(bin);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(bin + off, ts[i].bytes, ts[i].nbytes);
        off += ts[i].nbytes;
    }
    size_t blen = v->bin_delta < 0 ? total - (size_t)(-v->bin_delta) : total + (size_t)v->bin_delta;
    snprintf(path, sizeof path, "%s/%s", dir, BIN_NAME);
    assert_int_equal(tu_write(path, bin, blen), 0);
    free(bin);
    free_tensors(ts, n);
}

/* ---- helpers ------------------------------------------------------------------------- */

static char *tmp_root;

static int setup(void **state)
{
    (void)state;
    tmp_root = tu_tmpdir();
    return tmp_root ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp_root);
    free(tmp_root);
    return rc;
}

/* A fresh sub-directory of tmp_root (static rotating buffer). */
static const char *subdir(const char *name)
{
    static char bufs[4][4200];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp_root, name);
    assert_int_equal(mkdir(b, 0777), 0);
    return b;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Run the converter on dir's manifest into out; returns the exit status. */
static int convert(const char *dir, const char *out, char **so, char **se)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' '%s/%s' '%s'", tu_build("tools/faceapi2keras"), dir,
             MANIFEST_NAME, out);
    return tu_run(cmd, so, se);
}

/* A corrupted model must fail with status 1, exactly one stderr line containing all
 * needles, and leave neither an existing nor a new output directory with files. */
static void expect_rejected(const char *label, const variant *v, const char *needle1,
                            const char *needle2)
{
    const char *dir = subdir(label);
    write_model(dir, v);
    char out[4300], fresh[4300];
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(mkdir(out, 0777), 0);
    char *so = NULL, *se = NULL;
    int st = convert(dir, out, &so, &se);
    assert_non_null(se);
    if (st != 1 || count_lines(se) != 1 || !strstr(se, needle1) ||
        (needle2 && !strstr(se, needle2)))
        fail_msg("%s: status %d, stderr \"%s\" (wanted 1 line with '%s' and '%s')", label, st,
                 se, needle1, needle2 ? needle2 : "");
    assert_int_equal(count_entries(out), 0);
    free(so);
    free(se);
    snprintf(fresh, sizeof fresh, "%s/not-yet", dir);
    st = convert(dir, fresh, NULL, NULL);
    assert_int_equal(st, 1);
    assert_false(exists(fresh));
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
    const char *dir = subdir("no-bin");
    variant v = {0};
    write_model(dir, &v);
    char p[4300], out[4300];
    snprintf(p, sizeof p, "%s/%s", dir, BIN_NAME);
    assert_int_equal(remove(p), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    char *se = NULL;
    assert_int_equal(convert(dir, out, NULL, &se), 1);
    assert_non_null(strstr(se, BIN_NAME));
    assert_int_equal(count_lines(se), 1);
    assert_false(exists(out));
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

/* ---- converter: a good model ------------------------------------------------------------ */

/* A 1-D fixed-length NUL-padded string attribute, exactly as h5py writes numpy 'S<n>'. */
static char **read_fixed_strings(hid_t obj, const char *name, int *n)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_false(H5Tis_variable_str(t));
    assert_int_equal(H5Tget_strpad(t), H5T_STR_NULLPAD);
    assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
    size_t sz = H5Tget_size(t);
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    char *buf = calloc((size_t)cnt * sz + 1, 1);
    char **out = calloc((size_t)cnt + 1, sizeof *out);
    assert_non_null(buf);
    assert_non_null(out);
    assert_true(H5Aread(a, t, buf) >= 0);
    for (hssize_t i = 0; i < cnt; i++) {
        out[i] = calloc(sz + 1, 1);
        memcpy(out[i], buf + (size_t)i * sz, sz);
    }
    free(buf);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    *n = (int)cnt;
    return out;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static char *read_fixed_scalar(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    assert_false(H5Tis_variable_str(t));
    assert_int_equal(H5Sget_simple_extent_type(sp), H5S_SCALAR);
    size_t sz = H5Tget_size(t);
    char *s = calloc(sz + 1, 1);
    assert_true(H5Aread(a, t, s) >= 0);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return s;
}

/* Dataset at path: check its dims and read it. */
static float *read_dataset(hid_t f, const char *path, int rank, const long long *dims)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        fail_msg("dataset %s missing", path);
    hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
    assert_true(H5Tequal(ty, H5T_IEEE_F32LE) > 0);
    hsize_t got[8];
    assert_int_equal(H5Sget_simple_extent_dims(sp, got, NULL), rank);
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if ((long long)got[i] != dims[i])
            fail_msg("%s: dim %d is %llu, expected %lld", path, i, (unsigned long long)got[i],
                     dims[i]);
        n *= (size_t)dims[i];
    }
    float *v = malloc(n * sizeof(float));
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Tclose(ty);
    H5Sclose(sp);
    H5Dclose(d);
    return v;
}

/* The folded Conv2D weights of face-api's convLayer `prefix`, stored in layer `layer`:
 * kernel = W * s, bias = b * s + t (double, rounded once), bit for bit. */
static void check_folded(hid_t f, const gtensor *ts, int n, const char *layer,
                         const char *prefix)
{
    char nm[4][128], path[300];
    snprintf(nm[0], sizeof nm[0], "%s/conv/filters", prefix);
    snprintf(nm[1], sizeof nm[1], "%s/conv/bias", prefix);
    snprintf(nm[2], sizeof nm[2], "%s/scale/weights", prefix);
    snprintf(nm[3], sizeof nm[3], "%s/scale/biases", prefix);
    const gtensor *W = find_t(ts, n, nm[0]), *b = find_t(ts, n, nm[1]),
                  *s = find_t(ts, n, nm[2]), *t = find_t(ts, n, nm[3]);
    size_t c = (size_t)W->dims[3];
    snprintf(path, sizeof path, "%s/%s/kernel:0", layer, layer);
    float *k = read_dataset(f, path, 4, W->dims);
    for (size_t i = 0; i < W->count; i++) {
        float want = (float)((double)W->value[i] * (double)s->value[i % c]);
        if (memcmp(&want, &k[i], sizeof want) != 0)
            fail_msg("%s[%zu] = %.9g, expected %.9g", path, i, k[i], want);
    }
    free(k);
    snprintf(path, sizeof path, "%s/%s/bias:0", layer, layer);
    long long cd[1] = {(long long)c};
    float *bb = read_dataset(f, path, 1, cd);
    for (size_t o = 0; o < c; o++) {
        float want = (float)((double)b->value[o] * (double)s->value[o] + (double)t->value[o]);
        if (memcmp(&want, &bb[o], sizeof want) != 0)
            fail_msg("%s[%zu] = %.9g, expected %.9g", path, o, bb[o], want);
    }
    free(bb);
}

static const cJSON *json_layer(const cJSON *layers, const char *name)
{
    const cJSON *L;
    cJSON_ArrayForEach(L, layers)
    {
        const cJSON *n = cJSON_GetObjectItem(L, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return L;
    }
    return NULL;
}

static const char *cfg_str(const cJSON *L, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int cfg_int2(const cJSON *L, const char *key, int a, int b)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), key);
    return cJSON_GetArraySize(v) == 2 && cJSON_GetArrayItem(v, 0)->valueint == a &&
           cJSON_GetArrayItem(v, 1)->valueint == b;
}

/* Names of the layers feeding L, as "a,b". */
static void inputs_of(const cJSON *L, char *buf, size_t cap)
{
    buf[0] = '\0';
    const cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(L, "inbound_nodes"), 0), *ref;
    size_t used = 0;
    cJSON_ArrayForEach(ref, node)
    {
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "," : "",
                                 cJSON_GetArrayItem(ref, 0)->valuestring);
        if (used >= cap)
            return;
    }
}

static void check_model_json(const cJSON *m)
{
    assert_string_equal(cJSON_GetObjectItem(m, "class_name")->valuestring, "Functional");
    assert_string_equal(cJSON_GetObjectItem(m, "keras_version")->valuestring, "2.4.0");
    assert_string_equal(cJSON_GetObjectItem(m, "backend")->valuestring, "tensorflow");
    const cJSON *cfg = cJSON_GetObjectItem(m, "config");
    const cJSON *layers = cJSON_GetObjectItem(cfg, "layers");
    assert_int_equal(cJSON_GetArraySize(layers), N_LAYERS);
    static const char *const CLASSES[] = {"InputLayer", "Conv2D", "ZeroPadding2D",
                                          "AveragePooling2D", "MaxPooling2D", "Add",
                                          "Activation", "GlobalAveragePooling2D", "Dense"};
    /* Standard classes only; every input refers to an earlier layer. */
    int idx = 0;
    const cJSON *L;
    cJSON_ArrayForEach(L, layers)
    {
        const char *cls = cJSON_GetObjectItem(L, "class_name")->valuestring;
        int known = 0;
        for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++)
            known |= strcmp(cls, CLASSES[i]) == 0;
        if (!known)
            fail_msg("layer %d: class %s", idx, cls);
        assert_string_equal(cfg_str(L, "name"), cJSON_GetObjectItem(L, "name")->valuestring);
        const cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(L, "inbound_nodes"), 0), *ref;
        cJSON_ArrayForEach(ref, node)
        {
            const char *src = cJSON_GetArrayItem(ref, 0)->valuestring;
            const cJSON *S = json_layer(layers, src);
            assert_non_null(S);
            int found = 0, j = 0;
            const cJSON *P;
            cJSON_ArrayForEach(P, layers)
            {
                if (P == S)
                    found = j < idx;
                j++;
            }
            assert_true(found);
            assert_int_equal(cJSON_GetArraySize(ref), 4);
        }
        if (!strcmp(cls, "Conv2D")) {
            assert_string_equal(cfg_str(L, "data_format"), "channels_last");
            assert_true(cfg_int2(L, "dilation_rate", 1, 1));
            assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), "groups")->valueint, 1);
        }
        idx++;
    }
    const cJSON *in = cJSON_GetArrayItem(layers, 0);
    assert_string_equal(cJSON_GetObjectItem(in, "class_name")->valuestring, "InputLayer");
    char *shape = cJSON_PrintUnformatted(
        cJSON_GetObjectItem(cJSON_GetObjectItem(in, "config"), "batch_input_shape"));
    assert_string_equal(shape, "[null,150,150,3]");
    cJSON_free(shape);
    char *outs = cJSON_PrintUnformatted(cJSON_GetObjectItem(cfg, "output_layers"));
    assert_string_equal(outs, "[[\"fc\",0,0]]");
    cJSON_free(outs);

    /* Block outputs carry face-api's names. */
    static const char *const BLOCK_OUT[] = {"conv32_down", "maxpool", "conv32_1", "conv32_2",
        "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3", "conv128_down",
        "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2", "conv256_down_out",
        "global_avg", "fc"};
    for (size_t i = 0; i < sizeof BLOCK_OUT / sizeof BLOCK_OUT[0]; i++)
        if (!json_layer(layers, BLOCK_OUT[i]))
            fail_msg("no layer %s", BLOCK_OUT[i]);
    char buf[256];
    const cJSON *x = json_layer(layers, "conv32_down");
    assert_true(cfg_int2(x, "kernel_size", 7, 7) && cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    x = json_layer(layers, "maxpool");
    assert_string_equal(cJSON_GetObjectItem(x, "class_name")->valuestring, "MaxPooling2D");
    assert_true(cfg_int2(x, "pool_size", 3, 3) && cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    /* residual: relu(conv2(conv1(x)) + x) */
    x = json_layer(layers, "conv32_2_conv1");
    assert_string_equal(cfg_str(x, "padding"), "same");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    x = json_layer(layers, "conv32_2_conv2");
    assert_string_equal(cfg_str(x, "activation"), "linear");
    inputs_of(json_layer(layers, "conv32_2_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv32_2_conv2,conv32_1");
    x = json_layer(layers, "conv32_2");
    assert_string_equal(cJSON_GetObjectItem(x, "class_name")->valuestring, "Activation");
    assert_string_equal(cfg_str(x, "activation"), "relu");
    /* down blocks: conv1 stride 2 valid; shortcut avg-pool (+ 1x1 zero-channel conv) */
    x = json_layer(layers, "conv64_down_conv1");
    assert_true(cfg_int2(x, "strides", 2, 2));
    assert_string_equal(cfg_str(x, "padding"), "valid");
    inputs_of(json_layer(layers, "conv64_down_pool"), buf, sizeof buf);
    assert_string_equal(buf, "conv32_3");
    inputs_of(json_layer(layers, "conv64_down_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv64_down_proj,conv64_down_conv2");
    assert_null(json_layer(layers, "conv64_down_pad"));
    assert_null(json_layer(layers, "conv128_down_pad"));
    x = json_layer(layers, "conv256_down_pad");
    assert_non_null(x);
    char *pad = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "padding"));
    assert_string_equal(pad, "[[0,1],[0,1]]");
    cJSON_free(pad);
    inputs_of(json_layer(layers, "conv256_down_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv256_down_proj,conv256_down_pad");
    inputs_of(json_layer(layers, "conv256_down_out_add"), buf, sizeof buf);
    assert_string_equal(buf, "conv256_down_out_pool,conv256_down_out_pad");
    assert_null(json_layer(layers, "conv256_down_out_proj"));
    x = json_layer(layers, "conv128_down_proj");
    assert_true(cfg_int2(x, "kernel_size", 1, 1));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "use_bias")));
    x = json_layer(layers, "fc");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "units")->valueint, 128);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "config"), "use_bias")));
    inputs_of(x, buf, sizeof buf);
    assert_string_equal(buf, "global_avg");
}

static void check_model_h5(const char *path, const cJSON *m, const gtensor *ts, int n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char *s = read_fixed_scalar(f, "backend");
    assert_string_equal(s, "tensorflow");
    free(s);
    s = read_fixed_scalar(f, "keras_version");
    assert_string_equal(s, "2.4.0");
    free(s);
    int nn;
    char **names = read_fixed_strings(f, "layer_names", &nn);
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "config"), "layers");
    assert_int_equal(nn, cJSON_GetArraySize(layers));
    for (int i = 0; i < nn; i++) {
        const cJSON *L = cJSON_GetArrayItem(layers, i);
        const char *cls = cJSON_GetObjectItem(L, "class_name")->valuestring;
        assert_string_equal(names[i], cJSON_GetObjectItem(L, "name")->valuestring);
        hid_t g = H5Gopen2(f, names[i], H5P_DEFAULT);
        assert_true(g >= 0);
        int weighted = !strcmp(cls, "Conv2D") || !strcmp(cls, "Dense");
        if (!weighted) { /* Keras: np.asarray([]) -> float64, shape (0,) */
            hid_t a = H5Aopen(g, "weight_names", H5P_DEFAULT);
            hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
            assert_int_equal(H5Tget_class(t), H5T_FLOAT);
            assert_int_equal(H5Tget_size(t), 8);
            assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
            assert_int_equal(H5Sget_simple_extent_npoints(sp), 0);
            H5Tclose(t);
            H5Sclose(sp);
            H5Aclose(a);
        } else {
            int nw;
            char **wn = read_fixed_strings(g, "weight_names", &nw);
            int bias = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(L, "config"), "use_bias"));
            assert_int_equal(nw, 1 + bias);
            char want[128];
            snprintf(want, sizeof want, "%s/kernel:0", names[i]);
            assert_string_equal(wn[0], want);
            if (bias) {
                snprintf(want, sizeof want, "%s/bias:0", names[i]);
                assert_string_equal(wn[1], want);
            }
            for (int k = 0; k < nw; k++)
                assert_true(H5Lexists(g, wn[k], H5P_DEFAULT) > 0);
            free_strings(wn, nw);
        }
        H5Gclose(g);
    }
    free_strings(names, nn);

    check_folded(f, ts, n, "conv32_down", "conv32_down");                 /* uint8 */
    check_folded(f, ts, n, "conv32_1_conv1", "conv32_1/conv1");           /* float16 scale/biases */
    check_folded(f, ts, n, "conv32_2_conv1", "conv32_2/conv1");           /* uint16 bias */
    check_folded(f, ts, n, "conv64_1_conv1", "conv64_1/conv1");           /* raw float32 filters */
    check_folded(f, ts, n, "conv256_down_out_conv2", "conv256_down_out/conv2");

    long long pd[4] = {1, 1, 64, 128};
    float *p = read_dataset(f, "conv128_down_proj/conv128_down_proj/kernel:0", 4, pd);
    for (int i = 0; i < 64; i++)
        for (int o = 0; o < 128; o++)
            assert_true(p[i * 128 + o] == (i == o ? 1.0f : 0.0f));
    free(p);
    assert_true(H5Lexists(f, "conv128_down_proj/conv128_down_proj/bias:0", H5P_DEFAULT) <= 0);

    long long fd[2] = {256, 128};
    float *fc = read_dataset(f, "fc/fc/kernel:0", 2, fd);
    const gtensor *t = find_t(ts, n, "fc");
    assert_memory_equal(fc, t->value, t->count * sizeof(float));
    free(fc);
    H5Fclose(f);
}

static void t_convert_ok(void **state)
{
    (void)state;
    const char *dir = subdir("good");
    variant v = {0};
    write_model(dir, &v);
    char out[4300], p[4400];
    snprintf(out, sizeof out, "%s/keras", dir);
    char *so = NULL, *se = NULL;
    int st = convert(dir, out, &so, &se);
    if (st != 0)
        fail_msg("converter failed (%d): %s", st, se);
    assert_non_null(strstr(so, "117 tensors"));
    free(so);
    free(se);
    assert_int_equal(count_entries(out), 3); /* no temporary files left */

    snprintf(p, sizeof p, "%s/model.json", out);
    cJSON *m = tu_read_json(p);
    assert_non_null(m);
    check_model_json(m);

    int n;
    gtensor *ts = gen_tensors(&v, &n);
    assert_int_equal(n, 117);
    snprintf(p, sizeof p, "%s/model.h5", out);
    check_model_h5(p, m, ts, n);
    free_tensors(ts, n);
    cJSON_Delete(m);

    snprintf(p, sizeof p, "%s/facenet.json", out);
    cJSON *prof = tu_read_json(p);
    assert_non_null(prof);
    /* the alignment template must round-trip at full precision (4 decimals give
     * off-by-one chip pixels) */
    double tmpl[10];
    fn_align_dlib_template(150, 0.25, tmpl);
    const cJSON *jt = cJSON_GetObjectItem(prof, "align_template");
    assert_int_equal(cJSON_GetArraySize(jt), 10);
    for (int i = 0; i < 10; i++)
        assert_true(cJSON_GetArrayItem(jt, i)->valuedouble == tmpl[i]);
    cJSON_DeleteItemFromObject(prof, "align_template");
    char *txt = cJSON_PrintUnformatted(prof);
    assert_string_equal(txt, "{\"input_size\":[150,150],\"resize\":\"bilinear\","
                             "\"mean\":[122.782,117.001,104.298],\"std\":255,"
                             "\"channel_order\":\"rgb\",\"threshold\":0.6,"
                             "\"l2_normalize\":false,\"pad_to_square\":\"center\","
                             "\"align_mode\":\"dlib\"}");
    cJSON_free(txt);
    cJSON_Delete(prof);

    /* The generic engine loads it. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' info --model '%s'", tu_build("facenet"), out);
    st = tu_run(cmd, &so, &se);
    if (st != 0)
        fail_msg("facenet info: status %d: %s", st, se);
    free(so);
    free(se);

    /* Converting again over existing outputs replaces them cleanly. */
    assert_int_equal(convert(dir, out, NULL, NULL), 0);
    assert_int_equal(count_entries(out), 3);
}

/* ---- the writer directly ------------------------------------------------------------------ */

static void t_writer_chunked_names(void **state)
{
    (void)state;
    const char *dir = subdir("chunks");
    char path[4300];
    snprintf(path, sizeof path, "%s/w.h5", dir);
    fn_err err;
    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, &err);
    assert_non_null(w);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "a_layer_with_a_rather_long_name_%05d", i); /* 37 bytes */
        if (fn_kh5w_layer(w, nm, 0, NULL, &err))
            fail_msg("%s", err.msg);
    }
    assert_int_equal(fn_kh5w_finish(w, &err), 0);
    assert_int_equal(count_entries(dir), 1);

    /* 2000 x 37 = 74000 bytes > 64512: np.array_split into 2 chunks of 1000. */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Aexists(f, "layer_names") == 0);
    int n0, n1;
    char **c0 = read_fixed_strings(f, "layer_names0", &n0);
    char **c1 = read_fixed_strings(f, "layer_names1", &n1);
    assert_int_equal(n0, 1000);
    assert_int_equal(n1, 1000);
    assert_true(H5Aexists(f, "layer_names2") == 0);
    assert_string_equal(c0[0], "a_layer_with_a_rather_long_name_00000");
    assert_string_equal(c1[999], "a_layer_with_a_rather_long_name_01999");
    free_strings(c0, n0);
    free_strings(c1, n1);
    /* and the engine's reader joins the chunks */
    char **all;
    int na;
    assert_int_equal(fn_h5_attr_strings(f, "layer_names", &all, &na, &err), 0);
    assert_int_equal(na, N);
    assert_string_equal(all[1000], "a_layer_with_a_rather_long_name_01000");
    fn_h5_strings_free(all, na);
    H5Fclose(f);
}

static void t_writer_full_model(void **state)
{
    (void)state;
    const char *dir = subdir("full");
    char path[4300];
    snprintf(path, sizeof path, "%s/m.h5", dir);
    /* a model_config larger than one HDF5 object-header message */
    size_t jl = 100000;
    char *json = malloc(jl + 1);
    assert_non_null(json);
    const char *head = "{\"class_name\":\"Functional\",\"pad\":\"";
    memset(json, 'x', jl);
    memcpy(json, head, strlen(head));
    memcpy(json + jl - 2, "\"}", 2);
    json[jl] = '\0';
    float k[2 * 3] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, 0.5f, 7};
    fn_kh5w_tensor t[2] = {{"kernel:0", 2, {2, 3}, k}, {"bias:0", 1, {3}, b}};
    fn_kh5w_tensor scoped = {"block1/dense/kernel:0", 2, {2, 3}, k};
    fn_err err;
    fn_kh5w *w = fn_kh5w_create(path, 1, json, &err);
    assert_non_null(w);
    assert_int_equal(fn_kh5w_layer(w, "input_1", 0, NULL, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "dense", 2, t, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "wrapped", 1, &scoped, &err), 0);
    assert_int_equal(fn_kh5w_finish(w, &err), 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    char *mc = read_fixed_scalar(f, "model_config");
    assert_string_equal(mc, json);
    free(mc);
    char *s = read_fixed_scalar(f, "keras_version");
    assert_string_equal(s, "2.4.0");
    free(s);
    hid_t g = H5Gopen2(f, "model_weights", H5P_DEFAULT);
    assert_true(g >= 0);
    int n;
    char **names = read_fixed_strings(g, "layer_names", &n);
    assert_int_equal(n, 3);
    assert_string_equal(names[1], "dense");
    free_strings(names, n);
    s = read_fixed_scalar(g, "backend");
    assert_string_equal(s, "tensorflow");
    free(s);
    long long kd[2] = {2, 3}, bd[1] = {3};
    float *rk = read_dataset(g, "dense/dense/kernel:0", 2, kd);
    float *rb = read_dataset(g, "dense/dense/bias:0", 1, bd);
    assert_memory_equal(rk, k, sizeof k);
    assert_memory_equal(rb, b, sizeof b);
    free(rk);
    free(rb);
    rk = read_dataset(g, "wrapped/block1/dense/kernel:0", 2, kd);
    free(rk);
    hid_t wg = H5Gopen2(g, "wrapped", H5P_DEFAULT);
    names = read_fixed_strings(wg, "weight_names", &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "block1/dense/kernel:0");
    free_strings(names, n);
    H5Gclose(wg);
    H5Gclose(g);
    H5Fclose(f);
    free(json);
}

static void t_writer_misuse(void **state)
{
    (void)state;
    const char *dir = subdir("misuse");
    char path[4300];
    snprintf(path, sizeof path, "%s/x.h5", dir);
    fn_err err;
    float k[4] = {0};
    fn_kh5w_tensor t = {"kernel:0", 2, {2, 2}, k};
    fn_kh5w_tensor nodata = {"kernel:0", 1, {4}, NULL};
    fn_kh5w_tensor badname = {"../kernel:0", 1, {4}, k};

    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, &err);
    assert_non_null(w);
    assert_int_equal(fn_kh5w_layer(w, "a", 1, &t, &err), 0);
    assert_int_equal(fn_kh5w_layer(w, "a", 1, &t, &err), -1);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(fn_kh5w_layer(w, "b/c", 0, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "b/c"));
    assert_int_equal(fn_kh5w_layer(w, "d", 1, &nodata, &err), -1);
    assert_non_null(strstr(err.msg, "no data"));
    assert_int_equal(fn_kh5w_layer(w, "e", 1, &badname, &err), -1);
    assert_non_null(strstr(err.msg, "../kernel:0"));
    fn_kh5w_abort(w);
    assert_int_equal(count_entries(dir), 0); /* the temporary file is gone */

    assert_null(fn_kh5w_create(path, 1, NULL, &err));
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.h5", dir);
    assert_null(fn_kh5w_create(missing, 0, NULL, &err));
    assert_non_null(strstr(err.msg, missing));
    assert_int_equal(count_entries(dir), 0);
}

/* ---- scripts/fetch_weights.sh against a stub npm ---------------------------------------- */

#define SCRIPT "scripts/fetch_weights.sh"
#define TGZ "vladmandic-face-api-1.7.15.tgz"

/* A fake npm package at dir/pkg-<tag>.tgz (synthetic model made from v) and the
 * sha256sum lines of its two model files in *sums. */
static void make_package(const char *dir, const char *tag, const variant *v, char **sums)
{
    char pkg[4400], cmd[50000]; /* the mkdir line names pkg eleven times */
    snprintf(pkg, sizeof pkg, "%s/src-%s/package", dir, tag);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/model' '%s/src/faceRecognitionNet' '%s/src/ops' '%s/src/common' "
             "'%s/dist' && echo '{}' >'%s/package.json' && echo MIT >'%s/LICENSE' && "
             "echo x >'%s/src/faceRecognitionNet/a.ts' && echo x >'%s/src/ops/a.ts' && "
             "echo x >'%s/src/common/a.ts' && echo x >'%s/dist/tfjs.esm.js'",
             pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    char model[4500];
    snprintf(model, sizeof model, "%s/model", pkg);
    write_model(model, v);
    snprintf(cmd, sizeof cmd, "tar -czf '%s/pkg-%s.tgz' -C '%s/src-%s' package", dir, tag, dir,
             tag);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum model/" MANIFEST_NAME " model/" BIN_NAME,
             pkg);
    assert_int_equal(tu_run(cmd, sums, NULL), 0);
}

/* A stub npm that "downloads" tarball tgz (or fails when tgz is NULL). */
static void make_npm(const char *path, const char *tgz)
{
    char body[5000];
    if (tgz)
        snprintf(body, sizeof body, "#!/bin/sh\n[ \"$1\" = pack ] || exit 9\n"
                 "cp '%s' ./" TGZ " && echo " TGZ "\n", tgz);
    else
        snprintf(body, sizeof body, "#!/bin/sh\necho 'npm error code ECONNREFUSED' >&2\n"
                 "echo 'npm error network request failed' >&2\nexit 1\n");
    assert_int_equal(tu_write(path, body, strlen(body)), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static int run_script(const char *weights, const char *npm, char **so, char **se)
{
    char cmd[9000];
    const char *b = getenv("FACENET_BUILD");
    snprintf(cmd, sizeof cmd, "BUILD='%s' WEIGHTS_DIR='%s' NPM='%s' bash " SCRIPT,
             b && *b ? b : "build", weights, npm);
    return tu_run(cmd, so, se);
}

/* Only SHA256SUMS, .cache and (when expected) dlib-resnet may be in weights/:
 * no temporary directories left behind. */
static void check_clean(const char *weights, int with_out)
{
    DIR *d = opendir(weights);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "SHA256SUMS") ||
            !strcmp(n, ".cache") || (with_out && !strcmp(n, "dlib-resnet")))
            continue;
        fail_msg("%s: unexpected entry %s", weights, n);
    }
    closedir(d);
    char cache[4400];
    snprintf(cache, sizeof cache, "%s/.cache", weights);
    if ((d = opendir(cache))) {
        while ((e = readdir(d)))
            if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                fail_msg("%s: temporary entry %s left", cache, e->d_name);
        closedir(d);
    }
}

static const char *weights_dir(const char *name, const char *sums)
{
    const char *w = subdir(name);
    char p[4400];
    snprintf(p, sizeof p, "%s/SHA256SUMS", w);
    assert_int_equal(tu_write(p, sums, strlen(sums)), 0);
    return w;
}

static const char *last_line(const char *s)
{
    static char buf[2048];
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    size_t start = n;
    while (start && s[start - 1] != '\n')
        start--;
    snprintf(buf, sizeof buf, "%.*s", (int)(n - start), s + start);
    return buf;
}

static void t_script(void **state)
{
    (void)state;
    if (!exists(SCRIPT))
        fail_msg("%s not found: run the tests from the repository root", SCRIPT);
    const char *dir = subdir("script");
    char *sums = NULL, tgz[4400], npm_ok[4400], npm_fail[4400], npm_none[4400];
    variant good = {0};
    make_package(dir, "good", &good, &sums);
    snprintf(tgz, sizeof tgz, "%s/pkg-good.tgz", dir);
    snprintf(npm_ok, sizeof npm_ok, "%s/npm-ok", dir);
    snprintf(npm_fail, sizeof npm_fail, "%s/npm-fail", dir);
    snprintf(npm_none, sizeof npm_none, "%s/no-such-npm", dir);
    make_npm(npm_ok, tgz);
    make_npm(npm_fail, NULL);

    /* success, then a quick re-run that needs no npm at all */
    const char *w = weights_dir("w-good", sums);
    char *so = NULL, *se = NULL, p[4500];
    int st = run_script(w, npm_ok, &so, &se);
    if (st != 0)
        fail_msg("fetch_weights failed (%d): %s", st, se);
    free(so);
    free(se);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_int_equal(count_entries(p), 3);
    check_clean(w, 1);
    struct stat before, after;
    snprintf(p, sizeof p, "%s/dlib-resnet/model.h5", w);
    assert_int_equal(stat(p, &before), 0);
    st = run_script(w, npm_none, &so, &se);
    if (st != 0 || !strstr(so, "up to date"))
        fail_msg("re-run: status %d, stdout %s, stderr %s", st, so, se);
    free(so);
    free(se);
    assert_int_equal(stat(p, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);

    /* checksum mismatch: flip one hex digit of the .bin's hash */
    char *bad = strdup(sums);
    char *line = strstr(bad, "model/" BIN_NAME);
    assert_non_null(line);
    while (line > bad && line[-1] != '\n')
        line--;
    line[0] = line[0] == '0' ? '1' : '0';
    w = weights_dir("w-mismatch", bad);
    free(bad);
    st = run_script(w, npm_ok, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(last_line(se), "checksum mismatch") || !strstr(last_line(se), BIN_NAME))
        fail_msg("mismatch: stderr %s", se);
    free(so);
    free(se);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_false(exists(p));
    check_clean(w, 0);

    /* npm fails (registry unreachable) / npm missing */
    w = weights_dir("w-npm-fails", sums);
    st = run_script(w, npm_fail, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(last_line(se), "npm pack") || !strstr(last_line(se), "ECONNREFUSED"))
        fail_msg("npm failure: stderr %s", se);
    free(so);
    free(se);
    check_clean(w, 0);
    w = weights_dir("w-no-npm", sums);
    st = run_script(w, npm_none, &so, &se);
    assert_int_not_equal(st, 0);
    if (count_lines(se) != 1 || !strstr(se, "npm not found"))
        fail_msg("npm missing: stderr %s", se);
    free(so);
    free(se);
    check_clean(w, 0);

    /* the package verifies but does not convert (truncated .bin): the previous
     * weights/dlib-resnet stays as it was */
    char *tsums = NULL, ttgz[4400], npm_t[4400];
    variant trunc = {.bin_delta = -2};
    make_package(dir, "trunc", &trunc, &tsums);
    snprintf(ttgz, sizeof ttgz, "%s/pkg-trunc.tgz", dir);
    snprintf(npm_t, sizeof npm_t, "%s/npm-trunc", dir);
    make_npm(npm_t, ttgz);
    w = weights_dir("w-trunc", tsums);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_int_equal(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/dlib-resnet/model.json", w);
    assert_int_equal(tu_write(p, "old", 3), 0);
    st = run_script(w, npm_t, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(se, "truncated"))
        fail_msg("conversion failure: stderr %s", se);
    free(so);
    free(se);
    char *old = tu_read(p, NULL);
    assert_non_null(old);
    assert_string_equal(old, "old");
    free(old);
    check_clean(w, 1);
    free(tsums);
    free(sums);
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
        cmocka_unit_test(t_convert_ok),
        cmocka_unit_test(t_writer_chunked_names),
        cmocka_unit_test(t_writer_full_model),
        cmocka_unit_test(t_writer_misuse),
        cmocka_unit_test(t_script),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
