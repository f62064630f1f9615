/* keras_json.c - a Keras 2.4 Functional model.json builder (see keras_json.h). */
#include "keras_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras_h5w.h"

/* Attach item to obj under key (or to an array when key is NULL); on failure the
 * item is freed.  -1 when item is NULL (a failed create) or the attach failed. */
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

cJSON *fn_kjson_int_pair(int a, int b)
{
    int v[2] = {a, b};
    return cJSON_CreateIntArray(v, 2);
}

int fn_kjson_begin(fn_kjson_model *m, const char *name)
{
    memset(m, 0, sizeof *m);
    m->root = cJSON_CreateObject();
    if (!m->root || !cJSON_AddStringToObject(m->root, "class_name", "Functional") ||
        !(m->config = cJSON_AddObjectToObject(m->root, "config")) ||
        !cJSON_AddStringToObject(m->config, "name", name) ||
        !(m->layers = cJSON_AddArrayToObject(m->config, "layers")) ||
        !cJSON_AddStringToObject(m->root, "keras_version", FN_KH5W_KERAS_VERSION) ||
        !cJSON_AddStringToObject(m->root, "backend", FN_KH5W_BACKEND)) {
        fn_kjson_abort(m);
        return -1;
    }
    return 0;
}

/* {"class_name": cls, "config": {}, "name": name, "inbound_nodes": [node?]} appended
 * to the model's layers; returns the (empty) config. */
static cJSON *new_layer(fn_kjson_model *m, const char *cls, const char *name, int n_in,
                        const char *const *inbound)
{
    cJSON *o = cJSON_CreateObject();
    if (attach(m->layers, NULL, o))
        return NULL;
    cJSON *cfg, *nodes;
    if (!cJSON_AddStringToObject(o, "class_name", cls) ||
        !(cfg = cJSON_AddObjectToObject(o, "config")) ||
        !cJSON_AddStringToObject(o, "name", name) ||
        !(nodes = cJSON_AddArrayToObject(o, "inbound_nodes")))
        return NULL;
    if (n_in) {
        cJSON *node = cJSON_CreateArray();
        if (attach(nodes, NULL, node))
            return NULL;
        for (int i = 0; i < n_in; i++) {
            /* [layer name, node index, tensor index, call kwargs] */
            cJSON *ref = cJSON_CreateArray();
            if (attach(node, NULL, ref) || attach(ref, NULL, cJSON_CreateString(inbound[i])) ||
                attach(ref, NULL, cJSON_CreateNumber(0)) ||
                attach(ref, NULL, cJSON_CreateNumber(0)) ||
                attach(ref, NULL, cJSON_CreateObject()))
                return NULL;
        }
    }
    return cfg;
}

cJSON *fn_kjson_input(fn_kjson_model *m, const char *name, int rank, const int *shape)
{
    cJSON *cfg = new_layer(m, "InputLayer", name, 0, NULL), *dims;
    if (!cfg || !(dims = cJSON_AddArrayToObject(cfg, "batch_input_shape")) ||
        attach(dims, NULL, cJSON_CreateNull()))
        return NULL;
    for (int i = 0; i < rank; i++)
        if (attach(dims, NULL, cJSON_CreateNumber(shape[i])))
            return NULL;
    if (!cJSON_AddStringToObject(cfg, "dtype", "float32") ||
        !cJSON_AddBoolToObject(cfg, "sparse", 0) || !cJSON_AddBoolToObject(cfg, "ragged", 0) ||
        !cJSON_AddStringToObject(cfg, "name", name))
        return NULL;
    return cfg;
}

cJSON *fn_kjson_layer(fn_kjson_model *m, const char *cls, const char *name, int n_in,
                      const char *const *inbound)
{
    cJSON *cfg = new_layer(m, cls, name, n_in, inbound);
    if (!cfg || !cJSON_AddStringToObject(cfg, "name", name) ||
        !cJSON_AddBoolToObject(cfg, "trainable", 1) ||
        !cJSON_AddStringToObject(cfg, "dtype", "float32"))
        return NULL;
    return cfg;
}

/* ---- class settings, in get_config() order ---------------------------------------- */

/* Each helper returns -1 when an allocation failed (cJSON's Add* calls accept a NULL
 * parent, so one check at the end covers the whole chain). */

