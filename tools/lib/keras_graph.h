/* keras_graph.h - build a Keras 2.4 Functional model in C and write it as model.json +
 * model.h5 (model.save_weights() layout, tools/lib/keras_h5w), for converters.
 *
 *     kg_model *m = kg_new("my_net");
 *     kg_layer *L = kg_add(m, "Conv2D", "conv1", kg_conv_config(8, 3, 1, "same", "linear", 1), 1,
 *                          (const char *[]){"input"}, &err);
 *     kg_weight(L, "kernel:0", 4, (long long[]){3, 3, 3, 8}, kernel_values);   // copied
 *     kg_output(m, "conv1");
 *     kg_write(m, "outdir", &err);        // outdir/model.json, outdir/model.h5
 *     kg_free(m);
 *
 * Each layer records its output shape (h, w, c: -1 where not an image) for the
 * converter's own checks.  Layer configs are cJSON objects the builder takes over;
 * "name", "trainable" and "dtype" are added for every layer. */
#ifndef FN_KERAS_GRAPH_H
#define FN_KERAS_GRAPH_H

#include <cJSON.h>

#include "core/error.h"

#define KG_MAX_IN 8
#define KG_MAX_W 4
#define KG_NAME 64

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
    float *wdata[KG_MAX_W];         /* owned copies */
} kg_layer;

typedef struct kg_model kg_model;

kg_model *kg_new(const char *name);
void kg_free(kg_model *m);

/* Append a layer (in topological order); its inputs must exist.  NULL on failure. */
kg_layer *kg_add(kg_model *m, const char *cls, const char *name, cJSON *cfg, int n_in, const char *const *in,
                 fn_err *err);
kg_layer *kg_find(kg_model *m, const char *name);
/* Copy count = product(dims) values as weight `name` of L. */
int kg_weight(kg_layer *L, const char *name, int rank, const long long *dims, const float *data, fn_err *err);
int kg_output(kg_model *m, const char *name, fn_err *err);

/* Config helpers (Keras 2.4 get_config keys). */
cJSON *kg_input_config(int h, int w, int c);
cJSON *kg_conv_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias);
cJSON *kg_depthwise_config(int k, int stride, const char *padding, int use_bias);
cJSON *kg_separable_config(int filters, int k, int stride, const char *padding, const char *act, int use_bias);
cJSON *kg_pool_config(int k, int stride, const char *padding);

/* model.json (Functional config) as text; free with cJSON_free. */
char *kg_model_json(const kg_model *m);
/* Write dir/model.json and dir/model.h5 (each to a temporary name, then renamed). */
int kg_write(const kg_model *m, const char *dir, fn_err *err);
/* Write dir/name atomically (temporary file + rename). */
int kg_write_file(const char *dir, const char *name, const void *data, size_t len, fn_err *err);

#endif
