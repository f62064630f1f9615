/* ops.h - the op table: one entry per supported Keras layer class, plus the few
 * hooks the graph optimiser uses to fold one layer into another. */
#ifndef FN_OPS_H
#define FN_OPS_H

#include "net/layer.h"

extern const fn_op fn_op_input, fn_op_conv2d, fn_op_batchnorm, fn_op_activation,
    fn_op_maxpool2d, fn_op_avgpool2d, fn_op_gap2d, fn_op_gmp2d, fn_op_zeropad2d, fn_op_concat,
    fn_op_add, fn_op_dense, fn_op_flatten, fn_op_dropout, fn_op_lambda, fn_op_prelu, fn_op_relu,
    fn_op_softmax;

/* The op for a Keras class name, or NULL. */
const fn_op *fn_op_find(const char *class_name);
/* 1 if class_name is a layer we know but deliberately do not support (yet). */
int fn_op_known_unsupported(const char *class_name);

/* Spatial helpers shared by image ops (conv, pooling, padding). */
void fn_layer_hwc(const fn_layer *L, const fn_shape *s, int *h, int *w, int *c);
fn_shape fn_layer_image(const fn_layer *L, int h, int w, int c);
int fn_op_window(const fn_layer *L, const char *axis, int in, int k, int s, int same, int *out,
                 int *pad, fn_err *err);

/* Folding hooks (graph optimiser). */
int fn_conv2d_fold_affine(fn_layer *L, const float *mul, const float *add); /* y = y*mul + add */
int fn_conv2d_filters(const fn_layer *L);
/* BatchNormalization as y = x*mul + add per channel; returns the channel axis (per-sample
 * index) or -1.  mul/add point into the layer (valid while it lives). */
int fn_batchnorm_affine(const fn_layer *L, const float **mul, const float **add);
/* Lambda kinds recognised from Keras' marshalled bytecode. */
typedef enum { FN_LAMBDA_SCALE_SUM = 1, FN_LAMBDA_L2_NORMALIZE = 2 } fn_lambda_kind;
fn_lambda_kind fn_lambda_kind_of(const fn_layer *L);
float fn_lambda_scale(const fn_layer *L);
void fn_lambda_set_scale(fn_layer *L, float scale);

#endif
