/* test_detect_layers.c - the layers face-api's detectors need, on odd shapes:
 *  - the depthwise kernels: fast against naive (5x7 inputs, 13 channels, depth
 *    multipliers 1 and 3, 1x5/5x1/2x2/3x3 windows, strides, 'same'/'valid', strided rows;
 *    1, 3, 32, 37 and 70 channels, 1-pixel images), and fn_depthwise_run on every ISA,
 *    1 and 3 threads, with relu/relu6 in the store,
 *    and naive against an independent oracle: Conv2D's naive kernel with the depthwise
 *    kernel expanded into a block-diagonal dense one;
 *  - whole layers through a generated model (DepthwiseConv2D dm 2 s2 same + bias ->
 *    BatchNormalization -> ReLU(max 4.5, threshold 0.25, slope 0.1) -> SeparableConv2D
 *    dm 3 'valid' + bias -> BatchNormalization -> LeakyReLU(0.2) -> Reshape(-1, 2), plus
 *    an Activation('relu6') branch on the ReLU concatenated on axis 1): the fused fast
 *    path, the unfused reference path and a plain double-precision restatement in this
 *    file agree, for one image and for a batch of two; the BatchNorms, the ReLU with
 *    arguments and the LeakyReLU are folded into the convolutions;
 *  - ReLU/LeakyReLU/Reshape configs: defaults, bad values refused with the layer's name. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../tools/lib/keras_graph.h"
#include "facenet.h"
#include "layers/kernels.h"
#include "lib/testutil.h"

static unsigned rng = 777;
static float frand(void)
{
    return tu_frand(&rng);
}

static float *randv(size_t n)
{
    return tu_randv(&rng, n);
}

/* depthwise (kh,kw,c,dm) -> dense HWIO (kh,kw,c,c*dm), zero off the block diagonal */
static float *expand(const float *dw, int kh, int kw, int c, int dm)
{
    float *k = calloc((size_t)kh * kw * c * c * dm, sizeof(float));
    for (int p = 0; p < kh * kw; p++)
        for (int ci = 0; ci < c; ci++)
            for (int m = 0; m < dm; m++)
                k[((size_t)p * c + ci) * c * dm + ci * dm + m] = dw[((size_t)p * c + ci) * dm + m];
    return k;
}

