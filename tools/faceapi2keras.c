/* faceapi2keras.c - convert face-api's dlib ResNet face-recognition network
 * (npm @vladmandic/face-api 1.7.15: model/face_recognition_model-weights_manifest.json
 * + face_recognition_model.bin) into Keras 2.4 files the generic engine loads:
 *
 *     faceapi2keras MANIFEST OUTDIR
 *
 * writes OUTDIR/model.json (Functional model config, standard Keras layers only),
 * OUTDIR/model.h5 (model.save_weights() layout) and OUTDIR/facenet.json (the
 * preprocessing profile).  All three appear together or not at all.  This file maps
 * face-api's network onto Keras layers; writing them is tools/lib/keras_json.c (model
 * config, output files) and tools/lib/keras_h5w.c (weights).
 *
 * The network, as face-api's src/faceRecognitionNet/ sources compute it (NHWC):
 *
 *   x = (pixel - [122.782, 117.001, 104.298]) / 255      (outside the model: facenet.json)
 *
 *   convLayer(x, p, stride, relu, padding):               convLayer.ts, scaleLayer.ts
 *       y = ((tf.conv2d(x, p.conv.filters, stride, padding) + p.conv.bias)
 *             * p.scale.weights) + p.scale.biases           (per output channel)
 *       y = relu(y) if relu
 *     -> ONE Conv2D(kernel W', bias b', activation relu|linear) with the affine folded:
 *         W'[kh][kw][i][o] = W[kh][kw][i][o] * s[o]
 *         b'[o]            = b[o] * s[o] + t[o]         (s = scale/weights, t = scale/biases)
 *       evaluated in double and rounded once to float32.  tfjs filters are already
 *       [kh,kw,in,out] = Keras HWIO, so no transpose.
 *     conv       = stride 1, 'same', relu;  convNoRelu = stride 1, 'same', no relu;
 *     convDown   = stride 2, 'valid', relu.
 *
 *   conv32_down = convDown 7x7 (150 -> 72)                 Conv2D "conv32_down"
 *   maxpool     = tf.maxPool(3, 2, 'valid') (72 -> 35)     MaxPooling2D "maxpool"
 *
 *   residual(x) = relu(convNoRelu(conv(x)) + x)            residualLayer.ts
 *     -> B_conv1 (Conv2D 3x3 s1 same relu), B_conv2 (Conv2D 3x3 s1 same linear),
 *        B_add = Add([B_conv2, x]), B = Activation(relu)
 *
 *   residualDown(x): out = convNoRelu(convDown(x))  (3x3 s2 valid, then 3x3 s1 same)
 *                    pooled = tf.avgPool(x, 2, 2, 'valid')
 *                    if pooled's H or W differs from out's: out gets one zero row
 *                      appended at the bottom (concat on axis 1) and one zero column
 *                      at the right (axis 2)  - the MAIN path is padded, not the shortcut
 *                    if channels differ: pooled gets zero channels appended (axis 3)
 *                    result = relu(pooled + out)
 *     -> B_conv1 (Conv2D 3x3 s2 valid relu), B_conv2 (Conv2D 3x3 s1 same linear),
 *        [B_pad = ZeroPadding2D(((0,1),(0,1)))]           when the sizes differ
 *        B_pool = AveragePooling2D(2, 2, valid) on x,
 *        [B_proj = Conv2D 1x1 no bias, kernel [I | 0] (Cin x Cout, identity on the
 *         first Cin outputs, zeros after)]                 when the channels differ
 *        B_add = Add([shortcut, main]), B = Activation(relu)
 *     Shapes for a 150x150 input (main vs shortcut):
 *       conv64_down      35x35x32 -> 17x17x64 vs 17x17x32   proj
 *       conv128_down     17x17x64 -> 8x8x128  vs 8x8x64     proj
 *       conv256_down     8x8x128  -> 3x3x256  vs 4x4x128    pad + proj
 *       conv256_down_out 4x4x256  -> 1x1x256  vs 2x2x256    pad
 *
 *   order: conv32_down, maxpool, conv32_1..3, conv64_down, conv64_1..3, conv128_down,
 *          conv128_1..2, conv256_down, conv256_1..2, conv256_down_out,
 *   global_avg = out.mean([1, 2])                          GlobalAveragePooling2D
 *   fc         = tf.matMul(global_avg, fc)  (fc is [256,128]) Dense(128, no bias), kernel = fc
 *
 * Block outputs carry face-api's parameter names (conv32_down, maxpool, conv32_1, ...,
 * global_avg, fc), so they line up with per-block reference dumps.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/align.h"
#include "core/error.h"
#include "lib/keras_h5w.h"
#include "lib/keras_json.h"
#include "lib/tfjs_manifest.h"

#define INPUT_SIZE 150
#define MAX_LAYERS 96
#define NAME_LEN 48

typedef enum { K_INPUT, K_CONV, K_ZEROPAD, K_AVGPOOL, K_MAXPOOL, K_ADD, K_RELU, K_GAP, K_DENSE } kind;

typedef struct {
    kind k;
    char name[NAME_LEN];
    int n_in;
    char in[2][NAME_LEN];
    int h, w, c;              /* output shape (per image) */
    /* Conv2D / pooling */
    int ksize, stride, same, relu, use_bias;
    /* weights (owned): Conv2D kernel [k,k,cin,c] + bias [c]; Dense kernel [in,units] */
    float *kernel, *bias;
    long long kdims[4];
    int krank;
} layer;