static int add_initializer(cJSON *cfg, const char *key, const char *cls, int seed)
{
    cJSON *o = cJSON_AddObjectToObject(cfg, key);
    int bad = !cJSON_AddStringToObject(o, "class_name", cls);
    cJSON *c = cJSON_AddObjectToObject(o, "config");
    if (seed)
        bad |= !cJSON_AddNullToObject(c, "seed");
    return bad || !c ? -1 : 0;
}

/* Kernel/bias settings shared by Conv2D and Dense, as Keras 2.4 get_config writes them. */
static int add_weight_settings(cJSON *cfg, int use_bias)
{
    int bad = !cJSON_AddBoolToObject(cfg, "use_bias", use_bias);
    bad |= add_initializer(cfg, "kernel_initializer", "GlorotUniform", 1);
    bad |= add_initializer(cfg, "bias_initializer", "Zeros", 0);
    bad |= !cJSON_AddNullToObject(cfg, "kernel_regularizer");
    bad |= !cJSON_AddNullToObject(cfg, "bias_regularizer");
    bad |= !cJSON_AddNullToObject(cfg, "activity_regularizer");
    bad |= !cJSON_AddNullToObject(cfg, "kernel_constraint");
    bad |= !cJSON_AddNullToObject(cfg, "bias_constraint");
    return bad ? -1 : 0;
}

int fn_kjson_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, int same,
                           const char *activation, int use_bias)
{
    int bad = !cJSON_AddNumberToObject(cfg, "filters", filters);
    bad |= attach(cfg, "kernel_size", fn_kjson_int_pair(kh, kw));
    bad |= attach(cfg, "strides", fn_kjson_int_pair(sh, sw));
    bad |= !cJSON_AddStringToObject(cfg, "padding", same ? "same" : "valid");
    bad |= !cJSON_AddStringToObject(cfg, "data_format", "channels_last");
    bad |= attach(cfg, "dilation_rate", fn_kjson_int_pair(1, 1));
    bad |= !cJSON_AddNumberToObject(cfg, "groups", 1);
    bad |= !cJSON_AddStringToObject(cfg, "activation", activation);
    bad |= add_weight_settings(cfg, use_bias);
    return bad ? -1 : 0;
}

int fn_kjson_dense_config(cJSON *cfg, int units, const char *activation, int use_bias)
{
    int bad = !cJSON_AddNumberToObject(cfg, "units", units);
    bad |= !cJSON_AddStringToObject(cfg, "activation", activation);
    bad |= add_weight_settings(cfg, use_bias);
    return bad ? -1 : 0;
}

int fn_kjson_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, int same)
{
    int bad = attach(cfg, "pool_size", fn_kjson_int_pair(ph, pw));
    bad |= !cJSON_AddStringToObject(cfg, "padding", same ? "same" : "valid");
    bad |= attach(cfg, "strides", fn_kjson_int_pair(sh, sw));
    bad |= !cJSON_AddStringToObject(cfg, "data_format", "channels_last");
    return bad ? -1 : 0;
}

int fn_kjson_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right)
{
    cJSON *pad = cJSON_AddArrayToObject(cfg, "padding");
    int bad = attach(pad, NULL, fn_kjson_int_pair(top, bottom));
    bad |= attach(pad, NULL, fn_kjson_int_pair(left, right));
    bad |= !cJSON_AddStringToObject(cfg, "data_format", "channels_last");
    return bad ? -1 : 0;
}

int fn_kjson_activation_config(cJSON *cfg, const char *activation)
{
    return cJSON_AddStringToObject(cfg, "activation", activation) ? 0 : -1;
}

int fn_kjson_global_pool2d_config(cJSON *cfg)
{
    return cJSON_AddStringToObject(cfg, "data_format", "channels_last") ? 0 : -1;
}

/* ---- finishing ---------------------------------------------------------------------- */

/* [[name, 0, 0], ...]: a model's input_layers / output_layers. */
static cJSON *layer_refs(int n, const char *const *names)
{
    cJSON *outer = cJSON_CreateArray();
    for (int i = 0; outer && i < n; i++) {
        cJSON *ref = cJSON_CreateArray();
        if (attach(outer, NULL, ref) || attach(ref, NULL, cJSON_CreateString(names[i])) ||
            attach(ref, NULL, cJSON_CreateNumber(0)) ||
            attach(ref, NULL, cJSON_CreateNumber(0))) {
            cJSON_Delete(outer);
            return NULL;
        }
    }
    return outer;
}

