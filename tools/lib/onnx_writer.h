/* onnx_writer.h - write an ONNX model file by hand, and read one back for checks.
 *
 * ONNX files are plain protobuf (onnx/onnx.proto, proto2).  This writer knows only the
 * messages a converted inference graph needs: ModelProto (ir_version 1, producer 2/3,
 * graph 7, opset_import 8), GraphProto (node 1, name 2, initializer 5, input 11,
 * output 12), NodeProto (input 1, output 2, name 3, op_type 4, attribute 5),
 * AttributeProto (name 1, f 2, i 3, s 4, ints 8, type 20), TensorProto (dims 1,
 * data_type 2, name 8, raw_data 9), ValueInfoProto (name 1, type 2), TypeProto
 * (tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> dim_value 1 / dim_param 2).
 *
 *     fn_onnx *g = fn_onnx_create("facenet");
 *     long long in_dims[4] = {-1, 160, 160, 3};
 *     const char *sym[4] = {"N"};
 *     fn_onnx_input(g, "input_1", 4, in_dims, sym);
 *     fn_onnx_initializer(g, "conv1/kernel", 4, kdims, kernel_oihw);
 *     const char *in[] = {"input_1/nchw", "conv1/kernel"}, *out[] = {"conv1"};
 *     fn_onnx_node(g, "Conv", "conv1", 2, in, 1, out);
 *     fn_onnx_attr_ints(g, "strides", 2, (long long[]){2, 2});
 *     ...
 *     if (fn_onnx_write(g, "model.onnx", 13, &err)) ...   // reports any earlier failure
 *     fn_onnx_free(g);
 *
 * Building never fails loudly: an allocation failure is remembered and reported by
 * fn_onnx_write, so a converter can add nodes without checking every call.  The file is
 * written to a temporary name beside the path and renamed into place. */
#ifndef FN_ONNX_WRITER_H
#define FN_ONNX_WRITER_H

#include <stddef.h>

#include "core/error.h"

#define FN_ONNX_IR_VERSION 7   /* the IR of opset 13 (ONNX 1.8) */

typedef struct fn_onnx fn_onnx;

typedef struct {
    int nodes, initializers, inputs, outputs;
    size_t values;             /* elements over all initializers */
} fn_onnx_counts;

fn_onnx *fn_onnx_create(const char *graph_name);
void fn_onnx_free(fn_onnx *g);

/* A graph input/output of type float32; dims[d] < 0 is symbolic, named sym[d] (NULL: "?"). */
void fn_onnx_input(fn_onnx *g, const char *name, int rank, const long long *dims, const char *const *sym);
void fn_onnx_output(fn_onnx *g, const char *name, int rank, const long long *dims, const char *const *sym);

/* Constant tensors (copied).  rank 0 is a scalar. */
void fn_onnx_initializer(fn_onnx *g, const char *name, int rank, const long long *dims, const float *data);
void fn_onnx_initializer_i64(fn_onnx *g, const char *name, int n, const long long *values);

/* Start a node; the attribute calls that follow belong to it. */
void fn_onnx_node(fn_onnx *g, const char *op_type, const char *name, int n_in, const char *const *in,
                  int n_out, const char *const *out);
void fn_onnx_attr_int(fn_onnx *g, const char *name, long long v);
void fn_onnx_attr_ints(fn_onnx *g, const char *name, int n, const long long *v);
void fn_onnx_attr_float(fn_onnx *g, const char *name, float v);
void fn_onnx_attr_string(fn_onnx *g, const char *name, const char *v);

fn_onnx_counts fn_onnx_get_counts(const fn_onnx *g);
int fn_onnx_write(fn_onnx *g, const char *path, int opset, fn_err *err);

/* ---- reading back (tests, --check) ---- */

/* What a file holds, checked for consistency: every node input is a graph input, an
 * initializer or the output of an earlier node; every initializer's raw_data has
 * exactly the bytes its dims and type imply; every graph output is produced. */
typedef struct {
    long long ir_version, opset;
    fn_onnx_counts n;
    /* called per node and initializer when non-NULL (names valid during the call) */
    void (*on_node)(void *ctx, const char *op_type, const char *name);
    void (*on_initializer)(void *ctx, const char *name, size_t values);
    void *ctx;
} fn_onnx_summary;

int fn_onnx_read(const char *path, fn_onnx_summary *s, fn_err *err);

#endif
