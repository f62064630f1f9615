/* keras_h5w.h - write Keras 2.x HDF5 weight files from C, the way Keras 2.4 + h5py do.
 *
 * Two layouts:
 *   full_model = 0: model.save_weights("x.h5") - root attrs layer_names, backend,
 *                   keras_version; one group per layer at the root.
 *   full_model = 1: model.save("x.h5") - root attrs model_config (the model JSON,
 *                   verbatim), backend, keras_version; the layer groups and their
 *                   layer_names/backend/keras_version attrs under group model_weights.
 * Each layer, weightless ones included, gets a group with attr weight_names (an empty
 * float64 array of shape (0,) when it has no weights, as Keras writes it) and its
 * datasets at <layer>/<layer>/<name> (e.g. conv1/conv1/kernel:0), float32
 * little-endian, contiguous.  Name lists are fixed-length NUL-padded strings
 * (numpy 'S<n>'); a list whose array exceeds 64512 bytes is split into attrs
 * layer_names0, layer_names1, ... exactly like Keras' save_attributes_to_hdf5_group
 * (np.array_split into the fewest chunks that fit).
 *
 * The file is written to a temporary name beside path and renamed into place by
 * fn_kh5w_finish, so a failed run never leaves a partial path behind.
 *
 *     fn_kh5w *w = fn_kh5w_create("model.h5", 0, NULL, &err);
 *     float k[3 * 3 * 3 * 8], b[8];
 *     fn_kh5w_tensor t[2] = {{"kernel:0", 4, {3, 3, 3, 8}, k}, {"bias:0", 1, {8}, b}};
 *     if (!w || fn_kh5w_layer(w, "input_1", 0, NULL, &err) ||
 *         fn_kh5w_layer(w, "conv1", 2, t, &err) || fn_kh5w_finish(w, &err)) {
 *         fn_kh5w_abort(w);   // after a failed create/layer; finish cleans up itself
 *         ...report err.msg...
 *     }
 */
#ifndef FN_KERAS_H5W_H
#define FN_KERAS_H5W_H

#include "core/error.h"

#define FN_KH5W_MAX_RANK 8
#define FN_KH5W_KERAS_VERSION "2.4.0"
#define FN_KH5W_BACKEND "tensorflow"

typedef struct fn_kh5w fn_kh5w;

typedef struct {
    const char *name;                  /* "kernel:0" -> <layer>/kernel:0; a name that
                                          already has a scope ("blk/conv/kernel:0") is
                                          used verbatim */
    int rank;                          /* 0..FN_KH5W_MAX_RANK */
    long long dims[FN_KH5W_MAX_RANK];  /* Keras layout (Conv2D kernel HWIO, Dense [in,out]) */
    const float *data;                 /* product(dims) values, row-major */
} fn_kh5w_tensor;

/* Start a file.  model_json is required when full_model is 1 (ignored otherwise).
 * Returns NULL on failure. */
fn_kh5w *fn_kh5w_create(const char *path, int full_model, const char *model_json, fn_err *err);

/* Append one layer (in model.layers order) with its n weights; n may be 0. */
int fn_kh5w_layer(fn_kh5w *w, const char *layer, int n, const fn_kh5w_tensor *t, fn_err *err);

/* Write layer_names, close and rename into place.  Always consumes w: on failure
 * the temporary file is removed. */
int fn_kh5w_finish(fn_kh5w *w, fn_err *err);

/* Close and delete the temporary file; NULL is allowed. */
void fn_kh5w_abort(fn_kh5w *w);

#endif
