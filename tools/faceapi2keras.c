/* faceapi2keras.c - convert face-api's dlib ResNet face-recognition network
 * (npm @vladmandic/face-api 1.7.15: model/face_recognition_model-weights_manifest.json
 * + face_recognition_model.bin) into Keras 2.4 files the generic engine loads:
 *
 *     faceapi2keras MANIFEST OUTDIR
 *
 * writes OUTDIR/model.json (Functional model config, standard Keras layers only),
 * OUTDIR/model.h5 (model.save_weights() layout) and OUTDIR/facenet.json (the
 * preprocessing profile).  All three appear together or not at all.  This file maps
 * face-api's network onto Keras layers; writing them is tools/lib/keras_graph.c (model
 * config and weights) and tools/lib/outfiles.c (the output folder).
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
#include "lib/keras_graph.h"
#include "lib/tfjs_manifest.h"

#define INPUT_SIZE 150
#define NAME_LEN 48

typedef struct {
    kg_model *m;
    const fn_tfjs_weights *wts;
    const char *manifest;
    fn_err *err;
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

/* ---- building the model ------------------------------------------------------- */

/* A layer of class cls reading in0 (and in1), its config still to be completed. */
static kg_layer *add(net *N, const char *cls, const char *name, const char *in0, const char *in1)
{
    const char *in[2] = {in0, in1};
    return kg_add(N->m, cls, name, cJSON_CreateObject(), in1 ? 2 : 1, in, N->err);
}

static int oom(net *N)
{
    return fn_fail(N->err, FN_E_NOMEM, "out of memory");
}

/* Output size of a window op along one axis, TF's rule. */
static int out_size(int in, int k, int s, int same)
{
    return same ? (in + s - 1) / s : (in - k) / s + 1;
}

/* face-api's convLayer -> one Conv2D with the scale layer folded in (see header). */
static int conv_affine(net *N, const char *name, const char *input, const char *prefix, int stride, int same,
                       int relu)
{
    char p[4][96];
    snprintf(p[0], sizeof p[0], "%s/conv/filters", prefix);
    snprintf(p[1], sizeof p[1], "%s/conv/bias", prefix);
    snprintf(p[2], sizeof p[2], "%s/scale/weights", prefix);
    snprintf(p[3], sizeof p[3], "%s/scale/biases", prefix);
    const fn_tfjs_tensor *W = fn_tfjs_find(N->wts, p[0]), *b = fn_tfjs_find(N->wts, p[1]),
                         *s = fn_tfjs_find(N->wts, p[2]), *t = fn_tfjs_find(N->wts, p[3]);
    const kg_layer *src = kg_find(N->m, input);
    /* check_tensors ran first, so the tensors exist with the expected shapes. */
    if (!W || !b || !s || !t || !src)
        return fn_fail(N->err, FN_E_FORMAT, "%s: internal: tensors of %s missing", N->manifest, prefix);
    int k = (int)W->dims[0], cin = (int)W->dims[2], c = (int)W->dims[3];
    if (cin != src->c)
        return fn_fail(N->err, FN_E_SHAPE, "%s: tensor '%s' expects %d input channels, layer %s gives %d",
                       N->manifest, p[0], cin, input, src->c);
    kg_layer *L = add(N, "Conv2D", name, input, NULL);
    if (!L)
        return -1;
    if (kg_conv2d_config(L->cfg, c, k, k, stride, stride, same ? "same" : "valid", KG_CL,
                         relu ? "relu" : "linear", 1))
        return oom(N);
    L->h = out_size(src->h, k, stride, same);
    L->w = out_size(src->w, k, stride, same);
    L->c = c;
    float *kernel = malloc(W->count * sizeof(float)), *bias = malloc((size_t)c * sizeof(float));
    if (!kernel || !bias) {
        free(kernel);
        free(bias);
        return fn_fail(N->err, FN_E_NOMEM, "out of memory folding %s", prefix);
    }
    int bad = 0;
    for (size_t i = 0; i < W->count && !bad; i++) {
        kernel[i] = (float)((double)W->data[i] * (double)s->data[i % (size_t)c]);
        if (!isfinite(kernel[i]))
            bad = fn_fail(N->err, FN_E_FORMAT, "%s: %s: folded kernel value %zu overflows", N->manifest, prefix, i);
    }
    for (int o = 0; o < c && !bad; o++) {
        double prod = (double)b->data[o] * (double)s->data[o];
        bias[o] = (float)(prod + (double)t->data[o]);
        if (!isfinite(bias[o]))
            bad = fn_fail(N->err, FN_E_FORMAT, "%s: %s: folded bias %d overflows", N->manifest, prefix, o);
    }
    if (bad) {
        free(kernel);
        free(bias);
        return -1;
    }
    const long long nc = c;
    return kg_weight_take(L, "kernel:0", 4, W->dims, kernel, N->err) ||
           kg_weight_take(L, "bias:0", 1, &nc, bias, N->err) ? -1 : 0;
}

