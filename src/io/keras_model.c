/* keras_model.c - Keras model config (model.json, or the model_config attribute of a
 * full-model .h5) -> the layers of an fn_net in topological order.
 *
 * Accepted: class_name Functional / Model (Keras 2.x, tf.keras) with layers,
 * inbound_nodes, input_layers, output_layers; Sequential with config
 * {"layers": [...]} or, as Keras 2.0-2.1 wrote, a bare list.  Lambda code is never
 * executed (see src/layers/lambda.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/ops.h"
#include "net/graph.h"

typedef struct {
    const cJSON *entry;     /* the layer's JSON object */
    const cJSON *config;
    const char *name, *class_name;
    int n_in;
    const char *in_names[FN_MAX_INPUTS];
} spec;

static int spec_from_entry(const cJSON *e, spec *s, const char *src, int idx, fn_err *err)
{
    s->entry = e;
    s->class_name = fn_cfg_str(e, "class_name", NULL);
    s->config = cJSON_GetObjectItemCaseSensitive(e, "config");
    s->name = fn_cfg_str(e, "name", NULL);
    if (!s->name)
        s->name = fn_cfg_str(s->config, "name", NULL);
    if (!cJSON_IsObject(e) || !s->class_name || !cJSON_IsObject(s->config) || !s->name)
        return fn_fail(err, FN_E_FORMAT, "%s: layer #%d has no class_name, name or config", src, idx);
    return 0;
}

static int parse_inbound(spec *s, const char *src, fn_err *err)
{
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(s->entry, "inbound_nodes");
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
    cJSON_ArrayForEach(t, node)
    {
        const cJSON *nm = cJSON_GetArrayItem(t, 0), *ni = cJSON_GetArrayItem(t, 1), *ti = cJSON_GetArrayItem(t, 2);
        if (!cJSON_IsArray(t) || !cJSON_IsString(nm) || !cJSON_IsNumber(ni) || !cJSON_IsNumber(ti))
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: malformed inbound node", src, s->name);
        if (ni->valueint != 0 || ti->valueint != 0)
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: input from node %d/tensor %d of %s (shared or multi-output layers) is not supported",
                           src, s->name, ni->valueint, ti->valueint, nm->valuestring);
        if (s->n_in >= FN_MAX_INPUTS)
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s has too many inputs", src, s->name);
        s->in_names[s->n_in++] = nm->valuestring;
    }
    return 0;
}

/* Layer lookup by name: (name, index) pairs sorted by name, searched by bisection
 * (models with tens of thousands of layers stay fast). */
typedef struct {
    const char *name;
    int index;
} name_ref;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const name_ref *)a)->name, ((const name_ref *)b)->name);
}

static int find_spec(const name_ref *sorted, int n, const char *name)
{
    name_ref key = {name, 0};
    const name_ref *hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, by_name);
    return hit ? hit->index : -1;
}

/* A min-heap of layer indices: Kahn's algorithm that always takes the ready layer that
 * comes first in the file, so a file already in execution order keeps its order. */
