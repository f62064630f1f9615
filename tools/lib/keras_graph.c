/* keras_graph.c - a Keras Functional model built in memory, written as model.json +
 * model.h5 (see keras_graph.h). */
#include "keras_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras_h5w.h"

struct kg_model {
    char name[KG_NAME];
    kg_layer **L;   /* each allocated on its own: a kg_layer pointer stays valid */
    int n, cap;
    char out[KG_MAX_IN][KG_NAME];
    int n_out;
};

/* Attach item to obj under key (or to an array when key is NULL); on failure the item
 * is freed.  -1 when item is NULL (a failed create) or the attach failed. */
static int attach(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return -1;
    if (!(key ? cJSON_AddItemToObject(obj, key, item) : cJSON_AddItemToArray(obj, item))) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

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
        cJSON_Delete(m->L[i]->cfg);
        for (int k = 0; k < m->L[i]->n_w; k++)
            free(m->L[i]->wdata[k]);
        free(m->L[i]);
    }
    free(m->L);
    free(m);
}

kg_layer *kg_find(kg_model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->L[i]->name, name))
            return m->L[i];
    return NULL;
}

kg_layer *kg_add(kg_model *m, const char *cls, const char *name, cJSON *cfg, int n_in, const char *const *in,
                 fn_err *err)
{
    if (!cfg) { /* a settings object that could not be made */
        fn_fail(err, FN_E_NOMEM, "out of memory");
        return NULL;
    }
    if (n_in > KG_MAX_IN || strlen(name) >= KG_NAME || strlen(cls) >= sizeof ((kg_layer *)0)->cls || kg_find(m, name)) {
        fn_fail(err, FN_E_ARG, "internal: layer %s: bad name or too many inputs", name);
        goto fail;
    }
    for (int i = 0; i < n_in; i++)
        if (!kg_find(m, in[i])) {
            fn_fail(err, FN_E_ARG, "internal: layer %s: input %s does not exist", name, in[i]);
            goto fail;
        }
    int bad = !cJSON_AddStringToObject(cfg, "name", name);
    if (strcmp(cls, "InputLayer"))
        bad |= !cJSON_AddBoolToObject(cfg, "trainable", 1) || !cJSON_AddStringToObject(cfg, "dtype", "float32");
    if (!bad && m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 64;
        kg_layer **list = realloc(m->L, sizeof *list * (size_t)cap);
        if (list)
            m->L = list, m->cap = cap;
        bad = !list;
    }
    kg_layer *L = bad ? NULL : calloc(1, sizeof *L);
    if (!L) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto fail;
    }
    m->L[m->n++] = L;
    snprintf(L->name, sizeof L->name, "%s", name);
    snprintf(L->cls, sizeof L->cls, "%s", cls);
    L->cfg = cfg;
    L->h = L->w = L->c = -1;
    L->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        snprintf(L->in[i], KG_NAME, "%s", in[i]);
    return L;
fail:
    cJSON_Delete(cfg);
    return NULL;
}

int kg_weight_take(kg_layer *L, const char *name, int rank, const long long *dims, float *data, fn_err *err)
{
    if (L->n_w == KG_MAX_W || rank > 4 || strlen(name) >= sizeof L->wname[0]) {
        free(data);
        return fn_fail(err, FN_E_ARG, "internal: layer %s: too many weights or a bad one", L->name);
    }
    int k = L->n_w++;
    L->wdata[k] = data;
    snprintf(L->wname[k], sizeof L->wname[k], "%s", name);
    L->wrank[k] = rank;
    for (int d = 0; d < rank; d++)
        L->wdims[k][d] = dims[d];
    return 0;
}

int kg_weight(kg_layer *L, const char *name, int rank, const long long *dims, const float *data, fn_err *err)
{
    size_t n = 1;
    for (int d = 0; d < rank && d < 4; d++)
        n *= (size_t)dims[d];
    float *copy = malloc(n * sizeof(float));
    if (!copy)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    memcpy(copy, data, n * sizeof(float));
    return kg_weight_take(L, name, rank, dims, copy, err);
}

