/* eval.h - the LFW verification protocol: pairs files and the metrics.
 *
 * Pairs files (LFW README section 3c): the first line is either "N" (View 1:
 * pairsDevTrain.txt / pairsDevTest.txt: N same-person pairs, then N
 * different-person pairs) or "S N" (View 2 pairs.txt: S sets, each N same
 * pairs then N different pairs). A same pair is "name i j", a different
 * pair "name1 i name2 j"; image i of name is "name/name_%04d.jpg".
 *
 * Decision rule, everywhere: a pair is predicted "same" when dist < thr
 * (strictly), as in FaceNet's calculate_accuracy (np.less).
 * A NaN distance marks a pair that could not be scored (no face found,
 * unreadable image): it is skipped by every metric and counted in
 * n_skipped.
 */
#ifndef FN_EVAL_H
#define FN_EVAL_H

#include "core/error.h"

typedef struct {
    char *path_a, *path_b; /* relative to the image root, e.g. "Ann/Ann_0001.jpg" */
    int same;              /* 1 same person, 0 different */
} fn_lfw_pair;

typedef struct {
    fn_lfw_pair *pairs; /* n, in file order */
    int n;
    int n_sets;   /* 1 for a View 1 "N" header */
    int per_set;  /* N: same pairs per set (= different pairs per set) */
} fn_lfw_pairs;

/* Parse a pairs file. Errors (FN_E_IO, FN_E_FORMAT) name the file and line:
 * wrong field count for the position, bad image number (1..9999), a name
 * with '/' or '\' or starting with '.', a same pair using one image twice, a
 * different pair naming one person, missing or extra lines. */
int fn_lfw_pairs_load(const char *path, fn_lfw_pairs *out, fn_err *err);
void fn_lfw_pairs_free(fn_lfw_pairs *p);

/* Accuracy of "same iff dist < thr" over the non-NaN pairs; NaN if none. */
double fn_eval_accuracy(const float *dist, const int *same, int n, double thr);

/* The threshold maximising accuracy on the non-NaN pairs. Candidates are
 * the midpoints between consecutive distinct sorted distances, plus the
 * smallest distance (everything "different") and the next double above the
 * largest (everything "same"). Among equally accurate candidates the
 * smallest threshold wins (FaceNet's argmax over its grid does the same).
 * FN_E_ARG if there is no usable pair. */
int fn_eval_best_threshold(const float *dist, const int *same, int n, double *thr,
                           double *acc, fn_err *err);

/* k-fold cross-validation in file order, like sklearn KFold(k,
 * shuffle=False) in FaceNet's evaluate: consecutive folds (the first n % k
 * folds one pair larger); for each fold the best threshold on the other
 * k-1 folds is applied to it. acc_mean/acc_std (population std, np.std)
 * and thr_mean are over the folds that had usable pairs on both sides;
 * folds_used (may be NULL) says how many. Note that on View 1 files, which
 * list all same pairs before all different ones, each fold holds mostly one
 * class; on View 2 with k = 10 the folds are exactly the official sets. */
int fn_eval_kfold(const float *dist, const int *same, int n, int k, double *acc_mean,
                  double *acc_std, double *thr_mean, int *folds_used, fn_err *err);

/* Exact ROC AUC with "same" as the positive class and -dist as the score:
 * P(d_same < d_diff) + 0.5 P(d_same == d_diff) (Mann-Whitney U / (S D),
 * equal to the trapezoid area of the ROC curve through tied groups).
 * FN_E_ARG unless there is at least one usable same and one different pair. */
int fn_eval_auc(const float *dist, const int *same, int n, double *auc, fn_err *err);

/* TAR at a FAR target: thr is the largest threshold whose false accept
 * rate FAR(thr) = #{different pairs with dist < thr} / #different is
 * <= far_target, i.e. the (k+1)-th smallest different-pair distance with
 * k = floor(far_target * #different) (or +inf if k >= #different).
 * tar = #{same pairs with dist < thr} / #same, far = FAR(thr) achieved
 * (with fewer than 1/far_target different pairs that is 0). */
int fn_eval_tar_at_far(const float *dist, const int *same, int n, double far_target,
                       double *tar, double *far, double *thr, fn_err *err);

typedef struct {
    int n_pairs, n_used, n_skipped; /* skipped = NaN distance */
    int n_same, n_diff;             /* among the used pairs */
    int n_folds, folds_used;
    double acc_mean, acc_std, thr_mean; /* k-fold (the reported accuracy) */
    double best_thr, best_acc;          /* best threshold on all used pairs (optimistic) */
    double auc;
    double far_target, tar, far, far_thr; /* at far_target = 1e-3 */
} fn_eval_result;

/* Everything above on one set of scored pairs; n_folds is usually 10. */
int fn_eval_lfw(const float *dist, const int *same, int n, int n_folds, fn_eval_result *r,
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