/* Add([a, b]) then Activation(relu) named blk, of shape h x w x c. */
static int add_relu(net *N, const char *blk, const char *a, const char *b, int h, int w, int c)
{
    char add_name[NAME_LEN];
    snprintf(add_name, sizeof add_name, "%s_add", blk);
    kg_layer *A = add(N, "Add", add_name, a, b), *R = A ? add(N, "Activation", blk, add_name, NULL) : NULL;
    if (!R)
        return -1;
    if (kg_activation_config(R->cfg, "relu"))
        return oom(N);
    A->h = R->h = h, A->w = R->w = w, A->c = R->c = c;
    return 0;
}

/* The main path of both kinds of block: <blk>_conv1 (3x3, stride, relu) then <blk>_conv2
 * (3x3, stride 1, 'same', linear), named in c2. */
static int main_path(net *N, const char *blk, const char *input, int stride, int same, char c2[NAME_LEN])
{
    char c1[NAME_LEN], p1[64], p2[64];
    snprintf(c1, sizeof c1, "%s_conv1", blk);
    snprintf(c2, NAME_LEN, "%s_conv2", blk);
    snprintf(p1, sizeof p1, "%s/conv1", blk);
    snprintf(p2, sizeof p2, "%s/conv2", blk);
    return conv_affine(N, c1, input, p1, stride, same, 1) || conv_affine(N, c2, c1, p2, 1, 1, 0) ? -1 : 0;
}

static int residual(net *N, const char *blk, const char *input)
{
    char c2[NAME_LEN];
    if (main_path(N, blk, input, 1, 1, c2))
        return -1;
    const kg_layer *m = kg_find(N->m, c2), *x = kg_find(N->m, input);
    if (m->h != x->h || m->w != x->w || m->c != x->c)
        return fn_fail(N->err, FN_E_SHAPE, "%s: block %s: residual shapes differ", N->manifest, blk);
    return add_relu(N, blk, c2, input, m->h, m->w, m->c);
}

static int residual_down(net *N, const char *blk, const char *input)
{
    char c2[NAME_LEN], pad[NAME_LEN], pool[NAME_LEN], proj[NAME_LEN];
    snprintf(pad, sizeof pad, "%s_pad", blk);
    snprintf(pool, sizeof pool, "%s_pool", blk);
    snprintf(proj, sizeof proj, "%s_proj", blk);
    if (main_path(N, blk, input, 2, 0, c2))
        return -1;
    const kg_layer *x = kg_find(N->m, input), *M = kg_find(N->m, c2);
    int mh = M->h, mw = M->w, mc = M->c;
    int ph = out_size(x->h, 2, 2, 0), pw = out_size(x->w, 2, 2, 0);
    const char *main_out = c2, *short_out = pool;

    /* face-api: isAdjustShape -> one zero row (bottom) and one zero column (right). */
    if (ph != mh || pw != mw) {
        if (mh + 1 != ph || mw + 1 != pw)
            return fn_fail(N->err, FN_E_SHAPE, "%s: block %s: padded main path %dx%d does not match the %dx%d "
                           "shortcut", N->manifest, blk, mh + 1, mw + 1, ph, pw);
        kg_layer *P = add(N, "ZeroPadding2D", pad, c2, NULL);
        if (!P)
            return -1;
        if (kg_zeropad2d_config(P->cfg, 0, 1, 0, 1, KG_CL))
            return oom(N);
        P->h = ph, P->w = pw, P->c = mc;
        main_out = pad;
    }
    kg_layer *Q = add(N, "AveragePooling2D", pool, input, NULL);
    if (!Q)
        return -1;
    if (kg_pool2d_config(Q->cfg, 2, 2, 2, 2, "valid", KG_CL))
        return oom(N);
    Q->h = ph, Q->w = pw, Q->c = x->c;

    /* face-api: isPad -> zero channels appended to the pooled shortcut. */
    if (x->c != mc) {
        if (x->c > mc)
            return fn_fail(N->err, FN_E_SHAPE, "%s: block %s: shortcut has more channels (%d) than the main "
                           "path (%d)", N->manifest, blk, x->c, mc);
        kg_layer *J = add(N, "Conv2D", proj, pool, NULL);
        if (!J)
            return -1;
        if (kg_conv2d_config(J->cfg, mc, 1, 1, 1, 1, "valid", KG_CL, "linear", 0))
            return oom(N);
        J->h = ph, J->w = pw, J->c = mc;
        float *k = calloc((size_t)x->c * (size_t)mc, sizeof(float));
        if (!k)
            return oom(N);
        for (int i = 0; i < x->c; i++)
            k[(size_t)i * (size_t)mc + (size_t)i] = 1.0f;
        if (kg_weight_take(J, "kernel:0", 4, (const long long[]){1, 1, x->c, mc}, k, N->err))
            return -1;
        short_out = proj;
    }
    /* tf.add(pooled, out): shortcut first. */
    return add_relu(N, blk, short_out, main_out, ph, pw, mc);
}