typedef struct {
    layer L[MAX_LAYERS];
    int n;
    const fn_tfjs_weights *wts;
    const char *manifest;
} net;

/* face-api's residual blocks: name, input channels, output channels, down-sampling. */
static const struct {
    const char *name;
    int cin, c, down;
} BLOCKS[] = {
    {"conv32_1", 32, 32, 0},      {"conv32_2", 32, 32, 0},      {"conv32_3", 32, 32, 0},
    {"conv64_down", 32, 64, 1},   {"conv64_1", 64, 64, 0},      {"conv64_2", 64, 64, 0},
    {"conv64_3", 64, 64, 0},      {"conv128_down", 64, 128, 1}, {"conv128_1", 128, 128, 0},
    {"conv128_2", 128, 128, 0},   {"conv256_down", 128, 256, 1}, {"conv256_1", 256, 256, 0},
    {"conv256_2", 256, 256, 0},   {"conv256_down_out", 256, 256, 1},
};
#define N_BLOCKS ((int)(sizeof BLOCKS / sizeof BLOCKS[0]))
#define FC_IN 256
#define FC_OUT 128

/* ---- the expected tensor set ------------------------------------------------ */

typedef struct {
    char name[80];
    int rank;
    long long dims[4];
} expect;

static int add_conv_expect(expect *e, int n, const char *prefix, int k, int cin, int c)
{
    static const char *const part[] = {"conv/filters", "conv/bias", "scale/weights",
                                       "scale/biases"};
    for (int i = 0; i < 4; i++) {
        snprintf(e[n].name, sizeof e[n].name, "%s/%s", prefix, part[i]);
        if (i == 0) {
            e[n].rank = 4;
            e[n].dims[0] = k;
            e[n].dims[1] = k;
            e[n].dims[2] = cin;
            e[n].dims[3] = c;
        } else {
            e[n].rank = 1;
            e[n].dims[0] = c;
        }
        n++;
    }
    return n;
}

/* All 117 tensors face-api's extractParamsFromWeightMap reads, in manifest order. */
static int expected_tensors(expect *e)
{
    int n = add_conv_expect(e, 0, "conv32_down", 7, 3, 32);
    for (int b = 0; b < N_BLOCKS; b++) {
        char p[64];
        snprintf(p, sizeof p, "%s/conv1", BLOCKS[b].name);
        n = add_conv_expect(e, n, p, 3, BLOCKS[b].cin, BLOCKS[b].c);
        snprintf(p, sizeof p, "%s/conv2", BLOCKS[b].name);
        n = add_conv_expect(e, n, p, 3, BLOCKS[b].c, BLOCKS[b].c);
    }
    snprintf(e[n].name, sizeof e[n].name, "fc");
    e[n].rank = 2;
    e[n].dims[0] = FC_IN;
    e[n].dims[1] = FC_OUT;
    return n + 1;
}

