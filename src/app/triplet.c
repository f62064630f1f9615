/* triplet.c - the triplet loss with its gradients, and the mean triplet loss over a
 * labelled set (see triplet.h). */
#include "app/triplet.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "app/match.h"

int fn_triplet_loss(const float *a, const float *p, const float *n, int m, int d,
                    float alpha, double *loss, float *da, float *dp, float *dn,
                    fn_err *err)
{
    if (m < 0 || d < 0)
        return fn_fail(err, FN_E_ARG, "triplet loss: negative size m=%d d=%d", m, d);
    if (!loss)
        return fn_fail(err, FN_E_ARG, "triplet loss: loss output is NULL");
    if (isnan(alpha))
        return fn_fail(err, FN_E_ARG, "triplet loss: alpha is NaN");
    size_t total;
    if (fn_mul_size((size_t)m, (size_t)d, &total))
        return fn_fail(err, FN_E_NOMEM, "triplet loss: %d x %d overflows", m, d);
    if (total > 0 && (!a || !p || !n))
        return fn_fail(err, FN_E_ARG, "triplet loss: NULL input for %d x %d rows", m, d);

    double sum = 0.0;
    for (int i = 0; i < m; i++) {
        const size_t off = (size_t)i * (size_t)d;
        const float *ai = a + off, *pi = p + off, *ni = n + off;
        double dap = 0.0, dan = 0.0;
        for (int k = 0; k < d; k++) {
            double u = (double)ai[k] - pi[k], v = (double)ai[k] - ni[k];
            dap += u * u;
            dan += v * v;
        }
        const double s = dap - dan + (double)alpha;
        const int active = s > 0.0; /* hinge point: zero subgradient (see header) */
        if (active)
            sum += s;
        for (int k = 0; k < d; k++) {
            if (da)
                da[off + k] = active ? (float)(2.0 * ((double)ni[k] - pi[k])) : 0.0f;
            if (dp)
                dp[off + k] = active ? (float)(2.0 * ((double)pi[k] - ai[k])) : 0.0f;
            if (dn)
                dn[off + k] = active ? (float)(2.0 * ((double)ai[k] - ni[k])) : 0.0f;
        }
    }
    *loss = sum;
    return 0;
}

/* ---- mean triplet loss ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fn_mean_triplet_loss(const float *emb, const int *label, int n, int d, double alpha,
                         double *mean, double *frac_active, long long *n_triplets,
                         fn_err *err)
{
    if (n < 0 || d < 1 || (n > 0 && (!emb || !label)) || !mean || isnan(alpha))
        return fn_fail(err, FN_E_ARG, "mean triplet loss: bad arguments (n=%d d=%d)", n, d);
    enum { BLOCK = 256, LINEAR_MAX_POS = 16 };
    const int rows = n < BLOCK ? n : BLOCK;
    size_t cells;
    if (fn_mul_size((size_t)rows, (size_t)n, &cells) ||
        fn_mul_size(cells, sizeof(float), &cells))
        return fn_fail(err, FN_E_NOMEM, "mean triplet loss: %d embeddings overflow", n);
    float *dist = malloc(cells ? cells : 1);
    double *neg = malloc(((size_t)n + 1) * sizeof *neg);
    double *prefix = malloc(((size_t)n + 1) * sizeof *prefix);
    if (!dist || !neg || !prefix) {
        free(dist);
        free(neg);
        free(prefix);
        return fn_fail(err, FN_E_NOMEM, "mean triplet loss: out of memory for %d embeddings",
                       n);
    }
    double sum = 0.0;
    long long count = 0, active = 0;
    for (int a0 = 0; a0 < n; a0 += BLOCK) {
        const int nb = n - a0 < BLOCK ? n - a0 : BLOCK;
        /* One gemm per block of anchors: nb x n squared distances. */
        if (fn_pairwise_sqdist(emb + (size_t)a0 * (size_t)d, nb, emb, n, d, dist, err)) {
            free(dist);
            free(neg);
            free(prefix);
            return fn_wrap(err, "mean triplet loss: ");
        }
        for (int r = 0; r < nb; r++) {
            const int a = a0 + r;
            const float *row = dist + (size_t)r * (size_t)n;
            int nneg = 0, npos = 0;
            for (int j = 0; j < n; j++) {
                if (label[j] != label[a])
                    neg[nneg++] = row[j];
                else if (j != a)
                    npos++;
            }
            if (nneg == 0 || npos == 0)
                continue;
            count += (long long)npos * nneg;
            if (npos <= LINEAR_MAX_POS) {
                /* Few positives (the usual case: a handful of images per
                 * person): a scan per positive beats sorting the negatives. */
                for (int p = 0; p < n; p++) {
                    if (p == a || label[p] != label[a])
                        continue;
                    const double x = (double)row[p] + alpha;
                    for (int j = 0; j < nneg; j++)
                        if (neg[j] < x) {
                            sum += x - neg[j];
                            active++;
                        }
                }
                continue;
            }
            qsort(neg, (size_t)nneg, sizeof *neg, cmp_double);
            prefix[0] = 0.0;
            for (int j = 0; j < nneg; j++)
                prefix[j + 1] = prefix[j] + neg[j];
            for (int p = 0; p < n; p++) {
                if (p == a || label[p] != label[a])
                    continue;
                /* Loss is positive exactly for negatives with d_an < d_ap + alpha;
                 * their sum is c (d_ap + alpha) - sum of those d_an. */
                const double x = (double)row[p] + alpha;
                int lo = 0, hi = nneg;
                while (lo < hi) {
                    int mid = lo + (hi - lo) / 2;
                    if (neg[mid] < x)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                sum += (double)lo * x - prefix[lo];
                active += lo;
            }
        }
    }
    free(dist);
    free(neg);
    free(prefix);
    *mean = count ? sum / (double)count : NAN;
    if (frac_active)
        *frac_active = count ? (double)active / (double)count : NAN;
    if (n_triplets)
        *n_triplets = count;
    return 0;
}
