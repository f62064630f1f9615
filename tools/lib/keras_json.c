/* keras_json.c - the older Keras-writer API over keras_graph.c and outfiles.c (see
 * keras_json.h). */
#include "keras_json.h"

#include <string.h>

#define CL KG_CL

int fn_kjson_begin(fn_kjson_model *m, const char *name)
{
    m->g = kg_new(name);
    return m->g ? 0 : -1;
}

cJSON *fn_kjson_input(fn_kjson_model *m, const char *name, int rank, const int *shape)
{
    fn_err err;
    kg_layer *L = kg_add(m->g, "InputLayer", name, kg_input_config_dims(rank, shape), 0, NULL, &err);
    return L ? L->cfg : NULL;
}

cJSON *fn_kjson_layer(fn_kjson_model *m, const char *cls, const char *name, int n_in,
                      const char *const *inbound)
{
    fn_err err;
    kg_layer *L = kg_add(m->g, cls, name, cJSON_CreateObject(), n_in, inbound, &err);
    return L ? L->cfg : NULL;
}

int fn_kjson_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, int same,
                           const char *activation, int use_bias)
{
    return kg_conv2d_config(cfg, filters, kh, kw, sh, sw, same ? "same" : "valid", CL, activation, use_bias);
}

int fn_kjson_dense_config(cJSON *cfg, int units, const char *activation, int use_bias)
{
    return kg_dense_config(cfg, units, activation, use_bias);
}

int fn_kjson_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, int same)
{
    return kg_pool2d_config(cfg, ph, pw, sh, sw, same ? "same" : "valid", CL);
}

int fn_kjson_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right)
{
    return kg_zeropad2d_config(cfg, top, bottom, left, right, CL);
}

int fn_kjson_activation_config(cJSON *cfg, const char *activation)
{
    return kg_activation_config(cfg, activation);
}

int fn_kjson_global_pool2d_config(cJSON *cfg)
{
    return kg_data_format_config(cfg, CL);
}

cJSON *fn_kjson_int_pair(int a, int b)
{
    return kg_pair(a, b);
}

char *fn_kjson_finish(fn_kjson_model *m, int n_in, const char *const *inputs, int n_out,
                      const char *const *outputs)
{
    fn_err err;
    char *s = NULL;
    int bad = 0;
    /* keras_graph takes the InputLayers as the inputs: they must be the ones named */
    for (int i = 0; !bad && m->g && i < n_in; i++) {
        const kg_layer *L = kg_find(m->g, inputs[i]);
        bad = !L || strcmp(L->cls, "InputLayer");
    }
    for (int i = 0; !bad && m->g && i < n_out; i++)
        bad = kg_output(m->g, outputs[i], &err);
    if (!bad && m->g)
        s = kg_model_json(m->g);
    fn_kjson_abort(m);
    return s;
}

void fn_kjson_abort(fn_kjson_model *m)
{
    kg_free(m->g);
    m->g = NULL;
}

int fn_kjson_write_outputs(const char *outdir, const char *model_json, const char *profile_json,
                           int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx,
                           fn_err *err)
{
    fn_outfiles o;
    const char *h5;
    int rc = fn_outfiles_open(&o, outdir, err) || fn_outfiles_text(&o, "model.json", model_json, err) ||
                     fn_outfiles_text(&o, "facenet.json", profile_json, err) ||
                     !(h5 = fn_outfiles_path(&o, "model.h5", err)) || write_h5(h5, ctx, err) ||
                     fn_outfiles_commit(&o, err)
                 ? -1
                 : 0;
    fn_outfiles_close(&o);
    return rc;
}
