/* keras_json.h - the older Keras-writer API, kept as thin wrappers over keras_graph.h
 * (the model) and outfiles.h (the output folder) because tests/test_converter_model.c
 * drives it directly.  No converter uses it; new code uses keras_graph.h.
 *
 *     fn_kjson_model m;
 *     if (fn_kjson_begin(&m, "my_model")) ...out of memory...
 *     const int shape[3] = {150, 150, 3};
 *     fn_kjson_input(&m, "input", 3, shape);
 *     const char *in = "input";
 *     cJSON *cfg = fn_kjson_layer(&m, "Conv2D", "conv1", 1, &in);
 *     if (fn_kjson_conv2d_config(cfg, 32, 3, 3, 1, 1, 1, "relu", 1)) ...abort...
 *     const char *out = "conv1";
 *     char *json = fn_kjson_finish(&m, 1, &in, 1, &out);   // free with cJSON_free
 *
 * Layer configs start with name / trainable / dtype, as Keras writes them.  Every call
 * reports a failure (NULL or -1); after one, fn_kjson_abort frees what was built. */
#ifndef FN_KERAS_JSON_H
#define FN_KERAS_JSON_H

#include <cJSON.h>

#include "core/error.h"
#include "keras_graph.h"

typedef struct {
    kg_model *g;
} fn_kjson_model;

int fn_kjson_begin(fn_kjson_model *m, const char *name);
/* An InputLayer of batch_input_shape [null, shape...]; returns its config. */
cJSON *fn_kjson_input(fn_kjson_model *m, const char *name, int rank, const int *shape);
/* A layer of class cls fed by the n_in layers named in inbound; returns its config for
 * the caller to complete. */
cJSON *fn_kjson_layer(fn_kjson_model *m, const char *cls, const char *name, int n_in,
                      const char *const *inbound);

/* kg_*_config with channels_last; same: padding "same" (else "valid"). */
int fn_kjson_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, int same,
                           const char *activation, int use_bias);
int fn_kjson_dense_config(cJSON *cfg, int units, const char *activation, int use_bias);
int fn_kjson_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, int same);
int fn_kjson_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right);
int fn_kjson_activation_config(cJSON *cfg, const char *activation);
int fn_kjson_global_pool2d_config(cJSON *cfg);
cJSON *fn_kjson_int_pair(int a, int b);

/* The model's text with these inputs (its InputLayers, in order) and outputs; m is
 * consumed either way.  NULL on failure. */
char *fn_kjson_finish(fn_kjson_model *m, int n_in, const char *const *inputs, int n_out,
                      const char *const *outputs);
void fn_kjson_abort(fn_kjson_model *m);

/* outdir/model.json and facenet.json (each text plus a newline) and model.h5 (written by
 * write_h5 to the path it is given), all three or none (outfiles.h). */
int fn_kjson_write_outputs(const char *outdir, const char *model_json, const char *profile_json,
                           int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx,
                           fn_err *err);

#endif