static void dw_case(int n, int h, int w, int c, int dm, int kh, int kw, int sh, int sw, int same, int pad_i, int pad_o)
{
    fn_conv_geom g = {.n = n, .h = h, .w = w, .c = c, .kh = kh, .kw = kw, .sh = sh, .sw = sw, .f = c * dm};
    assert_int_equal(fn_window_out(h, kh, sh, same, &g.oh, &g.pt), 0);
    assert_int_equal(fn_window_out(w, kw, sw, same, &g.ow, &g.pl), 0);
    g.ldi = c + pad_i, g.ldo = c * dm + pad_o;
    float *in = randv((size_t)n * h * w * g.ldi), *k = randv((size_t)kh * kw * c * dm), *b = randv((size_t)c * dm);
    size_t on = (size_t)n * g.oh * g.ow * g.ldo;
    float *o1 = calloc(on, sizeof(float)), *o2 = calloc(on, sizeof(float)), *o3 = calloc(on, sizeof(float));
    float *dense = expand(k, kh, kw, c, dm);
    fn_depthwise_naive(&g, dm, in, k, b, o1);
    assert_int_equal(fn_depthwise_run(&g, dm, in, k, b, FN_ACT_LINEAR, o2, NULL), 0);
    fn_conv2d_naive(&g, in, dense, b, o3);
    for (size_t r = 0; r < (size_t)n * g.oh * g.ow; r++) {
        for (int i = 0; i < g.f; i++) {
            float a = o1[r * g.ldo + i], e = o2[r * g.ldo + i], d = o3[r * g.ldo + i];
            if (fabsf(a - e) > 1e-5f * (1 + fabsf(a)) || fabsf(a - d) > 1e-6f * (1 + fabsf(a)))
                fail_msg("depthwise %dx%dx%dx%d dm%d k%dx%d s%dx%d %s: row %zu ch %d naive %g fast %g dense %g", n, h,
                         w, c, dm, kh, kw, sh, sw, same ? "same" : "valid", r, i, a, e, d);
        }
        for (int i = g.f; i < g.ldo; i++) /* padding columns of a strided output stay untouched */
            assert_true(o2[r * g.ldo + i] == 0.0f);
    }
    /* fn_depthwise_run: every ISA the CPU has, on one thread and on a pool of 3, with
     * relu / relu6 in the store (and sigmoid left to the caller), against naive + the
     * activation; the vector ISAs agree bitwise with each other and across threads.
     * Inputs include NaN and -0 so the activations' rules for them are checked. */
    for (size_t i = 0; i < (size_t)n * h * w * g.ldi; i++) /* outputs past 6, so relu6 clips */
        in[i] *= 8.0f;
    in[0] = NAN, in[1] = -0.0f;
    fn_depthwise_naive(&g, dm, in, k, b, o1);
    fn_pool *pool = NULL;
    fn_err err = {0};
    assert_int_equal(fn_pool_create(3, &pool, &err), 0);
    const fn_act acts[] = {FN_ACT_LINEAR, FN_ACT_RELU, FN_ACT_RELU6, FN_ACT_SIGMOID};
    float *first = calloc(on, sizeof(float));
    for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
        float *want = malloc(sizeof(float) * on);
        memcpy(want, o1, sizeof(float) * on);
        fn_apply_act(acts[ai], NULL, want, (size_t)n * g.oh * g.ow, g.f, g.ldo);
        int have_first = 0;
        for (int isa = FN_ISA_PORTABLE; isa <= (int)fn_cpu_isa(); isa++)
            for (int t = 0; t < 2; t++) {
                fn_cpu_force_isa(isa);
                memset(o2, 0, sizeof(float) * on);
                if (fn_depthwise_run(&g, dm, in, k, b, acts[ai], o2, t ? pool : NULL))
                    fn_apply_act(acts[ai], NULL, o2, (size_t)n * g.oh * g.ow, g.f, g.ldo);
                fn_cpu_force_isa(-1);
                for (size_t r = 0; r < (size_t)n * g.oh * g.ow; r++) {
                    for (int i = 0; i < g.f; i++) {
                        float a = want[r * g.ldo + i], e = o2[r * g.ldo + i];
                        int same_nan = isnan(a) && isnan(e);
                        if (!same_nan && (isnan(a) || isnan(e) || fabsf(a - e) > 1e-5f * (1 + fabsf(a)) ||
                                          signbit(a) != signbit(e)))
                            fail_msg("depthwise run act %d isa %d threads %d: row %zu ch %d want %g got %g",
                                     (int)acts[ai], isa, t ? 3 : 1, r, i, a, e);
                    }
                    for (int i = g.f; i < g.ldo; i++)
                        assert_true(o2[r * g.ldo + i] == 0.0f);
                }
                if (isa >= FN_ISA_AVX2 && dm == 1) { /* the vector kernels: one answer, bit for bit */
                    if (!have_first)
                        memcpy(first, o2, sizeof(float) * on), have_first = 1;
                    else
                        assert_memory_equal(first, o2, sizeof(float) * on);
                }
            }
        free(want);
    }
    /* without a bias (SeparableConv2D's depthwise half): sums start from 0 */
    fn_depthwise_naive(&g, dm, in, k, NULL, o1);
    for (int isa = FN_ISA_PORTABLE; isa <= (int)fn_cpu_isa(); isa++) {
        fn_cpu_force_isa(isa);
        memset(o2, 0, sizeof(float) * on);
        assert_int_equal(fn_depthwise_run(&g, dm, in, k, NULL, FN_ACT_LINEAR, o2, pool), 0);
        fn_cpu_force_isa(-1);
        for (size_t r = 0; r < (size_t)n * g.oh * g.ow; r++)
            for (int i = 0; i < g.f; i++) {
                float a = o1[r * g.ldo + i], e = o2[r * g.ldo + i];
                if (!(isnan(a) && isnan(e)) && !(fabsf(a - e) <= 1e-5f * (1 + fabsf(a))))
                    fail_msg("depthwise run without bias, isa %d: row %zu ch %d want %g got %g", isa, r, i, a, e);
            }
    }
    fn_pool_free(pool);
    free(first);
    free(in), free(k), free(b), free(o1), free(o2), free(o3), free(dense);
}