int kg_output(kg_model *m, const char *name, fn_err *err)
{
    if (m->n_out == KG_MAX_IN || !kg_find(m, name))
        return fn_fail(err, FN_E_ARG, "internal: bad output %s", name);
    snprintf(m->out[m->n_out++], KG_NAME, "%s", name);
    return 0;
}

int kg_count(const kg_model *m)
{
    return m->n;
}

/* ---- settings ---------------------------------------------------------------------- */

/* cJSON's Add* calls accept a NULL parent and fail, so one check at the end of a chain
 * covers every step. */

cJSON *kg_pair(int a, int b)
{
    int v[2] = {a, b};
    return cJSON_CreateIntArray(v, 2);
}

int kg_initializer(cJSON *cfg, const char *key, const char *cls, int seeded)
{
    cJSON *o = cJSON_AddObjectToObject(cfg, key);
    int bad = !cJSON_AddStringToObject(o, "class_name", cls);
    cJSON *c = cJSON_AddObjectToObject(o, "config");
    if (seeded)
        bad |= !cJSON_AddNullToObject(c, "seed");
    return bad || !c ? -1 : 0;
}

int kg_nulls(cJSON *cfg, const char *const *keys)
{
    int bad = !cfg;
    for (int i = 0; keys[i]; i++)
        bad |= !cJSON_AddNullToObject(cfg, keys[i]);
    return bad ? -1 : 0;
}

int kg_window(cJSON *cfg, int kh, int kw, int sh, int sw, const char *padding, const char *df)
{
    int bad = attach(cfg, "kernel_size", kg_pair(kh, kw));
    bad |= attach(cfg, "strides", kg_pair(sh, sw));
    bad |= !cJSON_AddStringToObject(cfg, "padding", padding);
    bad |= !cJSON_AddStringToObject(cfg, "data_format", df);
    bad |= attach(cfg, "dilation_rate", kg_pair(1, 1));
    return bad ? -1 : 0;
}

int kg_weight_settings(cJSON *cfg, const char *activation, int use_bias)
{
    static const char *const nulls[] = {"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                        "kernel_constraint", "bias_constraint", NULL};
    int bad = !cJSON_AddStringToObject(cfg, "activation", activation);
    bad |= !cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    bad |= kg_initializer(cfg, "kernel_initializer", "GlorotUniform", 1);
    bad |= kg_initializer(cfg, "bias_initializer", "Zeros", 0);
    bad |= kg_nulls(cfg, nulls);
    return bad ? -1 : 0;
}

int kg_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, const char *padding,
                     const char *df, const char *activation, int use_bias)
{
    int bad = !cJSON_AddNumberToObject(cfg, "filters", filters);
    bad |= kg_window(cfg, kh, kw, sh, sw, padding, df);
    bad |= !cJSON_AddNumberToObject(cfg, "groups", 1);
    bad |= kg_weight_settings(cfg, activation, use_bias);
    return bad ? -1 : 0;
}

int kg_dense_config(cJSON *cfg, int units, const char *activation, int use_bias)
{
    int bad = !cJSON_AddNumberToObject(cfg, "units", units);
    bad |= kg_weight_settings(cfg, activation, use_bias);
    return bad ? -1 : 0;
}

int kg_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, const char *padding, const char *df)
{
    int bad = attach(cfg, "pool_size", kg_pair(ph, pw));
    bad |= !cJSON_AddStringToObject(cfg, "padding", padding);
    bad |= attach(cfg, "strides", kg_pair(sh, sw));
    bad |= !cJSON_AddStringToObject(cfg, "data_format", df);
    return bad ? -1 : 0;
}

int kg_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right, const char *df)
{
    cJSON *pad = cJSON_AddArrayToObject(cfg, "padding");
    int bad = attach(pad, NULL, kg_pair(top, bottom));
    bad |= attach(pad, NULL, kg_pair(left, right));
    bad |= !cJSON_AddStringToObject(cfg, "data_format", df);
    return bad ? -1 : 0;
}

