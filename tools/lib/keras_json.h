/* keras_json.h - build a Keras 2.4 Functional model.json with cJSON, as
 * model.to_json() writes it, and write a converted model's files (model.json,
 * model.h5, facenet.json) all or none: for converters that map another framework's
 * network onto standard Keras layers (tools/faceapi2keras.c; the weights go through
 * keras_h5w.h).
 *
 * The model is a list of layers in model.layers order.  Each layer is
 *     {"class_name": C, "config": {...}, "name": N, "inbound_nodes": [[[in, 0, 0, {}], ...]]}
 * where the config starts with name / trainable / dtype (an InputLayer's with
 * batch_input_shape / dtype / sparse / ragged / name) and the caller appends the
 * class's own settings, with one of the fn_kjson_*_config helpers or directly with
 * cJSON.  Keys come out in the order Keras writes them.
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
 * Every call reports a failed allocation (NULL or -1); after one, fn_kjson_abort
 * frees what was built.
 */
#ifndef FN_KERAS_JSON_H
#define FN_KERAS_JSON_H

#include <cJSON.h>

#include "core/error.h"

typedef struct {
    cJSON *root;   /* {"class_name": "Functional", "config", "keras_version", "backend"} */
    cJSON *config; /* root.config */
    cJSON *layers; /* root.config.layers */
} fn_kjson_model;

/* Start an empty Functional model called name.  -1 when out of memory. */
int fn_kjson_begin(fn_kjson_model *m, const char *name);

/* Append an InputLayer with batch_input_shape [null, shape[0], ..., shape[rank-1]],
 * dtype float32.  Returns its config (NULL when out of memory). */
cJSON *fn_kjson_input(fn_kjson_model *m, const char *name, int rank, const int *shape);

/* Append a layer of class cls fed by the n_in layers named in inbound (one inbound
 * node; n_in may be 0).  Returns its config, holding name / trainable / dtype so
 * far, for the caller to complete (NULL when out of memory). */
cJSON *fn_kjson_layer(fn_kjson_model *m, const char *cls, const char *name, int n_in,
                      const char *const *inbound);

/* The settings of the common classes, appended to a config from fn_kjson_layer
 * (a NULL cfg is allowed and fails).  same: padding "same" (else "valid");
 * activation: "relu", "linear", ...  Each returns -1 when out of memory. */
int fn_kjson_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, int same,
                           const char *activation, int use_bias);
int fn_kjson_dense_config(cJSON *cfg, int units, const char *activation, int use_bias);
/* MaxPooling2D / AveragePooling2D */
int fn_kjson_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, int same);
/* ZeroPadding2D ((top, bottom), (left, right)) */
int fn_kjson_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right);
int fn_kjson_activation_config(cJSON *cfg, const char *activation);
/* GlobalAveragePooling2D / GlobalMaxPooling2D */
int fn_kjson_global_pool2d_config(cJSON *cfg);

/* [a, b] as a JSON array (kernel sizes, strides, input_size ...). */
cJSON *fn_kjson_int_pair(int a, int b);

/* Name the model's inputs and outputs (input_layers / output_layers), print the
 * model compactly (as model.to_json()) and free the tree.  The text is freed with
 * cJSON_free; NULL when out of memory.  m is consumed either way. */
char *fn_kjson_finish(fn_kjson_model *m, int n_in, const char *const *inputs, int n_out,
                      const char *const *outputs);

/* Free an unfinished model (after an error). */
void fn_kjson_abort(fn_kjson_model *m);

/* Write a converted model into outdir, created if missing: model.json and
 * facenet.json (the texts, each plus a newline) and model.h5 (written by write_h5 to
 * the path it is given, e.g. with keras_h5w.h, which renames into place itself).
 * All three or none: the JSON files go to temporary names first and are renamed
 * after model.h5 is written; on any failure whatever was placed is removed (and
 * outdir too when it was created here).  Messages name the file. */
int fn_kjson_write_outputs(const char *outdir, const char *model_json, const char *profile_json,
                           int (*write_h5)(const char *path, void *ctx, fn_err *err), void *ctx,
                           fn_err *err);

#endif
