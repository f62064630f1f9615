/* test_triplet.c - the triplet loss: the course's checks, the hinge
 * convention, all three gradients against central finite differences, and the
 * mean triplet loss over a labelled set against fn_triplet_loss on every triplet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/triplet.h"

static double loss_of(const float *a, const float *p, const float *n, int m, int d,
                      float alpha)
{
    double j = -1.0;
    fn_err err;
    fn_err_clear(&err);
    assert_int_equal(fn_triplet_loss(a, p, n, m, d, alpha, &j, NULL, NULL, NULL, &err), 0);
    return j;
}

/* The checks of the course exercise (triplet_loss_test). */
static void test_course_cases(void **state)
{
    (void)state;
    const float one[2] = {1, 1}, zero[2] = {0, 0};
    assert_true(loss_of(one, one, one, 1, 2, 5.0f) == 5.0);
    assert_true(loss_of(one, one, zero, 1, 2, 3.0f) == 1.0);
    assert_true(loss_of(one, zero, one, 1, 2, 0.0f) == 2.0);
    assert_true(loss_of(zero, zero, zero, 1, 2, -2.0f) == 0.0);
    const float a[4] = {1, 0, 1, 0}, n[4] = {0, 1, 0, 1};
    assert_true(loss_of(a, a, n, 2, 2, 3.0f) == 2.0);
}

static void test_hinge_and_gradients_inactive(void **state)
{
    (void)state;
    /* Exactly at the hinge (s = 0): loss 0 and zero gradient, by choice. */
    const float a[2] = {1, 1}, p[2] = {1, 1}, n[2] = {0, 0};
    float da[2] = {9, 9}, dp[2] = {9, 9}, dn[2] = {9, 9};
    double j;
    fn_err err;
    assert_int_equal(fn_triplet_loss(a, p, n, 1, 2, 2.0f, &j, da, dp, dn, &err), 0);
    assert_true(j == 0.0);
    for (int k = 0; k < 2; k++)
        assert_true(da[k] == 0.0f && dp[k] == 0.0f && dn[k] == 0.0f);
    /* Just above the hinge: active, gradients 2(N-P), 2(P-A), 2(A-N). */
    assert_int_equal(fn_triplet_loss(a, p, n, 1, 2, 2.5f, &j, da, dp, dn, &err), 0);
    assert_true(fabs(j - 0.5) < 1e-12);
    for (int k = 0; k < 2; k++) {
        assert_true(da[k] == -2.0f);
        assert_true(dp[k] == 0.0f);
        assert_true(dn[k] == 2.0f);
    }
    /* m = 0 is an empty sum. */
    assert_int_equal(fn_triplet_loss(NULL, NULL, NULL, 0, 2, 1.0f, &j, NULL, NULL, NULL, &err),
                     0);
    assert_true(j == 0.0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    double j;
    fn_err err;
    const float x[2] = {0, 0};
    assert_int_equal(fn_triplet_loss(x, x, x, -1, 2, 1.0f, &j, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_int_equal(fn_triplet_loss(NULL, x, x, 1, 2, 1.0f, &j, NULL, NULL, NULL, &err), -1);
    assert_int_equal(fn_triplet_loss(x, x, x, 1, 2, NAN, &j, NULL, NULL, NULL, &err), -1);
    assert_int_equal(fn_triplet_loss(x, x, x, 1, 2, 1.0f, NULL, NULL, NULL, NULL, &err), -1);
}

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
}

/* Central differences on random data with rows kept away from the hinge;
 * J is quadratic in each coordinate, so the central difference is exact up
 * to rounding and the tolerance can be tight. */
static void test_gradients_finite_difference(void **state)
{
    (void)state;
    enum { M = 7, D = 13 };
    uint64_t seed = 12345;
    float a[M * D], p[M * D], n[M * D], da[M * D], dp[M * D], dn[M * D];
    const float alpha = 0.2f;
    int n_active = 0;
    for (int i = 0; i < M; i++) {
        double s;
        do { /* redraw a row until it is clearly on one side of the hinge */
            double dap = 0, dan = 0;
            for (int k = 0; k < D; k++) {
                a[i * D + k] = frand(&seed);
                p[i * D + k] = frand(&seed);
                n[i * D + k] = frand(&seed);
                dap += pow((double)a[i * D + k] - p[i * D + k], 2);
                dan += pow((double)a[i * D + k] - n[i * D + k], 2);
            }
            s = dap - dan + alpha;
        } while (fabs(s) < 0.5);
        n_active += s > 0;
    }
    assert_true(n_active > 0 && n_active < M); /* both kinds of rows are exercised */
    double j;
    fn_err err;
    assert_int_equal(fn_triplet_loss(a, p, n, M, D, alpha, &j, da, dp, dn, &err), 0);
    float *inputs[3] = {a, p, n};
    const float *grads[3] = {da, dp, dn};
    double max_err = 0.0;
    for (int w = 0; w < 3; w++) {
        for (int idx = 0; idx < M * D; idx++) {
            float *x = &inputs[w][idx];
            const float x0 = *x, h = 1.0f / 64;
            const float xp = x0 + h, xm = x0 - h;
            *x = xp;
            double jp = loss_of(a, p, n, M, D, alpha);
            *x = xm;
            double jm = loss_of(a, p, n, M, D, alpha);
            *x = x0;
            const double fd = (jp - jm) / ((double)xp - (double)xm);
            const double e = fabs(fd - grads[w][idx]);
            if (e > max_err)
                max_err = e;
            assert_true(e < 1e-5);
        }
    }
    print_message("max |finite difference - gradient| = %.3g\n", max_err);
    /* And J itself against a double-precision oracle. */
    double oracle = 0;
    for (int i = 0; i < M; i++) {
        double dap = 0, dan = 0;
        for (int k = 0; k < D; k++) {
            dap += pow((double)a[i * D + k] - p[i * D + k], 2);
            dan += pow((double)a[i * D + k] - n[i * D + k], 2);
        }
        oracle += fmax(dap - dan + (double)alpha, 0.0);
    }
    assert_true(fabs(oracle - j) < 1e-9 * fabs(oracle) + 1e-12);
}

/* ---- the mean triplet loss against fn_triplet_loss ---------------------------- */

/* The mean over every valid triplet, built on fn_triplet_loss one triplet (one row)
 * at a time: the definition, with none of fn_mean_triplet_loss's shortcuts (gemm
 * distances, per-anchor negative lists, sorting and prefix sums). */
static void mean_by_triplet_loss(const float *e, const int *lab, int n, int d, float alpha,
                                 double *mean, long long *count, long long *active)
{
    double sum = 0.0;
    fn_err err;
    *count = *active = 0;
    for (int a = 0; a < n; a++)
        for (int p = 0; p < n; p++) {
            if (p == a || lab[p] != lab[a])
                continue;
            for (int g = 0; g < n; g++) {
                if (lab[g] == lab[a])
                    continue;
                double j;
                assert_int_equal(fn_triplet_loss(e + (size_t)a * d, e + (size_t)p * d,
                                                 e + (size_t)g * d, 1, d, alpha, &j, NULL,
                                                 NULL, NULL, &err),
                                 0);
                sum += j;
                (*count)++;
                *active += j > 0.0;
            }
        }
    *mean = *count ? sum / (double)*count : NAN;
}

/* n unit embeddings of dimension d, each near its label's centre (like real
 * embeddings: same-label pairs mostly closer than different-label ones; the more
 * noise, the more triplets are active). */
static float *labelled_embeddings(const int *lab, int n, int d, double noise, uint64_t *seed)
{
    float *e = malloc(sizeof(float) * (size_t)n * (size_t)d);
    assert_non_null(e);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
            float *x = &e[(size_t)i * d + k];
            *x = (float)(0.6 * sin(lab[i] * 1.7 + k) + noise * frand(seed));
            s += (double)*x * *x;
        }
        for (int k = 0; k < d; k++)
            e[(size_t)i * d + k] = (float)(e[(size_t)i * d + k] / sqrt(s));
    }
    return e;
}

