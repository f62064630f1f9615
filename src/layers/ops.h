/* ops.h - the op table: one entry per supported Keras layer class, plus the few
 * hooks the graph optimiser uses to fold one layer into another. */
#ifndef FN_OPS_H
#define FN_OPS_H

#include "layers/layer.h"

extern const fn_op fn_op_input, fn_op_conv2d, fn_op_batchnorm, fn_op_activation,
    fn_op_maxpool2d, fn_op_avgpool2d, fn_op_gap2d, fn_op_gmp2d, fn_op_zeropad2d, fn_op_concat,
    fn_op_add, fn_op_dense, fn_op_flatten, fn_op_dropout, fn_op_scale_sum, fn_op_l2_normalize, fn_op_prelu,
    fn_op_relu, fn_op_softmax, fn_op_leaky_relu, fn_op_depthwise_conv2d, fn_op_separable_conv2d,
    fn_op_reshape;

/* The op for a Keras class name (or, for recognised Lambdas, "Lambda:<kind>"), or NULL. */
const fn_op *fn_op_find(const char *class_name);
/* 1 if class_name is a layer we know but deliberately do not support (yet). */
int fn_op_known_unsupported(const char *class_name);

/* Spatial helpers shared by image ops (conv, pooling, padding). */
void fn_layer_hwc(const fn_layer *L, const fn_shape *s, int *h, int *w, int *c);
fn_shape fn_layer_image(const fn_layer *L, int h, int w, int c);
int fn_op_window(const fn_layer *L, const char *axis, int in, int k, int s, int same, int *out,
                 int *pad, fn_err *err);

/* Shared by DepthwiseConv2D and SeparableConv2D (depthwise_conv2d.c): the common config
 * (kernel_size, strides, padding, depth_multiplier, dilation 1, channels_last, activation)
 * (the geometry: fn_depthwise_geom in kernels.h). */
int fn_depthwise_parse_common(fn_layer *L, const cJSON *cfg, int k[2], int s[2], int *same, int *dm,
                              fn_err *err);

/* Folding hooks (graph optimiser, src/net/fuse.c); convolutions offer fn_op.fold_params. */
/* BatchNormalization as y = x*mul + add per channel; returns the channel axis (per-sample
 * index) or -1.  mul/add point into the layer (valid while it lives). */
int fn_batchnorm_affine(const fn_layer *L, const float **mul, const float **add);
/* The residual scale of a scale-sum (scale_sum.c). */
float fn_scale_sum_scale(const fn_layer *L);
void fn_scale_sum_set_scale(fn_layer *L, float scale);

#endif