static int build(net *N)
{
    kg_layer *in = kg_add(N->m, "InputLayer", "input", kg_input_config(INPUT_SIZE, INPUT_SIZE, 3), 0, NULL, N->err);
    if (!in)
        return -1;
    in->h = in->w = INPUT_SIZE, in->c = 3;
    if (conv_affine(N, "conv32_down", "input", "conv32_down", 2, 0, 1))
        return -1;
    const kg_layer *c0 = kg_find(N->m, "conv32_down");
    kg_layer *mp = add(N, "MaxPooling2D", "maxpool", "conv32_down", NULL);
    if (!mp)
        return -1;
    if (kg_pool2d_config(mp->cfg, 3, 3, 2, 2, "valid", KG_CL))
        return oom(N);
    mp->h = out_size(c0->h, 3, 2, 0), mp->w = out_size(c0->w, 3, 2, 0), mp->c = c0->c;
    const char *prev = "maxpool";
    for (int b = 0; b < N_BLOCKS; b++) {
        if ((BLOCKS[b].down ? residual_down : residual)(N, BLOCKS[b].name, prev))
            return -1;
        prev = BLOCKS[b].name;
    }
    if (kg_find(N->m, prev)->c != FC_IN)
        return fn_fail(N->err, FN_E_SHAPE, "internal: %d features before fc", kg_find(N->m, prev)->c);
    kg_layer *g = add(N, "GlobalAveragePooling2D", "global_avg", prev, NULL);
    if (!g)
        return -1;
    if (kg_data_format_config(g->cfg, KG_CL))
        return oom(N);
    g->h = g->w = 1, g->c = FC_IN;
    kg_layer *fc = add(N, "Dense", "fc", "global_avg", NULL);
    if (!fc)
        return -1;
    if (kg_dense_config(fc->cfg, FC_OUT, "linear", 0))
        return oom(N);
    fc->h = fc->w = 1, fc->c = FC_OUT;
    /* tf.matMul(x, fc): fc is already Keras' [in, out] */
    const fn_tfjs_tensor *t = fn_tfjs_find(N->wts, "fc");
    if (kg_weight(fc, "kernel:0", 2, (const long long[]){FC_IN, FC_OUT}, t->data, N->err))
        return -1;
    return kg_output(N->m, "fc", N->err);
}

/* face-api's preprocessing (FaceRecognitionNet.forwardInput + ops/normalize.ts). */
static char *profile_json(void)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input_size", kg_pair(INPUT_SIZE, INPUT_SIZE));
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

int main(int argc, char **argv)
{
    fn_err err;
    fn_err_clear(&err);
    fn_tfjs_limits lim = {0, 0, 0};
    int op = fn_tfjs_limit_args(argc, argv, &lim, &err);
    if (op < 0) {
        fn_tfjs_print_err("faceapi2keras", &err);
        return 2;
    }
    if (argc - op != 2 || argv[op][0] == '-') {
        fprintf(stderr, "usage: faceapi2keras [--limit NAME=N]... MANIFEST OUTDIR\n"
                        "  MANIFEST  face-api's face_recognition_model-weights_manifest.json\n"
                        "            (its .bin shard is found beside it)\n"
                        "  OUTDIR    receives model.json, model.h5 and facenet.json\n"
                        "  --limit   json-bytes (default 64M), json-values (1000000) of the manifest,\n"
                        "            weight-bytes (1G) of its shards together\n");
        return 2;
    }
    const char *manifest = argv[op], *outdir = argv[op + 1];
    fn_tfjs_weights w;
    if (fn_tfjs_load_limits(manifest, &lim, &w, &err)) {
        fn_tfjs_print_err("faceapi2keras", &err);
        return 1;
    }
    net N = {.m = kg_new("faceapi_dlib_resnet"), .wts = &w, .manifest = manifest, .err = &err};
    char *pj = NULL;
    int rc = 1;
    if (!N.m || !(pj = profile_json()))
        fn_fail(&err, FN_E_NOMEM, "out of memory");
    else if (!check_tensors(&w, manifest, &err) && !build(&N) && !kg_write_outputs(N.m, pj, outdir, &err))
        rc = 0;
    if (rc)
        fprintf(stderr, "faceapi2keras: %s\n", err.msg);
    else
        printf("faceapi2keras: %s -> %s/{model.json,model.h5,facenet.json}: %d tensors, %d Keras layers\n",
               manifest, outdir, w.n, kg_count(N.m));
    cJSON_free(pj);
    kg_free(N.m);
    fn_tfjs_free(&w);
    return rc;
}
