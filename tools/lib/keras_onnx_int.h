/* keras_onnx_int.h - what keras_onnx.c (the driver: names, layouts, weights, the
 * graph's inputs and outputs) and keras_onnx_layers.c (one function per Keras layer
 * class) share.  Private to the converter. */
#ifndef FN_KERAS_ONNX_INT_H
#define FN_KERAS_ONNX_INT_H

#include <cJSON.h>

#include "../tools/lib/keras_onnx.h"
#include "facenet.h"
#include "io/keras_model.h"
#include "io/keras_weights.h"

typedef struct {
    const char *name;          /* value holding the layer's output */
    int nchw;                  /* 1: the NCHW transpose of a Keras (H, W, C) tensor */
    const char *other;         /* the same value in the other order, once needed */
    fn_shape shape;            /* per sample, Keras order */
} k2o_tensor;

typedef struct {
    fn_net *net;
    fn_keras_model km;
    fn_kw_file *kw;
    int theano, batch, oom;
    int cur;                   /* the layer being converted */
    fn_onnx *g;
    k2o_tensor *t;             /* per layer, engine order */
    int *alias;                /* layer -> the layer whose tensor it is (Dropout, linear) */
    char **names;              /* every string made by k2o_name(), freed at the end */
    size_t n_names, cap_names;
    size_t keras_values;
    int transposes;
    fn_err *err;
} k2o_conv;

/* A formatted name that lives as long as the conversion ("?" and c->oom on failure). */
const char *k2o_name(k2o_conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
k2o_tensor *k2o_t(k2o_conv *c, int layer);      /* the tensor layer's output is */
const char *k2o_out(k2o_conv *c);               /* the value the current layer writes */
/* Layer i's value in the wanted order (a Transpose is added once, when first needed). */
const char *k2o_need(k2o_conv *c, int i, int want_nchw);
int k2o_axis(const k2o_tensor *t, int a);       /* physical axis of per-sample Keras axis a */
void k2o_node(k2o_conv *c, const char *op, const char *out, int n_in, const char *const *in);
const char *k2o_scalar(k2o_conv *c, const char *layer, const char *what, float v);
/* An initializer holding Keras weight `var` of L, named "<layer>/<var>". */
const char *k2o_init(k2o_conv *c, const fn_layer_info *L, const char *var, int rank, const long long *dims,
                     const float *data);
const float *k2o_weight(const fn_layer_info *L, float **w, const fn_weight_info *wi, const char *name,
                        const fn_weight_info **info);
/* Batch + per-sample dims of a graph input/output; unknown dims get symbolic names. */
void k2o_io_dims(k2o_conv *c, const fn_shape *s, const char *prefix, long long *dims, const char **sym);

/* lenient config readers (the engine has checked the config already) */
const cJSON *k2o_item(const cJSON *cfg, const char *key);
const char *k2o_cfg_str(const cJSON *cfg, const char *key, const char *def);
double k2o_cfg_num(const cJSON *cfg, const char *key, double def);
void k2o_cfg_pair(const cJSON *cfg, const char *key, int def, long long out[2]);
int k2o_channels_first(const cJSON *cfg);

/* keras_onnx_layers.c: the nodes of layer i (c->cur), its weights in w/wi. */
int k2o_layer(k2o_conv *c, int i, const fn_layer_info *L, const cJSON *cfg, float **w, const fn_weight_info *wi);

#endif