int kg_activation_config(cJSON *cfg, const char *activation)
{
    return cJSON_AddStringToObject(cfg, "activation", activation) ? 0 : -1;
}

int kg_data_format_config(cJSON *cfg, const char *df)
{
    return cJSON_AddStringToObject(cfg, "data_format", df) ? 0 : -1;
}

/* A settings object from a chain of appends: NULL (and freed) when one failed. */
static cJSON *settings(cJSON *cfg, int bad)
{
    if (bad) {
        cJSON_Delete(cfg);
        return NULL;
    }
    return cfg;
}

cJSON *kg_input_config_dims(int rank, const int *dims)
{
    cJSON *cfg = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(cfg, "batch_input_shape");
    int bad = attach(shape, NULL, cJSON_CreateNull());
    for (int d = 0; d < rank; d++)
        bad |= attach(shape, NULL, cJSON_CreateNumber(dims[d]));
    bad |= !cJSON_AddStringToObject(cfg, "dtype", "float32");
    bad |= !cJSON_AddBoolToObject(cfg, "sparse", 0);
    bad |= !cJSON_AddBoolToObject(cfg, "ragged", 0);
    return settings(cfg, bad);
}

cJSON *kg_input_config(int h, int w, int c)
{
    return kg_input_config_dims(3, (const int[]){h, w, c});
}

cJSON *kg_depthwise_config(int k, int stride, const char *padding, int use_bias)
{
    static const char *const nulls[] = {"bias_regularizer", "activity_regularizer", "bias_constraint",
                                        "depthwise_regularizer", "depthwise_constraint", NULL};
    cJSON *cfg = cJSON_CreateObject();
    int bad = kg_window(cfg, k, k, stride, stride, padding, KG_CL);
    bad |= !cJSON_AddStringToObject(cfg, "activation", "linear");
    bad |= !cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    bad |= kg_initializer(cfg, "bias_initializer", "Zeros", 0);
    bad |= !cJSON_AddNumberToObject(cfg, "depth_multiplier", 1);
    bad |= kg_initializer(cfg, "depthwise_initializer", "GlorotUniform", 1);
    bad |= kg_nulls(cfg, nulls);
    return settings(cfg, bad);
}

cJSON *kg_separable_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias)
{
    static const char *const nulls[] = {"bias_regularizer", "activity_regularizer", "bias_constraint",
                                        "depthwise_regularizer", "pointwise_regularizer",
                                        "depthwise_constraint", "pointwise_constraint", NULL};
    cJSON *cfg = cJSON_CreateObject();
    int bad = kg_window(cfg, k, k, stride, stride, padding, KG_CL);
    bad |= !cJSON_AddNumberToObject(cfg, "filters", filters);
    bad |= !cJSON_AddStringToObject(cfg, "activation", act);
    bad |= !cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    bad |= kg_initializer(cfg, "bias_initializer", "Zeros", 0);
    bad |= !cJSON_AddNumberToObject(cfg, "depth_multiplier", 1);
    bad |= kg_initializer(cfg, "depthwise_initializer", "GlorotUniform", 1);
    bad |= kg_initializer(cfg, "pointwise_initializer", "GlorotUniform", 1);
    bad |= kg_nulls(cfg, nulls);
    return settings(cfg, bad);
}

/* ---- output ------------------------------------------------------------------------ */

/* [name, 0, 0] plus, in an inbound node, the call kwargs {} */
static int add_ref(cJSON *list, const char *name, int node_kwargs)
{
    cJSON *r = cJSON_CreateArray();
    int bad = attach(list, NULL, r) || attach(r, NULL, cJSON_CreateString(name)) ||
              attach(r, NULL, cJSON_CreateNumber(0)) || attach(r, NULL, cJSON_CreateNumber(0));
    if (!bad && node_kwargs)
        bad = attach(r, NULL, cJSON_CreateObject());
    return bad ? -1 : 0;
}

