/* keras_onnx.h - convert a Keras model (model.json + weights .h5, or a model.save()
 * file) to ONNX, opset 13, through the engine's own view of it.
 *
 * The engine loads the model (no fusion), which checks the config and the weights and
 * gives every layer in execution order with its inputs and shapes; src/io gives each
 * layer's Keras config and reads the weight arrays again for the file.  So the ONNX
 * graph has exactly the layers, shapes and parameters facenet-c runs, and a model the
 * engine refuses is refused here with the engine's message.
 *
 * Layout: ONNX convolutions and pools are NCHW.  A Keras channels_last tensor is kept
 * as NCHW inside the graph (one Transpose after the input, one before a Flatten or a
 * graph output that needs Keras' order), a channels_first one as it is; every value
 * remembers which it is, and Transposes are inserted only where a consumer needs the
 * other order.  Graph inputs and outputs have Keras' shapes (NHWC for FaceNet), so
 * the same input file feeds both runtimes.
 *
 * Initializers named "<layer>/<variable>" hold the Keras weights (Conv2D kernels
 * transposed HWIO -> OIHW, Theano-backend kernels flipped as the engine does); the few
 * constants the conversion adds (pads, scales, a missing BatchNorm gamma/beta) are named
 * "const:<layer>:<what>".  The values of the first kind total fn_net_param_count. */
#ifndef FN_KERAS_ONNX_H
#define FN_KERAS_ONNX_H

#include <stddef.h>

#include "../tools/lib/onnx_writer.h"
#include "core/error.h"

#define FN_K2O_OPSET 13

typedef struct {
    const char *model_json;    /* NULL: the config inside the weights file (model.save) */
    const char *weights;
    int batch;                 /* > 0: fixed batch size; 0: a symbolic batch "N" */
} fn_k2o_opts;

typedef struct {
    fn_onnx_counts n;          /* what was written */
    size_t keras_values;       /* initializer values that are Keras weights */
    size_t engine_params;      /* fn_net_param_count of the same model (equal) */
    int transposes;            /* layout Transposes inserted */
    int n_layers;
} fn_k2o_result;

int fn_keras_to_onnx(const fn_k2o_opts *o, const char *out_path, fn_k2o_result *res, fn_err *err);

#endif
