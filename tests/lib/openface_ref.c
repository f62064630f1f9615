/* openface_ref.c - see openface_ref.h. */
#include "openface_ref.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>


const of_conv of_convs[OF_N_CONV] = {
    {"conv1", 64, 3, 7},
    {"conv2", 64, 64, 1},
    {"conv3", 192, 64, 3},
    {"inception_3a_1x1_conv", 64, 192, 1},
    {"inception_3a_pool_conv", 32, 192, 1},
    {"inception_3a_5x5_conv1", 16, 192, 1},
    {"inception_3a_5x5_conv2", 32, 16, 5},
    {"inception_3a_3x3_conv1", 96, 192, 1},
    {"inception_3a_3x3_conv2", 128, 96, 3},
    {"inception_3b_3x3_conv1", 96, 256, 1},
    {"inception_3b_3x3_conv2", 128, 96, 3},
    {"inception_3b_5x5_conv1", 32, 256, 1},
    {"inception_3b_5x5_conv2", 64, 32, 5},
    {"inception_3b_pool_conv", 64, 256, 1},
    {"inception_3b_1x1_conv", 64, 256, 1},
    {"inception_3c_3x3_conv1", 128, 320, 1},
    {"inception_3c_3x3_conv2", 256, 128, 3},
    {"inception_3c_5x5_conv1", 32, 320, 1},
    {"inception_3c_5x5_conv2", 64, 32, 5},
    {"inception_4a_3x3_conv1", 96, 640, 1},
    {"inception_4a_3x3_conv2", 192, 96, 3},
    {"inception_4a_5x5_conv1", 32, 640, 1},
    {"inception_4a_5x5_conv2", 64, 32, 5},
    {"inception_4a_pool_conv", 128, 640, 1},
    {"inception_4a_1x1_conv", 256, 640, 1},
    {"inception_4e_3x3_conv1", 160, 640, 1},
    {"inception_4e_3x3_conv2", 256, 160, 3},
    {"inception_4e_5x5_conv1", 64, 640, 1},
    {"inception_4e_5x5_conv2", 128, 64, 5},
    {"inception_5a_3x3_conv1", 96, 1024, 1},
    {"inception_5a_3x3_conv2", 384, 96, 3},
    {"inception_5a_pool_conv", 96, 1024, 1},
    {"inception_5a_1x1_conv", 256, 1024, 1},
    {"inception_5b_3x3_conv1", 96, 736, 1},
    {"inception_5b_3x3_conv2", 384, 96, 3},
    {"inception_5b_pool_conv", 96, 736, 1},
    {"inception_5b_1x1_conv", 256, 736, 1},
};