static int check_tensors(const fn_tfjs_weights *w, const char *mpath, fn_err *err)
{
    expect e[4 + N_BLOCKS * 8 + 1];
    int ne = expected_tensors(e);
    for (int i = 0; i < ne; i++) {
        const fn_tfjs_tensor *t = fn_tfjs_find(w, e[i].name);
        if (!t)
            return fn_fail(err, FN_E_NOTFOUND, "%s: tensor '%s' is missing", mpath, e[i].name);
        int same = t->rank == e[i].rank;
        for (int d = 0; same && d < t->rank; d++)
            same = t->dims[d] == e[i].dims[d];
        if (!same) {
            char got[96], want[96];
            fn_tfjs_dims_str(t->rank, t->dims, got, sizeof got);
            fn_tfjs_dims_str(e[i].rank, e[i].dims, want, sizeof want);
            return fn_fail(err, FN_E_SHAPE, "%s: tensor '%s': shape %s, expected %s", mpath,
                           e[i].name, got, want);
        }
        for (size_t k = 0; k < t->count; k++)
            if (!isfinite(t->data[k]))
                return fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': value %zu is not finite",
                               mpath, e[i].name, k);
    }
    for (int i = 0; i < w->n; i++) {
        int known = 0;
        for (int j = 0; j < ne && !known; j++)
            known = strcmp(w->t[i].name, e[j].name) == 0;
        if (!known)
            return fn_fail(err, FN_E_FORMAT,
                           "%s: unexpected tensor '%s' (not part of face-api's "
                           "FaceRecognitionNet)", mpath, w->t[i].name);
    }
    return 0;
}

/* ---- building the layer list -------------------------------------------------- */

static layer *new_layer(net *N, kind k, const char *name, const char *in0, const char *in1,
                        fn_err *err)
{
    if (N->n == MAX_LAYERS) {
        fn_fail(err, FN_E_UNSUPPORTED, "too many layers");
        return NULL;
    }
    layer *L = &N->L[N->n++];
    memset(L, 0, sizeof *L);
    L->k = k;
    snprintf(L->name, sizeof L->name, "%s", name);
    if (in0)
        snprintf(L->in[L->n_in++], NAME_LEN, "%s", in0);
    if (in1)
        snprintf(L->in[L->n_in++], NAME_LEN, "%s", in1);
    return L;
}

static const layer *find_layer(const net *N, const char *name)
{
    for (int i = 0; i < N->n; i++)
        if (strcmp(N->L[i].name, name) == 0)
            return &N->L[i];
    return NULL;
}

/* Output size of a window op along one axis, TF's rule. */
static int out_size(int in, int k, int s, int same)
{
    return same ? (in + s - 1) / s : (in - k) / s + 1;
}

