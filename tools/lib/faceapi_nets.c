/* faceapi_nets.c - the layer helpers and the tiny-detector and landmark graphs of
 * tools/faceapi_nets2keras (the SSD graph: faceapi_ssd.c).  That tool converts face-api's detection and landmark networks (npm
 * @vladmandic/face-api 1.7.15, model/<net>-weights_manifest.json + .bin) into standard
 * Keras 2.4 files the generic engine runs:
 *
 *     faceapi_nets2keras NET MANIFEST OUTDIR
 *
 *   NET = ssd-mobilenetv1 | tiny-face-detector | face-landmark-68 | face-landmark-68-tiny
 *
 * writes OUTDIR/model.json (Functional config, standard layers only), OUTDIR/model.h5
 * (model.save_weights() layout), OUTDIR/facenet.json (input preprocessing, the profile
 * src/app/profile.c reads) and OUTDIR/detector.json (what post-processing needs:
 * anchors, thresholds, output layout), plus OUTDIR/anchors.f32 for the SSD.  Each net
 * ends where face-api's net ends (raw outputs); docs/detection.md has the mapping
 * face-api tensor -> Keras layer with shapes.  The graphs follow face-api's src/ exactly:
 *
 *   ssdMobilenetv1/mobileNetV1.ts, predictionLayer.ts, boxPredictionLayer.ts:
 *     pointwiseConvLayer = conv2d(same) + batch_norm_offset, clip 0..6
 *         -> Conv2D(bias = convolution_bn_offset) + ReLU(max_value 6)
 *     depthwiseConvLayer = depthwiseConv2d(same) -> batchNorm(eps 0.0010000000474974513) -> clip 0..6
 *         -> DepthwiseConv2D(no bias) + BatchNormalization + ReLU(max_value 6)
 *     box predictor = conv(1x1) + bias, reshaped to (-1, 4) / (-1, 3), concatenated on axis 1
 *   tinyYolov2/TinyYolov2Base.ts runMobilenet (TinyFaceDetector: first layer a Conv2D,
 *   no conv6/conv7):
 *     leaky(x) = relu(x - 0.1x) + 0.1x = LeakyReLU(alpha 0.1)
 *     depthwiseSeparableConv = pad 1 + separableConv2d(valid) + bias, leaky
 *         -> SeparableConv2D(3x3, stride 1, 'same': the same pad of 1 on every side) + LeakyReLU
 *   faceFeatureExtractor/denseBlock.ts (denseBlock4 / denseBlock3) + FaceProcessor fc:
 *     out1 = relu(conv0), out_k = sepconv(same), in_k = relu(out1 + .. + out_{k-1})
 *         -> Conv2D/SeparableConv2D(relu), SeparableConv2D, Add + Activation(relu)
 *     avgPool(7 or 14, stride 2, valid) -> Flatten -> Dense(136)
 * Weights are copied unchanged (tfjs filters are already Keras' HWIO / (kh,kw,c,1)). */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faceapi_nets.h"


/* The manifest tensor `name` with the given shape (dims < 0: any), finite; marks it used. */
const fn_tfjs_tensor *fa_get(cv *C, const char *name, int rank, const long long *dims)
{
    const fn_tfjs_tensor *t = fn_tfjs_find(C->w, name);
    if (!t) {
        fn_fail(C->err, FN_E_NOTFOUND, "%s: tensor '%s' is missing", C->mpath, name);
        return NULL;
    }
    int ok = t->rank == rank && !strcmp(t->dtype, "float32");
    for (int d = 0; ok && d < rank; d++)
        ok = dims[d] < 0 || t->dims[d] == dims[d];
    if (!ok) {
        char got[96], want[96];
        fn_tfjs_dims_str(t->rank, t->dims, got, sizeof got);
        fn_tfjs_dims_str(rank, dims, want, sizeof want);
        fn_fail(C->err, FN_E_SHAPE, "%s: tensor '%s': %s %s, expected float32 %s (-1: any)", C->mpath, name,
                t->dtype, got, want);
        return NULL;
    }
    for (size_t k = 0; k < t->count; k++)
        if (!isfinite(t->data[k])) {
            fn_fail(C->err, FN_E_FORMAT, "%s: tensor '%s': value %zu is not finite", C->mpath, name, k);
            return NULL;
        }
    C->used[t - C->w->t] = 1;
    return t;
}

int fa_out_size(int in, int k, int s, int same)
{
    return same ? (in + s - 1) / s : (in - k) / s + 1;
}

kg_layer *fa_add(cv *C, const char *cls, const char *name, cJSON *cfg, const char *in)
{
    return kg_add(C->m, cls, name, cfg, in ? 1 : 0, (const char *const[]){in}, C->err);
}

kg_layer *fa_src(cv *C, const char *name)
{
    kg_layer *L = kg_find(C->m, name);
    if (!L)
        fn_fail(C->err, FN_E_ARG, "internal: no layer %s", name);
    return L;
}

int fa_weight(cv *C, kg_layer *L, const char *wname, const fn_tfjs_tensor *t)
{
    return kg_weight(L, wname, t->rank, t->dims, t->data, C->err);
}

