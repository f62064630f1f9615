/* weights.c - phase 4 of loading: a Keras weights file -> the weights each layer
 * declared in shape inference.  Matched by variable name (kernel, bias, gamma, ...),
 * never by position; every shape is checked against the one the config implies before
 * anything is allocated; a weight the file lacks is an error unless the op marked it
 * optional; an extra one is an error naming what the layer expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/keras_weights.h"
#include "core/mem.h"
#include "net/graph.h"

#define FN_MAX_WEIGHT_FLOATS ((size_t)1 << 31) /* 8 GiB of float32: beyond any sane model */

static int load_layer(fn_layer *L, fn_kw_file *f, const char *path, fn_err *err)
{
    const fn_kw_array *a;
    int n;
    int loaded[FN_MAX_WEIGHTS] = {0};
    if (fn_kw_layer(f, L->name, &a, &n, err)) {
        if (err && err->kind == FN_E_NOTFOUND)
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s (%s) is missing from the weights file", path, L->name,
                           L->class_name);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        fn_weight *w = fn_layer_weight(L, a[i].var);
        if (!w) {
            char expect[256] = "";
            for (int k = 0; k < L->n_w; k++) {
                strncat(expect, k ? ", " : "", sizeof expect - strlen(expect) - 1);
                strncat(expect, L->w[k].name, sizeof expect - strlen(expect) - 1);
            }
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: unexpected weight '%s' (%s expects: %s)", path, L->name,
                           a[i].path, L->class_name, L->n_w ? expect : "none");
        }
        int k = (int)(w - L->w);
        if (loaded[k])
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight '%s' appears twice", path, L->name, a[i].var);
        int rank;
        long long dims[FN_KW_MAX_RANK];
        if (fn_kw_dims(f, i, &rank, dims, err))
            return -1;
        int same = rank == w->shape.rank;
        for (int d = 0; same && d < rank; d++)
            same = dims[d] == w->shape.d[d];
        if (!same) {
            char got[128] = "", want[64];
            for (int d = 0; d < rank; d++) {
                size_t used = strlen(got);
                snprintf(got + used, sizeof got - used, "%s%lld", d ? "x" : "", dims[d]);
            }
            fn_shape_str(&w->shape, want, sizeof want);
            return fn_fail(err, FN_E_SHAPE, "%s: layer %s: %s shape %s, config says %s", path, L->name, a[i].var,
                           rank ? got : "scalar", want);
        }
        size_t count = fn_shape_count(&w->shape);
        if (count == 0 || count > FN_MAX_WEIGHT_FLOATS)
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight %s is implausibly large", path, L->name,
                           a[i].var);
        free(w->data);
        w->data = fn_alloc_big(count * sizeof(float));
        if (!w->data)
            return fn_fail(err, FN_E_NOMEM, "%s: layer %s: out of memory for %s", path, L->name, a[i].var);
        if (fn_kw_read(f, i, w->data, count, err))
            return -1;
        loaded[k] = 1;
    }
    for (int k = 0; k < L->n_w; k++)
        if (!loaded[k] && !L->w[k].optional)
            return fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight '%s' is missing from the file", path, L->name,
                           L->w[k].name);
    return 0;
}

int fn_net_read_weights(fn_net *net, const char *path, fn_err *err)
{
    fn_kw_file *f;
    if (fn_kw_open(path, &f, err))
        return -1;
    const char *backend = fn_kw_backend(f);
    if (backend) {
        free(net->backend);
        if (!(net->backend = strdup(backend))) {
            fn_kw_close(f);
            return fn_fail(err, FN_E_NOMEM, "out of memory");
        }
    }
    const int theano = backend && !strcmp(backend, "theano");
    int rc = 0;
    for (int i = 0; !rc && i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        L->theano_kernels = theano;
        if (L->n_w)
            rc = load_layer(L, f, path, err);
    }
    fn_kw_close(f);
    return rc;
}
