/* graph.h - the inside of an fn_net, shared by the engine's own files (src/net,
 * src/io/keras_*.c) and by in-tree tools that walk layers (info, the weights
 * generator).  Applications use net.h only. */
#ifndef FN_GRAPH_H
#define FN_GRAPH_H

#include "net/net.h"

typedef struct {
    int root;        /* layer whose buffer holds this tensor */
    int col;         /* column offset inside the root's rows (concat slices) */
    int ld;          /* row stride */
} fn_place;

struct fn_net {
    char *source;              /* "keras 2.4.0, tensorflow" */
    char *backend;
    int n_layers;
    fn_layer *layers;          /* topological order */
    int input;                 /* index of the InputLayer */
    int n_out;
    int *out;                  /* output layers as named by the model */
    size_t params;
    int weights_loaded;        /* a weights file was read (a weightless net runs without) */
    int reference;

    /* plan, valid for (plan_n, plan_in) */
    int planned;
    int plan_n;
    fn_shape plan_in;
    fn_place *place;           /* per layer */
    size_t *offset;            /* per layer (roots only): float offset in the arena */
    size_t act_floats, scratch_floats, naive_floats;
    float *arena;
    size_t arena_cap;
};

/* Follow identity layers (Dropout, folded BatchNorm, fused Activation) to the layer
 * whose output they pass on. */
int fn_net_resolve(const fn_net *net, int i);
/* Index of a layer by name, or -1. */
int fn_net_find(const fn_net *net, const char *name);
/* Fold/fuse pass (fuse.c). */
int fn_net_fuse(fn_net *net, fn_err *err);
/* Re-run shape inference for a given input shape (graph.c). */
int fn_net_infer(fn_net *net, const fn_shape *in, fn_err *err);

/* Loader entry points (src/io). */
int fn_keras_build(fn_net *net, const char *json_text, const char *src, fn_err *err);
int fn_keras_h5_config(const char *path, char **json_text, fn_err *err);
int fn_keras_load_weights(fn_net *net, const char *path, fn_err *err);

#endif
