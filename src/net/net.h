/* net.h - the engine's public API: load a Keras model, run it.
 *
 *   fn_net *net;
 *   fn_err err;
 *   fn_load_opts o = {.model_json = "dir/model.json", .weights = "dir/model.h5"};
 *   if (fn_net_load(&o, &net, &err)) { fprintf(stderr, "%s\n", err.msg); return 2; }
 *   // input: n images in the layout the InputLayer declares (NHWC for FaceNet)
 *   if (fn_net_run(net, input, n, NULL, &err)) ...
 *   fn_shape s;
 *   const float *emb = fn_net_output(net, 0, &s);    // n x 128
 *   fn_net_free(net);
 *
 * Phases: parse model.json -> build graph (topological order) -> infer shapes ->
 * load and check weights by name -> transform them (fold BatchNorm and residual
 * scales into convolutions, fuse activations) -> plan activation memory for the
 * input size -> run.  Everything that can fail does so before the forward pass,
 * which allocates nothing.
 */
#ifndef FN_NET_H
#define FN_NET_H

#include <stddef.h>

#include "core/error.h"
#include "net/layer.h"

typedef struct fn_net fn_net;

typedef struct {
    const char *model_json; /* NULL: read the config from the weights file (model.save layout) */
    const char *weights;    /* NULL: architecture only (weights declared, not loaded) */
    int no_fuse;            /* keep every layer as Keras has it (trace view, reference runs) */
} fn_load_opts;

int fn_net_load(const fn_load_opts *opts, fn_net **out, fn_err *err);
/* DIR/model.json (if present) + DIR/model.h5 */
int fn_net_load_dir(const char *dir, int no_fuse, fn_net **out, fn_err *err);
void fn_net_free(fn_net *net);

/* Declared per-sample input shape (dims of -1 are set by the input at run time). */
fn_shape fn_net_input_shape(const fn_net *net);
int fn_net_n_outputs(const fn_net *net);
const char *fn_net_output_name(const fn_net *net, int i);

/* Plan for n inputs of per-sample shape in (NULL = the declared shape, which must then
 * be fully known).  fn_net_run calls it when needed; calling it yourself moves the one
 * allocation out of the timed/critical path. */
int fn_net_plan(fn_net *net, int n, const fn_shape *in, fn_err *err);
int fn_net_run(fn_net *net, const float *input, int n, const fn_shape *in, fn_err *err);
/* Output i of the last run: n x shape values, contiguous; valid until the next run. */
const float *fn_net_output(const fn_net *net, int i, fn_shape *shape);

/* 1: run the naive reference kernels instead of the GEMM paths. */
void fn_net_set_reference(fn_net *net, int on);

/* Facts for `facenet info` and the benchmarks. */
size_t fn_net_param_count(const fn_net *net);
double fn_net_macs(const fn_net *net);          /* per image, for the planned input size */
size_t fn_net_arena_bytes(const fn_net *net);   /* planned activations + scratch */
size_t fn_net_naive_bytes(const fn_net *net);   /* sum of all activations, unplanned */
const char *fn_net_source(const fn_net *net);   /* "keras 2.4.0, tensorflow" */

#endif