/* face-api's convLayer -> one Conv2D with the scale layer folded in (see header). */
static int conv_affine(net *N, const char *name, const char *input, const char *prefix,
                       int stride, int same, int relu, fn_err *err)
{
    char p[4][96];
    snprintf(p[0], sizeof p[0], "%s/conv/filters", prefix);
    snprintf(p[1], sizeof p[1], "%s/conv/bias", prefix);
    snprintf(p[2], sizeof p[2], "%s/scale/weights", prefix);
    snprintf(p[3], sizeof p[3], "%s/scale/biases", prefix);
    const fn_tfjs_tensor *W = fn_tfjs_find(N->wts, p[0]), *b = fn_tfjs_find(N->wts, p[1]),
                         *s = fn_tfjs_find(N->wts, p[2]), *t = fn_tfjs_find(N->wts, p[3]);
    const layer *src = find_layer(N, input);
    /* check_tensors ran first, so the tensors exist with the expected shapes. */
    if (!W || !b || !s || !t || !src)
        return fn_fail(err, FN_E_FORMAT, "%s: internal: tensors of %s missing", N->manifest,
                       prefix);
    int k = (int)W->dims[0], cin = (int)W->dims[2], c = (int)W->dims[3];
    if (cin != src->c)
        return fn_fail(err, FN_E_SHAPE, "%s: tensor '%s' expects %d input channels, layer %s "
                       "gives %d", N->manifest, p[0], cin, input, src->c);
    layer *L = new_layer(N, K_CONV, name, input, NULL, err);
    if (!L)
        return -1;
    L->ksize = k;
    L->stride = stride;
    L->same = same;
    L->relu = relu;
    L->use_bias = 1;
    L->h = out_size(src->h, k, stride, same);
    L->w = out_size(src->w, k, stride, same);
    L->c = c;
    L->krank = 4;
    for (int d = 0; d < 4; d++)
        L->kdims[d] = W->dims[d];
    L->kernel = malloc(W->count * sizeof(float));
    L->bias = malloc((size_t)c * sizeof(float));
    if (!L->kernel || !L->bias)
        return fn_fail(err, FN_E_NOMEM, "out of memory folding %s", prefix);
    for (size_t i = 0; i < W->count; i++) {
        L->kernel[i] = (float)((double)W->data[i] * (double)s->data[i % (size_t)c]);
        if (!isfinite(L->kernel[i]))
            return fn_fail(err, FN_E_FORMAT, "%s: %s: folded kernel value %zu overflows",
                           N->manifest, prefix, i);
    }
    for (int o = 0; o < c; o++) {
        double prod = (double)b->data[o] * (double)s->data[o];
        L->bias[o] = (float)(prod + (double)t->data[o]);
        if (!isfinite(L->bias[o]))
            return fn_fail(err, FN_E_FORMAT, "%s: %s: folded bias %d overflows", N->manifest,
                           prefix, o);
    }
    return 0;
}

static int residual(net *N, const char *blk, const char *input, fn_err *err)
{
    char c1[NAME_LEN], c2[NAME_LEN], add[NAME_LEN], p1[64], p2[64];
    snprintf(c1, sizeof c1, "%s_conv1", blk);
    snprintf(c2, sizeof c2, "%s_conv2", blk);
    snprintf(add, sizeof add, "%s_add", blk);
    snprintf(p1, sizeof p1, "%s/conv1", blk);
    snprintf(p2, sizeof p2, "%s/conv2", blk);
    if (conv_affine(N, c1, input, p1, 1, 1, 1, err) || conv_affine(N, c2, c1, p2, 1, 1, 0, err))
        return -1;
    const layer *m = find_layer(N, c2), *x = find_layer(N, input);
    if (m->h != x->h || m->w != x->w || m->c != x->c)
        return fn_fail(err, FN_E_SHAPE, "%s: block %s: residual shapes differ", N->manifest, blk);
    layer *A = new_layer(N, K_ADD, add, c2, input, err);
    if (!A)
        return -1;
    A->h = m->h, A->w = m->w, A->c = m->c;
    layer *R = new_layer(N, K_RELU, blk, add, NULL, err);
    if (!R)
        return -1;
    R->h = m->h, R->w = m->w, R->c = m->c;
    return 0;
}

