/* keras_graph.c - a Keras Functional model built in memory, written as model.json +
 * model.h5 (see keras_graph.h). */
#include "keras_graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras_h5w.h"

struct kg_model {
    char name[KG_NAME];
    kg_layer *L;
    int n, cap;
    char out[KG_MAX_IN][KG_NAME];
    int n_out;
};

kg_model *kg_new(const char *name)
{
    kg_model *m = calloc(1, sizeof *m);
    if (m)
        snprintf(m->name, sizeof m->name, "%s", name);
    return m;
}

void kg_free(kg_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        cJSON_Delete(m->L[i].cfg);
        for (int k = 0; k < m->L[i].n_w; k++)
            free(m->L[i].wdata[k]);
    }
    free(m->L);
    free(m);
}

kg_layer *kg_find(kg_model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->L[i].name, name))
            return &m->L[i];
    return NULL;
}

kg_layer *kg_add(kg_model *m, const char *cls, const char *name, cJSON *cfg, int n_in, const char *const *in,
                 fn_err *err)
{
    if (!cfg) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        return NULL;
    }
    if (n_in > KG_MAX_IN || strlen(name) >= KG_NAME || kg_find(m, name)) {
        cJSON_Delete(cfg);
        fn_fail(err, FN_E_ARG, "internal: layer %s: bad name or too many inputs", name);
        return NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (!kg_find(m, in[i])) {
            cJSON_Delete(cfg);
            fn_fail(err, FN_E_ARG, "internal: layer %s: input %s does not exist", name, in[i]);
            return NULL;
        }
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 64;
        kg_layer *L = realloc(m->L, sizeof *L * (size_t)cap);
        if (!L) {
            cJSON_Delete(cfg);
            fn_fail(err, FN_E_NOMEM, "out of memory");
            return NULL;
        }
        m->L = L, m->cap = cap;
    }
    kg_layer *L = &m->L[m->n++];
    memset(L, 0, sizeof *L);
    snprintf(L->name, sizeof L->name, "%s", name);
    snprintf(L->cls, sizeof L->cls, "%s", cls);
    L->cfg = cfg;
    L->h = L->w = L->c = -1;
    L->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        snprintf(L->in[i], KG_NAME, "%s", in[i]);
    /* Keras puts name first; the class-specific keys follow */
    cJSON_AddItemToObject(cfg, "name", cJSON_CreateString(name));
    if (strcmp(cls, "InputLayer")) {
        cJSON_AddBoolToObject(cfg, "trainable", 1);
        cJSON_AddStringToObject(cfg, "dtype", "float32");
    }
    return L;
}

int kg_weight(kg_layer *L, const char *name, int rank, const long long *dims, const float *data, fn_err *err)
{
    if (L->n_w == KG_MAX_W || rank > 4)
        return fn_fail(err, FN_E_ARG, "internal: layer %s: too many weights", L->name);
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= (size_t)dims[d];
    int k = L->n_w;
    L->wdata[k] = malloc(n * sizeof(float));
    if (!L->wdata[k])
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    memcpy(L->wdata[k], data, n * sizeof(float));
    snprintf(L->wname[k], sizeof L->wname[k], "%s", name);
    L->wrank[k] = rank;
    for (int d = 0; d < rank; d++)
        L->wdims[k][d] = dims[d];
    L->n_w++;
    return 0;
}

int kg_output(kg_model *m, const char *name, fn_err *err)
{
    if (m->n_out == KG_MAX_IN || !kg_find(m, name))
        return fn_fail(err, FN_E_ARG, "internal: bad output %s", name);
    snprintf(m->out[m->n_out++], KG_NAME, "%s", name);
    return 0;
}

/* ---- configs ---- */

static cJSON *pair(int a, int b)
{
    int v[2] = {a, b};
    return cJSON_CreateIntArray(v, 2);
}

static void initializer(cJSON *cfg, const char *key, const char *cls, int seed)
{
    cJSON *o = cJSON_AddObjectToObject(cfg, key);
    cJSON_AddStringToObject(o, "class_name", cls);
    cJSON *c = cJSON_AddObjectToObject(o, "config");
    if (seed)
        cJSON_AddNullToObject(c, "seed");
}

static void regularizers(cJSON *cfg, const char *const *keys)
{
    for (int i = 0; keys[i]; i++)
        cJSON_AddNullToObject(cfg, keys[i]);
}

cJSON *kg_input_config(int h, int w, int c)
{
    cJSON *cfg = cJSON_CreateObject();
    cJSON *shape = cJSON_AddArrayToObject(cfg, "batch_input_shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNull());
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(h));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(w));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(c));
    cJSON_AddStringToObject(cfg, "dtype", "float32");
    cJSON_AddBoolToObject(cfg, "sparse", 0);
    cJSON_AddBoolToObject(cfg, "ragged", 0);
    return cfg;
}

static cJSON *window(int k, int stride, const char *padding)
{
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddItemToObject(cfg, "kernel_size", pair(k, k));
    cJSON_AddItemToObject(cfg, "strides", pair(stride, stride));
    cJSON_AddStringToObject(cfg, "padding", padding);
    cJSON_AddStringToObject(cfg, "data_format", "channels_last");
    cJSON_AddItemToObject(cfg, "dilation_rate", pair(1, 1));
    return cfg;
}

