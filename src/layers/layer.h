/* layer.h - a layer of the graph and the op table every layer type provides.
 *
 * Tensors are stored in Keras' logical order: row-major over (N, d0, .., d[r-1]).
 * For channels_last image tensors that is NHWC.  The innermost dimension is laid out
 * with a row stride `ld` >= its size, so an op can write straight into a channel
 * slice of a Concatenate output (no copy).
 *
 * An op (one file in src/layers/) supplies, in phase order:
 *   parse    config JSON -> private params, declares fused activation etc.
 *   infer    input shapes -> output shape; declares the weights it needs (name+shape)
 *   prepare  weights loaded and checked -> transform them once (layout, flips)
 *   finalize after BatchNorm/scale folding: build run-time layouts (optional); an op
 *            may then release a weight its layout holds all of (one copy in memory)
 *   restore  rebuild released weights, for the reference kernels (optional)
 *   plan     for a planned batch size and input shape: layouts only some batch sizes
 *            use (optional; before the first forward pass of that plan)
 *   scratch  floats of scratch the forward pass needs (per planned input size)
 *   forward  the computation; allocates nothing
 *   destroy  frees the private params
 */
#ifndef FN_LAYER_H
#define FN_LAYER_H

#include <cJSON.h>
#include <stddef.h>

#include "core/error.h"

#define FN_MAX_WEIGHTS 6
#define FN_MAX_INPUTS 64

/* Also defined, identically, in include/facenet.h (the public header stands alone). */
#ifndef FN_SHAPE_DEFINED
#define FN_SHAPE_DEFINED
#define FN_MAX_RANK 4     /* per-sample rank (without the batch dimension) */
typedef struct {
    int rank;             /* per-sample rank, 1..FN_MAX_RANK */
    int d[FN_MAX_RANK];   /* -1 = unknown until the input size is given */
} fn_shape;
#endif

/* A batch of tensors in memory: rows = N * d0 * .. * d[r-2], each of d[r-1]
 * values, consecutive rows ld floats apart. */
typedef struct {
    float *p;
    int ld;
} fn_view;

typedef struct {
    char name[32];        /* Keras variable name without scope or ":0": "kernel", "gamma" */
    fn_shape shape;       /* expected shape (as Keras stores it) */
    float *data;          /* loaded values (owned), NULL until loaded, or once released */
    int optional;         /* may be absent from the file */
    int released;         /* data freed after the op packed it: the op's restore rebuilds it */
} fn_weight;

typedef enum {
    FN_ACT_LINEAR = 0,
    FN_ACT_RELU,
    FN_ACT_SIGMOID,
    FN_ACT_TANH,
    FN_ACT_SOFTMAX,       /* over the innermost axis */
    FN_ACT_RELU6,
    FN_ACT_ELU,
    FN_ACT_SELU,
    FN_ACT_SOFTPLUS,
    FN_ACT_LEAKY,         /* x > 0 ? x : slope*x            (LeakyReLU; args.slope) */
    FN_ACT_RELU_ARGS      /* Keras ReLU(max_value, threshold, negative_slope):
                           * x > threshold ? min(x, max_value) : slope*(x - threshold) */
} fn_act;

/* Parameters of the parameterised activations (unused by the others). */
typedef struct {
    float slope;          /* negative slope (LeakyReLU alpha, ReLU negative_slope) */
    float max_value;      /* ReLU: upper clip, INFINITY when none */
    float threshold;      /* ReLU: threshold (>= 0) */
} fn_act_args;

typedef struct fn_layer fn_layer;
typedef struct fn_pool fn_pool; /* core/thread_pool.h */

typedef struct {
    int n;                /* batch size */
    float *scratch;       /* op scratch: one area of op->scratch floats per thread, */
    size_t scratch_stride; /* scratch_stride floats apart */
    int reference;        /* 1 = use the naive reference kernels (one thread) */
    fn_pool *pool;        /* the engine's threads (NULL: the caller's only) */
} fn_ctx;

typedef struct fn_op {
    const char *class_name;
    int (*parse)(fn_layer *L, const cJSON *cfg, fn_err *err);
    int (*infer)(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err);
    int (*prepare)(fn_layer *L, fn_err *err);                    /* optional */
    size_t (*scratch)(const fn_layer *L, const fn_shape *in);    /* optional, per thread */
    void (*forward)(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                    fn_view out, const fn_ctx *ctx);
    void (*destroy)(fn_layer *L);                                /* optional */
    double (*macs)(const fn_layer *L, const fn_shape *in);       /* optional, per image */
    /* optional: the weights are final (after folding) -> run-time layouts (packed GEMM panels) */
    int (*finalize)(fn_layer *L, fn_err *err);
    /* optional: a batch of n images of this input shape will run -> build what that
     * needs and finalize left out (Winograd weights of a layer with tiles enough) */
    int (*plan)(fn_layer *L, const fn_shape *in, int n, fn_err *err);
    /* optional: weights finalize released (fn_weight.released) back in Keras' layout,
     * for the reference kernels (fn_net_set_reference) */
    int (*restore)(fn_layer *L, fn_err *err);
    /* optional, for ops whose output channels are a kernel matrix plus a bias (Conv2D,
     * DepthwiseConv2D, SeparableConv2D's pointwise half): the weights as src/net/fuse.c
     * folds a per-channel y*mul + add into them - kernel (rows x channels), bias
     * (channels; zeros when the layer has none).  -1 before prepare. */
    int (*fold_params)(fn_layer *L, float **kernel, size_t *rows, float **bias, int *channels);
} fn_op;

