/* faceapi_ssd.c - face-api's SSD MobileNetV1 face detector as a Keras graph
 * (src/ssdMobilenetv1/ mobileNetV1.ts, predictionLayer.ts, boxPredictionLayer.ts):
 *
 *   input 512x512x3 (x/127.5 - 1, outside the model)
 *   conv_0      Conv2D 3x3 s2 same + bias (convolution_bn_offset), ReLU(6)   256x256x32
 *   conv_1..13  DepthwiseConv2D 3x3 (s2 at 2, 4, 6, 12) same, no bias; BatchNormalization
 *               (eps 0.0010000000474974513); ReLU(6); Conv2D 1x1 + bias; ReLU(6)
 *               conv_11: 32x32x512, conv_13 (face-api's "features"): 16x16x1024
 *   prediction_conv_0..7  Conv2D (1x1 s1, 3x3 s2 alternating) + bias, ReLU(6)
 *   box_predictor_0..5 on conv_11, conv_13, prediction_conv_1, _3, _5, _7:
 *               Conv2D 1x1 + bias -> Reshape(-1, 4) (box) and Reshape(-1, 3) (class)
 *   box_encodings      Concatenate(axis 1) of the six   5118x4  (ty, tx, th, tw)
 *   class_predictions  Concatenate(axis 1) of the six   5118x3  (logits)
 * The manifest's int32 constants (per-predictor anchor counts, 5118) are checked against
 * the graph; its Preprocessor constants (1/127.5, 1) against the documented input scaling. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "faceapi_nets.h"

#define SSD_ANCHORS 5118

/* An int32 constant of the manifest that must equal want (marked used). */
static int check_const(cv *C, const char *name, double want)
{
    const fn_tfjs_tensor *t = fn_tfjs_find(C->w, name);
    if (!t || t->count != 1 || t->data[0] != want)
        return fn_fail(C->err, FN_E_FORMAT, "%s: constant '%s' is %s%g, the graph needs %g", C->mpath, name,
                       t ? "" : "missing, not ", t && t->count == 1 ? t->data[0] : 0.0, want);
    C->used[t - C->w->t] = 1;
    return 0;
}

static int relu6_conv(cv *C, const char *name, const char *in, const char *prefix, int stride)
{
    char conv[64];
    snprintf(conv, sizeof conv, "%s_conv", name);
    return fa_conv(C, conv, in, prefix, "weights", "convolution_bn_offset", stride, "same", "linear") ||
           fa_act(C, "relu6", name, conv);
}

/* depthwiseConvLayer: DepthwiseConv2D -> BatchNormalization -> ReLU(6). */
static int depthwise_bn(cv *C, int i, const char *in, int stride)
{
    char p[96], dw[64], bn[64], rl[64];
    snprintf(dw, sizeof dw, "conv_%d_depthwise", i);
    snprintf(bn, sizeof bn, "conv_%d_depthwise_bn", i);
    snprintf(rl, sizeof rl, "conv_%d_depthwise_relu6", i);
    kg_layer *I = fa_src(C, in);
    if (!I)
        return -1;
    long long c = I->c;
    snprintf(p, sizeof p, "MobilenetV1/Conv2d_%d_depthwise/depthwise_weights", i);
    const fn_tfjs_tensor *K = fa_get(C, p, 4, (long long[]){3, 3, c, 1}), *bnw[4];
    if (!K)
        return -1;
    static const char *const part[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "MobilenetV1/Conv2d_%d_depthwise/BatchNorm/%s", i, part[k]);
        if (!(bnw[k] = fa_get(C, p, 1, &c)))
            return -1;
    }
    kg_layer *D = fa_add(C, "DepthwiseConv2D", dw, kg_depthwise_config(3, stride, "same", 0), in);
    if (!D || fa_weight(C, D, "depthwise_kernel:0", K))
        return -1;
    D->h = fa_out_size(I->h, 3, stride, 1), D->w = fa_out_size(I->w, 3, stride, 1), D->c = I->c;
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(cfg, "axis", 3);
    cJSON_AddNumberToObject(cfg, "momentum", 0.99);
    cJSON_AddNumberToObject(cfg, "epsilon", 0.0010000000474974513); /* mobileNetV1.ts: epsilon */
    cJSON_AddBoolToObject(cfg, "center", 1);
    cJSON_AddBoolToObject(cfg, "scale", 1);
    kg_layer *B = fa_add(C, "BatchNormalization", bn, cfg, dw);
    if (!B)
        return -1;
    for (int k = 0; k < 4; k++) {
        char wn[32];
        snprintf(wn, sizeof wn, "%s:0", part[k]);
        if (fa_weight(C, B, wn, bnw[k]))
            return -1;
    }
    B->h = D->h, B->w = D->w, B->c = D->c;
    return fa_act(C, "relu6", rl, bn);
}

