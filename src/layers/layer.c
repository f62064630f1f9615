/* layer.c - helpers shared by the op files: shapes, config readers, activations. */
#include "layers/layer.h"
#include "layers/ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int fn_shape_equal(const fn_shape *a, const fn_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

size_t fn_shape_count(const fn_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i] < 0 || fn_mul_size(n, (size_t)s->d[i], &n))
            return 0;
    }
    return n;
}

void fn_shape_str(const fn_shape *s, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->rank && used < cap; i++) {
        int k = s->d[i] < 0 ? snprintf(buf + used, cap - used, "%s?", i ? "x" : "")
                            : snprintf(buf + used, cap - used, "%s%d", i ? "x" : "", s->d[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (s->rank == 0)
        snprintf(buf, cap, "scalar");
}

fn_weight *fn_layer_weight(fn_layer *L, const char *name)
{
    for (int i = 0; i < L->n_w; i++)
        if (!strcmp(L->w[i].name, name))
            return &L->w[i];
    return NULL;
}

const fn_weight *fn_layer_weight_c(const fn_layer *L, const char *name)
{
    return fn_layer_weight((fn_layer *)L, name);
}

int fn_layer_declare(fn_layer *L, const char *name, int rank, const int *dims, int optional,
                     fn_err *err)
{
    fn_weight *w = fn_layer_weight(L, name);
    if (!w) {
        if (L->n_w >= FN_MAX_WEIGHTS)
            return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: too many weights", L->name);
        w = &L->w[L->n_w++];
        snprintf(w->name, sizeof w->name, "%s", name);
    }
    w->shape.rank = rank;
    for (int i = 0; i < rank; i++) {
        if (dims[i] <= 0)
            return fn_fail(err, FN_E_SHAPE, "layer %s: weight %s would have dimension %d", L->name,
                           name, dims[i]);
        w->shape.d[i] = dims[i];
    }
    w->optional = optional;
    return 0;
}

static const struct {
    const char *name;
    fn_act act;
} act_names[] = {
    {"linear", FN_ACT_LINEAR}, {"relu", FN_ACT_RELU},       {"sigmoid", FN_ACT_SIGMOID},
    {"tanh", FN_ACT_TANH},     {"softmax", FN_ACT_SOFTMAX}, {"relu6", FN_ACT_RELU6},
    {"elu", FN_ACT_ELU},       {"selu", FN_ACT_SELU},       {"softplus", FN_ACT_SOFTPLUS},
};

int fn_parse_act(const fn_layer *L, const char *name, fn_act *act, fn_err *err)
{
    if (!name) {
        *act = FN_ACT_LINEAR;
        return 0;
    }
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (!strcmp(act_names[i].name, name)) {
            *act = act_names[i].act;
            return 0;
        }
    }
    return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: activation '%s' is not supported", L->name, name);
}

int fn_cfg_act(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    const char *name;
    return fn_cfg_string(L, cfg, "activation", "linear", &name, err) ? -1 : fn_parse_act(L, name, &L->act, err);
}

int fn_json_int(const cJSON *v, int lo, int hi, int *out)
{
    /* range-check the double before converting: out-of-range casts are undefined */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

int fn_cfg_int(const fn_layer *L, const cJSON *cfg, const char *key, int def, int *out, fn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (fn_json_int(v, -1000000000, 1000000000, out))
        return fn_fail(err, FN_E_FORMAT, "layer %s: config '%s' must be an integer", L->name, key);
    return 0;
}

int fn_cfg_bool(const fn_layer *L, const cJSON *cfg, const char *key, int def, int *out, fn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return fn_fail(err, FN_E_FORMAT, "layer %s: config '%s' must be true or false", L->name, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int fn_cfg_num(const fn_layer *L, const cJSON *cfg, const char *key, double def, double *out,
               fn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return fn_fail(err, FN_E_FORMAT, "layer %s: config '%s' must be a number", L->name, key);
    *out = v->valuedouble;
    return 0;
}

const char *fn_cfg_str(const cJSON *cfg, const char *key, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : def;
}

int fn_cfg_string(const fn_layer *L, const cJSON *cfg, const char *key, const char *def, const char **out,
                  fn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: config '%s' must be a string (%s is not supported)",
                       L->name, key, cJSON_IsObject(v) ? "an object" : "this value");
    *out = v->valuestring;
    return 0;
}

int fn_cfg_pair(const fn_layer *L, const cJSON *cfg, const char *key, int def, int out[2], fn_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!v || cJSON_IsNull(v)) {
        out[0] = out[1] = def;
        return 0;
    }
    int ok = cJSON_IsNumber(v) ? !fn_json_int(v, 0, 1000000, &out[0]) && (out[1] = out[0], 1)
                               : cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
                                     !fn_json_int(cJSON_GetArrayItem(v, 0), 0, 1000000, &out[0]) &&
                                     !fn_json_int(cJSON_GetArrayItem(v, 1), 0, 1000000, &out[1]);
    if (!ok)
        return fn_fail(err, FN_E_FORMAT, "layer %s: config '%s' must be an integer or a pair of integers in [0, 1000000]",
                       L->name, key);
    return 0;
}

int fn_cfg_data_format(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    const char *df;
    if (fn_cfg_string(L, cfg, "data_format", "channels_last", &df, err))
        return -1;
    if (strcmp(df, "channels_last") && strcmp(df, "channels_first"))
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: data_format '%s' is not supported", L->name, df);
    L->data_format = strdup(df);
    if (!L->data_format)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    return 0;
}

int fn_layer_channels_first(const fn_layer *L)
{
    return L->data_format && !strcmp(L->data_format, "channels_first");
}

static void softmax_row(float *p, int n)
{
    float m = p[0];
    for (int i = 1; i < n; i++)
        m = p[i] > m ? p[i] : m;
    double s = 0;
    for (int i = 0; i < n; i++) {
        p[i] = expf(p[i] - m);
        s += p[i];
    }
    for (int i = 0; i < n; i++)
        p[i] = (float)(p[i] / s);
}

void fn_apply_act(fn_act act, const fn_act_args *args, float *p, size_t rows, int cols, int ld)
{
    static const fn_act_args none = {0.0f, INFINITY, 0.0f};
    const fn_act_args *a = args ? args : &none;
    if (act == FN_ACT_LINEAR)
        return;
    for (size_t r = 0; r < rows; r++) {
        float *x = p + r * (size_t)ld;
        switch (act) {
        case FN_ACT_RELU:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : 0;
            break;
        case FN_ACT_RELU6:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] < 0 ? 0 : (x[i] > 6 ? 6 : x[i]);
            break;
        case FN_ACT_SIGMOID:
            for (int i = 0; i < cols; i++)
                x[i] = 1.0f / (1.0f + expf(-x[i]));
            break;
        case FN_ACT_TANH:
            for (int i = 0; i < cols; i++)
                x[i] = tanhf(x[i]);
            break;
        case FN_ACT_ELU:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : expm1f(x[i]);
            break;
        case FN_ACT_SELU:
            for (int i = 0; i < cols; i++)
                x[i] = 1.0507009873554805f * (x[i] > 0 ? x[i] : 1.6732632423543772f * expm1f(x[i]));
            break;
        case FN_ACT_SOFTPLUS:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 20 ? x[i] : log1pf(expf(x[i]));
            break;
        case FN_ACT_SOFTMAX:
            softmax_row(x, cols);
            break;
        case FN_ACT_LEAKY:
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > 0 ? x[i] : a->slope * x[i];
            break;
        case FN_ACT_RELU_ARGS:
            /* Keras' backend relu: x * (x > threshold), clipped to max_value, minus
             * slope * relu(threshold - x); with threshold >= 0 that is this. */
            for (int i = 0; i < cols; i++)
                x[i] = x[i] > a->threshold ? (x[i] < a->max_value ? x[i] : a->max_value)
                                           : a->slope * (x[i] - a->threshold);
            break;
        case FN_ACT_LINEAR:
            break;
        }
    }
}

void fn_layer_act(const fn_layer *L, float *p, size_t rows, int cols, int ld)
{
    fn_apply_act(L->act, &L->act_args, p, rows, cols, ld);
}

void fn_layer_hwc(const fn_layer *L, const fn_shape *s, int *h, int *w, int *c)
{
    if (fn_layer_channels_first(L))
        *c = s->d[0], *h = s->d[1], *w = s->d[2];
    else
        *h = s->d[0], *w = s->d[1], *c = s->d[2];
}

fn_shape fn_layer_image(const fn_layer *L, int h, int w, int c)
{
    fn_shape s = {3, {h, w, c, 0}};
    if (fn_layer_channels_first(L))
        s.d[0] = c, s.d[1] = h, s.d[2] = w;
    return s;
}
