/* keras_model.c - Keras model config (model.json, or the model_config attribute of a
 * full-model .h5) -> a neutral description of its layers (keras_model.h).
 *
 * Accepted: class_name Functional / Model (Keras 2.x, tf.keras) with layers,
 * inbound_nodes, input_layers, output_layers; Sequential with config
 * {"layers": [...]} or, as Keras 2.0-2.1 wrote, a bare list.  Lambda code is never
 * executed (see keras_lambda.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_limit.h"
#include "io/keras_lambda.h"
#include "io/keras_model.h"

#define FN_KERAS_MAX_INPUTS 64   /* inputs of one layer (a Concatenate of 64 branches) */
#define FN_KERAS_MAX_IO 64       /* model inputs / outputs */

static const char *json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static int spec_from_entry(const cJSON *e, fn_keras_layer *s, const char *src, int idx, fn_err *err)
{
    s->class_name = json_str(e, "class_name");
    s->config = cJSON_GetObjectItemCaseSensitive(e, "config");
    s->name = json_str(e, "name");
    if (!s->name)
        s->name = json_str(s->config, "name");
    if (!cJSON_IsObject(e) || !s->class_name || !cJSON_IsObject(s->config) || !s->name)
        return fn_fail(err, FN_E_FORMAT, "%s: layer #%d has no class_name, name or config", src, idx);
    s->op = s->class_name;
    return 0;
}

static int parse_inbound(const cJSON *entry, fn_keras_layer *s, const char *src, fn_err *err)
{
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(entry, "inbound_nodes");
    s->n_in = 0;
    if (!nodes || cJSON_GetArraySize(nodes) == 0)
        return 0;
    if (!cJSON_IsArray(nodes))
        return fn_fail(err, FN_E_FORMAT, "%s: layer %s: inbound_nodes is not a list", src, s->name);
    if (cJSON_GetArraySize(nodes) > 1)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s is shared (called %d times); shared layers are not supported",
                       src, s->name, cJSON_GetArraySize(nodes));
    const cJSON *node = cJSON_GetArrayItem(nodes, 0), *t;
    if (!cJSON_IsArray(node))
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: inbound node format not supported (Keras 3 files are not)",
                       src, s->name);
    int count = cJSON_GetArraySize(node);
    if (count > FN_KERAS_MAX_INPUTS)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s has too many inputs", src, s->name);
    s->in_names = malloc(sizeof *s->in_names * (size_t)(count ? count : 1));
    if (!s->in_names)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(t, node)
    {
        const cJSON *nm = cJSON_GetArrayItem(t, 0), *ni = cJSON_GetArrayItem(t, 1), *ti = cJSON_GetArrayItem(t, 2);
        if (!cJSON_IsArray(t) || !cJSON_IsString(nm) || !cJSON_IsNumber(ni) || !cJSON_IsNumber(ti))
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: malformed inbound node", src, s->name);
        if (ni->valueint != 0 || ti->valueint != 0)
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: input from node %d/tensor %d of %s (shared or multi-output layers) is not supported",
                           src, s->name, ni->valueint, ti->valueint, nm->valuestring);
        s->in_names[s->n_in++] = nm->valuestring;
    }
    return 0;
}

/* Names from input_layers / output_layers: [[name, 0, 0], ...] (or one triple). */
static int io_names(const cJSON *cfg, const char *key, const char **names, int cap, int *n,
                    const char *src, fn_err *err)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(cfg, key), *t;
    *n = 0;
    if (!cJSON_IsArray(l))
        return fn_fail(err, FN_E_FORMAT, "%s: model config has no %s", src, key);
    if (cJSON_IsString(cJSON_GetArrayItem(l, 0))) {
        names[(*n)++] = cJSON_GetArrayItem(l, 0)->valuestring;
        return 0;
    }
    cJSON_ArrayForEach(t, l)
    {
        const cJSON *nm = cJSON_GetArrayItem(t, 0);
        if (!cJSON_IsString(nm))
            return fn_fail(err, FN_E_FORMAT, "%s: malformed %s", src, key);
        if (*n >= cap)
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: too many %s", src, key);
        names[(*n)++] = nm->valuestring;
    }
    return 0;
}

