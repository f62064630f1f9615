/* keras_onnx.c - the converter's driver: load the model through the engine and src/io,
 * walk the layers in execution order (keras_onnx_layers.c emits each), keep track of
 * value names and layouts, name the graph's inputs and outputs, write the file.
 *
 * Configs are read leniently: the engine has already parsed and checked the same
 * config (fn_net_load fails on anything malformed), so a value is known to be valid by
 * the time a layer is converted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/lib/keras_onnx_int.h"
#include "core/file.h"

/* ---- names, layouts, helpers shared with keras_onnx_layers.c ---- */

const char *k2o_name(k2o_conv *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (c->n_names == c->cap_names) {
        size_t cap = c->cap_names ? 2 * c->cap_names : 256;
        char **p = realloc(c->names, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return "?";
        }
        c->names = p, c->cap_names = cap;
    }
    char *s = strdup(buf);
    if (!s) {
        c->oom = 1;
        return "?";
    }
    return c->names[c->n_names++] = s;
}

k2o_tensor *k2o_t(k2o_conv *c, int layer)
{
    return &c->t[c->alias[layer]];
}

const char *k2o_out(k2o_conv *c)
{
    return c->t[c->cur].name;
}

const cJSON *k2o_item(const cJSON *cfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

const char *k2o_cfg_str(const cJSON *cfg, const char *key, const char *def)
{
    const cJSON *v = k2o_item(cfg, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

double k2o_cfg_num(const cJSON *cfg, const char *key, double def)
{
    const cJSON *v = k2o_item(cfg, key);
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1)
        v = cJSON_GetArrayItem(v, 0);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* n or [a, b] */
void k2o_cfg_pair(const cJSON *cfg, const char *key, int def, long long out[2])
{
    const cJSON *v = k2o_item(cfg, key);
    out[0] = out[1] = def;
    if (cJSON_IsNumber(v))
        out[0] = out[1] = v->valueint;
    else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2)
        out[0] = cJSON_GetArrayItem(v, 0)->valueint, out[1] = cJSON_GetArrayItem(v, 1)->valueint;
}

int k2o_channels_first(const cJSON *cfg)
{
    return !strcmp(k2o_cfg_str(cfg, "data_format", "channels_last"), "channels_first");
}

/* Physical axis (batch = 0) of per-sample Keras axis a of t. */
int k2o_axis(const k2o_tensor *t, int a)
{
    if (t->nchw)
        return a == 2 ? 1 : a + 2;
    return a + 1;
}

/* Layer i's value in the wanted order (nchw only for rank-3 tensors). */
const char *k2o_need(k2o_conv *c, int i, int want_nchw)
{
    k2o_tensor *t = k2o_t(c, i);
    if (t->nchw == want_nchw || t->shape.rank != 3)
        return t->name;
    if (!t->other) {
        static const long long to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};
        t->other = k2o_name(c, "%s/%s", t->name, want_nchw ? "nchw" : "nhwc");
        fn_onnx_node(c->g, "Transpose", t->other, 1, &t->name, 1, &t->other);
        fn_onnx_attr_ints(c->g, "perm", 4, want_nchw ? to_nchw : to_nhwc);
        c->transposes++;
    }
    return t->other;
}

void k2o_node(k2o_conv *c, const char *op, const char *out, int n_in, const char *const *in)
{
    fn_onnx_node(c->g, op, out, n_in, in, 1, &out);
}

const char *k2o_scalar(k2o_conv *c, const char *layer, const char *what, float v)
{
    const char *n = k2o_name(c, "const:%s:%s", layer, what);
    fn_onnx_initializer(c->g, n, 0, NULL, &v);
    return n;
}

/* Read the declared weights of layer i (engine order) into w[k] (malloc'd). */
static int read_weights(k2o_conv *c, int i, const fn_layer_info *L, float **w, fn_weight_info *wi)
{
    const fn_kw_array *a;
    int n;
    if (fn_kw_layer(c->kw, L->name, &a, &n, c->err))
        return fn_wrap(c->err, "layer %s: ", L->name);
    for (int k = 0; k < L->n_weights; k++) {
        fn_net_weight_info(c->net, i, k, &wi[k]);
        int j = 0;
        while (j < n && strcmp(a[j].var, wi[k].name))
            j++;
        int rank;
        long long dims[FN_KW_MAX_RANK];
        if (j == n)
            return fn_fail(c->err, FN_E_FORMAT, "layer %s: weight %s is missing", L->name, wi[k].name);
        if (fn_kw_dims(c->kw, j, &rank, dims, c->err))
            return -1;
        size_t count = 1;
        for (int d = 0; d < wi[k].rank; d++)
            count *= (size_t)wi[k].dims[d];
        w[k] = malloc(sizeof(float) * count);
        if (!w[k])
            return fn_fail(c->err, FN_E_NOMEM, "layer %s: out of memory", L->name);
        if (fn_kw_read(c->kw, j, w[k], count, c->err))
            return -1;
        c->keras_values += count;
    }
    return 0;
}

const float *k2o_weight(const fn_layer_info *L, float **w, const fn_weight_info *wi, const char *name,
                           const fn_weight_info **info)
{
    for (int k = 0; k < L->n_weights; k++)
        if (!strcmp(wi[k].name, name)) {
            if (info)
                *info = &wi[k];
            return w[k];
        }
    return NULL;
}

const char *k2o_init(k2o_conv *c, const fn_layer_info *L, const char *var, int rank, const long long *dims,
                        const float *data)
{
    const char *n = k2o_name(c, "%s/%s", L->name, var);
    fn_onnx_initializer(c->g, n, rank, dims, data);
    return n;
}

void k2o_io_dims(k2o_conv *c, const fn_shape *s, const char *prefix, long long *dims, const char **sym)
{
    dims[0] = c->batch > 0 ? c->batch : -1;
    sym[0] = "N";
    for (int d = 0; d < s->rank; d++) {
        dims[d + 1] = s->d[d];
        sym[d + 1] = s->d[d] < 0 ? k2o_name(c, "%s_d%d", prefix, d + 1) : NULL;
    }
}

static int find_keras_layer(k2o_conv *c, const char *name, const char *src)
{
    for (int k = 0; k < c->km.n_layers; k++)
        if (!strcmp(c->km.layers[k].name, name)) {
            if (!strcmp(c->km.layers[k].class_name, "Lambda") &&
                fn_keras_describe_lambda(&c->km, k, src, c->err))
                return -1;
            return k;
        }
    return fn_fail(c->err, FN_E_NOTFOUND, "%s: layer %s is not in the config", src, name);
}

static int convert(k2o_conv *c, const fn_k2o_opts *o, const char *out_path)
{
    const char *src = o->model_json ? o->model_json : o->weights;
    char *json = NULL;
    size_t len;
    fn_load_opts lo = {.model_json = o->model_json, .weights = o->weights, .no_fuse = 1};
    if (fn_net_load(&lo, &c->net, c->err))
        return -1;
    int rc = o->model_json ? fn_read_file(o->model_json, (size_t)256 << 20, &json, &len, c->err)
                           : fn_keras_h5_config(o->weights, &json, c->err);
    if (rc || fn_keras_parse(json, strlen(json), NULL, src, &c->km, c->err) || fn_kw_open(o->weights, &c->kw, c->err)) {
        free(json);
        return -1;
    }
    free(json);
    const char *backend = fn_kw_backend(c->kw);
    c->theano = backend && !strcmp(backend, "theano");
    const int n = fn_net_n_layers(c->net);
    c->t = calloc((size_t)n, sizeof *c->t);
    c->alias = calloc((size_t)n, sizeof *c->alias);
    c->g = fn_onnx_create("facenet-c");
    if (!c->t || !c->alias || !c->g)
        return fn_fail(c->err, FN_E_NOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        fn_layer_info L;
        fn_weight_info wi[8];
        float *w[8] = {0};
        fn_net_layer_info(c->net, i, &L);
        c->alias[i] = i, c->cur = i;
        int k = find_keras_layer(c, L.name, src);
        if (L.n_weights > 8)
            rc = fn_fail(c->err, FN_E_UNSUPPORTED, "layer %s: too many weights", L.name);
        else if (k < 0 || (L.n_weights && read_weights(c, i, &L, w, wi)))
            rc = -1;
        else
            rc = k2o_layer(c, i, &L, c->km.layers[k].config, w, wi);
        for (int j = 0; j < 8; j++)
            free(w[j]);
    }
    /* graph outputs carry the Keras layer names, in Keras' order */
    for (int i = 0; !rc && i < fn_net_n_outputs(c->net); i++) {
        int li = fn_net_output_layer(c->net, i);
        fn_layer_info L;
        fn_net_layer_info(c->net, li, &L);
        const k2o_tensor *t = k2o_t(c, li);
        long long dims[FN_MAX_RANK + 1];
        const char *sym[FN_MAX_RANK + 1];
        static const long long to_nhwc[4] = {0, 2, 3, 1};
        k2o_io_dims(c, &t->shape, L.name, dims, sym);
        k2o_node(c, t->nchw ? "Transpose" : "Identity", L.name, 1, &t->name);
        c->transposes += t->nchw;
        if (t->nchw)
            fn_onnx_attr_ints(c->g, "perm", 4, to_nhwc);
        fn_onnx_output(c->g, L.name, t->shape.rank + 1, dims, sym);
    }
    if (!rc && c->keras_values != fn_net_param_count(c->net))
        rc = fn_fail(c->err, FN_E_FORMAT, "%s: converted %zu weight values, the engine declares %zu", src,
                     c->keras_values, fn_net_param_count(c->net));
    if (!rc && c->oom)
        rc = fn_fail(c->err, FN_E_NOMEM, "out of memory");
    return rc ? rc : fn_onnx_write(c->g, out_path, FN_K2O_OPSET, c->err);
}

int fn_keras_to_onnx(const fn_k2o_opts *o, const char *out_path, fn_k2o_result *res, fn_err *err)
{
    k2o_conv c = {.batch = o->batch, .err = err};
    int rc = convert(&c, o, out_path);
    if (!rc && res) {
        *res = (fn_k2o_result){.n = fn_onnx_get_counts(c.g), .keras_values = c.keras_values,
                               .engine_params = fn_net_param_count(c.net), .transposes = c.transposes,
                               .n_layers = fn_net_n_layers(c.net)};
    }
    for (size_t i = 0; i < c.n_names; i++)
        free(c.names[i]);
    free(c.names);
    free(c.t);
    free(c.alias);
    fn_onnx_free(c.g);
    if (c.kw)
        fn_kw_close(c.kw);
    if (c.km.doc || c.km.layers)
        fn_keras_model_free(&c.km);
    fn_net_free(c.net);
    return rc;
}