static void test_depthwise_kernels(void **state)
{
    (void)state;
    const int win[][2] = {{3, 3}, {1, 5}, {5, 1}, {2, 2}, {1, 1}};
    for (size_t k = 0; k < sizeof win / sizeof *win; k++)
        for (int s = 1; s <= 2; s++)
            for (int same = 0; same <= 1; same++) {
                dw_case(2, 5, 7, 13, 1, win[k][0], win[k][1], s, s, same, 0, 0);
                dw_case(1, 5, 7, 13, 3, win[k][0], win[k][1], s, 3 - s, same, 3, 5);
            }
    dw_case(3, 9, 4, 1, 2, 3, 3, 2, 1, 1, 0, 0);
    dw_case(2, 6, 5, 37, 1, 3, 3, 2, 2, 1, 3, 1); /* 37 channels: vector blocks and a tail */
    dw_case(2, 6, 7, 1, 1, 3, 3, 2, 2, 1, 0, 0);  /* 1 channel, stride 2, asymmetric 'same' */
    dw_case(1, 8, 11, 3, 1, 3, 3, 1, 2, 1, 2, 0); /* 3 channels, strides 1x2 */
    dw_case(1, 12, 12, 32, 1, 3, 3, 2, 2, 1, 0, 0); /* MobileNet's stride-2 step: 4-pixel runs */
    dw_case(1, 1, 1, 16, 1, 3, 3, 1, 1, 1, 0, 0); /* 1-pixel image: one tap in range */
    dw_case(2, 9, 11, 70, 1, 3, 3, 1, 1, 0, 0, 0); /* more than 64 channels, no padding */
}

/* ---- whole layers through a generated model ----------------------------------------- */

#define H 9
#define W 7
#define C 5

typedef struct {
    float dw[3 * 3 * C * 2], dwb[C * 2];
    float bn1[4][C * 2];
    float sdw[3 * 3 * C * 2 * 3], spw[C * 2 * 3 * 4], sb[4];
    float bn2[4][C * 2]; /* first 4 used */
} params;

static void rand_bn(float bn[4][C * 2], int c)
{
    for (int i = 0; i < c; i++) {
        bn[0][i] = 1 + 0.5f * frand();      /* gamma */
        bn[1][i] = 0.3f * frand();          /* beta */
        bn[2][i] = 0.2f * frand();          /* moving mean */
        bn[3][i] = 0.5f + 0.4f * frand();   /* moving variance */
    }
}

static cJSON *bn_cfg(void)
{
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "axis", 3);
    cJSON_AddNumberToObject(cfg, "epsilon", 0.001);
    return cfg;
}

