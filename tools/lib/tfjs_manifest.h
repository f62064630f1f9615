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

/* Load the manifest at manifest_path and every shard it names (paths are relative
 * to the manifest's directory; absolute paths and ".." are refused).  On failure
 * *out is left empty and err names the file and, where it applies, the tensor. */
int fn_tfjs_load(const char *manifest_path, fn_tfjs_weights *out, fn_err *err);

/* The tensor called name, or NULL. */
const fn_tfjs_tensor *fn_tfjs_find(const fn_tfjs_weights *w, const char *name);

/* "[3,3,32,64]" into buf. */
void fn_tfjs_dims_str(int rank, const long long *dims, char *buf, size_t cap);

void fn_tfjs_free(fn_tfjs_weights *w);

#endif