/* Conv2D from tensors <prefix>/<fname> (kh,kw,cin,cout) and <prefix>/<bname>. */
int fa_conv(cv *C, const char *name, const char *in, const char *prefix, const char *fname, const char *bname,
                int stride, const char *pad, const char *act)
{
    char fp[128], bp[128];
    snprintf(fp, sizeof fp, "%s/%s", prefix, fname);
    snprintf(bp, sizeof bp, "%s/%s", prefix, bname);
    kg_layer *I = fa_src(C, in);
    if (!I)
        return -1;
    const fn_tfjs_tensor *W = fa_get(C, fp, 4, (long long[]){-1, -1, I->c, -1}), *b;
    if (!W || !(b = fa_get(C, bp, 1, (long long[]){W->dims[3]})))
        return -1;
    int k = (int)W->dims[0], same = !strcmp(pad, "same");
    kg_layer *L = fa_add(C, "Conv2D", name, kg_conv_config((int)W->dims[3], k, stride, pad, act, 1), in);
    if (!L || fa_weight(C, L, "kernel:0", W) || fa_weight(C, L, "bias:0", b))
        return -1;
    L->h = fa_out_size(I->h, k, stride, same), L->w = fa_out_size(I->w, k, stride, same), L->c = (int)W->dims[3];
    return 0;
}

/* SeparableConv2D 'same' from <prefix>/depthwise_filter, pointwise_filter, bias. */
int fa_sep(cv *C, const char *name, const char *in, const char *prefix, int stride, const char *act)
{
    char dp[128], pp[128], bp[128];
    snprintf(dp, sizeof dp, "%s/depthwise_filter", prefix);
    snprintf(pp, sizeof pp, "%s/pointwise_filter", prefix);
    snprintf(bp, sizeof bp, "%s/bias", prefix);
    kg_layer *I = fa_src(C, in);
    if (!I)
        return -1;
    const fn_tfjs_tensor *D = fa_get(C, dp, 4, (long long[]){3, 3, I->c, 1}), *P, *b;
    if (!D || !(P = fa_get(C, pp, 4, (long long[]){1, 1, I->c, -1})) || !(b = fa_get(C, bp, 1, (long long[]){P->dims[3]})))
        return -1;
    kg_layer *L = fa_add(C, "SeparableConv2D", name, kg_separable_config((int)P->dims[3], 3, stride, "same", act, 1), in);
    if (!L || fa_weight(C, L, "depthwise_kernel:0", D) || fa_weight(C, L, "pointwise_kernel:0", P) ||
        fa_weight(C, L, "bias:0", b))
        return -1;
    L->h = fa_out_size(I->h, 3, stride, 1), L->w = fa_out_size(I->w, 3, stride, 1), L->c = (int)P->dims[3];
    return 0;
}

/* Elementwise/shape-keeping layers: ReLU(6), LeakyReLU(0.1), Activation(relu). */
int fa_act(cv *C, const char *kind, const char *name, const char *in)
{
    cJSON *cfg = cJSON_CreateObject();
    const char *cls = "Activation";
    if (!strcmp(kind, "relu6")) {
        cls = "ReLU";
        cJSON_AddNumberToObject(cfg, "max_value", 6.0);
        cJSON_AddNumberToObject(cfg, "negative_slope", 0.0);
        cJSON_AddNumberToObject(cfg, "threshold", 0.0);
    } else if (!strcmp(kind, "leaky")) {
        cls = "LeakyReLU";
        cJSON_AddNumberToObject(cfg, "alpha", 0.1); /* face-api: tf.scalar(0.10000000149011612) */
    } else {
        cJSON_AddStringToObject(cfg, "activation", kind);
    }
    kg_layer *I = fa_src(C, in), *L = I ? fa_add(C, cls, name, cfg, in) : NULL;
    if (!L)
        return -1;
    L->h = I->h, L->w = I->w, L->c = I->c;
    return 0;
}

int fa_pool(cv *C, const char *cls, const char *name, const char *in, int k, int s, const char *pad)
{
    kg_layer *I = fa_src(C, in), *L = I ? fa_add(C, cls, name, kg_pool_config(k, s, pad), in) : NULL;
    if (!L)
        return -1;
    int same = !strcmp(pad, "same");
    L->h = fa_out_size(I->h, k, s, same), L->w = fa_out_size(I->w, k, s, same), L->c = I->c;
    return 0;
}

int fa_input(cv *C, int size)
{
    kg_layer *L = fa_add(C, "InputLayer", "input", kg_input_config(size, size, 3), NULL);
    if (!L)
        return -1;
    L->h = L->w = size, L->c = 3;
    return 0;
}

/* ---- tiny face detector --------------------------------------------------------- */

