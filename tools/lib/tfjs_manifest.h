/* tfjs_manifest.h - read a TensorFlow.js weights manifest and its .bin shards.
 *
 * A manifest (e.g. face-api's face_recognition_model-weights_manifest.json) is a
 * JSON array of groups {"paths": [shard files], "weights": [entries]}.  A group's
 * shards are concatenated and its entries lie back to back in manifest order;
 * each entry is {"name", "shape", "dtype", optional "quantization"}.
 *
 * Decoding follows tfjs-core's decodeWeights (io_utils.ts), as shipped in
 * face-api's dist/tfjs.esm.js:
 *   - no quantization: raw little-endian float32 values;
 *   - quantization uint8/uint16: value = q * scale + min, evaluated in JavaScript
 *     numbers (IEEE double: one rounding after the multiply, one after the add)
 *     and stored into a Float32Array (one final rounding to float32);
 *   - quantization float16: IEEE half -> float32 (exact).
 * dtype "float32", and "int32" (raw, or quantized: Math.round(q * scale + min)), whose
 * small integer values (shapes, axes in face-api's SSD manifest) are returned as floats.  Shard sizes must match the entries exactly:
 * a short shard ("truncated") and trailing bytes are both errors.
 *
 *     fn_tfjs_weights w;
 *     if (fn_tfjs_load("model/x-weights_manifest.json", &w, &err)) ...report err.msg...
 *     const fn_tfjs_tensor *t = fn_tfjs_find(&w, "fc");   // t->dims, t->data
 *     fn_tfjs_free(&w);
 */
#ifndef FN_TFJS_MANIFEST_H
#define FN_TFJS_MANIFEST_H

#include <stddef.h>

#include "core/error.h"

#define FN_TFJS_MAX_RANK 8

typedef struct {
    char *name;                        /* "conv32_down/conv/filters" */
    int rank;
    long long dims[FN_TFJS_MAX_RANK];  /* as in the manifest, row-major */
    size_t count;                      /* product of dims */
    float *data;                       /* count decoded values (NULL when count == 0) */
    const char *quant;                 /* "none", "uint8", "uint16" or "float16" */
    const char *dtype;                 /* "float32" or "int32" */
} fn_tfjs_tensor;

typedef struct {
    fn_tfjs_tensor *t;                 /* in manifest order */
    int n;
} fn_tfjs_weights;

/* What a manifest may make the reader allocate, checked before allocating (0 = the
 * default) - the engine's limits mechanism (fn_load_opts.max_*, `facenet --limit`):
 *   max_json_bytes   the manifest file (json-bytes, FN_DEFAULT_MAX_JSON_BYTES: 64 MiB);
 *   max_json_values  values in it, counted before cJSON parses it (json-values,
 *                    FN_DEFAULT_MAX_JSON_VALUES: 1,000,000; each costs an 80-byte node);
 *   max_weight_bytes all its shards together (weight-bytes, 1 GiB; face-api's largest
 *                    net has 6 MB).  The decoded floats take at most 4 bytes per shard
 *                    byte (uint8-quantised values), so at most 4 x this.
 * Over one: FN_E_LIMIT "... more than the limit NAME=N". */
typedef struct {
    size_t max_json_bytes, max_json_values, max_weight_bytes;
} fn_tfjs_limits;
#define FN_TFJS_DEFAULT_MAX_WEIGHT_BYTES ((size_t)1 << 30)

/* Load the manifest at manifest_path and every shard it names (paths are relative
 * to the manifest's directory; absolute paths and ".." are refused), under the
 * default limits.  On failure *out is left empty and err names the file and, where it
 * applies, the tensor (and the limit). */
int fn_tfjs_load(const char *manifest_path, fn_tfjs_weights *out, fn_err *err);
/* The same under lim (NULL: the defaults). */
int fn_tfjs_load_limits(const char *manifest_path, const fn_tfjs_limits *lim, fn_tfjs_weights *out, fn_err *err);
/* "NAME=N" (json-bytes, json-values or weight-bytes; N with an optional k, M or G:
 * times 1024, 1024^2, 1024^3) into lim: the converters' --limit NAME=N.  0 or -1. */
int fn_tfjs_parse_limit(const char *s, fn_tfjs_limits *lim, fn_err *err);
/* The converters' command line: leading "--limit NAME=N" / "--limit=NAME=N" options
 * into lim; returns the index of the first operand, or -1 after err. */
int fn_tfjs_limit_args(int argc, char **argv, fn_tfjs_limits *lim, fn_err *err);
/* err's message, and for FN_E_LIMIT how to raise the limit, as one line on stderr
 * after "prog: ". */
void fn_tfjs_print_err(const char *prog, const fn_err *err);

/* The tensor called name, or NULL. */
const fn_tfjs_tensor *fn_tfjs_find(const fn_tfjs_weights *w, const char *name);

/* "[3,3,32,64]" into buf. */
void fn_tfjs_dims_str(int rank, const long long *dims, char *buf, size_t cap);

void fn_tfjs_free(fn_tfjs_weights *w);

#endif