/* Sequential: chain the layers, adding an InputLayer when the first layer only carries
 * a batch_input_shape (Keras < 2.4 style). */
static int sequential(fn_keras_model *m, const cJSON *layers, const char *src, fn_err *err)
{
    int count = cJSON_GetArraySize(layers);
    if (!cJSON_IsArray(layers) || count == 0)
        return fn_fail(err, FN_E_FORMAT, "%s: Sequential model has no layers", src);
    fn_keras_layer *s = m->layers = calloc((size_t)count + 1, sizeof *s);
    if (!s)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, layers)
    {
        if (spec_from_entry(e, &s[k], src, k, err))
            return -1;
        if (k == 0 && strcmp(s[0].class_name, "InputLayer")) {
            const cJSON *bis = cJSON_GetObjectItemCaseSensitive(s[0].config, "batch_input_shape");
            if (!bis)
                return fn_fail(err, FN_E_FORMAT, "%s: first layer %s has no batch_input_shape", src, s[0].name);
            /* synthesize {"class_name":"InputLayer","config":{"batch_input_shape":..,"name":..}} */
            char name[300];
            const char *dtype = json_str(s[0].config, "dtype");
            snprintf(name, sizeof name, "%s_input", s[0].name);
            cJSON *in = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
            if (!in || !cfg || !cJSON_AddItemToArray(m->extra, in) || !cJSON_AddStringToObject(in, "class_name", "InputLayer") ||
                !cJSON_AddStringToObject(in, "name", name) || !cJSON_AddItemToObject(in, "config", cfg) ||
                !cJSON_AddItemToObject(cfg, "batch_input_shape", cJSON_Duplicate(bis, 1)) ||
                !cJSON_AddStringToObject(cfg, "dtype", dtype ? dtype : "float32"))
                return fn_fail(err, FN_E_NOMEM, "out of memory");
            s[1] = s[0];
            spec_from_entry(in, &s[0], src, 0, err);
            k = 1;
        }
        k++;
    }
    m->n_layers = k;
    for (int i = 1; i < k; i++) {
        s[i].in_names = malloc(sizeof *s[i].in_names);
        if (!s[i].in_names)
            return fn_fail(err, FN_E_NOMEM, "out of memory");
        s[i].n_in = 1;
        s[i].in_names[0] = s[i - 1].name;
    }
    return 0;
}

static int functional(fn_keras_model *m, const cJSON *cfg, const char *src, fn_err *err)
{
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers"), *e;
    int n = cJSON_GetArraySize(layers);
    if (!cJSON_IsArray(layers) || n == 0)
        return fn_fail(err, FN_E_FORMAT, "%s: model config has no layers", src);
    m->layers = calloc((size_t)n, sizeof *m->layers);
    if (!m->layers)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    cJSON_ArrayForEach(e, layers)
    {
        fn_keras_layer *s = &m->layers[m->n_layers];
        if (spec_from_entry(e, s, src, m->n_layers, err))
            return -1;
        m->n_layers++;
        if (parse_inbound(e, s, src, err))
            return -1;
    }
    return io_names(cfg, "input_layers", m->input_names, FN_KERAS_MAX_IO, &m->n_inputs, src, err) ||
                   io_names(cfg, "output_layers", m->output_names, FN_KERAS_MAX_IO, &m->n_outputs, src, err)
               ? -1
               : 0;
}

