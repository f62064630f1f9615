/* test_triplet.c - the triplet loss: the course's checks, the hinge
 * convention, and all three gradients against central finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_course_cases),
        cmocka_unit_test(test_hinge_and_gradients_inactive),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_gradients_finite_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
