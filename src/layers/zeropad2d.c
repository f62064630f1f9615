/* zeropad2d.c - Keras ZeroPadding2D: padding given as n, [h, w] or [[top, bottom],
 * [left, right]], either data format. */
#include <stdlib.h>
#include <string.h>

#include "layers/ops.h"

typedef struct {
    int t, b, l, r;
} pad_params;

static int pad_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    pad_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    if (fn_cfg_data_format(L, cfg, err))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "padding");
    const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
    int ok;
    if (cJSON_IsArray(a) || cJSON_IsArray(b)) /* [[top, bottom], [left, right]] */
        ok = cJSON_GetArraySize(v) == 2 && cJSON_GetArraySize(a) == 2 && cJSON_GetArraySize(b) == 2 &&
             !fn_json_int(cJSON_GetArrayItem(a, 0), 0, 1000000, &p->t) &&
             !fn_json_int(cJSON_GetArrayItem(a, 1), 0, 1000000, &p->b) &&
             !fn_json_int(cJSON_GetArrayItem(b, 0), 0, 1000000, &p->l) &&
             !fn_json_int(cJSON_GetArrayItem(b, 1), 0, 1000000, &p->r);
    else {
        int hw[2];
        fn_err ignore;
        ok = !fn_cfg_pair(L, cfg, "padding", 1, hw, &ignore);
        p->t = p->b = hw[0];
        p->l = p->r = hw[1];
    }
    if (!ok)
        return fn_fail(err, FN_E_FORMAT,
                       "layer %s: config 'padding' must be n, [h, w] or [[top, bottom], [left, right]] "
                       "with integers in [0, 1000000]", L->name);
    L->flags = fn_layer_channels_first(L) ? 0 : FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int pad_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const pad_params *p = L->priv;
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: ZeroPadding2D needs one input of rank 3", L->name);
    int h, w, c;
    fn_layer_hwc(L, in, &h, &w, &c);
    long long oh = (long long)h + p->t + p->b, ow = (long long)w + p->l + p->r;
    if (oh > 0x7fffffff || ow > 0x7fffffff)
        return fn_fail(err, FN_E_SHAPE, "layer %s: padded size is too large", L->name);
    *out = fn_layer_image(L, h < 0 ? -1 : (int)oh, w < 0 ? -1 : (int)ow, c);
    return 0;
}

static void pad_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                        fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const pad_params *p = L->priv;
    int h, w, c;
    fn_layer_hwc(L, &in_shape[0], &h, &w, &c);
    const int oh = h + p->t + p->b, ow = w + p->l + p->r;
    if (fn_layer_channels_first(L)) {
        for (int n = 0; n < ctx->n; n++)
            for (int ch = 0; ch < c; ch++) {
                float *o = out.p + ((size_t)n * c + ch) * oh * ow;
                const float *x = in[0].p + ((size_t)n * c + ch) * h * w;
                memset(o, 0, sizeof(float) * (size_t)oh * ow);
                for (int y = 0; y < h; y++)
                    memcpy(o + (size_t)(y + p->t) * ow + p->l, x + (size_t)y * w, sizeof(float) * (size_t)w);
            }
        return;
    }
    for (int n = 0; n < ctx->n; n++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float *o = out.p + (((size_t)n * oh + y) * ow + x) * out.ld;
                int sy = y - p->t, sx = x - p->l;
                if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                    memset(o, 0, sizeof(float) * (size_t)c);
                else
                    memcpy(o, in[0].p + (((size_t)n * h + sy) * w + sx) * in[0].ld, sizeof(float) * (size_t)c);
            }
}

static void pad_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_zeropad2d = {.class_name = "ZeroPadding2D", .parse = pad_parse, .infer = pad_infer,
                               .forward = pad_forward, .destroy = pad_destroy};
