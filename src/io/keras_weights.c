/* keras_weights.c - Keras HDF5 weights -> the layers' declared weights.
 *
 * Both layouts: model.save_weights() (root attr layer_names) and model.save()
 * (root attr model_config, weights under group model_weights).  Each layer group's
 * attr weight_names lists dataset paths relative to the group; they do not always
 * repeat the layer name (Keras 2.0.5 writes conv2d_1/conv2d_1_1/kernel:0), so we
 * follow weight_names and match by variable name (kernel, bias, gamma, ...), never
 * by position, and check every shape against the one the config implies. */
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "net/graph.h"

#define FN_MAX_WEIGHT_FLOATS ((size_t)1 << 31) /* 8 GiB of float32: beyond any sane model */

int fn_keras_h5_config(const char *path, char **json_text, fn_err *err)
{
    hid_t f;
    if (fn_h5_open(path, &f, err))
        return -1;
    int rc = 0;
    if (!fn_h5_has_attr(f, "model_config"))
        rc = fn_fail(err, FN_E_FORMAT, "%s: no model_config attribute (a weights-only file: model.json is needed too)",
                     path);
    else if (fn_h5_attr_string(f, "model_config", json_text, err))
        rc = fn_wrap(err, "%s: ", path);
    H5Fclose(f);
    return rc;
}

/* "conv2d_1/conv2d_1_1/kernel:0" -> "kernel" */
static void variable_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strcspn(base, ":");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, base, n);
    out[n] = '\0';
}

static int load_layer(fn_layer *L, hid_t g, const char *path, fn_err *err)
{
    char **names = NULL;
    int n = 0, rc = -1;
    int loaded[FN_MAX_WEIGHTS] = {0};
    if (fn_h5_attr_strings(g, "weight_names", &names, &n, err)) {
        fn_wrap(err, "%s: layer %s: ", path, L->name);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char var[64];
        variable_name(names[i], var, sizeof var);
        fn_weight *w = fn_layer_weight(L, var);
        if (!w) {
            char expect[256] = "";
            for (int k = 0; k < L->n_w; k++) {
                strncat(expect, k ? ", " : "", sizeof expect - strlen(expect) - 1);
                strncat(expect, L->w[k].name, sizeof expect - strlen(expect) - 1);
            }
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: unexpected weight '%s' (%s expects: %s)", path, L->name,
                    names[i], L->class_name, L->n_w ? expect : "none");
            goto out;
        }
        int k = (int)(w - L->w);
        if (loaded[k]) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight '%s' appears twice", path, L->name, var);
            goto out;
        }
        int rank;
        long long dims[H5S_MAX_RANK];
        if (fn_h5_dataset_dims(g, names[i], &rank, dims, H5S_MAX_RANK, err)) {
            fn_wrap(err, "%s: layer %s: ", path, L->name);
            goto out;
        }
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
            fn_fail(err, FN_E_SHAPE, "%s: layer %s: %s shape %s, config says %s", path, L->name, var,
                    rank ? got : "scalar", want);
            goto out;
        }
        size_t count = fn_shape_count(&w->shape);
        if (count == 0 || count > FN_MAX_WEIGHT_FLOATS) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight %s is implausibly large", path, L->name, var);
            goto out;
        }
        free(w->data);
        w->data = malloc(count * sizeof(float));
        if (!w->data) {
            fn_fail(err, FN_E_NOMEM, "%s: layer %s: out of memory for %s", path, L->name, var);
            goto out;
        }
        if (fn_h5_read_floats(g, names[i], w->data, count, err)) {
            fn_wrap(err, "%s: layer %s: ", path, L->name);
            goto out;
        }
        loaded[k] = 1;
    }
    for (int k = 0; k < L->n_w; k++)
        if (!loaded[k] && !L->w[k].optional) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: weight '%s' is missing from the file", path, L->name,
                    L->w[k].name);
            goto out;
        }
    rc = 0;
out:
    fn_h5_strings_free(names, n);
    return rc;
}

static int name_listed(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

int fn_keras_load_weights(fn_net *net, const char *path, fn_err *err)
{
    hid_t f, g = -1;
    char **layer_names = NULL, *backend = NULL;
    int n_names = 0, rc = -1;
    if (fn_h5_open(path, &f, err))
        return -1;
    if (H5Lexists(f, "model_weights", H5P_DEFAULT) > 0)
        g = H5Gopen2(f, "model_weights", H5P_DEFAULT);
    else
        g = H5Gopen2(f, "/", H5P_DEFAULT);
    if (g < 0) {
        fn_fail(err, FN_E_FORMAT, "%s: cannot open the weights group", path);
        goto out;
    }
    if (!fn_h5_has_attr(g, "layer_names") && !fn_h5_has_attr(g, "layer_names0")) {
        fn_fail(err, FN_E_FORMAT, "%s: not a Keras weights file (no layer_names attribute)", path);
        goto out;
    }
    if (fn_h5_attr_strings(g, "layer_names", &layer_names, &n_names, err)) {
        fn_wrap(err, "%s: ", path);
        goto out;
    }
    hid_t battr_obj = fn_h5_has_attr(g, "backend") ? g : f;
    if (fn_h5_has_attr(battr_obj, "backend") && fn_h5_attr_string(battr_obj, "backend", &backend, err)) {
        fn_wrap(err, "%s: ", path);
        goto out;
    }
    if (backend) {
        free(net->backend);
        net->backend = strdup(backend);
    }
    int theano = backend && !strcmp(backend, "theano");
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        L->theano_kernels = theano;
        if (L->n_w == 0)
            continue;
        if (!name_listed(layer_names, n_names, L->name) || H5Lexists(g, L->name, H5P_DEFAULT) <= 0) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s (%s) is missing from the weights file", path, L->name,
                    L->class_name);
            goto out;
        }
        hid_t lg = H5Gopen2(g, L->name, H5P_DEFAULT);
        if (lg < 0) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: cannot open its group", path, L->name);
            goto out;
        }
        int lrc = load_layer(L, lg, path, err);
        H5Gclose(lg);
        if (lrc)
            goto out;
    }
    rc = 0;
out:
    free(backend);
    fn_h5_strings_free(layer_names, n_names);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    return rc;
}