static int residual_down(net *N, const char *blk, const char *input, fn_err *err)
{
    char c1[NAME_LEN], c2[NAME_LEN], pad[NAME_LEN], pool[NAME_LEN], proj[NAME_LEN],
        add[NAME_LEN], p1[64], p2[64];
    snprintf(c1, sizeof c1, "%s_conv1", blk);
    snprintf(c2, sizeof c2, "%s_conv2", blk);
    snprintf(pad, sizeof pad, "%s_pad", blk);
    snprintf(pool, sizeof pool, "%s_pool", blk);
    snprintf(proj, sizeof proj, "%s_proj", blk);
    snprintf(add, sizeof add, "%s_add", blk);
    snprintf(p1, sizeof p1, "%s/conv1", blk);
    snprintf(p2, sizeof p2, "%s/conv2", blk);
    if (conv_affine(N, c1, input, p1, 2, 0, 1, err) || conv_affine(N, c2, c1, p2, 1, 1, 0, err))
        return -1;
    const layer *x = find_layer(N, input);
    int mh = N->L[N->n - 1].h, mw = N->L[N->n - 1].w, mc = N->L[N->n - 1].c;
    int ph = out_size(x->h, 2, 2, 0), pw = out_size(x->w, 2, 2, 0);
    const char *main_out = c2, *short_out = pool;

    /* face-api: isAdjustShape -> one zero row (bottom) and one zero column (right). */
    if (ph != mh || pw != mw) {
        layer *P = new_layer(N, K_ZEROPAD, pad, c2, NULL, err);
        if (!P)
            return -1;
        P->h = mh + 1, P->w = mw + 1, P->c = mc;
        if (P->h != ph || P->w != pw)
            return fn_fail(err, FN_E_SHAPE, "%s: block %s: padded main path %dx%d does not "
                           "match the %dx%d shortcut", N->manifest, blk, P->h, P->w, ph, pw);
        main_out = pad;
    }
    layer *Q = new_layer(N, K_AVGPOOL, pool, input, NULL, err);
    if (!Q)
        return -1;
    Q->ksize = 2, Q->stride = 2, Q->same = 0;
    Q->h = ph, Q->w = pw, Q->c = x->c;

    /* face-api: isPad -> zero channels appended to the pooled shortcut. */
    if (x->c != mc) {
        if (x->c > mc)
            return fn_fail(err, FN_E_SHAPE, "%s: block %s: shortcut has more channels (%d) "
                           "than the main path (%d)", N->manifest, blk, x->c, mc);
        layer *J = new_layer(N, K_CONV, proj, pool, NULL, err);
        if (!J)
            return -1;
        J->ksize = 1, J->stride = 1, J->same = 0, J->relu = 0, J->use_bias = 0;
        J->h = ph, J->w = pw, J->c = mc;
        J->krank = 4;
        J->kdims[0] = 1, J->kdims[1] = 1, J->kdims[2] = x->c, J->kdims[3] = mc;
        J->kernel = calloc((size_t)x->c * (size_t)mc, sizeof(float));
        if (!J->kernel)
            return fn_fail(err, FN_E_NOMEM, "out of memory");
        for (int i = 0; i < x->c; i++)
            J->kernel[(size_t)i * (size_t)mc + (size_t)i] = 1.0f;
        short_out = proj;
    }
    /* tf.add(pooled, out): shortcut first. */
    layer *A = new_layer(N, K_ADD, add, short_out, main_out, err);
    if (!A)
        return -1;
    A->h = ph, A->w = pw, A->c = mc;
    layer *R = new_layer(N, K_RELU, blk, add, NULL, err);
    if (!R)
        return -1;
    R->h = ph, R->w = pw, R->c = mc;
    return 0;
}