static void add_bn(kg_model *m, const char *name, const char *in, float bn[4][C * 2], int c, fn_err *err)
{
    kg_layer *L = kg_add(m, "BatchNormalization", name, bn_cfg(), 1, (const char *[]){in}, err);
    static const char *const wn[4] = {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"};
    for (int k = 0; k < 4; k++)
        assert_int_equal(kg_weight(L, wn[k], 1, (long long[]){c}, bn[k], err), 0);
}

static void write_model(const char *dir, params *P)
{
    fn_err err = {0};
    kg_model *m = kg_new("detect_layers");
    kg_add(m, "InputLayer", "in", kg_input_config(H, W, C), 0, NULL, &err);
    cJSON *cfg = kg_depthwise_config(3, 2, "same", 1);
    cJSON_ReplaceItemInObject(cfg, "depth_multiplier", cJSON_CreateNumber(2));
    kg_layer *L = kg_add(m, "DepthwiseConv2D", "dw", cfg, 1, (const char *[]){"in"}, &err);
    assert_non_null(L);
    kg_weight(L, "depthwise_kernel:0", 4, (long long[]){3, 3, C, 2}, P->dw, &err);
    kg_weight(L, "bias:0", 1, (long long[]){C * 2}, P->dwb, &err);
    add_bn(m, "bn1", "dw", P->bn1, C * 2, &err);
    cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "max_value", 4.5);
    cJSON_AddNumberToObject(cfg, "threshold", 0.25);
    cJSON_AddNumberToObject(cfg, "negative_slope", 0.1);
    assert_non_null(kg_add(m, "ReLU", "relu", cfg, 1, (const char *[]){"bn1"}, &err));
    cfg = kg_separable_config(4, 3, 1, "valid", "linear", 1);
    cJSON_ReplaceItemInObject(cfg, "depth_multiplier", cJSON_CreateNumber(3));
    L = kg_add(m, "SeparableConv2D", "sep", cfg, 1, (const char *[]){"relu"}, &err);
    kg_weight(L, "depthwise_kernel:0", 4, (long long[]){3, 3, C * 2, 3}, P->sdw, &err);
    kg_weight(L, "pointwise_kernel:0", 4, (long long[]){1, 1, C * 2 * 3, 4}, P->spw, &err);
    kg_weight(L, "bias:0", 1, (long long[]){4}, P->sb, &err);
    add_bn(m, "bn2", "sep", P->bn2, 4, &err);
    cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "alpha", 0.2);
    assert_non_null(kg_add(m, "LeakyReLU", "leaky", cfg, 1, (const char *[]){"bn2"}, &err));
    cfg = cJSON_CreateObject();
    cJSON_AddItemToObject(cfg, "target_shape", cJSON_CreateIntArray((int[]){-1, 2}, 2));
    assert_non_null(kg_add(m, "Reshape", "flat", cfg, 1, (const char *[]){"leaky"}, &err));
    /* a second branch: relu6 of the ReLU's output, reshaped and concatenated */
    cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "activation", "relu6");
    assert_non_null(kg_add(m, "Activation", "relu6", cfg, 1, (const char *[]){"relu"}, &err));
    cfg = cJSON_CreateObject();
    cJSON_AddItemToObject(cfg, "target_shape", cJSON_CreateIntArray((int[]){-1, 2}, 2));
    assert_non_null(kg_add(m, "Reshape", "flat6", cfg, 1, (const char *[]){"relu6"}, &err));
    cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "axis", 1);
    assert_non_null(kg_add(m, "Concatenate", "out", cfg, 2, (const char *[]){"flat", "flat6"}, &err));
    assert_int_equal(kg_output(m, "out", &err), 0);
    if (kg_write(m, dir, &err))
        fail_msg("%s", err.msg);
    kg_free(m);
}

static double bn(float b[4][C * 2], int i, double x)
{
    return (x - b[2][i]) * b[0][i] / sqrt((double)b[3][i] + 0.001) + b[1][i];
}

/* The model restated in double: out = concat(reshape(leaky(bn2(sep(relu(bn1(dw)))))),
 * reshape(relu6(bn1(dw)))). Returns the number of values. */
