/* triplet.c - see triplet.h. */
#include "app/triplet.h"

#include <math.h>
#include <stddef.h>

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
