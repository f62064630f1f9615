/* keras_weights.h - reading a Keras HDF5 weights file, without knowing the engine.
 *
 * Both layouts: model.save_weights() (root attr layer_names) and model.save()
 * (root attr model_config, weights under group model_weights).  For a layer, the
 * reader lists the arrays its group holds - each with its variable name ("kernel",
 * "gamma": the path in weight_names without scope or ":0") - gives an array's dims and
 * reads it on request, so the caller checks every shape before anything is allocated.
 * src/net/weights.c matches them to the weights each layer declares. */
#ifndef FN_KERAS_WEIGHTS_H
#define FN_KERAS_WEIGHTS_H

#include <stddef.h>

#include "core/error.h"

#define FN_KW_MAX_RANK 32

/* The model_config attribute of a full-model file (model.save) -> malloc'd JSON text. */
int fn_keras_h5_config(const char *path, char **json_text, fn_err *err);

typedef struct fn_kw_file fn_kw_file;

typedef struct {
    char var[64];                  /* variable name: "kernel", "moving_mean" */
    const char *path;              /* as listed in weight_names, for messages */
} fn_kw_array;

/* Open a weights file; fails unless it is a Keras weights file (layer_names). */
int fn_kw_open(const char *path, fn_kw_file **out, fn_err *err);
void fn_kw_close(fn_kw_file *f);
/* The backend attribute ("tensorflow", "theano") or NULL. */
const char *fn_kw_backend(const fn_kw_file *f);
/* The arrays of layer `name`: *n of them in *arrays (owned by f, valid until the next
 * call).  A layer not in the file is FN_E_NOTFOUND (no message prefix: the caller
 * names the layer); other failures name the file and layer. */
int fn_kw_layer(fn_kw_file *f, const char *name, const fn_kw_array **arrays, int *n, fn_err *err);
/* Dims of array i of the layer last listed (rank 0: a scalar). */
int fn_kw_dims(fn_kw_file *f, int i, int *rank, long long dims[FN_KW_MAX_RANK], fn_err *err);
/* Read array i of the layer last listed, converted to float32, into buf (count values,
 * which must equal the product of its dims). */
int fn_kw_read(fn_kw_file *f, int i, float *buf, size_t count, fn_err *err);

#endif