static void heap_push(int *h, int *n, int v)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int heap_pop(int *h, int *n)
{
    int top = h[0], v = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = v;
    return top;
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

static int build_layers(fn_net *net, spec *specs, int n, const char *src, fn_err *err)
{
    int *order = malloc(sizeof(int) * (size_t)n), *done = calloc((size_t)n, sizeof(int));
    int *src_idx = malloc(sizeof(int) * (size_t)n * FN_MAX_INPUTS);
    name_ref *sorted = malloc(sizeof *sorted * (size_t)n);
    int *indeg = calloc((size_t)n, sizeof(int)), *first = calloc((size_t)n + 1, sizeof(int));
    int *users = NULL, *heap = malloc(sizeof(int) * (size_t)n);
    int rc = -1, k = 0, nh = 0;
    if (!order || !done || !src_idx || !sorted || !indeg || !first || !heap) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        sorted[i] = (name_ref){specs[i].name, i};
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    for (int i = 1; i < n; i++)
        if (!strcmp(sorted[i].name, sorted[i - 1].name)) {
            fn_fail(err, FN_E_FORMAT, "%s: two layers are named %s", src, sorted[i].name);
            goto out;
        }
    size_t edges = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < specs[i].n_in; j++) {
            int s = find_spec(sorted, n, specs[i].in_names[j]);
            if (s < 0) {
                fn_fail(err, FN_E_FORMAT, "%s: layer %s takes input from unknown layer %s", src,
                        specs[i].name, specs[i].in_names[j]);
                goto out;
            }
            src_idx[i * FN_MAX_INPUTS + j] = s;
            first[s + 1]++;
            edges++;
        }
        indeg[i] = specs[i].n_in;
    }
    /* consumers of each layer, as one array sliced by first[] */
    for (int i = 0; i < n; i++)
        first[i + 1] += first[i];
    users = malloc(sizeof(int) * (edges ? edges : 1));
    int *fill = calloc((size_t)n, sizeof(int));
    if (!users || !fill) {
        free(fill);
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < specs[i].n_in; j++) {
            int s = src_idx[i * FN_MAX_INPUTS + j];
            users[first[s] + fill[s]++] = i;
        }
    free(fill);
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &nh, i);
    while (nh) {
        int i = heap_pop(heap, &nh);
        done[i] = 1 + k; /* position + 1 */
        order[k++] = i;
        for (int e = first[i]; e < first[i + 1]; e++)
            if (--indeg[users[e]] == 0)
                heap_push(heap, &nh, users[e]);
    }
    if (k < n) {
        for (int i = 0; i < n; i++)
            if (!done[i]) {
                fn_fail(err, FN_E_FORMAT, "%s: the graph has a cycle through layer %s", src, specs[i].name);
                goto out;
            }
    }
    net->layers = calloc((size_t)n, sizeof *net->layers);
    if (!net->layers) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    net->n_layers = n;
    for (int p = 0; p < n; p++) {
        const spec *s = &specs[order[p]];
        fn_layer *L = &net->layers[p];
        L->index = p;
        L->name = strdup(s->name);
        L->class_name = strdup(s->class_name);
        if (!L->name || !L->class_name) {
            fn_fail(err, FN_E_NOMEM, "out of memory");
            goto out;
        }
        L->n_in = s->n_in;
        for (int j = 0; j < s->n_in; j++)
            L->in[j] = done[src_idx[order[p] * FN_MAX_INPUTS + j]] - 1;
        L->op = fn_op_find(s->class_name);
        if (!L->op) {
            if (fn_op_known_unsupported(s->class_name))
                fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: class %s is not supported", src, s->name,
                        s->class_name);
            else
                fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: unknown layer class '%s'", src, s->name,
                        s->class_name);
            goto out;
        }
        if (L->op->parse(L, s->config, err)) {
            fn_wrap(err, "%s: ", src);
            goto out;
        }
        if ((L->op == &fn_op_input) != (s->n_in == 0)) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: %s", src, s->name,
                    s->n_in ? "an InputLayer cannot have inputs" : "has no inputs");
            goto out;
        }
    }
    rc = 0;
out:
    free(order);
    free(done);
    free(src_idx);
    free(sorted);
    free(indeg);
    free(first);
    free(users);
    free(heap);
    return rc;
}

/* Sequential: chain the layers, adding an InputLayer when the first layer only carries
 * a batch_input_shape (Keras < 2.4 style). */
static int sequential_specs(const cJSON *layers, spec **out, int *n, cJSON **synth, const char *src,
                            fn_err *err)
{
    int count = cJSON_GetArraySize(layers);
    if (!cJSON_IsArray(layers) || count == 0)
        return fn_fail(err, FN_E_FORMAT, "%s: Sequential model has no layers", src);
    spec *s = calloc((size_t)count + 1, sizeof *s);
    if (!s)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, layers)
    {
        if (spec_from_entry(e, &s[k], src, k, err)) {
            free(s);
            return -1;
        }
        if (k == 0 && strcmp(s[0].class_name, "InputLayer")) {
            const cJSON *bis = cJSON_GetObjectItemCaseSensitive(s[0].config, "batch_input_shape");
            if (!bis) {
                fn_fail(err, FN_E_FORMAT, "%s: first layer %s has no batch_input_shape", src, s[0].name);
                free(s);
                return -1;
            }
            /* synthesize {"class_name":"InputLayer","config":{"batch_input_shape":..,"name":..}} */
            char name[300];
            snprintf(name, sizeof name, "%s_input", s[0].name);
            cJSON *in = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
            if (!in || !cfg || !cJSON_AddStringToObject(in, "class_name", "InputLayer") ||
                !cJSON_AddStringToObject(in, "name", name)) {
                cJSON_Delete(in);
                cJSON_Delete(cfg);
                free(s);
                return fn_fail(err, FN_E_NOMEM, "out of memory");
            }
            cJSON_AddItemToObject(in, "config", cfg);
            cJSON_AddItemToObject(cfg, "batch_input_shape", cJSON_Duplicate(bis, 1));
            cJSON_AddStringToObject(cfg, "dtype", fn_cfg_str(s[0].config, "dtype", "float32"));
            *synth = in;
            s[1] = s[0];
            spec_from_entry(in, &s[0], src, 0, err);
            k = 1;
        }
        k++;
    }
    for (int i = 1; i < k; i++) {
        s[i].n_in = 1;
        s[i].in_names[0] = s[i - 1].name;
    }
    *out = s;
    *n = k;
    return 0;
}

