/* triplet.h - the FaceNet triplet loss and its gradients, and the mean loss over
 * all valid triplets of a labelled set (the evaluation's training-objective view).
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
 *
 * fn_mean_triplet_loss computes the same hinge per triplet as fn_triplet_loss
 * (tests/test_triplet.c checks the two against each other), but from gemm
 * distances and without building the triplets.
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

/* Mean triplet loss over labelled embeddings (emb: n x d, label: n):
 *     mean over all valid triplets (a, p, ng) of
 *         max(||e_a - e_p||^2 - ||e_a - e_ng||^2 + alpha, 0)
 * where a != p share a label and ng has another label: every ordered
 * anchor-positive pair with every negative ("batch all", counting the
 * triplets that are already satisfied). Squared distances come from the
 * gemm formulation (match.h; absolute error ~1e-6 for unit embeddings),
 * one sgemm per block of 256 anchors. Per anchor with P positives the
 * negatives are scanned once per positive when P <= 16 (O(P n)), else
 * sorted once so that each (a, p) is summed in O(log n) with prefix sums:
 * O(n^2 d + n^2 min(P, log n)) time, O(256 n) extra memory. mean: NaN and n_triplets = 0 when there is no valid triplet.
 * frac_active (may be NULL): fraction of triplets with positive loss. */
int fn_mean_triplet_loss(const float *emb, const int *label, int n, int d, double alpha,
                         double *mean, double *frac_active, long long *n_triplets,
                         fn_err *err);

#endif
