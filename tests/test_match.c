/* test_match.c - matching embeddings (app/match.h): pairwise squared distances by
 * one gemm on odd shapes, the L2 helpers, and identification equal to a
 * double-precision brute force (exact distances near zero), on a gallery matrix
 * built in memory and on the same rows enrolled in and loaded from a gallery file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/gallery.h"
#include "app/match.h"
#include "lib/gallery_fixture.h"
#include "lib/testutil.h"

/* ---- matching ------------------------------------------------------------------------- */

static double sq_exact(const float *a, const float *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++)
        s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return s;
}

static void test_pairwise_odd_shapes(void **state)
{
    (void)state;
    static const int shapes[][3] = {{5, 7, 13}, {1, 1, 1}, {3, 11, 128}, {17, 2, 3}, {0, 4, 5},
                                    {4, 0, 5},  {2, 3, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int na = shapes[s][0], nb = shapes[s][1], d = shapes[s][2];
        float *a = tu_random_unit(na ? na : 1, d ? d : 1), *b = tu_random_unit(nb ? nb : 1, d ? d : 1);
        for (int i = 0; i < na * d; i++)
            a[i] *= 3.0f; /* not only unit vectors */
        float out[17 * 11 + 1];
        fn_err err;
        assert_int_equal(fn_pairwise_sqdist(a, na, b, nb, d, out, &err), 0);
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++) {
                double ref = sq_exact(a + i * d, b + j * d, d);
                assert_true(out[i * nb + j] >= 0.0f);
                assert_true(fabs(out[i * nb + j] - ref) < 1e-5 * (1 + ref));
            }
        free(a);
        free(b);
    }
    fn_err err;
    float o;
    assert_int_equal(fn_pairwise_sqdist(NULL, -1, NULL, 1, 1, &o, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
}

static void test_l2_helpers(void **state)
{
    (void)state;
    float v[3] = {3, 0, 4};
    fn_l2_normalize(v, 3);
    assert_true(fabs(v[0] - 0.6) < 1e-7 && v[1] == 0.0f && fabs(v[2] - 0.8) < 1e-7);
    float z[2] = {0, 0};
    fn_l2_normalize(z, 2);
    assert_true(z[0] == 0.0f && z[1] == 0.0f);
    const float a[2] = {1, 2}, b[2] = {4, 6};
    assert_true(fn_l2_distance(a, b, 2) == 5.0f);
    assert_true(fn_l2_distance(a, a, 2) == 0.0f);
}

/* Identification equals a double-precision brute force: same identity and
 * distances within 1e-5 - and exactly 0 for a query equal to a gallery row,
 * where the gemm formula alone would give ~1e-3. */
static void test_identify_brute_force(void **state)
{
    (void)state;
    enum { ROWS = 300, D = 128, NQ = 90 };
    fn_gallery_matrix m = {0};
    m.n_rows = ROWS;
    m.dim = D;
    m.n_ids = 37;
    m.emb = tu_random_unit(ROWS, D);
    m.row_id = malloc(sizeof(int) * ROWS);
    assert_non_null(m.row_id);
    for (int r = 0; r < ROWS; r++)
        m.row_id[r] = (int)(tu_urand() * m.n_ids);
    /* Near-duplicate rows of different identities: the nearest must be
     * decided by exact arithmetic, not by the gemm's rounding. */
    for (int r = 200; r < 210; r++) {
        memcpy(m.emb + (size_t)r * D, m.emb + (size_t)(r - 100) * D, D * sizeof(float));
        m.emb[(size_t)r * D + r % D] += 3e-6f;
        m.row_id[r] = (m.row_id[r - 100] + 1) % m.n_ids;
    }
    float *q = tu_random_unit(NQ, D);
    for (int i = 0; i < 30; i++) /* exact copies of gallery rows */
        memcpy(q + (size_t)i * D, m.emb + (size_t)(i * 7) * D, D * sizeof(float));
    for (int i = 30; i < 60; i++) { /* tiny perturbations of rows 100..129 */
        memcpy(q + (size_t)i * D, m.emb + (size_t)(70 + i) * D, D * sizeof(float));
        q[(size_t)i * D + (i * 3) % D] += (float)(1e-6 * (1 + i % 5));
    }
    int id[NQ];
    float dist[NQ];
    fn_err err;
    assert_int_equal(fn_identify(&m, q, NQ, id, dist, &err), 0);

    float *gemm = malloc(sizeof(float) * NQ * ROWS);
    assert_non_null(gemm);
    assert_int_equal(fn_pairwise_sqdist(q, NQ, m.emb, ROWS, D, gemm, &err), 0);
    double max_diff = 0, gemm_at_zero = 0;
    for (int i = 0; i < NQ; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int r = 0; r < ROWS; r++) {
            double s = sq_exact(q + (size_t)i * D, m.emb + (size_t)r * D, D);
            if (s < bd) {
                bd = s;
                best = r;
            }
        }
        assert_int_equal(id[i], m.row_id[best]);
        double diff = fabs(dist[i] - sqrt(bd));
        if (diff > max_diff)
            max_diff = diff;
        assert_true(diff <= 1e-5);
        if (i < 30) {
            assert_true(dist[i] == 0.0f);
            double g = sqrt(gemm[(size_t)i * ROWS + best]);
            if (g > gemm_at_zero)
                gemm_at_zero = g;
        }
    }
    print_message("identify vs brute force: max |distance difference| = %.3g; "
                  "gemm-only distance for identical vectors up to %.3g\n",
                  max_diff, gemm_at_zero);
    free(gemm);
    free(q);

    /* Through the database: enroll the same rows, load, identify the same way. */
    char path[512];
    tg_new_path(path, sizeof path, "identify");
    fn_gallery *g = tg_open_ok(path, 1);
    char name[32];
    for (int idn = 0; idn < m.n_ids; idn++) {
        int cnt = 0;
        float *rows = malloc(sizeof(float) * ROWS * D);
        assert_non_null(rows);
        for (int r = 0; r < ROWS; r++)
            if (m.row_id[r] == idn)
                memcpy(rows + (size_t)cnt++ * D, m.emb + (size_t)r * D, D * sizeof(float));
        snprintf(name, sizeof name, "person%02d", idn);
        if (cnt)
            tg_enroll_ok(g, name, FP_A, D, cnt, rows, NULL);
        free(rows);
    }
    fn_gallery_matrix lm;
    assert_int_equal(fn_gallery_load(g, NULL, &lm, &err), 0);
    assert_int_equal(lm.n_rows, ROWS);
    int qid;
    float qd;
    assert_int_equal(fn_identify(&lm, m.emb + (size_t)123 * D, 1, &qid, &qd, &err), 0);
    snprintf(name, sizeof name, "person%02d", m.row_id[123]);
    assert_string_equal(lm.names[qid], name);
    assert_true(qd == 0.0f);
    fn_gallery_matrix_free(&lm);
    assert_int_equal(fn_gallery_load(g, name, &lm, &err), 0); /* verify against one person */
    assert_int_equal(fn_identify(&lm, m.emb + (size_t)123 * D, 1, &qid, &qd, &err), 0);
    assert_int_equal(qid, 0);
    assert_true(qd == 0.0f);
    fn_gallery_matrix_free(&lm);
    fn_gallery_close(g);

    float bad[D];
    memcpy(bad, m.emb, sizeof bad);
    bad[5] = NAN;
    assert_int_equal(fn_identify(&m, bad, 1, &qid, &qd, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    fn_gallery_matrix empty = {0};
    assert_int_equal(fn_identify(&empty, m.emb, 1, &qid, &qd, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    free(m.emb);
    free(m.row_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairwise_odd_shapes),
        cmocka_unit_test(test_l2_helpers),
        cmocka_unit_test(test_identify_brute_force),
    };
    return cmocka_run_group_tests(tests, tg_setup, tg_teardown);
}