int fn_keras_build(fn_net *net, const char *json_text, const char *src, fn_err *err)
{
    cJSON *doc = cJSON_Parse(json_text), *synth = NULL;
    spec *specs = NULL;
    int n = 0, rc = -1;
    if (!doc) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json_text ? (long)(at - json_text) : -1;
        return fn_fail(err, FN_E_FORMAT, "%s: not valid JSON (error near byte %ld)", src, off);
    }
    const char *cls = fn_cfg_str(doc, "class_name", NULL);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    if (!cls || !cfg) {
        fn_fail(err, FN_E_FORMAT, "%s: not a Keras model (no class_name/config at the top)", src);
        goto out;
    }
    const char *kv = fn_cfg_str(doc, "keras_version", NULL), *be = fn_cfg_str(doc, "backend", NULL);
    if (kv || be) {
        char buf[160];
        snprintf(buf, sizeof buf, "keras %s, %s", kv ? kv : "?", be ? be : "?");
        free(net->source);
        net->source = strdup(buf);
    }
    const char *in_names[4], *out_names[64];
    int n_inputs = 0, n_outputs = 0;
    if (!strcmp(cls, "Sequential")) {
        const cJSON *layers = cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
        if (sequential_specs(layers, &specs, &n, &synth, src, err))
            goto out;
        in_names[n_inputs++] = specs[0].name;
        out_names[n_outputs++] = specs[n - 1].name;
    } else if (!strcmp(cls, "Functional") || !strcmp(cls, "Model")) {
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers"), *e;
        n = cJSON_GetArraySize(layers);
        if (!cJSON_IsArray(layers) || n == 0) {
            fn_fail(err, FN_E_FORMAT, "%s: model config has no layers", src);
            goto out;
        }
        specs = calloc((size_t)n, sizeof *specs);
        if (!specs) {
            fn_fail(err, FN_E_NOMEM, "out of memory");
            goto out;
        }
        int k = 0;
        cJSON_ArrayForEach(e, layers)
        {
            if (spec_from_entry(e, &specs[k], src, k, err) || parse_inbound(&specs[k], src, err))
                goto out;
            k++;
        }
        if (io_names(cfg, "input_layers", in_names, 4, &n_inputs, src, err) ||
            io_names(cfg, "output_layers", out_names, 64, &n_outputs, src, err))
            goto out;
    } else {
        fn_fail(err, FN_E_UNSUPPORTED, "%s: model class '%s' is not supported (Functional, Model or Sequential)",
                src, cls);
        goto out;
    }
    if (n_inputs != 1) {
        fn_fail(err, FN_E_UNSUPPORTED, "%s: models with %d inputs are not supported (only one)", src, n_inputs);
        goto out;
    }
    if (n_outputs < 1) {
        fn_fail(err, FN_E_FORMAT, "%s: model has no outputs", src);
        goto out;
    }
    if (build_layers(net, specs, n, src, err))
        goto out;
    net->input = fn_net_find(net, in_names[0]);
    if (net->input < 0 || net->layers[net->input].op != &fn_op_input) {
        fn_fail(err, FN_E_FORMAT, "%s: input layer %s is not an InputLayer of the model", src, in_names[0]);
        goto out;
    }
    for (int i = 0; i < net->n_layers; i++)
        if (i != net->input && net->layers[i].op == &fn_op_input) {
            fn_fail(err, FN_E_UNSUPPORTED, "%s: models with several inputs are not supported", src);
            goto out;
        }
    net->out = malloc(sizeof(int) * (size_t)n_outputs);
    if (!net->out) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    net->n_out = n_outputs;
    for (int i = 0; i < n_outputs; i++) {
        net->out[i] = fn_net_find(net, out_names[i]);
        if (net->out[i] < 0) {
            fn_fail(err, FN_E_FORMAT, "%s: output layer %s does not exist", src, out_names[i]);
            goto out;
        }
    }
    rc = 0;
out:
    free(specs);
    cJSON_Delete(synth);
    cJSON_Delete(doc);
    return rc;
}
