/* facenet.h - the public API of facenet-c's engine: load a Keras model, run it, read
 * its outputs and describe its layers.  Self-contained: include it alone and link with
 * -lfacenet (pkg-config facenet).
 *
 *   #include <facenet.h>
 *
 *   fn_net *net;
 *   fn_err err;
 *   fn_load_opts o = {.model_json = "dir/model.json", .weights = "dir/model.h5"};
 *   if (fn_net_load(&o, &net, &err)) { fprintf(stderr, "%s\n", err.msg); return 2; }
 *   // input: n images in the layout the InputLayer declares (NHWC for FaceNet)
 *   if (fn_net_run(net, input, n, NULL, &err)) ...
 *   fn_shape s;
 *   const float *emb = fn_net_output(net, 0, &s);    // n x 128
 *   fn_l2_normalize(...);                            // if the model does not
 *   fn_net_free(net);
 *
 * Phases of a load: parse model.json -> build the graph (topological order) -> infer
 * shapes -> read and check weights by name -> transform them (fold BatchNorm and
 * residual scales into convolutions, fuse activations).  Then, per input size: plan
 * activation memory -> run.  Everything that can fail does so before the forward pass,
 * which allocates nothing.  No function exits or prints: each fallible one returns 0,
 * or -1 with one line in fn_err naming the file, layer or value that was wrong.
 * The library reads no environment variables and starts no processes unless asked
 * (fn_load_opts.sandbox).
 */
#ifndef FACENET_H
#define FACENET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FACENET_VERSION "0.2.0"

/* ---- errors (also defined, identically, in src/core/error.h) ---- */
#ifndef FN_ERR_DEFINED
#define FN_ERR_DEFINED
typedef enum {
    FN_E_NONE = 0,
    FN_E_IO,          /* missing/unreadable file, short read */
    FN_E_FORMAT,      /* malformed or hostile file contents */
    FN_E_UNSUPPORTED, /* valid input we deliberately do not handle */
    FN_E_SHAPE,       /* shapes disagree */
    FN_E_NOMEM,       /* allocation failed or size overflow */
    FN_E_ARG,         /* bad argument from the caller / user */
    FN_E_DB,          /* gallery database problem */
    FN_E_NOTFOUND,    /* a named thing (identity, layer) does not exist */
    FN_E_LIMIT        /* over a size limit the caller may raise (the message says "the limit NAME=N") */
} fn_errkind;

typedef struct {
    fn_errkind kind;
    char msg[1024];
} fn_err;
#endif

/* ---- shapes (also defined, identically, in src/layers/layer.h) ---- */
#ifndef FN_SHAPE_DEFINED
#define FN_SHAPE_DEFINED
#define FN_MAX_RANK 4     /* per-sample rank (without the batch dimension) */
typedef struct {
    int rank;             /* per-sample rank, 1..FN_MAX_RANK */
    int d[FN_MAX_RANK];   /* -1 = unknown until the input size is given */
} fn_shape;
#endif

size_t fn_shape_count(const fn_shape *s);                     /* product of dims (0 if unknown) */
void fn_shape_str(const fn_shape *s, char *buf, size_t cap);  /* "160x160x3" */

/* ---- loading ---- */
typedef struct fn_net fn_net;

typedef struct {
    const char *model_json; /* NULL: read the config from the weights file (model.save layout) */
    const char *weights;    /* NULL: architecture only (weights declared, not loaded) */
    int no_fuse;            /* keep every layer as Keras has it (trace view, reference runs) */
    /* Read the weights file in a forked child process with a time limit, for files from
     * outside: libhdf5 can crash or spin on some corrupted files, which then becomes an
     * ordinary error here.  The child hands the arrays back through a pipe, so the file
     * is still read once.  Off by default: a library does not fork unasked. */
    int sandbox;
    int sandbox_timeout_s;  /* 0: 120 s */
    /* Threads of the forward pass: 0 = one per online core.  The engine splits each
     * convolution's output (images of a batch, tiles of rows) over its own threads and
     * keeps OpenBLAS on one thread (openblas_set_num_threads(1): a process-wide setting). */
    int threads;
    /* Limits on what the model files may ask for, each checked before the memory is
     * allocated; 0 = the default.  A file over one is FN_E_LIMIT with a message naming
     * it ("the limit json-values=1000000"); docs/robustness.md lists them all. */
    size_t max_json_bytes;  /* model.json, or the .h5's model_config: 64 MiB */
    size_t max_json_values; /* values in that JSON (~80 bytes each once parsed): 1,000,000 */
    size_t max_layers;      /* layers of the model: 100,000 */
    size_t max_arena_bytes; /* activation memory of one plan (input size x batch): 4 GiB */
} fn_load_opts;
#define FN_DEFAULT_MAX_JSON_BYTES ((size_t)64 << 20)
#define FN_DEFAULT_MAX_JSON_VALUES ((size_t)1000000)
#define FN_DEFAULT_MAX_LAYERS ((size_t)100000)
#define FN_DEFAULT_MAX_ARENA_BYTES ((size_t)4 << 30)

int fn_net_load(const fn_load_opts *opts, fn_net **out, fn_err *err);
/* DIR/model.json (if present) + DIR/model.h5 */
int fn_net_load_dir(const char *dir, int no_fuse, fn_net **out, fn_err *err);
void fn_net_free(fn_net *net);
int fn_net_threads(const fn_net *net); /* threads the forward pass uses */
/* Run net's forward passes on the threads of `from` from now on (net's own workers
 * stop; the shared ones live while either net does).  For a program that runs several
 * nets one after another - detector, landmarks, recognition - so that one set of
 * workers serves them all instead of one idle set per net.  Both must have the same
 * thread count (else FN_E_ARG), and must then not run at the same time. */
