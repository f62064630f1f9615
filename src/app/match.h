/* match.h - distances between embeddings and identification against a gallery.
 *
 * All pairwise squared distances come from ONE matrix product:
 *     ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b
 * with the a.b terms from a single cblas_sgemm. That is fast but loses
 * precision near zero: the float rounding of the three terms is relative to
 * ||a||^2 + ||b||^2 (about 2 for unit embeddings), not to the small result,
 * so two identical unit vectors can come out at ~1e-6 instead of 0 (a
 * distance of ~1e-3 after the square root). fn_pairwise_sqdist documents and
 * accepts that; fn_identify uses the product only to find the nearest row
 * and then recomputes the distances of every row that could be the nearest
 * (all rows within the product's rigorous rounding bound of the smallest)
 * directly from the exact differences, in double. So the reported distance
 * is the exact L2 distance (to float rounding) and the winner is the true
 * nearest row, not an artefact of cancellation.
 */
#ifndef FN_MATCH_H
#define FN_MATCH_H

#include "app/gallery.h"
#include "core/error.h"
#include "facenet.h"

/* out[i*nb + j] = ||a_i - b_j||^2 for a: na x d, b: nb x d (row-major),
 * computed by one sgemm and clamped at 0 (see the precision note above).
 * Norms are accumulated in double. na, nb or d may be 0. */
int fn_pairwise_sqdist(const float *a, int na, const float *b, int nb, int d,
                       float *out, fn_err *err);

/* For each of the nq queries q (nq x m->dim): best_id[i] = index into
 * m->names of the identity owning the nearest gallery row, best_dist[i] =
 * the L2 distance (not squared) to that row, i.e. the minimum over that
 * identity's rows, recomputed exactly. Ties go to the lowest row. One sgemm
 * serves all queries; it needs nq x m->n_rows floats of scratch.
 * An empty gallery is an error (FN_E_ARG). */
int fn_identify(const fn_gallery_matrix *m, const float *q, int nq, int *best_id,
                float *best_dist, fn_err *err);

/* Exact L2 distance (accumulated in double) between two d-vectors. */
float fn_l2_distance(const float *a, const float *b, int d);

/* L2 normalisation is fn_l2_normalize (facenet.h; one kernel for the whole project,
 * src/layers/l2_normalize.c). */

#endif
