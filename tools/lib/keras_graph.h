/* keras_graph.h - a Keras 2.4 Functional model built in C, layer by layer, and written
 * as model.json (what model.to_json() gives) + model.h5 (model.save_weights() layout,
 * through keras_h5w.h).  Every converter uses it (faceapi2keras, faceapi_nets2keras,
 * openface2keras); the files go out through outfiles.h, all or none.
 *
 *     kg_model *m = kg_new("my_net");
 *     kg_add(m, "InputLayer", "input", kg_input_config(150, 150, 3), 0, NULL, &err);
 *     kg_layer *L = kg_add(m, "Conv2D", "conv1", cJSON_CreateObject(), 1, (const char *[]){"input"}, &err);
 *     if (!L || kg_conv2d_config(L->cfg, 8, 3, 3, 1, 1, "same", KG_CL, "relu", 1))
 *         ...;
 *     kg_weight(L, "kernel:0", 4, (long long[]){3, 3, 3, 8}, kernel, &err);  // copied
 *     kg_output(m, "conv1", &err);
 *     kg_write_outputs(m, profile, "outdir", &err);  // model.json, facenet.json, model.h5
 *     kg_free(m);
 *
 * Other sets of files: kg_model_json and kg_stage_h5 into an fn_outfiles folder.
 *
 * A layer's config: kg_add appends "name" (and, but for an InputLayer, "trainable" and
 * "dtype") to the settings object it is given, so settings passed in come before them
 * and settings added to L->cfg afterwards come after.  Keras writes name first: pass an
 * empty object and complete L->cfg with the kg_*_config helpers below, which append in
 * Keras 2.4's get_config order.
 *
 * Each layer also records its output shape (h, w, c; -1 where unused) for the
 * converter's own checks; it is not written anywhere. */
#ifndef FN_KERAS_GRAPH_H
#define FN_KERAS_GRAPH_H

#include <cJSON.h>

#include "core/error.h"
#include "outfiles.h"

#define KG_MAX_IN 8
#define KG_MAX_W 4
#define KG_NAME 64
#define KG_CL "channels_last"
#define KG_CF "channels_first"

typedef struct {
    char name[KG_NAME];
    char cls[32];
    cJSON *cfg;                     /* owned */
    int n_in;
    char in[KG_MAX_IN][KG_NAME];
    int h, w, c;                    /* output shape, set by the converter */
    int n_w;
    char wname[KG_MAX_W][32];       /* "kernel:0" */
    int wrank[KG_MAX_W];
    long long wdims[KG_MAX_W][4];
    float *wdata[KG_MAX_W];         /* owned */
} kg_layer;

typedef struct kg_model kg_model;

/* An empty model called name; NULL when out of memory. */
kg_model *kg_new(const char *name);
void kg_free(kg_model *m);

/* Append a layer (in topological order) of class cls reading the n_in layers named in
 * `in`, which must exist.  cfg: its settings, taken over; NULL (a create that failed)
 * is reported as out of memory.  The model's inputs are its InputLayers.  NULL on
 * failure (cfg is freed). */
kg_layer *kg_add(kg_model *m, const char *cls, const char *name, cJSON *cfg, int n_in, const char *const *in,
                 fn_err *err);
kg_layer *kg_find(kg_model *m, const char *name);
/* Weight `name` of L: count = product(dims) values, Keras layout; rank <= 4.  kg_weight
 * copies data; kg_weight_take takes over malloc'd data (freed on failure too). */
int kg_weight(kg_layer *L, const char *name, int rank, const long long *dims, const float *data, fn_err *err);
int kg_weight_take(kg_layer *L, const char *name, int rank, const long long *dims, float *data, fn_err *err);
/* Name a model output (output_layers, in call order). */
int kg_output(kg_model *m, const char *name, fn_err *err);
/* The number of layers. */
int kg_count(const kg_model *m);

/* ---- settings appended to a config, in Keras 2.4's get_config order ----------------
 * df: KG_CL / KG_CF; padding: "same" / "valid".  Each returns -1 when out of memory
 * (a NULL cfg is allowed and fails). */
int kg_conv2d_config(cJSON *cfg, int filters, int kh, int kw, int sh, int sw, const char *padding,
                     const char *df, const char *activation, int use_bias);
int kg_dense_config(cJSON *cfg, int units, const char *activation, int use_bias);
/* MaxPooling2D / AveragePooling2D */
int kg_pool2d_config(cJSON *cfg, int ph, int pw, int sh, int sw, const char *padding, const char *df);
/* ZeroPadding2D ((top, bottom), (left, right)) */
int kg_zeropad2d_config(cJSON *cfg, int top, int bottom, int left, int right, const char *df);
int kg_activation_config(cJSON *cfg, const char *activation);
/* GlobalAveragePooling2D, Flatten, ... : data_format alone */
int kg_data_format_config(cJSON *cfg, const char *df);

/* Building blocks of the above. */
cJSON *kg_pair(int a, int b);
/* kernel_size, strides, padding, data_format, dilation_rate [1, 1] */
int kg_window(cJSON *cfg, int kh, int kw, int sh, int sw, const char *padding, const char *df);
/* activation, use_bias, kernel_initializer GlorotUniform, bias_initializer Zeros, and
 * null kernel/bias/activity regularizers and kernel/bias constraints */
int kg_weight_settings(cJSON *cfg, const char *activation, int use_bias);
/* key: {"class_name": cls, "config": {} or {"seed": null}} */
int kg_initializer(cJSON *cfg, const char *key, const char *cls, int seeded);
/* key: null for each key of a NULL-terminated list */
int kg_nulls(cJSON *cfg, const char *const *keys);

/* ---- whole settings objects, for kg_add (NULL when out of memory) ------------------ */

/* InputLayer: batch_input_shape [null, dims...], dtype float32, sparse, ragged */
cJSON *kg_input_config_dims(int rank, const int *dims);
cJSON *kg_input_config(int h, int w, int c);
/* DepthwiseConv2D / SeparableConv2D (depth_multiplier 1, channels_last), in the key
 * order face-api's converted nets have always had */
cJSON *kg_depthwise_config(int k, int stride, const char *padding, int use_bias);
cJSON *kg_separable_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias);

/* ---- output ----------------------------------------------------------------------- */

/* model.json text (no final newline); free with cJSON_free.  NULL when out of memory. */
char *kg_model_json(const kg_model *m);
/* model.h5 staged in an output folder: the weights of every layer in order
 * (weightless ones too). */
int kg_stage_h5(const kg_model *m, fn_outfiles *o, fn_err *err);
/* dir/model.json (no final newline) and dir/model.h5, both or neither. */
int kg_write(const kg_model *m, const char *dir, fn_err *err);
/* A converted model: dir/model.json and dir/facenet.json (profile_json), each text plus
 * a newline, and dir/model.h5; all three or none. */
int kg_write_outputs(const kg_model *m, const char *profile_json, const char *dir, fn_err *err);

#endif