/* boxPredictionLayer: two 1x1 convs, reshaped to (cells*anchors, 4) and (.., 3). */
static int box_predictor(cv *C, int i, const char *in, char box[64], char cls[64])
{
    char prefix[96], conv[64], cst[96];
    const char *kind[2] = {"BoxEncodingPredictor", "ClassPredictor"}, *tag[2] = {"box_encoding", "class"};
    const int width[2] = {4, 3};
    for (int k = 0; k < 2; k++) {
        char *out = k ? cls : box;
        snprintf(prefix, sizeof prefix, "Prediction/BoxPredictor_%d/%s", i, kind[k]);
        snprintf(conv, sizeof conv, "box_predictor_%d_%s", i, tag[k]);
        snprintf(out, 64, "box_predictor_%d_%s_reshape", i, tag[k]);
        if (fa_conv(C, conv, in, prefix, "weights", "biases", 1, "same", "linear"))
            return -1;
        kg_layer *V = fa_src(C, conv);
        if (V->c % width[k])
            return fn_fail(C->err, FN_E_SHAPE, "%s: %s has %d channels, not a multiple of %d", C->mpath, prefix,
                           V->c, width[k]);
        cJSON *cfg = cJSON_CreateObject();
        cJSON_AddItemToObject(cfg, "target_shape", cJSON_CreateIntArray((int[]){-1, width[k]}, 2));
        kg_layer *R = fa_add(C, "Reshape", out, cfg, conv);
        if (!R)
            return -1;
        R->h = V->h * V->w * V->c / width[k], R->w = width[k], R->c = -1;
    }
    /* face-api's reshape constants: rows per predictor */
    snprintf(cst, sizeof cst, "Prediction/BoxPredictor_%d/stack_1/1", i);
    return check_const(C, cst, fa_src(C, box)->h);
}

int fa_build_ssd(cv *C)
{
    char prev[64] = "conv_0", name[64];
    if (fa_input(C, 512) || relu6_conv(C, "conv_0", "input", "MobilenetV1/Conv2d_0_pointwise", 2))
        return -1;
    for (int i = 1; i <= 13; i++) {
        int stride = (i == 2 || i == 4 || i == 6 || i == 12) ? 2 : 1; /* getStridesForLayerIdx */
        char prefix[96];
        if (depthwise_bn(C, i, prev, stride))
            return -1;
        snprintf(name, sizeof name, "conv_%d", i);
        snprintf(prefix, sizeof prefix, "MobilenetV1/Conv2d_%d_pointwise", i);
        snprintf(prev, sizeof prev, "conv_%d_depthwise_relu6", i);
        if (relu6_conv(C, name, prev, prefix, 1))
            return -1;
        snprintf(prev, sizeof prev, "%s", name);
    }
    snprintf(prev, sizeof prev, "conv_13");
    for (int k = 0; k <= 7; k++) {
        char prefix[96];
        snprintf(name, sizeof name, "prediction_conv_%d", k);
        snprintf(prefix, sizeof prefix, "Prediction/Conv2d_%d_pointwise", k);
        if (relu6_conv(C, name, prev, prefix, k % 2 ? 2 : 1))
            return -1;
        snprintf(prev, sizeof prev, "%s", name);
    }
    static const char *const feeds[6] = {"conv_11", "conv_13", "prediction_conv_1", "prediction_conv_3",
                                         "prediction_conv_5", "prediction_conv_7"};
    char box[6][64], cls[6][64];
    const char *boxes[6], *classes[6];
    int rows = 0;
    for (int i = 0; i < 6; i++) {
        if (box_predictor(C, i, feeds[i], box[i], cls[i]))
            return -1;
        boxes[i] = box[i], classes[i] = cls[i];
        rows += fa_src(C, box[i])->h;
    }
    if (rows != SSD_ANCHORS)
        return fn_fail(C->err, FN_E_SHAPE, "%s: %d box rows, expected %d", C->mpath, rows, SSD_ANCHORS);
    for (int k = 0; k < 2; k++) {
        cJSON *cfg = cJSON_CreateObject();
        cJSON_AddNumberToObject(cfg, "axis", 1);
        kg_layer *L = kg_add(C->m, "Concatenate", k ? "class_predictions" : "box_encodings", cfg, 6,
                             k ? classes : boxes, C->err);
        if (!L)
            return -1;
        L->h = rows, L->w = k ? 3 : 4, L->c = -1;
    }
    /* the remaining constants: anchor total, box size, and the input scaling x*(1/127.5) - 1 */
    const fn_tfjs_tensor *mul = fn_tfjs_find(C->w, "Preprocessor/mul/x"), *sub = fn_tfjs_find(C->w, "Preprocessor/sub/y");
    if (check_const(C, "Postprocessor/stack/1", SSD_ANCHORS) || check_const(C, "Prediction/BoxPredictor_0/stack/3", 4) ||
        check_const(C, "concat_1/axis", 1) || !fa_ssd_anchors(C))
        return -1;
    if (!mul || !sub || mul->count != 1 || sub->count != 1 || fabs(mul->data[0] - 1 / 127.5) > 1e-7 ||
        sub->data[0] != 1)
        return fn_fail(C->err, FN_E_FORMAT, "%s: Preprocessor constants are not x * (1/127.5) - 1", C->mpath);
    C->used[mul - C->w->t] = C->used[sub - C->w->t] = 1;
    for (int i = 0; i < C->w->n; i++) /* the postprocessor's slice/stack indices: unused by face-api */
        if (!strcmp(C->w->t[i].dtype, "int32"))
            C->used[i] = 1;
    return kg_output(C->m, "box_encodings", C->err) || kg_output(C->m, "class_predictions", C->err);
}

const fn_tfjs_tensor *fa_ssd_anchors(cv *C)
{
    return fa_get(C, "Output/extra_dim", 3, (long long[]){1, SSD_ANCHORS, 4});
}
