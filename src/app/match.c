/* match.c - pairwise distances by one sgemm, and identification (see match.h). */
#include "app/match.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <cblas.h>

/* Squared norms of the rows of x (n x d), accumulated in double. */
static void row_sqnorms(const float *x, int n, int d, double *out)
{
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * (size_t)d;
        double s = 0.0;
        for (int k = 0; k < d; k++)
            s += (double)r[k] * r[k];
        out[i] = s;
    }
}

static double sqdist_exact(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int k = 0; k < d; k++) {
        double t = (double)a[k] - b[k];
        s += t * t;
    }
    return s;
}

float fn_l2_distance(const float *a, const float *b, int d)
{
    return (float)sqrt(sqdist_exact(a, b, d));
}

/* The shared core: out = na x nb squared distances; norms of a and b are
 * returned through an/bn (caller-allocated, na and nb doubles). */
static int sqdist_core(const float *a, int na, const float *b, int nb, int d, float *out,
                       double *an, double *bn)
{
    row_sqnorms(a, na, d, an);
    row_sqnorms(b, nb, d, bn);
    if (na == 0 || nb == 0)
        return 0;
    if (d > 0) {
        /* out = -2 a b^T: the single matrix product. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, nb, d, -2.0f, a, d, b, d,
                    0.0f, out, nb);
    }
    for (int i = 0; i < na; i++) {
        float *o = out + (size_t)i * (size_t)nb;
        for (int j = 0; j < nb; j++) {
            double v = an[i] + bn[j] + (d > 0 ? (double)o[j] : 0.0);
            o[j] = v > 0.0 ? (float)v : 0.0f;
        }
    }
    return 0;
}

int fn_pairwise_sqdist(const float *a, int na, const float *b, int nb, int d, float *out,
                       fn_err *err)
{
    if (na < 0 || nb < 0 || d < 0)
        return fn_fail(err, FN_E_ARG, "pairwise distances: negative size %dx%d, d=%d", na, nb,
                       d);
    size_t cells, tmp;
    if (fn_mul_size((size_t)na, (size_t)nb, &cells) ||
        fn_mul_size(cells, sizeof(float), &tmp) ||
        fn_mul_size((size_t)na + (size_t)nb, sizeof(double), &tmp))
        return fn_fail(err, FN_E_NOMEM, "pairwise distances: %d x %d overflows", na, nb);
    if (cells > 0 && (!out || ((!a || !b) && d > 0)))
        return fn_fail(err, FN_E_ARG, "pairwise distances: NULL matrix");
    double *norms = malloc(((size_t)na + (size_t)nb + 1) * sizeof *norms);
    if (!norms)
        return fn_fail(err, FN_E_NOMEM, "pairwise distances: out of memory");
    sqdist_core(a, na, b, nb, d, out, norms, norms + na);
    free(norms);
    return 0;
}

int fn_identify(const fn_gallery_matrix *m, const float *q, int nq, int *best_id,
                float *best_dist, fn_err *err)
{
    if (!m || nq < 0 || (nq > 0 && (!q || !best_id || !best_dist)))
        return fn_fail(err, FN_E_ARG, "identify: bad arguments");
    if (m->n_rows <= 0 || m->dim <= 0 || !m->emb || !m->row_id)
        return fn_fail(err, FN_E_ARG, "identify: the gallery is empty");
    if (nq == 0)
        return 0;
    const int nr = m->n_rows, d = m->dim;
    for (size_t i = 0; i < (size_t)nq * (size_t)d; i++)
        if (!isfinite(q[i]))
            return fn_fail(err, FN_E_ARG, "identify: query %zu has a non-finite value",
                           i / (size_t)d);
    size_t cells, bytes;
    if (fn_mul_size((size_t)nq, (size_t)nr, &cells) ||
        fn_mul_size(cells, sizeof(float), &bytes))
        return fn_fail(err, FN_E_NOMEM, "identify: %d queries x %d rows overflow", nq, nr);
    float *dist = malloc(bytes);
    double *norms = malloc(((size_t)nq + (size_t)nr) * sizeof *norms);
    if (!dist || !norms) {
        free(dist);
        free(norms);
        return fn_fail(err, FN_E_NOMEM, "identify: out of memory for %d x %d distances", nq,
                       nr);
    }
    double *qn = norms, *rn = norms + nq;
    sqdist_core(q, nq, m->emb, nr, d, dist, qn, rn);

    /* Rounding bound of one gemm entry: |err(a.b)| <= gamma_d * |a||b| with
     * gamma_d = d u / (1 - d u), so |err(-2ab)| <= gamma_d (|a|^2 + |b|^2);
     * plus a few roundings of the float result. Any row whose computed
     * distance is within both rows' bounds of the computed minimum may be the
     * true nearest one, so all of those are recomputed exactly. */
    const double u = FLT_EPSILON / 2;
    const double gamma = (d + 4) * u / (1.0 - (d + 4) * u);
    for (int i = 0; i < nq; i++) {
        const float *drow = dist + (size_t)i * (size_t)nr;
        const float *qi = q + (size_t)i * (size_t)d;
        int c = 0;
        for (int j = 1; j < nr; j++)
            if (drow[j] < drow[c])
                c = j;
        const double limit = drow[c] + gamma * (qn[i] + rn[c]);
        int best = -1;
        double best_sq = 0.0;
        for (int j = 0; j < nr; j++) {
            if (drow[j] - gamma * (qn[i] + rn[j]) > limit)
                continue;
            double s = sqdist_exact(qi, m->emb + (size_t)j * (size_t)d, d);
            if (best < 0 || s < best_sq) {
                best = j;
                best_sq = s;
            }
        }
        best_id[i] = m->row_id[best];
        best_dist[i] = (float)sqrt(best_sq);
    }
    free(dist);
    free(norms);
    return 0;
}
