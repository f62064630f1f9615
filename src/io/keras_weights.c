/* keras_weights.c - Keras HDF5 weights files, read through io/h5.c (keras_weights.h).
 *
 * Each layer group's attr weight_names lists dataset paths relative to the group; they
 * do not always repeat the layer name (Keras 2.0.5 writes conv2d_1/conv2d_1_1/kernel:0),
 * so we follow weight_names and let the caller match by variable name (kernel, bias,
 * gamma, ...), never by position. */
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "io/keras_weights.h"

struct fn_kw_file {
    char *path;
    hid_t file, group;         /* the file; the group holding the layer groups */
    char **layer_names;
    int n_layer_names;
    char *backend;
    hid_t layer;               /* the group of the layer last listed, or -1 */
    char *layer_name;
    char **names;              /* its weight_names */
    int n_names;
    fn_kw_array *arrays;
};

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

static void close_layer(fn_kw_file *f)
{
    if (f->layer >= 0)
        H5Gclose(f->layer);
    f->layer = -1;
    fn_h5_strings_free(f->names, f->n_names);
    f->names = NULL;
    f->n_names = 0;
    free(f->arrays);
    f->arrays = NULL;
    free(f->layer_name);
    f->layer_name = NULL;
}

void fn_kw_close(fn_kw_file *f)
{
    if (!f)
        return;
    close_layer(f);
    fn_h5_strings_free(f->layer_names, f->n_layer_names);
    free(f->backend);
    if (f->group >= 0)
        H5Gclose(f->group);
    if (f->file >= 0)
        H5Fclose(f->file);
    free(f->path);
    free(f);
}

int fn_kw_open(const char *path, fn_kw_file **out, fn_err *err)
{
    *out = NULL;
    fn_kw_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    f->file = f->group = f->layer = -1;
    if (fn_h5_open(path, &f->file, err)) {
        f->file = -1;
        fn_kw_close(f);
        return -1;
    }
    if (H5Lexists(f->file, "model_weights", H5P_DEFAULT) > 0)
        f->group = H5Gopen2(f->file, "model_weights", H5P_DEFAULT);
    else
        f->group = H5Gopen2(f->file, "/", H5P_DEFAULT);
    int rc = -1;
    if (f->group < 0) {
        fn_fail(err, FN_E_FORMAT, "%s: cannot open the weights group", path);
        goto out;
    }
    if (!fn_h5_has_attr(f->group, "layer_names") && !fn_h5_has_attr(f->group, "layer_names0")) {
        fn_fail(err, FN_E_FORMAT, "%s: not a Keras weights file (no layer_names attribute)", path);
        goto out;
    }
    if (fn_h5_attr_strings(f->group, "layer_names", &f->layer_names, &f->n_layer_names, err)) {
        fn_wrap(err, "%s: ", path);
        goto out;
    }
    hid_t battr_obj = fn_h5_has_attr(f->group, "backend") ? f->group : f->file;
    if (fn_h5_has_attr(battr_obj, "backend") && fn_h5_attr_string(battr_obj, "backend", &f->backend, err)) {
        fn_wrap(err, "%s: ", path);
        goto out;
    }
    rc = 0;
out:
    if (rc) {
        fn_kw_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

const char *fn_kw_backend(const fn_kw_file *f)
{
    return f->backend;
}

static int name_listed(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

int fn_kw_layer(fn_kw_file *f, const char *name, const fn_kw_array **arrays, int *n, fn_err *err)
{
    close_layer(f);
    *arrays = NULL;
    *n = 0;
    if (!name_listed(f->layer_names, f->n_layer_names, name) || H5Lexists(f->group, name, H5P_DEFAULT) <= 0)
        return fn_fail(err, FN_E_NOTFOUND, "no group for layer %s", name);
    if (!(f->layer_name = strdup(name)))
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    f->layer = H5Gopen2(f->group, name, H5P_DEFAULT);
    if (f->layer < 0)
        return fn_fail(err, FN_E_FORMAT, "%s: layer %s: cannot open its group", f->path, name);
    if (fn_h5_attr_strings(f->layer, "weight_names", &f->names, &f->n_names, err))
        return fn_wrap(err, "%s: layer %s: ", f->path, name);
    f->arrays = calloc((size_t)(f->n_names ? f->n_names : 1), sizeof *f->arrays);
    if (!f->arrays)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    for (int i = 0; i < f->n_names; i++) {
        variable_name(f->names[i], f->arrays[i].var, sizeof f->arrays[i].var);
        f->arrays[i].path = f->names[i];
    }
    *arrays = f->arrays;
    *n = f->n_names;
    return 0;
}

int fn_kw_dims(fn_kw_file *f, int i, int *rank, long long dims[FN_KW_MAX_RANK], fn_err *err)
{
    if (f->layer < 0 || i < 0 || i >= f->n_names)
        return fn_fail(err, FN_E_ARG, "%s: no such weight array", f->path);
    if (fn_h5_dataset_dims(f->layer, f->names[i], rank, dims, FN_KW_MAX_RANK, err))
        return fn_wrap(err, "%s: layer %s: ", f->path, f->layer_name);
    return 0;
}

int fn_kw_read(fn_kw_file *f, int i, float *buf, size_t count, fn_err *err)
{
    if (f->layer < 0 || i < 0 || i >= f->n_names)
        return fn_fail(err, FN_E_ARG, "%s: no such weight array", f->path);
    if (fn_h5_read_floats(f->layer, f->names[i], buf, count, err))
        return fn_wrap(err, "%s: layer %s: ", f->path, f->layer_name);
    return 0;
}
