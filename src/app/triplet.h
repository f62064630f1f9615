/* triplet.h - the FaceNet triplet loss and its gradients.
 *
 *   J = sum_i max(||A_i - P_i||^2 - ||A_i - N_i||^2 + alpha, 0)
 *
 * over m rows of dimension d (A, P, N are row-major m x d). It is a sum, not
 * a mean, exactly as in the course exercise (tf.reduce_sum). Squared
 * distances and the sum are accumulated in double.
 *
 * Gradients, for an active row (s_i = dist_ap - dist_an + alpha > 0):
 *   dJ/dA_i = 2 (N_i - P_i),  dJ/dP_i = 2 (P_i - A_i),  dJ/dN_i = 2 (A_i - N_i)
 * and zero for inactive rows. At the hinge point itself (s_i == 0 exactly)
 * the function is not differentiable; we choose the zero subgradient there,
 * which is what max(x, 0) in TensorFlow does too.
 */
#ifndef FN_TRIPLET_H
#define FN_TRIPLET_H

#include "core/error.h"

/* a, p, n: m x d. loss receives J. da, dp, dn: m x d outputs, each may be
 * NULL when that gradient is not wanted. m == 0 gives J = 0. Fails only on
 * bad arguments (negative sizes, NULL inputs with m*d > 0, NaN alpha). */
int fn_triplet_loss(const float *a, const float *p, const float *n, int m, int d,
                    float alpha, double *loss, float *da, float *dp, float *dn,
                    fn_err *err);

#endif