cJSON *kg_conv_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias)
{
    cJSON *cfg = window(k, stride, padding);
    cJSON_AddNumberToObject(cfg, "filters", filters);
    cJSON_AddNumberToObject(cfg, "groups", 1);
    cJSON_AddStringToObject(cfg, "activation", act);
    cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    initializer(cfg, "kernel_initializer", "GlorotUniform", 1);
    initializer(cfg, "bias_initializer", "Zeros", 0);
    regularizers(cfg, (const char *const[]){"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                            "kernel_constraint", "bias_constraint", NULL});
    return cfg;
}

cJSON *kg_depthwise_config(int k, int stride, const char *padding, int use_bias)
{
    cJSON *cfg = window(k, stride, padding);
    cJSON_AddStringToObject(cfg, "activation", "linear");
    cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    initializer(cfg, "bias_initializer", "Zeros", 0);
    cJSON_AddNumberToObject(cfg, "depth_multiplier", 1);
    initializer(cfg, "depthwise_initializer", "GlorotUniform", 1);
    regularizers(cfg, (const char *const[]){"bias_regularizer", "activity_regularizer", "bias_constraint",
                                            "depthwise_regularizer", "depthwise_constraint", NULL});
    return cfg;
}

cJSON *kg_separable_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias)
{
    cJSON *cfg = window(k, stride, padding);
    cJSON_AddNumberToObject(cfg, "filters", filters);
    cJSON_AddStringToObject(cfg, "activation", act);
    cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    initializer(cfg, "bias_initializer", "Zeros", 0);
    cJSON_AddNumberToObject(cfg, "depth_multiplier", 1);
    initializer(cfg, "depthwise_initializer", "GlorotUniform", 1);
    initializer(cfg, "pointwise_initializer", "GlorotUniform", 1);
    regularizers(cfg, (const char *const[]){"bias_regularizer", "activity_regularizer", "bias_constraint",
                                            "depthwise_regularizer", "pointwise_regularizer",
                                            "depthwise_constraint", "pointwise_constraint", NULL});
    return cfg;
}

cJSON *kg_pool_config(int k, int stride, const char *padding)
{
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddItemToObject(cfg, "pool_size", pair(k, k));
    cJSON_AddStringToObject(cfg, "padding", padding);
    cJSON_AddItemToObject(cfg, "strides", pair(stride, stride));
    cJSON_AddStringToObject(cfg, "data_format", "channels_last");
    return cfg;
}

/* ---- output ---- */

static cJSON *ref(const char *name, int node_args)
{
    cJSON *r = cJSON_CreateArray();
    cJSON_AddItemToArray(r, cJSON_CreateString(name));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(0));
    if (node_args)
        cJSON_AddItemToArray(r, cJSON_CreateObject());
    return r;
}

char *kg_model_json(const kg_model *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "class_name", "Functional");
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(cfg, "name", m->name);
    cJSON *layers = cJSON_AddArrayToObject(cfg, "layers");
    for (int i = 0; i < m->n; i++) {
        const kg_layer *L = &m->L[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "class_name", L->cls);
        cJSON_AddItemToObject(o, "config", cJSON_Duplicate(L->cfg, 1));
        cJSON_AddStringToObject(o, "name", L->name);
        cJSON *nodes = cJSON_AddArrayToObject(o, "inbound_nodes");
        if (L->n_in) {
            cJSON *node = cJSON_CreateArray();
            for (int k = 0; k < L->n_in; k++)
                cJSON_AddItemToArray(node, ref(L->in[k], 1));
            cJSON_AddItemToArray(nodes, node);
        }
        cJSON_AddItemToArray(layers, o);
    }
    cJSON *ins = cJSON_AddArrayToObject(cfg, "input_layers");
    cJSON_AddItemToArray(ins, ref(m->L[0].name, 0));
    cJSON *outs = cJSON_AddArrayToObject(cfg, "output_layers");
    for (int k = 0; k < m->n_out; k++)
        cJSON_AddItemToArray(outs, ref(m->out[k], 0));
    cJSON_AddStringToObject(root, "keras_version", FN_KH5W_KERAS_VERSION);
    cJSON_AddStringToObject(root, "backend", FN_KH5W_BACKEND);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

int kg_write_file(const char *dir, const char *name, const void *data, size_t len, fn_err *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fdopen(fd, "wb");
    int bad = !f || fchmod(fd, 0666 & ~mask) != 0 || fwrite(data, 1, len, f) != len;
    if (f)
        bad |= fclose(f) != 0;
    else
        close(fd);
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return fn_fail(err, FN_E_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return 0;
}

int kg_write(const kg_model *m, const char *dir, fn_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.h5", dir);
    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, err);
    if (!w)
        return -1;
    for (int i = 0; i < m->n; i++) {
        const kg_layer *L = &m->L[i];
        fn_kh5w_tensor t[KG_MAX_W];
        for (int k = 0; k < L->n_w; k++) {
            t[k] = (fn_kh5w_tensor){L->wname[k], L->wrank[k], {0}, L->wdata[k]};
            for (int d = 0; d < L->wrank[k]; d++)
                t[k].dims[d] = L->wdims[k][d];
        }
        if (fn_kh5w_layer(w, L->name, L->n_w, t, err)) {
            fn_kh5w_abort(w);
            return -1;
        }
    }
    if (fn_kh5w_finish(w, err))
        return -1;
    char *js = kg_model_json(m);
    if (!js)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    int rc = kg_write_file(dir, "model.json", js, strlen(js), err);
    cJSON_free(js);
    return rc;
}