int fa_build_tiny(cv *C)
{
    char name[64], prev[64] = "conv0", pname[64];
    if (fa_input(C, 416) || fa_conv(C, "conv0_conv", "input", "conv0", "filters", "bias", 1, "valid", "linear") ||
        fa_act(C, "leaky", "conv0", "conv0_conv"))
        return -1;
    for (int i = 1; i <= 5; i++) {
        snprintf(pname, sizeof pname, "pool%d", i - 1);
        if (fa_pool(C, "MaxPooling2D", pname, prev, 2, i == 6 ? 1 : 2, "same"))
            return -1;
        char conv_name[64], prefix[16];
        snprintf(prefix, sizeof prefix, "conv%d", i);
        snprintf(conv_name, sizeof conv_name, "conv%d_sep", i);
        if (fa_sep(C, conv_name, pname, prefix, 1, "linear"))
            return -1;
        snprintf(name, sizeof name, "conv%d", i);
        if (fa_act(C, "leaky", name, conv_name))
            return -1;
        snprintf(prev, sizeof prev, "%s", name);
    }
    /* after conv5: maxPool(2, stride 1, same); conv6/conv7 absent (filterSizes has 7 entries) */
    if (fa_pool(C, "MaxPooling2D", "pool5", prev, 2, 1, "same") ||
        fa_conv(C, "conv8", "pool5", "conv8", "filters", "bias", 1, "valid", "linear"))
        return -1;
    kg_layer *o = fa_src(C, "conv8");
    if (o->h != 13 || o->w != 13 || o->c != 25)
        return fn_fail(C->err, FN_E_SHAPE, "%s: output %dx%dx%d, expected 13x13x25", C->mpath, o->h, o->w, o->c);
    return kg_output(C->m, "conv8", C->err);
}

/* ---- 68-point landmark nets ----------------------------------------------------- */

/* denseBlock4 (n = 4) / denseBlock3 (n = 3) of faceFeatureExtractor/denseBlock.ts. */
static int dense_block(cv *C, const char *blk, const char *in, int n, int first)
{
    char outs[4][64], prefix[64], sum[64], rel[64];
    const char *ins[4];
    snprintf(outs[0], 64, "%s_conv0", blk);
    snprintf(prefix, sizeof prefix, "%s/conv0", blk);
    if (first ? fa_conv(C, outs[0], in, prefix, "filters", "bias", 2, "same", "relu")
              : fa_sep(C, outs[0], in, prefix, 2, "relu"))
        return -1;
    ins[0] = outs[0];
    const char *x = outs[0];
    for (int k = 1; k < n; k++) {
        snprintf(outs[k], 64, "%s_conv%d", blk, k);
        snprintf(prefix, sizeof prefix, "%s/conv%d", blk, k);
        if (fa_sep(C, outs[k], x, prefix, 1, "linear"))
            return -1;
        ins[k] = outs[k];
        /* relu(out1 + ... + out_k): the input of the next conv, or the block output */
        snprintf(sum, sizeof sum, "%s_add%d", blk, k);
        if (k == n - 1)
            snprintf(rel, sizeof rel, "%s", blk);
        else
            snprintf(rel, sizeof rel, "%s_in%d", blk, k + 1);
        kg_layer *S = kg_add(C->m, "Add", sum, cJSON_CreateObject(), k + 1, ins, C->err);
        if (!S)
            return -1;
        S->h = fa_src(C, outs[0])->h, S->w = fa_src(C, outs[0])->w, S->c = fa_src(C, outs[0])->c;
        if (fa_act(C, "relu", rel, sum))
            return -1;
        x = fa_src(C, rel)->name;
    }
    return 0;
}

int fa_build_landmarks(cv *C, int tiny)
{
    const int n_blocks = tiny ? 3 : 4, per_block = tiny ? 3 : 4, pool_k = tiny ? 14 : 7, feat = tiny ? 128 : 256;
    char prev[64] = "input", blk[16];
    if (fa_input(C, 112))
        return -1;
    for (int b = 0; b < n_blocks; b++) {
        snprintf(blk, sizeof blk, "dense%d", b);
        if (dense_block(C, blk, prev, per_block, b == 0))
            return -1;
        snprintf(prev, sizeof prev, "%s", blk);
    }
    if (fa_pool(C, "AveragePooling2D", "avg_pool", prev, pool_k, 2, "valid"))
        return -1;
    kg_layer *P = fa_src(C, "avg_pool");
    if (P->h != 1 || P->w != 1 || P->c != feat)
        return fn_fail(C->err, FN_E_SHAPE, "%s: features %dx%dx%d, expected 1x1x%d", C->mpath, P->h, P->w, P->c,
                       feat);
    kg_layer *F = fa_add(C, "Flatten", "flatten", cJSON_CreateObject(), "avg_pool");
    if (!F)
        return -1;
    cJSON_AddStringToObject(F->cfg, "data_format", "channels_last");
    const fn_tfjs_tensor *W = fa_get(C, "fc/weights", 2, (long long[]){feat, 136}), *b;
    if (!W || !(b = fa_get(C, "fc/bias", 1, (long long[]){136})))
        return -1;
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "units", 136);
    cJSON_AddStringToObject(cfg, "activation", "linear");
    cJSON_AddBoolToObject(cfg, "use_bias", 1);
    kg_layer *D = fa_add(C, "Dense", "fc", cfg, "flatten");
    if (!D || fa_weight(C, D, "kernel:0", W) || fa_weight(C, D, "bias:0", b))
        return -1;
    return kg_output(C->m, "fc", C->err);
}