/* fr_utils.WEIGHTS, in order */
static const char *const WEIGHTS[] = {
    "conv1", "bn1", "conv2", "bn2", "conv3", "bn3",
    "inception_3a_1x1_conv", "inception_3a_1x1_bn",
    "inception_3a_pool_conv", "inception_3a_pool_bn",
    "inception_3a_5x5_conv1", "inception_3a_5x5_conv2", "inception_3a_5x5_bn1", "inception_3a_5x5_bn2",
    "inception_3a_3x3_conv1", "inception_3a_3x3_conv2", "inception_3a_3x3_bn1", "inception_3a_3x3_bn2",
    "inception_3b_3x3_conv1", "inception_3b_3x3_conv2", "inception_3b_3x3_bn1", "inception_3b_3x3_bn2",
    "inception_3b_5x5_conv1", "inception_3b_5x5_conv2", "inception_3b_5x5_bn1", "inception_3b_5x5_bn2",
    "inception_3b_pool_conv", "inception_3b_pool_bn",
    "inception_3b_1x1_conv", "inception_3b_1x1_bn",
    "inception_3c_3x3_conv1", "inception_3c_3x3_conv2", "inception_3c_3x3_bn1", "inception_3c_3x3_bn2",
    "inception_3c_5x5_conv1", "inception_3c_5x5_conv2", "inception_3c_5x5_bn1", "inception_3c_5x5_bn2",
    "inception_4a_3x3_conv1", "inception_4a_3x3_conv2", "inception_4a_3x3_bn1", "inception_4a_3x3_bn2",
    "inception_4a_5x5_conv1", "inception_4a_5x5_conv2", "inception_4a_5x5_bn1", "inception_4a_5x5_bn2",
    "inception_4a_pool_conv", "inception_4a_pool_bn",
    "inception_4a_1x1_conv", "inception_4a_1x1_bn",
    "inception_4e_3x3_conv1", "inception_4e_3x3_conv2", "inception_4e_3x3_bn1", "inception_4e_3x3_bn2",
    "inception_4e_5x5_conv1", "inception_4e_5x5_conv2", "inception_4e_5x5_bn1", "inception_4e_5x5_bn2",
    "inception_5a_3x3_conv1", "inception_5a_3x3_conv2", "inception_5a_3x3_bn1", "inception_5a_3x3_bn2",
    "inception_5a_pool_conv", "inception_5a_pool_bn",
    "inception_5a_1x1_conv", "inception_5a_1x1_bn",
    "inception_5b_3x3_conv1", "inception_5b_3x3_conv2", "inception_5b_3x3_bn1", "inception_5b_3x3_bn2",
    "inception_5b_pool_conv", "inception_5b_pool_bn",
    "inception_5b_1x1_conv", "inception_5b_1x1_bn",
    "dense_layer",
};
#define N_WEIGHTS ((int)(sizeof WEIGHTS / sizeof *WEIGHTS))

static const of_conv *conv_of(const char *name)
{
    for (int i = 0; i < OF_N_CONV; i++)
        if (!strcmp(of_convs[i].name, name))
            return &of_convs[i];
    fail_msg("openface_ref: no convolution %s", name);
    return NULL;
}

/* The convolution a batch norm follows: its name with the last "bn" made "conv". */
static int bn_channels(const char *bn)
{
    char conv[64];
    const char *p = strstr(bn, "bn"), *q;
    while (p && (q = strstr(p + 1, "bn")))
        p = q;
    snprintf(conv, sizeof conv, "%.*sconv%s", (int)(p - bn), bn, p + 2);
    return conv_of(conv)->o;
}

/* xorshift32 -> [0, 1) */
static double rnd(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return (*s >> 8) / 16777216.0;
}

static void add_file(of_weights *w, const char *name, size_t n)
{
    of_file *f = &w->f[w->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->n = n;
    f->v = malloc(sizeof(float) * n);
    assert_non_null(f->v);
}

static void fill(of_file *f, of_fill how, size_t base, uint32_t *s, double lo, double hi)
{
    for (size_t i = 0; i < f->n; i++)
        f->v[i] = how == OF_INDEX ? (float)(base + i) : (float)(lo + (hi - lo) * rnd(s));
}

of_weights *of_weights_make(of_fill how, unsigned seed)
{
    of_weights *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f = calloc(2 * OF_N_CONV + 4 * OF_N_CONV + 2, sizeof *w->f);
    assert_non_null(w->f);
    uint32_t s = seed ? seed : 1;
    char name[64];
    for (int k = 0; k < N_WEIGHTS; k++) {
        const char *L = WEIGHTS[k];
        if (strstr(L, "conv")) {
            const of_conv *c = conv_of(L);
            double a = sqrt(6.0 / (c->i * c->k * c->k));
            snprintf(name, sizeof name, "%s_w", L);
            add_file(w, name, (size_t)c->o * c->i * c->k * c->k);
            fill(&w->f[w->n - 1], how, w->total, &s, -a, a);
            w->total += w->f[w->n - 1].n;
            snprintf(name, sizeof name, "%s_b", L);
            add_file(w, name, (size_t)c->o);
            fill(&w->f[w->n - 1], how, w->total, &s, -0.1, 0.1);
            w->total += w->f[w->n - 1].n;
        } else if (strstr(L, "bn")) {
            static const char suffix[] = "wbmv";
            static const double lo[] = {0.5, -0.2, -0.3, 0.5}, hi[] = {1.5, 0.2, 0.3, 2.0};
            int c = bn_channels(L);
            for (int j = 0; j < 4; j++) {
                snprintf(name, sizeof name, "%s_%c", L, suffix[j]);
                add_file(w, name, (size_t)c);
                of_file *f = &w->f[w->n - 1];
                fill(f, how, w->total, &s, lo[j], hi[j]);
                /* some small variances, so that epsilon (1e-3 vs 1e-5) visibly matters */
                if (how == OF_RANDOM && j == 3)
                    for (int ch = 0; ch < c; ch += 7)
                        f->v[ch] = (float)(0.002 + 0.01 * rnd(&s));
                w->total += f->n;
            }
        } else {
            double a = sqrt(6.0 / 736);
            add_file(w, "dense_w", (size_t)OF_EMB * 736);
            fill(&w->f[w->n - 1], how, w->total, &s, -a, a);
            w->total += w->f[w->n - 1].n;
            add_file(w, "dense_b", OF_EMB);
            fill(&w->f[w->n - 1], how, w->total, &s, -0.1, 0.1);
            w->total += w->f[w->n - 1].n;
        }
    }
    return w;
}

void of_weights_free(of_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->f[i].v);
    free(w->f);
    free(w);
}

