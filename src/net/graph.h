/* graph.h - the inside of an fn_net, shared by the engine's own files in src/net.
 * Everything outside src/net uses the public include/facenet.h.
 *
 * The files of src/net, in the order a model goes through them:
 *   load.c     the phase driver: parse -> graph -> shapes -> weights -> fold
 *   graph.c    building the graph from io's description; shape inference; lookups
 *   weights.c  a weights file -> the weights each layer declared (by name, shape-checked)
 *   sandbox.c  the same, in a child process (fn_load_opts.sandbox)
 *   fuse.c     folding BatchNorm and residual scales into convolutions, fusing activations
 *   plan.c     activation memory plan for an input size
 *   forward.c  the forward pass
 *   info.c     the read-only description of layers (facenet.h) */
#ifndef FN_GRAPH_H
#define FN_GRAPH_H

#include "facenet.h"
#include "io/keras_model.h"
#include "layers/layer.h"

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
    char fingerprint[33];      /* of the canonical architecture and the weight values */
    int reference;
    fn_layer_observer observer; /* fn_net_set_observer: called after each layer */
    void *observer_user;
    int threads;               /* the engine's threads (fn_load_opts.threads resolved) */
    struct fn_pool *pool;      /* its workers (core/thread_pool.h) */

    /* plan, valid for (plan_n, plan_in) */
    int planned;
    int plan_n;
    fn_shape plan_in;
    fn_place *place;           /* per layer */
    size_t *offset;            /* per layer (roots only): float offset in the arena */
    size_t act_floats, scratch_floats, naive_floats;
    size_t scratch_stride;     /* floats of scratch per thread */
    float *arena;
    size_t arena_cap;
    size_t max_arena_bytes;    /* fn_load_opts.max_arena_bytes resolved */
};

/* graph.c */
/* The layers of model m in topological order, each parsed by its op. */
int fn_graph_build(fn_net *net, fn_keras_model *m, const char *src, fn_err *err);
/* Follow identity layers (Dropout, folded BatchNorm, fused Activation) to the layer
 * whose output they pass on. */
int fn_net_resolve(const fn_net *net, int i);
/* Index of a layer by name, or -1. */
int fn_net_find(const fn_net *net, const char *name);
/* Shape inference for a given input shape (NULL: the declared one). */
int fn_net_infer(fn_net *net, const fn_shape *in, fn_err *err);

/* weights.c: read every declared weight from a Keras weights file. */
int fn_net_read_weights(fn_net *net, const char *path, fn_err *err);
/* sandbox.c: the same in a child process with a time limit (0 = 120 s). */
int fn_net_read_weights_sandboxed(fn_net *net, const char *path, int timeout_s, fn_err *err);
/* sandbox.c: fn_keras_h5_config in a child process. */
int fn_h5_config_sandboxed(const char *path, int timeout_s, char **json_text, fn_err *err);

/* fuse.c */
int fn_net_fuse(fn_net *net, fn_err *err);

#endif