static size_t oracle(const params *P0, const float *x, double *out)
{
    params *P = (params *)P0;
    enum { OH = 5, OW = 4, C2 = C * 2, SH = OH - 2, SW = OW - 2 }; /* dw: same s2 (pad 1 top/left); sep: valid */
    static double a[OH][OW][C2], r[OH][OW][C2], s[SH][SW][4];
    /* TF 'same', stride 2: H 9 -> 5, pad_total = (5-1)*2+3-9 = 2 -> top 1; W 7 -> 4, pad_total 2 -> left 1 */
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++)
            for (int ci = 0; ci < C; ci++)
                for (int m = 0; m < 2; m++) {
                    double acc = P->dwb[ci * 2 + m];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int y = oy * 2 - 1 + ky, xx = ox * 2 - 1 + kx;
                            if (y >= 0 && y < H && xx >= 0 && xx < W)
                                acc += (double)x[(y * W + xx) * C + ci] * P->dw[((ky * 3 + kx) * C + ci) * 2 + m];
                        }
                    int o = ci * 2 + m;
                    double v = bn(P->bn1, o, acc);
                    r[oy][ox][o] = v > 0.25 ? fmin(v, 4.5) : 0.1 * (v - 0.25);
                    a[oy][ox][o] = r[oy][ox][o] < 0 ? 0 : r[oy][ox][o]; /* relu6 branch (r <= 4.5) */
                }
    for (int oy = 0; oy < SH; oy++)
        for (int ox = 0; ox < SW; ox++)
            for (int f = 0; f < 4; f++) {
                double acc = P->sb[f];
                for (int ci = 0; ci < C2; ci++)
                    for (int m = 0; m < 3; m++) {
                        double d = 0;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++)
                                d += r[oy + ky][ox + kx][ci] * P->sdw[((ky * 3 + kx) * C2 + ci) * 3 + m];
                        acc += d * P->spw[(ci * 3 + m) * 4 + f];
                    }
                double v = (acc - P->bn2[2][f]) * P->bn2[0][f] / sqrt((double)P->bn2[3][f] + 0.001) + P->bn2[1][f];
                s[oy][ox][f] = v > 0 ? v : 0.2 * v;
            }
    size_t n = 0;
    for (int i = 0; i < SH * SW * 4; i++)
        out[n++] = ((double *)s)[i];
    for (int i = 0; i < OH * OW * C2; i++)
        out[n++] = ((double *)a)[i];
    return n;
}

static void test_layers_fused_reference_oracle(void **state)
{
    (void)state;
    params P;
    float *fields[] = {P.dw, P.dwb, P.sdw, P.spw, P.sb};
    size_t sizes[] = {sizeof P.dw, sizeof P.dwb, sizeof P.sdw, sizeof P.spw, sizeof P.sb};
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < sizes[k] / sizeof(float); i++)
            fields[k][i] = frand();
    rand_bn(P.bn1, C * 2);
    rand_bn(P.bn2, 4);
    char *dir = tu_tmpdir();
    write_model(dir, &P);
    float *x = randv(H * W * C);
    double want[3 * 2 * 4 + 5 * 4 * C * 2];
    size_t n = oracle(&P, x, want);
    for (int reference = 0; reference <= 1; reference++) {
        char js[4200], h5[4200];
        snprintf(js, sizeof js, "%s", tu_path_in(dir, "model.json"));
        snprintf(h5, sizeof h5, "%s", tu_path_in(dir, "model.h5"));
        fn_load_opts o = {.model_json = js, .weights = h5, .no_fuse = reference};
        fn_net *net;
        fn_err err = {0};
        if (fn_net_load(&o, &net, &err))
            fail_msg("%s", err.msg);
        if (fn_net_set_reference(net, reference, &err))
            fail_msg("%s", err.msg);
        fn_shape s = {3, {H, W, C, 0}}, os;
        for (int batch = 1; batch <= 2; batch++) { /* batch 2: the same image twice */
            float x2[2 * H * W * C];
            memcpy(x2, x, sizeof(float) * H * W * C);
            memcpy(x2 + H * W * C, x, sizeof(float) * H * W * C);
            if (fn_net_run(net, x2, batch, &s, &err))
                fail_msg("%s", err.msg);
            const float *got = fn_net_output(net, 0, &os);
            assert_int_equal(fn_shape_count(&os), n);
            assert_int_equal(os.rank, 2);
            assert_int_equal(os.d[1], 2);
            double d = 0;
            for (int b = 0; b < batch; b++)
                for (size_t i = 0; i < n; i++)
                    d = fmax(d, fabs(got[b * n + i] - want[i]));
            printf("  %s path, batch %d: max |diff| to the double restatement %.2e\n",
                   reference ? "reference" : "fused fast", batch, d);
            assert_true(d < (reference ? 1e-5 : 1e-4));
        }
        /* fused: the BatchNorms and the activations run inside the convolutions */
        int folded = 0;
        for (int i = 0; i < fn_net_n_layers(net); i++) {
            fn_layer_info li;
            assert_int_equal(fn_net_layer_info(net, i, &li), 0);
            if (!li.executed && li.folded_into)
                folded++;
        }
        assert_int_equal(folded, reference ? 0 : 4); /* bn1, relu -> dw; bn2, leaky -> sep */
        fn_net_free(net);
    }
    free(x);
    tu_rmtree(dir);
    free(dir);
}