const of_file *of_weights_find(const of_weights *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->f[i].name, name))
            return &w->f[i];
    return NULL;
}

void of_weights_write(const of_weights *w, const char *dir, int crlf)
{
    for (int i = 0; i < w->n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.csv", dir, w->f[i].name);
        FILE *f = fopen(path, "wb");
        if (!f)
            fail_msg("cannot write %s", path);
        for (size_t k = 0; k < w->f[i].n; k++)
            fprintf(f, k ? ",%.14g" : "%.14g", (double)w->f[i].v[k]);
        fputs(crlf ? "\r\n" : "\n", f);
        if (fclose(f) != 0)
            fail_msg("cannot write %s", path);
    }
}

/* ---- the reference forward pass: one image, tensors (C, H, W) ---------------------- */

typedef struct {
    int c, h, w;
    double *v;
} T;

static T make(int c, int h, int w)
{
    T t = {c, h, w, calloc((size_t)c * h * w, sizeof(double))};
    assert_non_null(t.v);
    return t;
}

#define AT(t, ch, y, x) (t).v[((size_t)(ch) * (t).h + (y)) * (t).w + (x)]

static const float *csv(const of_weights *W, const char *layer, const char *suffix, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s", layer, suffix);
    const of_file *f = of_weights_find(W, name);
    if (!f || f->n != n)
        fail_msg("openface_ref: %s missing or of the wrong size", name);
    return f->v;
}

/* Conv2D 'valid' with the Torch kernel W[o][i][ky][kx] and bias b[o] */
static T conv(const of_weights *W, T x, const char *name, int stride)
{
    const of_conv *c = conv_of(name);
    assert_int_equal(c->i, x.c);
    const float *k = csv(W, name, "_w", (size_t)c->o * c->i * c->k * c->k), *b = csv(W, name, "_b", c->o);
    T y = make(c->o, (x.h - c->k) / stride + 1, (x.w - c->k) / stride + 1);
    for (int o = 0; o < y.c; o++) {
        for (int oy = 0; oy < y.h; oy++)
            for (int ox = 0; ox < y.w; ox++)
                AT(y, o, oy, ox) = b[o];
        for (int i = 0; i < x.c; i++)
            for (int ky = 0; ky < c->k; ky++)
                for (int kx = 0; kx < c->k; kx++) {
                    double kv = k[(((size_t)o * c->i + i) * c->k + ky) * c->k + kx];
                    for (int oy = 0; oy < y.h; oy++)
                        for (int ox = 0; ox < y.w; ox++)
                            AT(y, o, oy, ox) += kv * AT(x, i, oy * stride + ky, ox * stride + kx);
                }
    }
    free(x.v);
    return y;
}

