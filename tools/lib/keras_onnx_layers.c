/* keras_onnx_layers.c - one function per Keras layer class: the ONNX nodes that
 * compute it, in the layouts keras_onnx.h describes.  Each writes its result to
 * k2o_out(c) and records whether that value is NCHW. */
#include <stdlib.h>
#include <string.h>

#include "../tools/lib/keras_onnx_int.h"

/* ---- activations ---- */

/* x -> out through Keras activation `act` (softmax over physical axis `axis`). */
static int activation(k2o_conv *c, const char *layer, const char *act, const char *x, int axis, const char *out)
{
    static const struct {
        const char *keras, *onnx;
    } simple[] = {{"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"softplus", "Softplus"}};
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
        if (!strcmp(act, simple[i].keras)) {
            k2o_node(c, simple[i].onnx, out, 1, &x);
            return 0;
        }
    if (!strcmp(act, "softmax")) {
        k2o_node(c, "Softmax", out, 1, &x);
        fn_onnx_attr_int(c->g, "axis", axis);
    } else if (!strcmp(act, "relu6")) {
        const char *in[3] = {x, k2o_scalar(c, layer, "min", 0.0f), k2o_scalar(c, layer, "max", 6.0f)};
        k2o_node(c, "Clip", out, 3, in);
    } else if (!strcmp(act, "elu")) {
        k2o_node(c, "Elu", out, 1, &x);
        fn_onnx_attr_float(c->g, "alpha", 1.0f);
    } else if (!strcmp(act, "selu")) { /* Keras' constants */
        k2o_node(c, "Selu", out, 1, &x);
        fn_onnx_attr_float(c->g, "alpha", 1.6732632423543772f);
        fn_onnx_attr_float(c->g, "gamma", 1.0507009873554805f);
    } else {
        return fn_fail(c->err, FN_E_UNSUPPORTED, "layer %s: activation '%s' has no ONNX conversion", layer, act);
    }
    return 0;
}

/* The layer's config activation, applied last: the op writes to the value pre_act
 * names, post_act goes from there to k2o_out(c) (without an activation they are one). */
static const char *pre_act(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg)
{
    return strcmp(k2o_cfg_str(cfg, "activation", "linear"), "linear") ? k2o_name(c, "%s/linear", L->name) : k2o_out(c);
}

static int post_act(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, const char *y, const k2o_tensor *out)
{
    const char *act = k2o_cfg_str(cfg, "activation", "linear");
    if (!strcmp(act, "linear"))
        return 0;
    return activation(c, L->name, act, y, k2o_axis(out, out->shape.rank - 1), k2o_out(c));
}

/* ---- spatial layers (Conv2D, pools, padding) ---- */

/* kernel, strides and TF padding -> pads [top, left, bottom, right], or auto_pad
 * SAME_UPPER (TF's rule: the extra row/column at the end) when the size is unknown. */
static void window_attrs(k2o_conv *c, const long long k[2], const long long s[2], int same, int h, int w)
{
    long long pads[4] = {0, 0, 0, 0};
    const int size[2] = {h, w};
    fn_onnx_attr_ints(c->g, "kernel_shape", 2, k);
    fn_onnx_attr_ints(c->g, "strides", 2, s);
    if (same && (h < 0 || w < 0)) {
        fn_onnx_attr_string(c->g, "auto_pad", "SAME_UPPER");
        return;
    }
    for (int a = 0; same && a < 2; a++) {
        long long out = (size[a] + s[a] - 1) / s[a], total = (out - 1) * s[a] + k[a] - size[a];
        total = total > 0 ? total : 0;
        pads[a] = total / 2, pads[a + 2] = total - total / 2;
    }
    fn_onnx_attr_ints(c->g, "pads", 4, pads);
}

static void hwc(const fn_shape *s, int cf, int *h, int *w, int *ch)
{
    *h = s->d[cf ? 1 : 0], *w = s->d[cf ? 2 : 1], *ch = s->d[cf ? 0 : 2];
}

static int conv2d(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, float **w, const fn_weight_info *wi)
{
    const int cf = k2o_channels_first(cfg);
    const char *in[3] = {k2o_need(c, L->inputs[0], !cf)};
    int h, wd, ch;
    hwc(&k2o_t(c, L->inputs[0])->shape, cf, &h, &wd, &ch);
    const fn_weight_info *ki = NULL;
    const float *k = k2o_weight(L, w, wi, "kernel", &ki), *b = k2o_weight(L, w, wi, "bias", NULL);
    const int kh = ki->dims[0], kw = ki->dims[1], ci = ki->dims[2], f = ki->dims[3];
    float *oihw = malloc(sizeof(float) * (size_t)kh * kw * ci * f);
    if (!oihw)
        return fn_fail(c->err, FN_E_NOMEM, "layer %s: out of memory", L->name);
    for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++) {
            /* Theano convolves: flip both spatial axes, as the engine does */
            int sy = c->theano ? kh - 1 - y : y, sx = c->theano ? kw - 1 - x : x;
            const float *src = k + ((size_t)sy * kw + sx) * ci * f;
            for (int i = 0; i < ci; i++)
                for (int o = 0; o < f; o++)
                    oihw[(((size_t)o * ci + i) * kh + y) * kw + x] = src[(size_t)i * f + o];
        }
    const long long kdims[4] = {f, ci, kh, kw}, bdims[1] = {f};
    in[1] = k2o_init(c, L, "kernel", 4, kdims, oihw);
    free(oihw);
    if (b)
        in[2] = k2o_init(c, L, "bias", 1, bdims, b);
    long long ks[2], st[2];
    k2o_cfg_pair(cfg, "kernel_size", 1, ks);
    k2o_cfg_pair(cfg, "strides", 1, st);
    k2o_tensor *t = &c->t[c->cur];
    t->nchw = !cf;
    const char *y = pre_act(c, L, cfg);
    k2o_node(c, "Conv", y, b ? 3 : 2, in);
    window_attrs(c, ks, st, !strcmp(k2o_cfg_str(cfg, "padding", "valid"), "same"), h, wd);
    return post_act(c, L, cfg, y, t);
}

static int pool2d(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, int is_max)
{
    const int cf = k2o_channels_first(cfg);
    const char *x = k2o_need(c, L->inputs[0], !cf);
    int h, w, ch;
    hwc(&k2o_t(c, L->inputs[0])->shape, cf, &h, &w, &ch);
    long long ps[2], st[2];
    k2o_cfg_pair(cfg, "pool_size", 2, ps);
    k2o_cfg_pair(cfg, "strides", 0, st);
    if (st[0] <= 0) /* strides null: the pool size */
        st[0] = ps[0], st[1] = ps[1];
    c->t[c->cur].nchw = !cf;
    k2o_node(c, is_max ? "MaxPool" : "AveragePool", k2o_out(c), 1, &x);
    window_attrs(c, ps, st, !strcmp(k2o_cfg_str(cfg, "padding", "valid"), "same"), h, w);
    if (!is_max) /* TF divides by the cells inside the image */
        fn_onnx_attr_int(c->g, "count_include_pad", 0);
    return 0;
}

static int global_pool(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, int is_max)
{
    const int cf = k2o_channels_first(cfg), keep = k2o_cfg_num(cfg, "keepdims", 0) != 0;
    const char *x = k2o_need(c, L->inputs[0], !cf), *y = keep ? k2o_out(c) : k2o_name(c, "%s/pool", L->name);
    k2o_node(c, is_max ? "GlobalMaxPool" : "GlobalAveragePool", y, 1, &x);
    c->t[c->cur].nchw = keep && !cf;
    if (!keep) { /* (N, C, 1, 1) -> (N, C) */
        k2o_node(c, "Flatten", k2o_out(c), 1, &y);
        fn_onnx_attr_int(c->g, "axis", 1);
    }
    return 0;
}

static int zeropad(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg)
{
    const int cf = k2o_channels_first(cfg);
    long long t = 1, b = 1, l = 1, r = 1;
    const cJSON *v = k2o_item(cfg, "padding"), *a0 = cJSON_GetArrayItem(v, 0), *a1 = cJSON_GetArrayItem(v, 1);
    if (cJSON_IsArray(a0) && cJSON_IsArray(a1)) {
        t = cJSON_GetArrayItem(a0, 0)->valueint, b = cJSON_GetArrayItem(a0, 1)->valueint;
        l = cJSON_GetArrayItem(a1, 0)->valueint, r = cJSON_GetArrayItem(a1, 1)->valueint;
    } else {
        long long hw[2];
        k2o_cfg_pair(cfg, "padding", 1, hw);
        t = b = hw[0], l = r = hw[1];
    }
    const long long pads[8] = {0, 0, t, l, 0, 0, b, r};
    const char *in[2] = {k2o_need(c, L->inputs[0], !cf), k2o_name(c, "const:%s:pads", L->name)};
    fn_onnx_initializer_i64(c->g, in[1], 8, pads);
    c->t[c->cur].nchw = !cf;
    k2o_node(c, "Pad", k2o_out(c), 2, in);
    return 0;
}

/* ---- the other layers ---- */

static int batchnorm(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, float **w, const fn_weight_info *wi)
{
    const int rank = k2o_t(c, L->inputs[0])->shape.rank;
    int axis = (int)k2o_cfg_num(cfg, "axis", -1);
    axis = axis < 0 ? rank + axis : axis - 1;
    const fn_weight_info *mi = NULL;
    const float *mean = k2o_weight(L, w, wi, "moving_mean", &mi), *var = k2o_weight(L, w, wi, "moving_variance", NULL);
    const float *gamma = k2o_weight(L, w, wi, "gamma", NULL), *beta = k2o_weight(L, w, wi, "beta", NULL);
    const int ch = mi->dims[0];
    const long long dims[1] = {ch};
    const char *in[5];
    in[0] = k2o_need(c, L->inputs[0], rank == 3 && axis == 2);
    k2o_tensor *t = &c->t[c->cur];
    t->nchw = rank == 3 && axis == 2;
    for (int k = 0; k < 2; k++) { /* scale=False / center=False: ones / zeros */
        const float *have = k ? beta : gamma;
        const char *what = k ? "beta" : "gamma";
        if (have) {
            in[1 + k] = k2o_init(c, L, what, 1, dims, have);
            continue;
        }
        float *fill = malloc(sizeof(float) * (size_t)ch);
        if (!fill)
            return fn_fail(c->err, FN_E_NOMEM, "layer %s: out of memory", L->name);
        for (int i = 0; i < ch; i++)
            fill[i] = k ? 0.0f : 1.0f;
        in[1 + k] = k2o_name(c, "const:%s:%s", L->name, what);
        fn_onnx_initializer(c->g, in[1 + k], 1, dims, fill);
        free(fill);
    }
    in[3] = k2o_init(c, L, "moving_mean", 1, dims, mean);
    in[4] = k2o_init(c, L, "moving_variance", 1, dims, var);
    const int p = k2o_axis(t, axis);
    long long perm[FN_MAX_RANK + 1], inv[FN_MAX_RANK + 1];
    if (p != 1) { /* ONNX normalises axis 1: move the channel axis there and back */
        perm[0] = 0, perm[1] = p;
        for (int d = 1, k = 2; d <= rank; d++)
            if (d != p)
                perm[k++] = d;
        for (int d = 0; d <= rank; d++)
            inv[perm[d]] = d;
        const char *moved = k2o_name(c, "%s/axis1", L->name);
        k2o_node(c, "Transpose", moved, 1, in);
        fn_onnx_attr_ints(c->g, "perm", rank + 1, perm);
        in[0] = moved;
    }
    const char *y = p != 1 ? k2o_name(c, "%s/bn", L->name) : k2o_out(c);
    k2o_node(c, "BatchNormalization", y, 5, in);
    fn_onnx_attr_float(c->g, "epsilon", (float)k2o_cfg_num(cfg, "epsilon", 1e-3));
    if (p != 1) {
        k2o_node(c, "Transpose", k2o_out(c), 1, &y);
        fn_onnx_attr_ints(c->g, "perm", rank + 1, inv);
    }
    return 0;
}

static int dense(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg, float **w, const fn_weight_info *wi)
{
    const fn_weight_info *ki = NULL;
    const float *k = k2o_weight(L, w, wi, "kernel", &ki), *b = k2o_weight(L, w, wi, "bias", NULL);
    const long long kdims[2] = {ki->dims[0], ki->dims[1]}, bdims[1] = {ki->dims[1]};
    const char *in[3] = {k2o_need(c, L->inputs[0], 0), k2o_init(c, L, "kernel", 2, kdims, k)};
    if (b)
        in[2] = k2o_init(c, L, "bias", 1, bdims, b);
    const char *y = pre_act(c, L, cfg);
    if (k2o_t(c, L->inputs[0])->shape.rank == 1) {
        k2o_node(c, "Gemm", y, b ? 3 : 2, in);
    } else { /* Dense on the innermost axis of a rank > 1 k2o_tensor */
        const char *mm = b ? k2o_name(c, "%s/matmul", L->name) : y;
        k2o_node(c, "MatMul", mm, 2, in);
        if (b) {
            const char *add[2] = {mm, in[2]};
            k2o_node(c, "Add", y, 2, add);
        }
    }
    return post_act(c, L, cfg, y, &c->t[c->cur]);
}

static int flatten(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg)
{
    const k2o_tensor *s = k2o_t(c, L->inputs[0]);
    const int rank = s->shape.rank;
    const char *x = k2o_need(c, L->inputs[0], 0);
    if (k2o_channels_first(cfg) && rank >= 2) { /* Keras moves channels last first */
        long long perm[FN_MAX_RANK + 1] = {0};
        for (int d = 1; d < rank; d++)
            perm[d] = d + 1;
        perm[rank] = 1;
        const char *moved = k2o_name(c, "%s/channels_last", L->name);
        k2o_node(c, "Transpose", moved, 1, &x);
        fn_onnx_attr_ints(c->g, "perm", rank + 1, perm);
        x = moved;
    }
    k2o_node(c, "Flatten", k2o_out(c), 1, &x);
    fn_onnx_attr_int(c->g, "axis", 1);
    return 0;
}

/* Add (n inputs), scale-sum a + scale * b: all inputs in the order of the first. */
static int sum(k2o_conv *c, const fn_layer_info *L, double scale)
{
    const int order = k2o_t(c, L->inputs[0])->nchw;
    const char *in[64]; /* the engine allows 64 inputs per layer */
    if (L->n_inputs > (int)(sizeof in / sizeof *in))
        return fn_fail(c->err, FN_E_UNSUPPORTED, "layer %s: too many inputs", L->name);
    for (int i = 0; i < L->n_inputs; i++)
        in[i] = k2o_need(c, L->inputs[i], order);
    c->t[c->cur].nchw = order;
    if (scale != 1.0) {
        const char *mul[2] = {in[1], k2o_scalar(c, L->name, "scale", (float)scale)};
        in[1] = k2o_name(c, "%s/scaled", L->name);
        k2o_node(c, "Mul", in[1], 2, mul);
    }
    k2o_node(c, L->n_inputs == 2 ? "Add" : "Sum", k2o_out(c), L->n_inputs, in);
    return 0;
}

static int concat(k2o_conv *c, const fn_layer_info *L, const cJSON *cfg)
{
    const char *in[64];
    const int rank = k2o_t(c, L->inputs[0])->shape.rank;
    int order = 0, axis = (int)k2o_cfg_num(cfg, "axis", -1);
    axis = axis < 0 ? rank + axis : axis - 1;
    if (L->n_inputs > 64)
        return fn_fail(c->err, FN_E_UNSUPPORTED, "layer %s: too many inputs", L->name);
    for (int i = 0; i < L->n_inputs; i++)
        order |= k2o_t(c, L->inputs[i])->nchw;
    for (int i = 0; i < L->n_inputs; i++)
        in[i] = k2o_need(c, L->inputs[i], order);
    c->t[c->cur].nchw = order;
    k2o_node(c, "Concat", k2o_out(c), L->n_inputs, in);
    fn_onnx_attr_int(c->g, "axis", k2o_axis(&c->t[c->cur], axis));
    return 0;
}

static int prelu(k2o_conv *c, const fn_layer_info *L, float **w, const fn_weight_info *wi)
{
    const fn_weight_info *ai = NULL;
    const float *alpha = k2o_weight(L, w, wi, "alpha", &ai);
    k2o_tensor *t = &c->t[c->cur];
    t->nchw = k2o_t(c, L->inputs[0])->nchw;
    long long dims[FN_MAX_RANK];
    for (int d = 0; d < ai->rank; d++)
        dims[d] = ai->dims[d];
    const char *in[2] = {k2o_t(c, L->inputs[0])->name};
    if (t->nchw) { /* alpha (h, w, c) -> (c, h, w), like the k2o_tensor */
        const int h = ai->dims[0], wd = ai->dims[1], ch = ai->dims[2];
        float *p = malloc(sizeof(float) * (size_t)h * wd * ch);
        if (!p)
            return fn_fail(c->err, FN_E_NOMEM, "layer %s: out of memory", L->name);
        for (int i = 0; i < h * wd; i++)
            for (int k = 0; k < ch; k++)
                p[(size_t)k * h * wd + i] = alpha[(size_t)i * ch + k];
        dims[0] = ch, dims[1] = h, dims[2] = wd;
        in[1] = k2o_init(c, L, "alpha", 3, dims, p);
        free(p);
    } else {
        in[1] = k2o_init(c, L, "alpha", ai->rank, dims, alpha);
    }
    k2o_node(c, "PRelu", k2o_out(c), 2, in);
    return 0;
}

/* x / sqrt(max(sum x^2, 1e-12)) over the last Keras axis */
static int l2_normalize(k2o_conv *c, const fn_layer_info *L)
{
    k2o_tensor *s = k2o_t(c, L->inputs[0]);
    const char *x = s->name, *ss = k2o_name(c, "%s/sumsq", L->name), *mx = k2o_name(c, "%s/max", L->name);
    const char *norm = k2o_name(c, "%s/norm", L->name);
    const long long axes[1] = {k2o_axis(s, s->shape.rank - 1)};
    c->t[c->cur].nchw = s->nchw;
    k2o_node(c, "ReduceSumSquare", ss, 1, &x);
    fn_onnx_attr_ints(c->g, "axes", 1, axes);
    fn_onnx_attr_int(c->g, "keepdims", 1);
    const char *m[2] = {ss, k2o_scalar(c, L->name, "eps", 1e-12f)}, *d[2] = {x, norm};
    k2o_node(c, "Max", mx, 2, m);
    k2o_node(c, "Sqrt", norm, 1, &mx);
    k2o_node(c, "Div", k2o_out(c), 2, d);
    return 0;
}

int k2o_layer(k2o_conv *c, int i, const fn_layer_info *L, const cJSON *cfg, float **w, const fn_weight_info *wi)
{
    const char *op = L->op, *cls = L->class_name;
    k2o_tensor *t = &c->t[i];
    /* an output layer's value is renamed to the layer by a last Transpose/Identity */
    int is_output = 0;
    for (int k = 0; k < fn_net_n_outputs(c->net); k++)
        is_output |= fn_net_output_layer(c->net, k) == i;
    t->name = is_output ? k2o_name(c, "%s/value", L->name) : L->name;
    t->shape = L->out_shape;
    if (!strcmp(op, "InputLayer")) {
        long long dims[FN_MAX_RANK + 1];
        const char *sym[FN_MAX_RANK + 1];
        t->name = L->name;
        k2o_io_dims(c, &L->out_shape, L->name, dims, sym);
        fn_onnx_input(c->g, L->name, L->out_shape.rank + 1, dims, sym);
        return 0;
    }
    const k2o_tensor *in0 = k2o_t(c, L->inputs[0]);
    const char *act = !strcmp(op, "ReLU") ? (k2o_cfg_num(cfg, "max_value", -1) == 6 ? "relu6" : "relu")
                      : !strcmp(op, "Softmax") ? "softmax" : k2o_cfg_str(cfg, "activation", "linear");
    int identity = strstr(op, "Dropout") || !strcmp(op, "GaussianNoise") ||
                   (!strcmp(op, "Activation") && !strcmp(act, "linear")) ||
                   (!strcmp(op, "Flatten") && in0->shape.rank == 1);
    if (identity) {
        c->alias[i] = c->alias[L->inputs[0]];
        return 0;
    }
    if (!strcmp(op, "Activation") || !strcmp(op, "ReLU") || !strcmp(op, "Softmax")) {
        t->nchw = in0->nchw;
        return activation(c, L->name, act, in0->name, k2o_axis(in0, in0->shape.rank - 1), k2o_out(c));
    }
    if (!strcmp(op, "Conv2D") || !strcmp(op, "Convolution2D"))
        return conv2d(c, L, cfg, w, wi);
    if (!strcmp(op, "BatchNormalization"))
        return batchnorm(c, L, cfg, w, wi);
    if (!strcmp(op, "Dense"))
        return dense(c, L, cfg, w, wi);
    if (!strcmp(op, "MaxPooling2D") || !strcmp(op, "MaxPool2D"))
        return pool2d(c, L, cfg, 1);
    if (!strcmp(op, "AveragePooling2D") || !strcmp(op, "AvgPool2D"))
        return pool2d(c, L, cfg, 0);
    if (!strcmp(op, "GlobalAveragePooling2D") || !strcmp(op, "GlobalMaxPooling2D"))
        return global_pool(c, L, cfg, op[6] == 'M');
    if (!strcmp(op, "ZeroPadding2D"))
        return zeropad(c, L, cfg);
    if (!strcmp(op, "Flatten"))
        return flatten(c, L, cfg);
    if (!strcmp(op, "Add"))
        return sum(c, L, 1.0);
    if (!strcmp(op, "Lambda:scale_sum"))
        return sum(c, L, k2o_cfg_num(cfg, "scale", 1.0));
    if (!strcmp(op, "Concatenate"))
        return concat(c, L, cfg);
    if (!strcmp(op, "PReLU"))
        return prelu(c, L, w, wi);
    if (!strcmp(op, "Lambda:l2_normalize"))
        return l2_normalize(c, L);
    return fn_fail(c->err, FN_E_UNSUPPORTED, "layer %s (%s, op %s): no ONNX conversion", L->name, cls, op);
}