/* load.c - how a Keras model becomes a runnable net, phase by phase:
 *
 *   1. parse    model.json (or the .h5's model_config) -> a neutral description of
 *               the layers                                   io/keras_model.c
 *   2. graph    names resolved, topological order, each layer parsed by its op
 *                                                            net/graph.c
 *   3. shapes   every output shape, every declared weight's shape    net/graph.c
 *   4. weights  read by name from model.h5, every shape checked       net/weights.c
 *               (optionally in a child process: net/sandbox.c)
 *   5. prepare  each op transforms its weights once (e.g. Theano kernel flips)
 *   6. fold     BatchNorm and residual scales into convolutions,
 *               activations into their producers                      net/fuse.c
 *   7. finalize each op builds its run-time layouts from the final weights
 *               (convolutions pack their kernels for the GEMM)
 * Planning memory for an input size (net/plan.c) and running (net/forward.c) follow,
 * at the first run or when the caller asks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/hash.h"
#include "core/thread_pool.h"
#include "layers/kernels.h"
#include "io/keras_weights.h"
#include "net/graph.h"

#define OR_DEFAULT(v, d) ((v) ? (v) : (d))

static int read_text(const char *path, size_t max_bytes, char **out, size_t *len, fn_err *err)
{
    if (fn_read_file_limit(path, max_bytes, "json-bytes", out, len, err))
        return -1;
    if (*len == 0) {
        free(*out);
        *out = NULL;
        return fn_fail(err, FN_E_FORMAT, "%s: file is empty", path);
    }
    return 0;
}

/* Phase 1: the model's JSON text, from model.json or from the weights file (where
 * libhdf5 caps one string at FN_H5_MAX_STRLEN before json-bytes is checked). */
static int model_text(const fn_load_opts *o, char **text, size_t *len, const char **src, fn_err *err)
{
    const size_t max = OR_DEFAULT(o->max_json_bytes, FN_DEFAULT_MAX_JSON_BYTES);
    *src = o->model_json;
    if (o->model_json)
        return read_text(o->model_json, max, text, len, err);
    if (!o->weights)
        return fn_fail(err, FN_E_ARG, "no model given");
    *src = o->weights;
    if (o->sandbox ? fn_h5_config_sandboxed(o->weights, o->sandbox_timeout_s, text, err)
                   : fn_keras_h5_config(o->weights, text, err))
        return -1;
    *len = strlen(*text);
    if (*len > max) {
        free(*text);
        *text = NULL;
        return fn_fail(err, FN_E_LIMIT, "%s: model_config is %zu bytes, more than the limit json-bytes=%zu",
                       o->weights, *len, max);
    }
    return 0;
}

static int prepare_layers(fn_net *net, fn_err *err)
{
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->op->prepare && L->op->prepare(L, err))
            return -1;
    }
    return 0;
}

/* The weight values as read (before any transformation, so a change in how the engine
 * prepares or folds them does not change the model's identity), with the backend that
 * says how to read them. */
static void hash_weights(const fn_net *net, fn_hash *h)
{
    const char *be = net->backend ? net->backend : "";
    fn_hash_update(h, "B", 1);
    fn_hash_update(h, be, strlen(be) + 1);
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        for (int k = 0; k < L->n_w; k++) {
            const fn_weight *w = &L->w[k];
            if (!w->data)
                continue;
            fn_hash_update(h, L->name, strlen(L->name) + 1);
            fn_hash_update(h, w->name, strlen(w->name) + 1);
            const int32_t rank = w->shape.rank;
            fn_hash_update(h, &rank, sizeof rank);
            for (int d = 0; d < rank; d++) {
                const int32_t dim = w->shape.d[d];
                fn_hash_update(h, &dim, sizeof dim);
            }
            fn_hash_floats(h, w->data, fn_shape_count(&w->shape));
        }
    }
}