/* BatchNormalization (inference) then ReLU, in place */
static T bn_relu(const of_weights *W, T x, const char *name, double eps)
{
    const float *g = csv(W, name, "_w", x.c), *b = csv(W, name, "_b", x.c), *m = csv(W, name, "_m", x.c),
                *v = csv(W, name, "_v", x.c);
    for (int ch = 0; ch < x.c; ch++)
        for (int i = 0; i < x.h * x.w; i++) {
            double *p = &x.v[(size_t)ch * x.h * x.w + i];
            double y = (*p - m[ch]) / sqrt((double)v[ch] + eps) * g[ch] + b[ch];
            *p = y > 0 ? y : 0;
        }
    return x;
}

static T pad(T x, int t, int b, int l, int r)
{
    T y = make(x.c, x.h + t + b, x.w + l + r);
    for (int ch = 0; ch < x.c; ch++)
        for (int i = 0; i < x.h; i++)
            for (int j = 0; j < x.w; j++)
                AT(y, ch, i + t, j + l) = AT(x, ch, i, j);
    free(x.v);
    return y;
}

static T pool(T x, int k, int s, int is_max)
{
    T y = make(x.c, (x.h - k) / s + 1, (x.w - k) / s + 1);
    for (int ch = 0; ch < x.c; ch++)
        for (int oy = 0; oy < y.h; oy++)
            for (int ox = 0; ox < y.w; ox++) {
                double acc = is_max ? -INFINITY : 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        double v = AT(x, ch, oy * s + i, ox * s + j);
                        acc = is_max ? (v > acc ? v : acc) : acc + v;
                    }
                AT(y, ch, oy, ox) = is_max ? acc : acc / (k * k);
            }
    return y; /* x is still used by other branches */
}

static T copy(T x)
{
    T y = make(x.c, x.h, x.w);
    memcpy(y.v, x.v, sizeof(double) * (size_t)x.c * x.h * x.w);
    return y;
}

/* Channel concatenation; frees the parts */
static T cat(int n, T *p)
{
    int c = 0;
    for (int i = 0; i < n; i++) {
        assert_true(p[i].h == p[0].h && p[i].w == p[0].w);
        c += p[i].c;
    }
    T y = make(c, p[0].h, p[0].w);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t sz = (size_t)p[i].c * p[i].h * p[i].w;
        memcpy(y.v + off, p[i].v, sizeof(double) * sz);
        off += sz;
        free(p[i].v);
    }
    return y;
}

/* fr_utils.conv2d_bn (pad < 0: none) */
static T conv_bn(const of_weights *W, T x, const char *blk, int two, int stride, int pad_n)
{
    char c[64], b[64];
    snprintf(c, sizeof c, "%s_conv%s", blk, two ? "1" : "");
    snprintf(b, sizeof b, "%s_bn%s", blk, two ? "1" : "");
    T t = bn_relu(W, conv(W, copy(x), c, 1), b, 1e-5);
    if (pad_n >= 0)
        t = pad(t, pad_n, pad_n, pad_n, pad_n);
    if (!two)
        return t;
    snprintf(c, sizeof c, "%s_conv2", blk);
    snprintf(b, sizeof b, "%s_bn2", blk);
    return bn_relu(W, conv(W, t, c, stride), b, 1e-5);
}