static int build(net *N, fn_err *err)
{
    layer *in = new_layer(N, K_INPUT, "input", NULL, NULL, err);
    in->h = in->w = INPUT_SIZE;
    in->c = 3;
    if (conv_affine(N, "conv32_down", "input", "conv32_down", 2, 0, 1, err))
        return -1;
    layer *mp = new_layer(N, K_MAXPOOL, "maxpool", "conv32_down", NULL, err);
    if (!mp)
        return -1;
    mp->ksize = 3, mp->stride = 2, mp->same = 0;
    mp->h = out_size(N->L[1].h, 3, 2, 0), mp->w = out_size(N->L[1].w, 3, 2, 0), mp->c = 32;
    const char *prev = "maxpool";
    for (int b = 0; b < N_BLOCKS; b++) {
        if ((BLOCKS[b].down ? residual_down : residual)(N, BLOCKS[b].name, prev, err))
            return -1;
        prev = BLOCKS[b].name;
    }
    layer *g = new_layer(N, K_GAP, "global_avg", prev, NULL, err);
    if (!g)
        return -1;
    g->h = g->w = 1;
    g->c = find_layer(N, prev)->c;
    if (g->c != FC_IN)
        return fn_fail(err, FN_E_SHAPE, "internal: %d features before fc", g->c);
    layer *fc = new_layer(N, K_DENSE, "fc", "global_avg", NULL, err);
    if (!fc)
        return -1;
    const fn_tfjs_tensor *t = fn_tfjs_find(N->wts, "fc");
    fc->h = fc->w = 1;
    fc->c = FC_OUT;
    fc->krank = 2;
    fc->kdims[0] = FC_IN, fc->kdims[1] = FC_OUT;
    fc->kernel = malloc(t->count * sizeof(float));
    if (!fc->kernel)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    memcpy(fc->kernel, t->data, t->count * sizeof(float)); /* tf.matMul(x, fc): [in,out] */
    return 0;
}

static void net_free(net *N)
{
    for (int i = 0; i < N->n; i++) {
        free(N->L[i].kernel);
        free(N->L[i].bias);
    }
    N->n = 0;
}

/* ---- model.json ------------------------------------------------------------------ */

static char *model_json(const net *N)
{
    static const char *const CLS[] = {"InputLayer", "Conv2D", "ZeroPadding2D",
                                      "AveragePooling2D", "MaxPooling2D", "Add", "Activation",
                                      "GlobalAveragePooling2D", "Dense"};
    fn_kjson_model m;
    if (fn_kjson_begin(&m, "faceapi_dlib_resnet"))
        return NULL;
    for (int i = 0; i < N->n; i++) {
        const layer *L = &N->L[i];
        if (L->k == K_INPUT) {
            const int shape[3] = {L->h, L->w, L->c};
            if (!fn_kjson_input(&m, L->name, 3, shape))
                goto fail;
            continue;
        }
        const char *in[2] = {L->in[0], L->in[1]};
        cJSON *cfg = fn_kjson_layer(&m, CLS[L->k], L->name, L->n_in, in);
        int bad = !cfg;
        switch (L->k) {
        case K_CONV:
            bad |= fn_kjson_conv2d_config(cfg, L->c, L->ksize, L->ksize, L->stride, L->stride,
                                          L->same, L->relu ? "relu" : "linear", L->use_bias);
            break;
        case K_ZEROPAD:
            /* face-api's isAdjustShape: one zero row below, one zero column to the right */
            bad |= fn_kjson_zeropad2d_config(cfg, 0, 1, 0, 1);
            break;
        case K_AVGPOOL:
        case K_MAXPOOL:
            bad |= fn_kjson_pool2d_config(cfg, L->ksize, L->ksize, L->stride, L->stride,
                                          L->same);
            break;
        case K_RELU:
            bad |= fn_kjson_activation_config(cfg, "relu");
            break;
        case K_GAP:
            bad |= fn_kjson_global_pool2d_config(cfg);
            break;
        case K_DENSE:
            bad |= fn_kjson_dense_config(cfg, L->c, "linear", 0);
            break;
        default:
            break;
        }
        if (bad)
            goto fail;
    }
    const char *first = N->L[0].name, *last = N->L[N->n - 1].name;
    return fn_kjson_finish(&m, 1, &first, 1, &last);
fail:
    fn_kjson_abort(&m);
    return NULL;
}