int fn_net_share_threads(fn_net *net, fn_net *from, fn_err *err);

/* The machine as the kernels see it, for `facenet info` and benchmarks. */
typedef struct {
    char cpu[64];           /* "AMD EPYC 9R45" */
    const char *isa;        /* instruction set of the engine's own kernels: "avx2+fma" */
    char blas[192];         /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (core Haswell)" */
    int cores;              /* online processors */
} fn_machine;
void fn_machine_describe(fn_machine *m);
/* Use at most this instruction set in the engine's kernels, process-wide: "portable"
 * (the cblas path), "avx2" or "avx512" (benchmarks, comparisons).  -1 for another name. */
int fn_limit_isa(const char *name);

/* ---- running ---- */
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

/* 1: run the naive reference kernels instead of the GEMM paths.  The engine keeps a
 * convolution's weights once, packed for its GEMM; turning the reference kernels on
 * rebuilds them in Keras' layout (as much memory again): -1 (FN_E_NOMEM) when that
 * fails, and the net stays as it was. */
int fn_net_set_reference(fn_net *net, int on, fn_err *err);

/* Watching a run layer by layer (`facenet trace`).  With an observer set, fn_net_run
 * calls it on the calling thread right after each layer's output is computed, in
 * execution order: the InputLayer (after the input is copied in), every executed layer,
 * and views (Flatten, time 0).  Folded layers are not called (fn_layer_info says what
 * they were folded into).  The data is valid only during the call: the memory plan
 * reuses buffers.  A nonzero return stops the run, which then fails (FN_E_ARG, naming
 * the layer).  Without an observer the forward pass does no extra work. */
typedef struct {
    int layer;             /* its index (fn_net_layer_info) */
    const float *data;     /* its output for the run's n samples */
    int n;                 /* samples in the run */
    size_t rows;           /* n * d0 * .. * d[rank-2] rows ... */
    int cols;              /* ... of d[rank-1] values each, */
    int ld;                /* consecutive rows ld >= cols floats apart (a concat slice) */
    double seconds;        /* wall time of its forward */
} fn_layer_output;
typedef int (*fn_layer_observer)(void *user, const fn_layer_output *out);
/* fn NULL removes the observer. */
void fn_net_set_observer(fn_net *net, fn_layer_observer fn, void *user);

/* L2 normalisation of one vector in place: v / sqrt(max(sum v^2, 1e-12)) (Keras'
 * rule; a zero vector stays zero).  The one implementation every part of facenet-c
 * uses. */
void fn_l2_normalize(float *v, int d);

/* ---- describing ---- */
size_t fn_net_param_count(const fn_net *net);
double fn_net_macs(const fn_net *net);          /* per image, for the planned input size */
size_t fn_net_arena_bytes(const fn_net *net);   /* planned activations + scratch */
size_t fn_net_activation_bytes(const fn_net *net); /* planned activations */
size_t fn_net_scratch_bytes(const fn_net *net); /* planned scratch */
size_t fn_net_naive_bytes(const fn_net *net);   /* sum of all activations, unplanned */
const char *fn_net_source(const fn_net *net);   /* "keras 2.4.0, tensorflow" */
/* 32 hex digits identifying what determines the outputs: the architecture in canonical
 * form (layers, their configs and connections; not the file's key order, spacing or
 * Keras version) and the weight values as stored.  Converting the same model again
 * gives the same fingerprint even when the file's bytes differ. */
const char *fn_net_fingerprint(const fn_net *net);
int fn_net_planned(const fn_net *net);          /* 1 once a plan exists */

int fn_net_n_layers(const fn_net *net);
int fn_net_input_layer(const fn_net *net);      /* index of the InputLayer */
int fn_net_output_layer(const fn_net *net, int i); /* index of output i's layer */

/* One layer as the engine runs it, read-only; pointers valid while the net lives. */
typedef struct {
    const char *name;
    const char *class_name;    /* Keras' class ("Conv2D", "Lambda") */
    const char *op;            /* the engine's op ("Conv2D", "Lambda:scale_sum") */
    int n_inputs;
    const int *inputs;         /* indices of the layers feeding it (execution order) */
    fn_shape out_shape;        /* per sample, for the planned input size */
    size_t params;             /* weight values it declares */
    int n_weights;
    double macs;               /* multiply-adds per image (0 until planned) */
    int executed;              /* 0: folded away or an identity at inference */
    const char *folded_into;   /* when not executed: the layer that does its work, or NULL */
    /* where its output lives after planning (executed layers, planned nets): */
    int buffer;                /* the layer owning the buffer (itself, or a concat/view source) */
    size_t offset_bytes;       /* that buffer's offset in the activation arena */
    int column;                /* first column inside the buffer's rows (concat slices) */
    int is_view;               /* a reinterpretation of its input (Flatten) */
    /* 1, or the residual scale folded into this executed layer's weights (the
     * convolution feeding an Inception-ResNet scale-sum): its output is then
     * out_scale x what Keras' layer of that name gives. */
    float out_scale;
} fn_layer_info;

int fn_net_layer_info(const fn_net *net, int i, fn_layer_info *out);

/* A weight a layer declares: Keras' variable name ("kernel") and its shape as Keras
 * stores it. */
typedef struct {
    const char *name;
    int rank;
    int dims[FN_MAX_RANK];
} fn_weight_info;

int fn_net_weight_info(const fn_net *net, int layer, int k, fn_weight_info *out);

#ifdef __cplusplus
}
#endif

#endif