/* fn_mean_triplet_loss (the fast path `facenet evaluate` uses) must agree with
 * fn_triplet_loss summed over every triplet, for label distributions that take each
 * of its paths: few positives per anchor (linear scan), many (sort + prefix sums),
 * both sides of the 16-positive switch, one dominant label, two labels, a set smaller
 * than one 256-anchor block and one spanning two, and no valid triplet at all. */
static void test_mean_triplet_loss_vs_triplet_loss(void **state)
{
    (void)state;
    enum { NMAX = 300, D = 12 };
    static const struct {
        const char *what;
        int n;
        int kind; /* how labels are drawn, see below */
        int param;
        double noise;
    } cases[] = {
        {"12 random labels", 300, 0, 12, 0.3},   {"100 random labels", 300, 0, 100, 0.3},
        {"groups of 17 and 18", 300, 1, 0, 0.3}, {"one label of 150", 300, 2, 150, 0.3},
        {"two labels", 260, 0, 2, 1.0},          {"5 labels, one block", 40, 0, 5, 0.5},
        {"all labels distinct", 50, 3, 0, 0.3},
    };
    const float alpha = 0.25f; /* exact in float and double */
    uint64_t seed = 0x5eed;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int n = cases[c].n;
        int lab[NMAX];
        for (int i = 0; i < n; i++) {
            switch (cases[c].kind) {
            case 0: /* uniform over param labels */
                lab[i] = (int)((frand(&seed) + 1.0f) * 0.5f * (float)cases[c].param) %
                         cases[c].param;
                break;
            case 1: /* blocks of 17 (16 positives: the linear scan) and 18 (17: sorted) */
                lab[i] = i < 170 ? i / 17 : 10 + (i - 170) / 18;
                break;
            case 2: /* one big label, the rest in pairs */
                lab[i] = i < cases[c].param ? 0 : 1 + (i - cases[c].param) / 2;
                break;
            default: /* every label once: no positives */
                lab[i] = i;
                break;
            }
        }
        float *e = labelled_embeddings(lab, n, D, cases[c].noise, &seed);
        double mean, frac, ref;
        long long nt, rc, ra;
        fn_err err;
        fn_err_clear(&err);
        assert_int_equal(fn_mean_triplet_loss(e, lab, n, D, alpha, &mean, &frac, &nt, &err), 0);
        mean_by_triplet_loss(e, lab, n, D, alpha, &ref, &rc, &ra);
        print_message("%-22s n=%3d: %9lld triplets, mean %.9f (by fn_triplet_loss %.9f), "
                      "active %.5f\n",
                      cases[c].what, n, nt, mean, ref, rc ? (double)ra / (double)rc : 0.0);
        assert_int_equal(nt, rc);
        if (rc == 0) {
            assert_true(isnan(mean) && isnan(ref));
        } else {
            /* gemm distances carry ~1e-6 absolute error per triplet */
            assert_true(fabs(mean - ref) <= 1e-5 * ref + 1e-6);
            /* active counts can differ only for triplets within rounding of the hinge */
            assert_true(fabs(frac - (double)ra / (double)rc) < 1e-4);
        }
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_course_cases),
        cmocka_unit_test(test_hinge_and_gradients_inactive),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_gradients_finite_difference),
        cmocka_unit_test(test_mean_triplet_loss_vs_triplet_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