char *fn_kjson_finish(fn_kjson_model *m, int n_in, const char *const *inputs, int n_out,
                      const char *const *outputs)
{
    char *s = NULL;
    if (!attach(m->config, "input_layers", layer_refs(n_in, inputs)) &&
        !attach(m->config, "output_layers", layer_refs(n_out, outputs)))
        s = cJSON_PrintUnformatted(m->root);
    fn_kjson_abort(m);
    return s;
}

void fn_kjson_abort(fn_kjson_model *m)
{
    cJSON_Delete(m->root);
    memset(m, 0, sizeof *m);
}

/* ---- output files ------------------------------------------------------------------ */

/* Write text plus a final newline to a fresh temporary file dir/base.tmpXXXXXX (mode
 * 0666 minus the umask); *tmp receives its malloc'd path. */
static int write_tmp(const char *dir, const char *base, const char *text, char **tmp,
                     fn_err *err)
{
    size_t len = strlen(dir) + strlen(base) + 16;
    char *p = malloc(len);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    snprintf(p, len, "%s/%s.tmpXXXXXX", dir, base);
    int fd = mkstemp(p);
    if (fd < 0) {
        fn_fail(err, FN_E_IO, "%s/%s: cannot create a temporary file: %s", dir, base,
                strerror(errno));
        free(p);
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fdopen(fd, "w");
    size_t n = strlen(text);
    int bad = !f || fchmod(fd, 0666 & ~mask) != 0 || fwrite(text, 1, n, f) != n ||
              fputc('\n', f) == EOF;
    if (f) {
        if (fclose(f) != 0)
            bad = 1;
    } else {
        close(fd);
    }
    if (bad) {
        fn_fail(err, FN_E_IO, "%s/%s: cannot write %s", dir, base, p);
        unlink(p);
        free(p);
        return -1;
    }
    *tmp = p;
    return 0;
}

static char *join(const char *dir, const char *base)
{
    size_t len = strlen(dir) + strlen(base) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, base);
    return p;
}

/* The three files into an existing directory: all of them, or none. */
static int write_files(const char *outdir, const char *mj, const char *pj,
                       int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx,
                       fn_err *err)
{
    char *tmp_model = NULL, *tmp_prof = NULL;
    char *f_model = join(outdir, "model.json"), *f_prof = join(outdir, "facenet.json"),
         *f_h5 = join(outdir, "model.h5");
    int rc = -1, h5_done = 0, model_done = 0;
    if (!f_model || !f_prof || !f_h5) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    if (write_tmp(outdir, "model.json", mj, &tmp_model, err) ||
        write_tmp(outdir, "facenet.json", pj, &tmp_prof, err))
        goto out;
    if (write_h5(f_h5, ctx, err))
        goto out;
    h5_done = 1;
    if (rename(tmp_model, f_model) != 0) {
        fn_fail(err, FN_E_IO, "%s: cannot rename into place: %s", f_model, strerror(errno));
        goto out;
    }
    model_done = 1;
    if (rename(tmp_prof, f_prof) != 0) {
        fn_fail(err, FN_E_IO, "%s: cannot rename into place: %s", f_prof, strerror(errno));
        goto out;
    }
    free(tmp_prof);
    tmp_prof = NULL;
    rc = 0;
out:
    if (rc) {
        if (h5_done)
            unlink(f_h5);
        if (model_done)
            unlink(f_model);
    }
    if (tmp_model) {
        if (!model_done)
            unlink(tmp_model);
        free(tmp_model);
    }
    if (tmp_prof) {
        unlink(tmp_prof);
        free(tmp_prof);
    }
    free(f_model);
    free(f_prof);
    free(f_h5);
    return rc;
}

int fn_kjson_write_outputs(const char *outdir, const char *model_json, const char *profile_json,
                           int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx,
                           fn_err *err)
{
    int created_dir = 0;
    struct stat st;
    if (stat(outdir, &st) != 0) {
        if (mkdir(outdir, 0777) != 0)
            return fn_fail(err, FN_E_IO, "%s: cannot create directory: %s", outdir,
                           strerror(errno));
        created_dir = 1;
    } else if (!S_ISDIR(st.st_mode)) {
        return fn_fail(err, FN_E_ARG, "%s: not a directory", outdir);
    }
    if (write_files(outdir, model_json, profile_json, write_h5, ctx, err)) {
        if (created_dir)
            rmdir(outdir);
        return -1;
    }
    return 0;
}