/* Capabilities a layer declares in parse/infer, used by the planner. */
enum {
    FN_L_STRIDED_IN = 1,   /* reads inputs with any row stride */
    FN_L_STRIDED_OUT = 2,  /* writes its output with any row stride (into a slice) */
    FN_L_VIEW = 4,         /* output is a reinterpretation of input 0 (Flatten) */
    FN_L_IDENTITY = 8      /* removed from execution: output == input 0 */
};

struct fn_layer {
    const fn_op *op;
    char *name;
    char *class_name;          /* Keras' class, for messages and info ("Lambda") */
    int index;                 /* position in the graph's topological order */
    int n_in;
    int in[FN_MAX_INPUTS];     /* producer layer indices */
    fn_shape in_shape[FN_MAX_INPUTS];
    fn_shape out_shape;
    int n_w;
    fn_weight w[FN_MAX_WEIGHTS];
    fn_act act;                /* fused activation applied at the end of forward */
    fn_act_args act_args;      /* its parameters (FN_ACT_LEAKY, FN_ACT_RELU_ARGS) */
    unsigned flags;
    const char *fused_into;    /* for identity layers: why they vanished (info view) */
    float folded_scale;        /* 0, or the residual scale fuse.c folded into its weights */
    char *data_format;         /* "channels_last"/"channels_first" where relevant */
    int theano_kernels;        /* weights come from a Theano-backend file: flip conv kernels */
    void *priv;                /* op's private parameters */
};

/* Helpers shared by op files. */
int fn_shape_equal(const fn_shape *a, const fn_shape *b);
size_t fn_shape_count(const fn_shape *s);               /* product of dims (0 if unknown) */
void fn_shape_str(const fn_shape *s, char *buf, size_t cap); /* "160x160x3" */
fn_weight *fn_layer_weight(fn_layer *L, const char *name);
const fn_weight *fn_layer_weight_c(const fn_layer *L, const char *name);
int fn_layer_declare(fn_layer *L, const char *name, int rank, const int *dims, int optional,
                     fn_err *err);
int fn_parse_act(const fn_layer *L, const char *name, fn_act *act, fn_err *err);
/* Config readers: each fails with an error naming the layer and key. */
int fn_cfg_int(const fn_layer *L, const cJSON *cfg, const char *key, int def, int *out, fn_err *err);
int fn_cfg_bool(const fn_layer *L, const cJSON *cfg, const char *key, int def, int *out, fn_err *err);
int fn_cfg_num(const fn_layer *L, const cJSON *cfg, const char *key, double def, double *out,
               fn_err *err);
const char *fn_cfg_str(const cJSON *cfg, const char *key, const char *def); /* lenient */
/* strict: a present, non-null value that is not a string is an error */
int fn_cfg_string(const fn_layer *L, const cJSON *cfg, const char *key, const char *def, const char **out,
                  fn_err *err);
/* config "activation" (a string; objects such as advanced activations are refused) -> L->act */
int fn_cfg_act(fn_layer *L, const cJSON *cfg, fn_err *err);
/* an integral JSON number in [lo, hi] (checked before converting) */
int fn_json_int(const cJSON *v, int lo, int hi, int *out);
int fn_cfg_pair(const fn_layer *L, const cJSON *cfg, const char *key, int def, int out[2], fn_err *err);
int fn_cfg_data_format(fn_layer *L, const cJSON *cfg, fn_err *err); /* sets L->data_format */
int fn_layer_channels_first(const fn_layer *L);

/* Apply an activation to rows x cols values with row stride ld (in place).  args may be
 * NULL for the activations without parameters. */
void fn_apply_act(fn_act act, const fn_act_args *args, float *p, size_t rows, int cols, int ld);
/* The layer's own (fused) activation: fn_apply_act(L->act, &L->act_args, ...). */
void fn_layer_act(const fn_layer *L, float *p, size_t rows, int cols, int ld);
/* The activation a kernel applies in its store for L: L->act, or linear for the
 * activations with parameters (LeakyReLU, ReLU with arguments), which then follow in a
 * pass of their own (fn_layer_act) - i.e. when the result differs from L->act. */
fn_act fn_layer_store_act(const fn_layer *L);

#endif
