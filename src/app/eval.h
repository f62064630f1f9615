/* eval.h - the LFW verification protocol's metrics on scored pairs (the pairs
 * files themselves are read by io/pairs.h).
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

#endif