/* A recognised Lambda gets the op that computes it and a config of its parameters. */
static int describe_lambda(fn_keras_model *m, fn_keras_layer *s, const char *src, fn_err *err)
{
    fn_lambda_kind kind;
    double scale = 1.0;
    long axis = 0;
    if (fn_keras_lambda(s->name, s->config, &kind, &scale, &axis, err))
        return fn_wrap(err, "%s: ", src);
    if (axis < -1000 || axis > 1000)
        axis = 1000; /* no such axis: the op refuses it by name */
    cJSON *cfg = cJSON_CreateObject();
    if (!cfg || !cJSON_AddItemToArray(m->extra, cfg) || !cJSON_AddStringToObject(cfg, "name", s->name) ||
        !(kind == FN_LAMBDA_SCALE_SUM ? cJSON_AddNumberToObject(cfg, "scale", scale)
                                      : cJSON_AddNumberToObject(cfg, "axis", (double)axis)))
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    s->config = cfg;
    s->op = kind == FN_LAMBDA_SCALE_SUM ? "Lambda:scale_sum" : "Lambda:l2_normalize";
    return 0;
}

void fn_keras_model_free(fn_keras_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->layers && i < m->n_layers; i++)
        free((void *)m->layers[i].in_names);
    free(m->layers);
    free((void *)m->input_names);
    free((void *)m->output_names);
    free(m->source);
    cJSON_Delete(m->extra);
    cJSON_Delete(m->doc);
    memset(m, 0, sizeof *m);
}

