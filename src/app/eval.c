/* eval.c - verification metrics on scored pairs (see eval.h). */
#include "app/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- metrics --------------------------------------------------------------- */

typedef struct {
    float d;
    int same;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    return (x->d > y->d) - (x->d < y->d);
}

/* The usable pairs of index range [0,n) minus [skip0, skip1), sorted by
 * distance. *s is NULL when m == 0. */
static int collect(const float *dist, const int *same, int n, int skip0, int skip1,
                   scored **s, int *m, int *npos, int *nneg, fn_err *err)
{
    *s = NULL;
    *m = *npos = *nneg = 0;
    if (n <= 0)
        return 0;
    scored *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return fn_fail(err, FN_E_NOMEM, "evaluation: out of memory for %d pairs", n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if ((i >= skip0 && i < skip1) || isnan(dist[i]))
            continue;
        v[k].d = dist[i];
        v[k].same = same[i] != 0;
        if (v[k].same)
            (*npos)++;
        else
            (*nneg)++;
        k++;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_scored);
    if (k == 0) {
        free(v);
        v = NULL;
    }
    *s = v;
    *m = k;
    return 0;
}

static void best_on_sorted(const scored *s, int m, int nneg, double *thr, double *acc)
{
    long best_correct = nneg, tp = 0, fp = 0; /* k = 0: everything "different" */
    int best_k = 0;
    for (int k = 1; k <= m; k++) {
        if (s[k - 1].same)
            tp++;
        else
            fp++;
        if (k < m && s[k].d == s[k - 1].d)
            continue; /* no threshold separates equal distances */
        long correct = tp + (nneg - fp);
        if (correct > best_correct) {
            best_correct = correct;
            best_k = k;
        }
    }
    if (best_k == 0)
        *thr = s[0].d;
    else if (best_k == m)
        *thr = nextafter((double)s[m - 1].d, INFINITY);
    else
        *thr = ((double)s[best_k - 1].d + (double)s[best_k].d) / 2;
    *acc = (double)best_correct / m;
}

double fn_eval_accuracy(const float *dist, const int *same, int n, double thr)
{
    long used = 0, correct = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(dist[i]))
            continue;
        used++;
        correct += ((double)dist[i] < thr) == (same[i] != 0);
    }
    return used ? (double)correct / used : NAN;
}

static int check_args(const float *dist, const int *same, int n, const char *what,
                      fn_err *err)
{
    if (n < 0 || (n > 0 && (!dist || !same)))
        return fn_fail(err, FN_E_ARG, "%s: bad arguments (n=%d)", what, n);
    return 0;
}

int fn_eval_best_threshold(const float *dist, const int *same, int n, double *thr,
                           double *acc, fn_err *err)
{
    if (check_args(dist, same, n, "best threshold", err) || !thr || !acc)
        return fn_fail(err, FN_E_ARG, "best threshold: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect(dist, same, n, 0, 0, &s, &m, &np, &nn, err))
        return -1;
    if (m == 0)
        return fn_fail(err, FN_E_ARG, "best threshold: no scored pairs among %d", n);
    best_on_sorted(s, m, nn, thr, acc);
    free(s);
    return 0;
}

int fn_eval_kfold(const float *dist, const int *same, int n, int k, double *acc_mean,
                  double *acc_std, double *thr_mean, int *folds_used, fn_err *err)
{
    if (check_args(dist, same, n, "k-fold", err) || !acc_mean || !acc_std || !thr_mean)
        return fn_fail(err, FN_E_ARG, "k-fold: bad arguments");
    if (k < 2 || k > n)
        return fn_fail(err, FN_E_ARG, "k-fold: %d folds for %d pairs", k, n);
    double *accs = malloc((size_t)k * sizeof *accs);
    if (!accs)
        return fn_fail(err, FN_E_NOMEM, "k-fold: out of memory");
    double thr_sum = 0.0;
    int used = 0, start = 0;
    for (int f = 0; f < k; f++) {
        const int size = n / k + (f < n % k ? 1 : 0);
        const int end = start + size;
        scored *s;
        int m, np, nn;
        if (collect(dist, same, n, start, end, &s, &m, &np, &nn, err)) {
            free(accs);
            return -1;
        }
        int test_used = 0;
        for (int i = start; i < end; i++)
            test_used += !isnan(dist[i]);
        double thr, train_acc;
        if (m > 0 && test_used > 0) {
            best_on_sorted(s, m, nn, &thr, &train_acc);
            accs[used++] = fn_eval_accuracy(dist + start, same + start, size, thr);
            thr_sum += thr;
        }
        free(s);
        start = end;
    }
    if (used == 0) {
        free(accs);
        return fn_fail(err, FN_E_ARG, "k-fold: no fold has scored pairs on both sides");
    }
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < used; i++)
        mean += accs[i];
    mean /= used;
    for (int i = 0; i < used; i++)
        var += (accs[i] - mean) * (accs[i] - mean);
    free(accs);
    *acc_mean = mean;
    *acc_std = sqrt(var / used);
    *thr_mean = thr_sum / used;
    if (folds_used)
        *folds_used = used;
    return 0;
}