void of_reference(const of_weights *W, const float *in, float *emb)
{
    T x = make(3, OF_SIZE, OF_SIZE), p[4];
    for (size_t i = 0; i < (size_t)3 * OF_SIZE * OF_SIZE; i++)
        x.v[i] = in[i];
    x = bn_relu(W, conv(W, pad(x, 3, 3, 3, 3), "conv1", 2), "bn1", 1e-3);
    x = pad(x, 1, 1, 1, 1);
    T t = pool(x, 3, 2, 1);
    free(x.v);
    x = pad(bn_relu(W, conv(W, t, "conv2", 1), "bn2", 1e-5), 1, 1, 1, 1);
    x = pad(bn_relu(W, conv(W, x, "conv3", 1), "bn3", 1e-5), 1, 1, 1, 1);
    t = pool(x, 3, 2, 1);
    free(x.v);
    x = t;
    /* inception 3a */
    p[0] = conv_bn(W, x, "inception_3a_3x3", 1, 1, 1);
    p[1] = conv_bn(W, x, "inception_3a_5x5", 1, 1, 2);
    t = pool(x, 3, 2, 1);
    p[2] = conv_bn(W, t, "inception_3a_pool", 0, 1, -1);
    free(t.v);
    p[2] = pad(p[2], 3, 4, 3, 4);
    p[3] = conv_bn(W, x, "inception_3a_1x1", 0, 1, -1);
    free(x.v);
    x = cat(4, p);
    /* 3b */
    p[0] = conv_bn(W, x, "inception_3b_3x3", 1, 1, 1);
    p[1] = conv_bn(W, x, "inception_3b_5x5", 1, 1, 2);
    t = pool(x, 3, 3, 0);
    p[2] = conv_bn(W, t, "inception_3b_pool", 0, 1, 4);
    free(t.v);
    p[3] = conv_bn(W, x, "inception_3b_1x1", 0, 1, -1);
    free(x.v);
    x = cat(4, p);
    /* 3c */
    p[0] = conv_bn(W, x, "inception_3c_3x3", 1, 2, 1);
    p[1] = conv_bn(W, x, "inception_3c_5x5", 1, 2, 2);
    p[2] = pad(pool(x, 3, 2, 1), 0, 1, 0, 1);
    free(x.v);
    x = cat(3, p);
    /* 4a */
    p[0] = conv_bn(W, x, "inception_4a_3x3", 1, 1, 1);
    p[1] = conv_bn(W, x, "inception_4a_5x5", 1, 1, 2);
    t = pool(x, 3, 3, 0);
    p[2] = conv_bn(W, t, "inception_4a_pool", 0, 1, 2);
    free(t.v);
    p[3] = conv_bn(W, x, "inception_4a_1x1", 0, 1, -1);
    free(x.v);
    x = cat(4, p);
    /* 4e */
    p[0] = conv_bn(W, x, "inception_4e_3x3", 1, 2, 1);
    p[1] = conv_bn(W, x, "inception_4e_5x5", 1, 2, 2);
    p[2] = pad(pool(x, 3, 2, 1), 0, 1, 0, 1);
    free(x.v);
    x = cat(3, p);
    /* 5a */
    p[0] = conv_bn(W, x, "inception_5a_3x3", 1, 1, 1);
    t = pool(x, 3, 3, 0);
    p[1] = conv_bn(W, t, "inception_5a_pool", 0, 1, 1);
    free(t.v);
    p[2] = conv_bn(W, x, "inception_5a_1x1", 0, 1, -1);
    free(x.v);
    x = cat(3, p);
    /* 5b */
    p[0] = conv_bn(W, x, "inception_5b_3x3", 1, 1, 1);
    t = pool(x, 3, 2, 1);
    p[1] = pad(conv_bn(W, t, "inception_5b_pool", 0, 1, -1), 1, 1, 1, 1);
    free(t.v);
    p[2] = conv_bn(W, x, "inception_5b_1x1", 0, 1, -1);
    free(x.v);
    x = cat(3, p);
    /* top: average pool 3/1 -> (736, 1, 1), flatten, dense with the (128, 736) matrix, L2 */
    t = pool(x, 3, 1, 0);
    free(x.v);
    assert_true(t.c == 736 && t.h == 1 && t.w == 1);
    const float *dw = csv(W, "dense", "_w", (size_t)OF_EMB * 736), *db = csv(W, "dense", "_b", OF_EMB);
    double y[OF_EMB], ss = 0;
    for (int o = 0; o < OF_EMB; o++) {
        y[o] = db[o];
        for (int i = 0; i < 736; i++)
            y[o] += (double)dw[(size_t)o * 736 + i] * t.v[i];
        ss += y[o] * y[o];
    }
    free(t.v);
    double inv = 1.0 / sqrt(ss > 1e-12 ? ss : 1e-12);
    for (int o = 0; o < OF_EMB; o++)
        emb[o] = (float)(y[o] * inv);
}