/* One-layer model with the given class and config JSON: load error or NULL. */
static char *load_error(const char *cls, const char *cfg)
{
    char *dir = tu_tmpdir(), js[8192], path[4200];
    snprintf(js, sizeof js,
             "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
             "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 4, 4, 3]}, \"inbound_nodes\": []},"
             "{\"class_name\": \"%s\", \"name\": \"odd_layer\", \"config\": %s, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}],"
             "\"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"odd_layer\", 0, 0]]}}",
             cls, cfg);
    snprintf(path, sizeof path, "%s", tu_path_in(dir, "model.json"));
    tu_write_text(path, js);
    fn_load_opts o = {.model_json = path};
    fn_net *net = NULL;
    fn_err err = {0};
    char *msg = NULL;
    if (fn_net_load(&o, &net, &err) || fn_net_plan(net, 1, NULL, &err))
        msg = strdup(err.msg);
    fn_net_free(net);
    tu_rmtree(dir);
    free(dir);
    return msg;
}

static void test_configs(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {"ReLU", "{\"max_value\": null, \"negative_slope\": 0.0, \"threshold\": 0.0}"},
        {"ReLU", "{\"max_value\": 6.0}"},
        {"ReLU", "{\"threshold\": 1.5, \"negative_slope\": 0.3}"},
        {"LeakyReLU", "{}"},
        {"LeakyReLU", "{\"negative_slope\": 0.2}"},
        {"Reshape", "{\"target_shape\": [12, -1]}"},
        {"Reshape", "{\"target_shape\": [2, 2, 2, 6]}"},
        {"DepthwiseConv2D", "{\"kernel_size\": [2, 3], \"depth_multiplier\": 4, \"padding\": \"same\"}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *e = load_error(ok[i][0], ok[i][1]);
        if (e)
            fail_msg("%s %s: %s", ok[i][0], ok[i][1], e);
    }
    static const char *const bad[][3] = {
        {"ReLU", "{\"max_value\": -1}", "negative"},
        {"ReLU", "{\"negative_slope\": -0.5}", "negative"},
        {"ReLU", "{\"threshold\": -1}", "threshold"},
        {"LeakyReLU", "{\"alpha\": \"x\"}", "alpha"},
        {"Reshape", "{\"target_shape\": [5, -1]}", "cannot reshape"},
        {"Reshape", "{\"target_shape\": [-1, -1]}", "more than one"},
        {"Reshape", "{\"target_shape\": [0, 48]}", "target_shape"},
        {"Reshape", "{}", "target_shape"},
        {"DepthwiseConv2D", "{\"kernel_size\": 3, \"dilation_rate\": 2}", "dilation"},
        {"DepthwiseConv2D", "{\"kernel_size\": 3, \"data_format\": \"channels_first\"}", "channels_first"},
        {"DepthwiseConv2D", "{\"kernel_size\": 5}", "smaller than the window"},
        {"SeparableConv2D", "{\"kernel_size\": 3}", "filters"},
        {"SeparableConv2D", "{\"kernel_size\": 3, \"filters\": 2, \"padding\": \"causal\"}", "causal"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *e = load_error(bad[i][0], bad[i][1]);
        if (!e || !strstr(e, "odd_layer") || !strstr(e, bad[i][2]))
            fail_msg("%s %s: expected an error naming odd_layer and '%s', got %s", bad[i][0], bad[i][1], bad[i][2],
                     e ? e : "success");
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depthwise_kernels),
        cmocka_unit_test(test_layers_fused_reference_oracle),
        cmocka_unit_test(test_configs),
    };
    return cmocka_run_group_tests_name("detection layers", tests, NULL, NULL);
}