/* collect() all pairs, requiring at least one same and one different pair. */
static int collect_both(const float *dist, const int *same, int n, const char *what, scored **s, int *m,
                        int *np, int *nn, fn_err *err)
{
    if (collect(dist, same, n, 0, 0, s, m, np, nn, err))
        return -1;
    if (*np == 0 || *nn == 0) {
        free(*s);
        *s = NULL;
        return fn_fail(err, FN_E_ARG, "%s: needs both same and different pairs (%d and %d)", what, *np, *nn);
    }
    return 0;
}

int fn_eval_auc(const float *dist, const int *same, int n, double *auc, fn_err *err)
{
    if (check_args(dist, same, n, "AUC", err) || !auc)
        return fn_fail(err, FN_E_ARG, "AUC: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect_both(dist, same, n, "AUC", &s, &m, &np, &nn, err))
        return -1;
    /* Walk groups of equal distance: each same pair beats every different
     * pair farther away and ties with those in its group. */
    double wins = 0.0;
    long neg_after = nn;
    for (int i = 0; i < m;) {
        int j = i;
        long p = 0, q = 0;
        while (j < m && s[j].d == s[i].d) {
            if (s[j].same)
                p++;
            else
                q++;
            j++;
        }
        neg_after -= q;
        wins += (double)p * ((double)neg_after + 0.5 * (double)q);
        i = j;
    }
    free(s);
    *auc = wins / ((double)np * (double)nn);
    return 0;
}

int fn_eval_tar_at_far(const float *dist, const int *same, int n, double far_target,
                       double *tar, double *far, double *thr, fn_err *err)
{
    if (check_args(dist, same, n, "TAR@FAR", err) || !tar || !far || !thr ||
        !(far_target >= 0.0 && far_target <= 1.0))
        return fn_fail(err, FN_E_ARG, "TAR@FAR: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect_both(dist, same, n, "TAR@FAR", &s, &m, &np, &nn, err))
        return -1;
    /* Largest k with k / nn <= far_target, robust to rounding in the product. */
    long k = (long)floor(far_target * nn);
    while (k + 1 <= nn && (double)(k + 1) / nn <= far_target)
        k++;
    while (k > 0 && (double)k / nn > far_target)
        k--;
    double t = INFINITY;
    if (k < nn) {
        long seen = 0;
        for (int i = 0; i < m; i++)
            if (!s[i].same && seen++ == k) {
                t = s[i].d;
                break;
            }
    }
    long ta = 0, fa = 0;
    for (int i = 0; i < m; i++)
        if ((double)s[i].d < t) {
            if (s[i].same)
                ta++;
            else
                fa++;
        }
    free(s);
    *thr = t;
    *tar = (double)ta / np;
    *far = (double)fa / nn;
    return 0;
}

int fn_eval_lfw(const float *dist, const int *same, int n, int n_folds, fn_eval_result *r,
                fn_err *err)
{
    if (!r || check_args(dist, same, n, "LFW evaluation", err))
        return fn_fail(err, FN_E_ARG, "LFW evaluation: bad arguments");
    memset(r, 0, sizeof *r);
    r->n_pairs = n;
    for (int i = 0; i < n; i++) {
        if (isnan(dist[i]))
            r->n_skipped++;
        else if (same[i])
            r->n_same++;
        else
            r->n_diff++;
    }
    r->n_used = n - r->n_skipped;
    r->n_folds = n_folds;
    r->far_target = 1e-3;
    if (fn_eval_kfold(dist, same, n, n_folds, &r->acc_mean, &r->acc_std, &r->thr_mean,
                      &r->folds_used, err) ||
        fn_eval_best_threshold(dist, same, n, &r->best_thr, &r->best_acc, err) ||
        fn_eval_auc(dist, same, n, &r->auc, err) ||
        fn_eval_tar_at_far(dist, same, n, r->far_target, &r->tar, &r->far, &r->far_thr, err))
        return fn_wrap(err, "LFW evaluation: ");
    return 0;
}
