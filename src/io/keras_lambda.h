/* keras_lambda.h - recognise a Keras Lambda layer from its marshalled Python bytecode,
 * without running it.  FaceNet models use two:
 *   scale-sum     lambda inputs, scale: inputs[0] + inputs[1] * scale
 *   L2 normalise  lambda x: K.l2_normalize(x, axis=A)
 * Anything else is an error naming the layer. */
#ifndef FN_KERAS_LAMBDA_H
#define FN_KERAS_LAMBDA_H

#include <cJSON.h>

#include "core/error.h"

typedef enum { FN_LAMBDA_SCALE_SUM = 1, FN_LAMBDA_L2_NORMALIZE = 2 } fn_lambda_kind;

/* cfg is the Lambda's config.  On success *kind is set, with *scale (scale-sum: from
 * config arguments.scale) or *axis (L2 normalise: the constant in the bytecode). */
int fn_keras_lambda(const char *layer, const cJSON *cfg, fn_lambda_kind *kind, double *scale, long *axis,
                    fn_err *err);

#endif