int fn_keras_parse(const char *json_text, size_t len, const fn_keras_limits *lim, const char *src,
                   fn_keras_model *m, fn_err *err)
{
    memset(m, 0, sizeof *m);
    size_t max_values = lim && lim->max_values ? lim->max_values : FN_KERAS_DEFAULT_MAX_VALUES;
    size_t max_layers = lim && lim->max_layers ? lim->max_layers : FN_KERAS_DEFAULT_MAX_LAYERS;
    if (!(m->doc = fn_json_parse_limited(json_text, len, max_values, "json-values", src, err)))
        return -1;
    m->extra = cJSON_CreateArray();
    m->input_names = calloc(FN_KERAS_MAX_IO, sizeof *m->input_names);
    m->output_names = calloc(FN_KERAS_MAX_IO, sizeof *m->output_names);
    if (!m->extra || !m->input_names || !m->output_names) {
        fn_keras_model_free(m);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    const char *cls = json_str(m->doc, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(m->doc, "config");
    int rc = -1;
    if (!cls || !cfg) {
        fn_fail(err, FN_E_FORMAT, "%s: not a Keras model (no class_name/config at the top)", src);
        goto out;
    }
    const cJSON *layers = cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
    size_t n_layers = cJSON_IsArray(layers) ? (size_t)cJSON_GetArraySize(layers) : 0;
    if (n_layers > max_layers) {
        fn_fail(err, FN_E_LIMIT, "%s: %zu layers, more than the limit layers=%zu", src, n_layers, max_layers);
        goto out;
    }
    const char *kv = json_str(m->doc, "keras_version"), *be = json_str(m->doc, "backend");
    if (kv || be) {
        char buf[160];
        snprintf(buf, sizeof buf, "keras %s, %s", kv ? kv : "?", be ? be : "?");
        if (!(m->source = strdup(buf))) {
            fn_fail(err, FN_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!strcmp(cls, "Sequential")) {
        if (sequential(m, cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers"), src, err))
            goto out;
        m->input_names[m->n_inputs++] = m->layers[0].name;
        m->output_names[m->n_outputs++] = m->layers[m->n_layers - 1].name;
    } else if (!strcmp(cls, "Functional") || !strcmp(cls, "Model")) {
        if (functional(m, cfg, src, err))
            goto out;
    } else {
        fn_fail(err, FN_E_UNSUPPORTED, "%s: model class '%s' is not supported (Functional, Model or Sequential)",
                src, cls);
        goto out;
    }
    if (m->n_inputs != 1) {
        fn_fail(err, FN_E_UNSUPPORTED, "%s: models with %d inputs are not supported (only one)", src, m->n_inputs);
        goto out;
    }
    if (m->n_outputs < 1) {
        fn_fail(err, FN_E_FORMAT, "%s: model has no outputs", src);
        goto out;
    }
    rc = 0;
out:
    if (rc)
        fn_keras_model_free(m);
    return rc;
}

int fn_keras_describe_lambda(fn_keras_model *m, int index, const char *src, fn_err *err)
{
    fn_keras_layer *s = &m->layers[index];
    return strcmp(s->class_name, "Lambda") ? 0 : describe_lambda(m, s, src, err);
}

/* ---- canonical hash ------------------------------------------------------ */

static void hash_tag(fn_hash *h, char tag, const char *s)
{
    const uint64_t len = s ? strlen(s) : 0;
    fn_hash_update(h, &tag, 1);
    fn_hash_update(h, &len, sizeof len);
    if (s)
        fn_hash_update(h, s, (size_t)len);
}

/* Does a (key, position) come before b? Keys bytewise, duplicates by position. */
static int key_before(const cJSON *a, int ia, const cJSON *b, int ib)
{
    int c = strcmp(a->string ? a->string : "", b->string ? b->string : "");
    return c < 0 || (c == 0 && ia < ib);
}

/* A JSON value in canonical form.  Objects list their members by key: each round picks
 * the smallest member after the previous one (configs have a few dozen keys at most,
 * and this needs no memory). */
static void hash_json(fn_hash *h, const cJSON *v, int depth)
{
    char num[40];
    if (depth > 64) { /* cJSON refuses deeper documents; stay bounded anyway */
        hash_tag(h, '!', NULL);
        return;
    }
    if (!v || cJSON_IsNull(v)) {
        hash_tag(h, 'n', NULL);
    } else if (cJSON_IsBool(v)) {
        hash_tag(h, cJSON_IsTrue(v) ? 't' : 'f', NULL);
    } else if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof num, "%.17g", v->valuedouble);
        hash_tag(h, 'd', num);
    } else if (cJSON_IsString(v)) {
        hash_tag(h, 's', v->valuestring);
    } else if (cJSON_IsArray(v)) {
        snprintf(num, sizeof num, "%d", cJSON_GetArraySize(v));
        hash_tag(h, '[', num);
        for (const cJSON *c = v->child; c; c = c->next)
            hash_json(h, c, depth + 1);
    } else if (cJSON_IsObject(v)) {
        int n = cJSON_GetArraySize(v);
        snprintf(num, sizeof num, "%d", n);
        hash_tag(h, '{', num);
        const cJSON *prev = NULL;
        int iprev = -1;
        for (int round = 0; round < n; round++) {
            const cJSON *best = NULL;
            int ibest = -1, i = 0;
            for (const cJSON *c = v->child; c; c = c->next, i++)
                if ((!prev || key_before(prev, iprev, c, i)) && (!best || key_before(c, i, best, ibest)))
                    best = c, ibest = i;
            if (!best)
                break;
            hash_tag(h, 'k', best->string);
            hash_json(h, best, depth + 1);
            prev = best, iprev = ibest;
        }
    } else {
        hash_tag(h, '?', NULL);
    }
}

void fn_keras_model_hash(const fn_keras_model *m, fn_hash *h)
{
    for (int i = 0; i < m->n_layers; i++) {
        const fn_keras_layer *L = &m->layers[i];
        hash_tag(h, 'L', L->name);
        hash_tag(h, 'c', L->class_name);
        hash_tag(h, 'o', L->op);
        for (int k = 0; k < L->n_in; k++)
            hash_tag(h, 'i', L->in_names[k]);
        hash_json(h, L->config, 0);
    }
    for (int i = 0; i < m->n_inputs; i++)
        hash_tag(h, 'I', m->input_names[i]);
    for (int i = 0; i < m->n_outputs; i++)
        hash_tag(h, 'O', m->output_names[i]);
}