/* face-api's preprocessing (FaceRecognitionNet.forwardInput + ops/normalize.ts). */
static char *profile_json(void)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input_size", fn_kjson_int_pair(INPUT_SIZE, INPUT_SIZE));
    cJSON_AddStringToObject(root, "resize", "bilinear");
    double mean[3] = {122.782, 117.001, 104.298};
    cJSON_AddItemToObject(root, "mean", cJSON_CreateDoubleArray(mean, 3));
    cJSON_AddNumberToObject(root, "std", 255);
    cJSON_AddStringToObject(root, "channel_order", "rgb");
    cJSON_AddNumberToObject(root, "threshold", 0.6);
    cJSON_AddBoolToObject(root, "l2_normalize", 0);
    /* Inputs that are not 150x150: face-api pads to a centred square, then resizes. */
    cJSON_AddStringToObject(root, "pad_to_square", "center");
    /* Landmark alignment as dlib makes its 150 px chips (padding 0.25): the template is
     * dlib's mean face; the "dlib" mode samples like dlib's extract_image_chip. */
    double tmpl[10];
    fn_align_dlib_template(INPUT_SIZE, 0.25, tmpl);
    cJSON_AddStringToObject(root, "align_mode", "dlib");
    /* %.17g, not cJSON's number printer: that one accepts a 1-ulp round-trip error */
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < 10; i++) {
        char num[40];
        snprintf(num, sizeof num, "%.17g", tmpl[i]);
        cJSON_AddItemToArray(arr, cJSON_CreateRaw(num));
    }
    cJSON_AddItemToObject(root, "align_template", arr);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* ---- output files ------------------------------------------------------------------ */

/* fn_kjson_write_outputs' callback: model.h5 in model.save_weights() layout. */
static int write_h5(const char *path, void *ctx, fn_err *err)
{
    const net *N = ctx;
    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, err);
    if (!w)
        return -1;
    for (int i = 0; i < N->n; i++) {
        const layer *L = &N->L[i];
        fn_kh5w_tensor t[2];
        int n = 0;
        if (L->kernel) {
            t[n] = (fn_kh5w_tensor){"kernel:0", L->krank, {0}, L->kernel};
            for (int d = 0; d < L->krank; d++)
                t[n].dims[d] = L->kdims[d];
            n++;
        }
        if (L->bias)
            t[n++] = (fn_kh5w_tensor){"bias:0", 1, {L->c}, L->bias};
        if (fn_kh5w_layer(w, L->name, n, t, err)) {
            fn_kh5w_abort(w);
            return -1;
        }
    }
    return fn_kh5w_finish(w, err);
}

/* Write the three files into outdir: all of them, or none. */
static int write_outputs(const net *N, const char *outdir, fn_err *err)
{
    char *mj = model_json(N), *pj = profile_json();
    int rc = mj && pj ? fn_kjson_write_outputs(outdir, mj, pj, write_h5, (void *)N, err)
                      : fn_fail(err, FN_E_NOMEM, "out of memory");
    cJSON_free(mj);
    cJSON_free(pj);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: faceapi2keras MANIFEST OUTDIR\n"
                        "  MANIFEST  face-api's face_recognition_model-weights_manifest.json\n"
                        "            (its .bin shard is found beside it)\n"
                        "  OUTDIR    receives model.json, model.h5 and facenet.json\n");
        return 2;
    }
    const char *manifest = argv[1], *outdir = argv[2];
    fn_err err;
    fn_err_clear(&err);
    fn_tfjs_weights w;
    net *N = calloc(1, sizeof *N);
    int rc = 1;
    if (!N) {
        fprintf(stderr, "faceapi2keras: out of memory\n");
        return 1;
    }
    if (fn_tfjs_load(manifest, &w, &err)) {
        free(N);
        fprintf(stderr, "faceapi2keras: %s\n", err.msg);
        return 1;
    }
    N->wts = &w;
    N->manifest = manifest;
    if (check_tensors(&w, manifest, &err) || build(N, &err) || write_outputs(N, outdir, &err))
        goto done;
    printf("faceapi2keras: %s -> %s/{model.json,model.h5,facenet.json}: %d tensors, %d Keras "
           "layers\n", manifest, outdir, w.n, N->n);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "faceapi2keras: %s\n", err.msg);
    net_free(N);
    free(N);
    fn_tfjs_free(&w);
    return rc;
}