static int add_layer_json(cJSON *layers, const kg_layer *L)
{
    cJSON *o = cJSON_CreateObject(), *nodes;
    if (attach(layers, NULL, o) || !cJSON_AddStringToObject(o, "class_name", L->cls) ||
        attach(o, "config", cJSON_Duplicate(L->cfg, 1)) || !cJSON_AddStringToObject(o, "name", L->name) ||
        !(nodes = cJSON_AddArrayToObject(o, "inbound_nodes")))
        return -1;
    if (L->n_in) {
        cJSON *node = cJSON_CreateArray();
        if (attach(nodes, NULL, node))
            return -1;
        for (int k = 0; k < L->n_in; k++)
            if (add_ref(node, L->in[k], 1))
                return -1;
    }
    return 0;
}

char *kg_model_json(const kg_model *m)
{
    cJSON *root = cJSON_CreateObject(), *cfg, *layers, *ins, *outs;
    char *s = NULL;
    int bad = !cJSON_AddStringToObject(root, "class_name", "Functional") ||
              !(cfg = cJSON_AddObjectToObject(root, "config")) || !cJSON_AddStringToObject(cfg, "name", m->name) ||
              !(layers = cJSON_AddArrayToObject(cfg, "layers"));
    for (int i = 0; !bad && i < m->n; i++)
        bad = add_layer_json(layers, m->L[i]);
    bad = bad || !(ins = cJSON_AddArrayToObject(cfg, "input_layers"));
    for (int i = 0; !bad && i < m->n; i++)
        if (!strcmp(m->L[i]->cls, "InputLayer"))
            bad = add_ref(ins, m->L[i]->name, 0);
    bad = bad || !(outs = cJSON_AddArrayToObject(cfg, "output_layers"));
    for (int k = 0; !bad && k < m->n_out; k++)
        bad = add_ref(outs, m->out[k], 0);
    if (!bad && cJSON_AddStringToObject(root, "keras_version", FN_KH5W_KERAS_VERSION) &&
        cJSON_AddStringToObject(root, "backend", FN_KH5W_BACKEND))
        s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static int write_h5(const kg_model *m, const char *path, fn_err *err)
{
    fn_kh5w *w = fn_kh5w_create(path, 0, NULL, err);
    if (!w)
        return -1;
    for (int i = 0; i < m->n; i++) {
        const kg_layer *L = m->L[i];
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
    return fn_kh5w_finish(w, err);
}

int kg_stage_h5(const kg_model *m, fn_outfiles *o, fn_err *err)
{
    const char *path = fn_outfiles_path(o, "model.h5", err);
    return path ? write_h5(m, path, err) : -1;
}

/* dir/model.json (plus a newline when nl), dir/facenet.json (profile plus a newline,
 * when given) and dir/model.h5: all or none. */
static int write_dir(const kg_model *m, const char *dir, int nl, const char *profile, fn_err *err)
{
    fn_outfiles o;
    char *json = NULL;
    int rc = fn_outfiles_open(&o, dir, err);
    if (!rc && !(json = kg_model_json(m)))
        rc = fn_fail(err, FN_E_NOMEM, "out of memory");
    if (!rc)
        rc = nl ? fn_outfiles_text(&o, "model.json", json, err)
                : fn_outfiles_bytes(&o, "model.json", json, strlen(json), err);
    if (!rc && profile)
        rc = fn_outfiles_text(&o, "facenet.json", profile, err);
    rc = rc || kg_stage_h5(m, &o, err) || fn_outfiles_commit(&o, err) ? -1 : 0;
    fn_outfiles_close(&o);
    cJSON_free(json);
    return rc;
}

int kg_write(const kg_model *m, const char *dir, fn_err *err)
{
    return write_dir(m, dir, 0, NULL, err);
}

int kg_write_outputs(const kg_model *m, const char *profile_json, const char *dir, fn_err *err)
{
    return write_dir(m, dir, 1, profile_json, err);
}