int fn_net_load(const fn_load_opts *o, fn_net **out, fn_err *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *src;
    *out = NULL;
    if (model_text(o, &text, &len, &src, err)) /* 1 */
        return -1;
    fn_keras_model model;
    const fn_keras_limits lim = {OR_DEFAULT(o->max_json_values, FN_DEFAULT_MAX_JSON_VALUES),
                                 OR_DEFAULT(o->max_layers, FN_DEFAULT_MAX_LAYERS)};
    int rc = fn_keras_parse(text, len, &lim, src, &model, err);
    free(text);
    if (rc)
        return -1;
    fn_net *net = calloc(1, sizeof *net);
    if (!net) {
        fn_keras_model_free(&model);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    net->max_arena_bytes = OR_DEFAULT(o->max_arena_bytes, FN_DEFAULT_MAX_ARENA_BYTES);
    if (model.source) {
        net->source = model.source;
        model.source = NULL;
    }
    rc = fn_graph_build(net, &model, src, err); /* 2 */
    fn_hash fp; /* the model's identity: architecture now, weight values after phase 4 */
    fn_hash_init(&fp);
    if (!rc)
        fn_keras_model_hash(&model, &fp);
    fn_keras_model_free(&model);
    if (!rc && fn_net_infer(net, NULL, err)) /* 3 */
        rc = fn_wrap(err, "%s: ", src);
    if (!rc) {
        for (int i = 0; i < net->n_layers; i++)
            for (int k = 0; k < net->layers[i].n_w; k++)
                net->params += fn_shape_count(&net->layers[i].w[k].shape);
    }
    if (!rc && o->weights) {
        rc = o->sandbox ? fn_net_read_weights_sandboxed(net, o->weights, o->sandbox_timeout_s, err) /* 4 */
                        : fn_net_read_weights(net, o->weights, err);
        if (!rc)
            hash_weights(net, &fp);
        if (!rc && prepare_layers(net, err)) /* 5 */
            rc = fn_wrap(err, "%s: ", o->weights);
        if (!rc && !o->no_fuse) /* 6 */
            rc = fn_net_fuse(net, err);
        for (int i = 0; !rc && i < net->n_layers; i++) /* 7 */
            if (net->layers[i].op->finalize && !(net->layers[i].flags & FN_L_IDENTITY) &&
                net->layers[i].op->finalize(&net->layers[i], err))
                rc = fn_wrap(err, "%s: ", o->weights);
        net->weights_loaded = !rc;
    }
    if (!rc) { /* point every identity layer at its final source: resolving is one step */
        for (int i = 0; i < net->n_layers; i++)
            if (net->layers[i].flags & FN_L_IDENTITY)
                net->layers[i].in[0] = fn_net_resolve(net, net->layers[i].in[0]);
    }
    if (!rc) { /* threads last: the weights sandbox forks a process without them */
        net->threads = o->threads > 0 ? o->threads : fn_cpu_count();
        if (o->threads < 0)
            rc = fn_fail(err, FN_E_ARG, "threads must be 0 (all cores) or positive, not %d", o->threads);
        else
            rc = fn_pool_create(net->threads, &net->pool, err);
        fn_blas_single_thread(); /* the engine's threads split the work, not OpenBLAS's */
    }
    if (!rc)
        fn_hash_hex(&fp, net->fingerprint);
    if (!rc && !net->source) {
        char buf[96];
        snprintf(buf, sizeof buf, "keras ?, %s", net->backend ? net->backend : "?");
        if (!(net->source = strdup(buf)))
            rc = fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    if (rc) {
        fn_net_free(net);
        return -1;
    }
    *out = net;
    return 0;
}

int fn_net_load_dir(const char *dir, int no_fuse, fn_net **out, fn_err *err)
{
    char json[4096], h5[4096];
    snprintf(json, sizeof json, "%s/model.json", dir);
    snprintf(h5, sizeof h5, "%s/model.h5", dir);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: model directory does not exist", dir);
    fn_load_opts o = {.model_json = stat(json, &st) == 0 ? json : NULL, .weights = h5, .no_fuse = no_fuse};
    return fn_net_load(&o, out, err);
}

int fn_net_share_threads(fn_net *net, fn_net *from, fn_err *err)
{
    if (!net || !from)
        return fn_fail(err, FN_E_ARG, "fn_net_share_threads: no net");
    if (net == from || net->pool == from->pool)
        return 0;
    if (net->threads != from->threads) /* a plan's scratch is cut for its net's thread count */
        return fn_fail(err, FN_E_ARG, "fn_net_share_threads: the nets have %d and %d threads", net->threads,
                       from->threads);
    fn_pool_free(net->pool);
    net->pool = fn_pool_retain(from->pool);
    return 0;
}
