/* faceapi_fixture.c - a synthetic face-api model and the converter tests' temporary
 * directory (see faceapi_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "faceapi_fixture.h"
#include "testutil.h"

/* ---- the model -------------------------------------------------------------------- */

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

gtensor *fx_gen_tensors(const variant *v, int *n)
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

void fx_free_tensors(gtensor *ts, int n)
{
    for (int i = 0; i < n; i++) {
        free(ts[i].bytes);
        free(ts[i].value);
    }
    free(ts);
}

const gtensor *fx_find_t(const gtensor *ts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0)
            return &ts[i];
    fail_msg("synthetic tensor %s missing", name);
    return NULL;
}

void fx_write_model(const char *dir, const variant *v)
{
    int n;
    gtensor *ts = fx_gen_tensors(v, &n);
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
    fx_free_tensors(ts, n);
}

/* ---- the temporary directory and file helpers -------------------------------------- */

static char *tmp_root;

int fx_setup(void **state)
{
    (void)state;
    tmp_root = tu_tmpdir();
    return tmp_root ? 0 : -1;
}

int fx_teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp_root);
    free(tmp_root);
    return rc;
}

const char *fx_subdir(const char *name)
{
    static char bufs[4][4200];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp_root, name);
    assert_int_equal(mkdir(b, 0777), 0);
    return b;
}

int fx_count_entries(const char *dir)
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

int fx_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int fx_count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

int fx_convert(const char *dir, const char *out, char **so, char **se)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "'%s' '%s/%s' '%s'", tu_build("tools/faceapi2keras"), dir,
             MANIFEST_NAME, out);
    return tu_run(cmd, so, se);
}
