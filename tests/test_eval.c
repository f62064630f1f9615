/* test_eval.c - LFW pairs files (the real View 1 dev files and malformed
 * ones) and the verification metrics on hand-made cases with known answers
 * and against brute-force oracles, plus the mean triplet loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/eval.h"
#include "app/triplet.h"
#include "io/pairs.h"
#include "lib/testutil.h"

static const char *shared_dir(void)
{
    const char *s = getenv("FACENET_SHARED");
    return s && *s ? s : "../shared";
}

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fn_test_eval_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    return tu_rmtree(tmpdir);
}

/* ---- pairs files ------------------------------------------------------------ */

static void check_dev_file(const char *name, int expect_n, const char *first_a,
                           const char *first_b, const char *firstdiff_a,
                           const char *firstdiff_b, const char *last_a, const char *last_b)
{
    char path[1024], img[2048];
    snprintf(path, sizeof path, "%s/lfw/%s", shared_dir(), name);
    fn_lfw_pairs p;
    fn_err err;
    fn_err_clear(&err);
    int rc = fn_lfw_pairs_load(path, &p, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0); /* missing shared data must fail, not skip */
    assert_int_equal(p.n, expect_n);
    assert_int_equal(p.n_sets, 1);
    assert_int_equal(p.per_set, expect_n / 2);
    for (int i = 0; i < p.n; i++)
        assert_int_equal(p.pairs[i].same, i < expect_n / 2);
    assert_string_equal(p.pairs[0].path_a, first_a);
    assert_string_equal(p.pairs[0].path_b, first_b);
    assert_string_equal(p.pairs[expect_n / 2].path_a, firstdiff_a);
    assert_string_equal(p.pairs[expect_n / 2].path_b, firstdiff_b);
    assert_string_equal(p.pairs[p.n - 1].path_a, last_a);
    assert_string_equal(p.pairs[p.n - 1].path_b, last_b);
    /* Every referenced image exists in the shared deep-funneled copy. */
    int missing = 0;
    for (int i = 0; i < p.n; i++)
        for (int s = 0; s < 2; s++) {
            struct stat st;
            snprintf(img, sizeof img, "%s/lfw/deepfunneled/%s", shared_dir(),
                     s ? p.pairs[i].path_b : p.pairs[i].path_a);
            if (stat(img, &st) != 0) {
                if (missing++ < 5)
                    print_error("missing image %s\n", img);
            }
        }
    assert_int_equal(missing, 0);
    fn_lfw_pairs_free(&p);
    assert_null(p.pairs);
}

static void test_pairs_dev_files(void **state)
{
    (void)state;
    check_dev_file("pairsDevTrain.txt", 2200, "Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
                   "Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "AJ_Cook/AJ_Cook_0001.jpg",
                   "Marsha_Thomason/Marsha_Thomason_0001.jpg",
                   "Wendy_Kennedy/Wendy_Kennedy_0001.jpg",
                   "Zara_Akhmadova/Zara_Akhmadova_0001.jpg");
    check_dev_file("pairsDevTest.txt", 1000, "Abdullah_Gul/Abdullah_Gul_0013.jpg",
                   "Abdullah_Gul/Abdullah_Gul_0014.jpg", "AJ_Lamas/AJ_Lamas_0001.jpg",
                   "Zach_Safrin/Zach_Safrin_0001.jpg", "Todd_Petit/Todd_Petit_0001.jpg",
                   "Vicente_Fernandez/Vicente_Fernandez_0003.jpg");
}

static void test_pairs_view2_header(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/v2.txt", tmpdir);
    /* Two sets of two same + two different pairs; CRLF and a trailing blank line. */
    tu_write_text(path, "2\t2\r\n"
                     "Ann\t1\t2\r\nBob\t3\t1\r\n"
                     "Ann\t1\tBob\t2\r\nCy\t10\tAnn\t3\r\n"
                     "Cy 1 2\nDee 4 12\n"
                     "Dee 1 Ann 1\nBob 2 Cy 123\n\n");
    fn_lfw_pairs p;
    fn_err err;
    assert_int_equal(fn_lfw_pairs_load(path, &p, &err), 0);
    assert_int_equal(p.n, 8);
    assert_int_equal(p.n_sets, 2);
    assert_int_equal(p.per_set, 2);
    static const int same[8] = {1, 1, 0, 0, 1, 1, 0, 0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(p.pairs[i].same, same[i]);
    assert_string_equal(p.pairs[3].path_a, "Cy/Cy_0010.jpg");
    assert_string_equal(p.pairs[3].path_b, "Ann/Ann_0003.jpg");
    assert_string_equal(p.pairs[5].path_b, "Dee/Dee_0012.jpg");
    assert_string_equal(p.pairs[7].path_b, "Cy/Cy_0123.jpg");
    fn_lfw_pairs_free(&p);
}

/* Each malformed file is refused with FN_E_FORMAT and a "file:line" message. */
static void test_pairs_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where, *why;
    } cases[] = {
        {"", ":1:", "header"},
        {"two\nAnn 1 2\nAnn 1 Bob 1\n", ":1:", "header"},
        {"1 2 3\n", ":1:", "header"},
        {"0\n", ":1:", "header"},
        {"1\nAnn 1 Bob 2\nAnn 1 2\n", ":2:", "same-person"},
        {"1\nAnn 1 2\nAnn 1 2\n", ":3:", "different-person"},
        {"1\nAnn 0 2\nAnn 1 Bob 1\n", ":2:", "1..9999"},
        {"1\nAnn 1 x2\nAnn 1 Bob 1\n", ":2:", "1..9999"},
        {"1\nAnn 1 10000\nAnn 1 Bob 1\n", ":2:", "1..9999"},
        {"1\nAnn 1 -2\nAnn 1 Bob 1\n", ":2:", "1..9999"},
        {"1\n../etc 1 2\nAnn 1 Bob 1\n", ":2:", "'.'"},
        {"1\nA/B 1 2\nAnn 1 Bob 1\n", ":2:", "path separator"},
        {"1\nAnn 3 3\nAnn 1 Bob 1\n", ":2:", "twice"},
        {"1\nAnn 1 2\nAnn 1 Ann 2\n", ":3:", "twice"},
        {"2\nAnn 1 2\nAnn 1 3\nAnn 1 Bob 1\n", ":5:", "ends after 3"},
        {"1\nAnn 1 2\nAnn 1 Bob 1\nAnn 2 3\n", ":4:", "extra line"},
        {"1000 1000000\nAnn 1 2\n", ":1:", "only 21 bytes"},
    };
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.txt", tmpdir, i);
        tu_write_text(path, cases[i].text);
        fn_lfw_pairs p;
        fn_err err;
        fn_err_clear(&err);
        int rc = fn_lfw_pairs_load(path, &p, &err);
        if (rc != -1 || err.kind != FN_E_FORMAT || !strstr(err.msg, path) ||
            !strstr(err.msg, cases[i].where) || !strstr(err.msg, cases[i].why))
            print_error("case %zu: rc %d kind %d msg '%s'\n", i, rc, err.kind, err.msg);
        assert_int_equal(rc, -1);
        assert_int_equal(err.kind, FN_E_FORMAT);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, cases[i].where));
        assert_non_null(strstr(err.msg, cases[i].why));
        assert_null(p.pairs);
    }
    /* A binary file and a missing file. */
    snprintf(path, sizeof path, "%s/binary.txt", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("1\n\0\0\x01", 1, 5, f);
    fclose(f);
    fn_lfw_pairs p;
    fn_err err;
    assert_int_equal(fn_lfw_pairs_load(path, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_FORMAT);
    snprintf(path, sizeof path, "%s/nonexistent.txt", tmpdir);
    assert_int_equal(fn_lfw_pairs_load(path, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_IO);
    assert_non_null(strstr(err.msg, "nonexistent.txt"));
}

/* ---- metrics on hand-made cases --------------------------------------------- */

static void test_separable_reversed_ties(void **state)
{
    (void)state;
    const int same[6] = {1, 1, 1, 0, 0, 0};
    const float sep[6] = {0.1f, 0.2f, 0.3f, 0.5f, 0.6f, 0.7f};
    double thr, acc, auc;
    fn_err err;
    assert_int_equal(fn_eval_best_threshold(sep, same, 6, &thr, &acc, &err), 0);
    assert_true(acc == 1.0);
    assert_true(thr == ((double)0.3f + (double)0.5f) / 2);
    assert_true(fn_eval_accuracy(sep, same, 6, thr) == 1.0);
    assert_int_equal(fn_eval_auc(sep, same, 6, &auc, &err), 0);
    assert_true(auc == 1.0);

    const float rev[6] = {0.5f, 0.6f, 0.7f, 0.1f, 0.2f, 0.3f};
    assert_int_equal(fn_eval_auc(rev, same, 6, &auc, &err), 0);
    assert_true(auc == 0.0);
    assert_int_equal(fn_eval_best_threshold(rev, same, 6, &thr, &acc, &err), 0);
    assert_true(acc == 0.5);
    assert_true(thr == (double)0.1f); /* smallest candidate among the ties: all "different" */

    const float tie[6] = {0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f};
    assert_int_equal(fn_eval_auc(tie, same, 6, &auc, &err), 0);
    assert_true(auc == 0.5);
    assert_int_equal(fn_eval_best_threshold(tie, same, 6, &thr, &acc, &err), 0);
    assert_true(acc == 0.5);

    /* Partial tie: 0.2 beats both, 0.5 ties one and beats one: 3.5 / 4. */
    const int same4[4] = {1, 1, 0, 0};
    const float part[4] = {0.2f, 0.5f, 0.5f, 0.8f};
    assert_int_equal(fn_eval_auc(part, same4, 4, &auc, &err), 0);
    assert_true(auc == 0.875);

    /* Mixed: sorted 0.1S 0.3D 0.35S 0.4S 0.5D 0.6D -> best after 0.4, acc 5/6,
     * AUC 7/9. */
    const int same6[6] = {1, 1, 1, 0, 0, 0};
    const float mix[6] = {0.1f, 0.4f, 0.35f, 0.3f, 0.5f, 0.6f};
    assert_int_equal(fn_eval_best_threshold(mix, same6, 6, &thr, &acc, &err), 0);
    assert_true(fabs(acc - 5.0 / 6) < 1e-15);
    assert_true(thr == ((double)0.4f + (double)0.5f) / 2);
    assert_int_equal(fn_eval_auc(mix, same6, 6, &auc, &err), 0);
    assert_true(fabs(auc - 7.0 / 9) < 1e-15);

    /* The rule is strict: a distance equal to the threshold is "different". */
    const float half[1] = {0.5f};
    const int one[1] = {1};
    assert_true(fn_eval_accuracy(half, one, 1, 0.5) == 0.0);
    assert_true(fn_eval_accuracy(half, one, 1, nextafter(0.5, 1.0)) == 1.0);
}

static void test_nan_pairs_are_skipped(void **state)
{
    (void)state;
    const int same[9] = {1, 0, 1, 1, 0, 1, 0, 0, 1};
    const float d[9] = {0.1f, NAN, 0.4f, 0.35f, 0.3f, NAN, 0.5f, 0.6f, NAN};
    double thr, acc, auc;
    fn_err err;
    assert_int_equal(fn_eval_best_threshold(d, same, 9, &thr, &acc, &err), 0);
    assert_true(fabs(acc - 5.0 / 6) < 1e-15);
    assert_int_equal(fn_eval_auc(d, same, 9, &auc, &err), 0);
    assert_true(fabs(auc - 7.0 / 9) < 1e-15);
    fn_eval_result r;
    assert_int_equal(fn_eval_lfw(d, same, 9, 3, &r, &err), 0);
    assert_int_equal(r.n_pairs, 9);
    assert_int_equal(r.n_used, 6);
    assert_int_equal(r.n_skipped, 3);
    assert_int_equal(r.n_same, 3);
    assert_int_equal(r.n_diff, 3);
    const float all_nan[2] = {NAN, NAN};
    assert_int_equal(fn_eval_best_threshold(all_nan, same, 2, &thr, &acc, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_true(isnan(fn_eval_accuracy(all_nan, same, 2, 1.0)));
    const int only_same[2] = {1, 1};
    const float two[2] = {0.1f, 0.2f};
    assert_int_equal(fn_eval_auc(two, only_same, 2, &auc, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
}

/* 20 pairs alternating same/different, folds of 2 in file order; pair 0 is
 * a same pair at a "different" distance. Fold 0 scores 1/2, the others 1. */
static void test_kfold_consecutive(void **state)
{
    (void)state;
    float d[20];
    int same[20];
    for (int i = 0; i < 20; i++) {
        same[i] = i % 2 == 0;
        d[i] = same[i] ? 0.1f : 0.9f;
    }
    d[0] = 0.95f;
    double mean, std, thr;
    int used;
    fn_err err;
    assert_int_equal(fn_eval_kfold(d, same, 20, 10, &mean, &std, &thr, &used, &err), 0);
    assert_int_equal(used, 10);
    assert_true(fabs(mean - 0.95) < 1e-12);
    assert_true(fabs(std - 0.15) < 1e-12);
    assert_true(fabs(thr - ((double)0.1f + (double)0.9f) / 2) < 1e-12);

    /* 23 pairs into 10 folds: sizes 3,3,3,2,...; a lone error in pair 8 (fold 2)
     * or pair 9 (fold 3) changes that fold's accuracy by 1/3 or 1/2. */
    float e[23];
    int s23[23];
    for (int i = 0; i < 23; i++) {
        s23[i] = i % 2;
        e[i] = s23[i] ? 0.2f : 0.8f;
    }
    e[8] = 0.1f; /* a different pair looking "same" */
    assert_int_equal(fn_eval_kfold(e, s23, 23, 10, &mean, &std, &thr, &used, &err), 0);
    assert_true(fabs(mean - (9 + 2.0 / 3) / 10) < 1e-12);
    e[8] = 0.8f;
    e[9] = 0.9f; /* a same pair looking "different": fold 3 = pairs 9,10 */
    assert_int_equal(fn_eval_kfold(e, s23, 23, 10, &mean, &std, &thr, &used, &err), 0);
    assert_true(fabs(mean - (9 + 0.5) / 10) < 1e-12);

    assert_int_equal(fn_eval_kfold(e, s23, 23, 1, &mean, &std, &thr, &used, &err), -1);
    assert_int_equal(fn_eval_kfold(e, s23, 5, 10, &mean, &std, &thr, &used, &err), -1);
}

static void test_tar_at_far(void **state)
{
    (void)state;
    enum { NN = 2000, NP = 4 };
    float d[NN + NP];
    int same[NN + NP];
    for (int i = 0; i < NN; i++) {
        d[i] = 1.0f + (float)(NN - 1 - i) / 1000.0f; /* 1.000 .. 2.999, unsorted */
        same[i] = 0;
    }
    const float pos[NP] = {0.5f, 1.0015f, 1.5f, 3.5f};
    for (int i = 0; i < NP; i++) {
        d[NN + i] = pos[i];
        same[NN + i] = 1;
    }
    double tar, far, thr;
    fn_err err;
    /* floor(1e-3 * 2000) = 2 false accepts allowed: thr = 3rd smallest negative. */
    assert_int_equal(fn_eval_tar_at_far(d, same, NN + NP, 1e-3, &tar, &far, &thr, &err), 0);
    assert_true(thr == (double)(1.0f + 2.0f / 1000.0f));
    assert_true(far == 1e-3);
    assert_true(tar == 0.5);
    /* Only 500 negatives: k = 0, thr = smallest negative, FAR 0. */
    assert_int_equal(
        fn_eval_tar_at_far(d + NN - 500, same + NN - 500, 500 + NP, 1e-3, &tar, &far, &thr,
                           &err),
        0);
    assert_true(thr == (double)1.0f);
    assert_true(far == 0.0);
    assert_true(tar == 0.25);
    /* Ties at the threshold: the three smallest negatives equal -> nothing below. */
    d[NN - 1] = d[NN - 2] = d[NN - 3] = 0.9f;
    assert_int_equal(fn_eval_tar_at_far(d, same, NN + NP, 1e-3, &tar, &far, &thr, &err), 0);
    assert_true(thr == (double)0.9f);
    assert_true(far == 0.0);
    assert_true(tar == 0.25);
    /* FAR target 1: every pair accepted. */
    assert_int_equal(fn_eval_tar_at_far(d, same, NN + NP, 1.0, &tar, &far, &thr, &err), 0);
    assert_true(isinf(thr) && tar == 1.0 && far == 1.0);
}

/* ---- against brute-force oracles on random data with ties --------------------- */

static uint64_t rng = 88172645463325252ULL;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void test_metrics_brute_force(void **state)
{
    (void)state;
    enum { N = 301 };
    float d[N];
    int same[N];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) {
            same[i] = urand() < 0.5;
            /* quantised so that many distances tie; same pairs a bit closer */
            d[i] = (float)(floor((urand() + (same[i] ? 0.0 : 0.4)) * 30) / 30);
            if (urand() < 0.03)
                d[i] = NAN;
        }
        double thr, acc, auc;
        fn_err err;
        assert_int_equal(fn_eval_best_threshold(d, same, N, &thr, &acc, &err), 0);
        assert_true(fn_eval_accuracy(d, same, N, thr) == acc);
        /* brute force: every distinct value and everything above the maximum */
        double best = 0;
        for (int i = 0; i <= N; i++) {
            double t = i < N ? (double)d[i] : 1e9;
            if (isnan(t))
                continue;
            double a = fn_eval_accuracy(d, same, N, t);
            if (a > best)
                best = a;
        }
        assert_true(fabs(best - acc) < 1e-15);
        /* Mann-Whitney by pairs */
        double wins = 0, np = 0, nn = 0;
        for (int i = 0; i < N; i++) {
            if (isnan(d[i]))
                continue;
            if (same[i])
                np++;
            else
                nn++;
            if (!same[i])
                continue;
            for (int j = 0; j < N; j++)
                if (!isnan(d[j]) && !same[j])
                    wins += d[i] < d[j] ? 1.0 : d[i] == d[j] ? 0.5 : 0.0;
        }
        assert_int_equal(fn_eval_auc(d, same, N, &auc, &err), 0);
        assert_true(fabs(auc - wins / (np * nn)) < 1e-14);
        /* k-fold by hand: threshold from the other folds, applied to this one */
        double mean, std, tmean, msum = 0;
        int used;
        assert_int_equal(fn_eval_kfold(d, same, N, 10, &mean, &std, &tmean, &used, &err), 0);
        int start = 0;
        float train_d[N];
        int train_s[N];
        for (int f = 0; f < 10; f++) {
            int size = N / 10 + (f < N % 10), m = 0;
            for (int i = 0; i < N; i++)
                if (i < start || i >= start + size) {
                    train_d[m] = d[i];
                    train_s[m++] = same[i];
                }
            double t, a;
            assert_int_equal(fn_eval_best_threshold(train_d, train_s, m, &t, &a, &err), 0);
            msum += fn_eval_accuracy(d + start, same + start, size, t);
            start += size;
        }
        assert_int_equal(used, 10);
        assert_true(fabs(mean - msum / 10) < 1e-12);
    }
}

/* ---- mean triplet loss -------------------------------------------------------- */

static void test_mean_triplet_loss_hand(void **state)
{
    (void)state;
    /* 1-D: label 0 at 0 and 1, label 1 at 3. Triplets (a=0,p=1,n=3): 1-9+5 <0;
     * (a=1,p=0,n=3): 1-4+5 = 2. Mean 1, half of them active. */
    const float e[3] = {0, 1, 3};
    const int lab[3] = {0, 0, 1};
    double mean, frac;
    long long nt;
    fn_err err;
    assert_int_equal(fn_mean_triplet_loss(e, lab, 3, 1, 5.0, &mean, &frac, &nt, &err), 0);
    assert_int_equal(nt, 2);
    assert_true(fabs(mean - 1.0) < 1e-6);
    assert_true(frac == 0.5);
    /* No valid triplet: all one label. */
    const int lab1[3] = {7, 7, 7};
    assert_int_equal(fn_mean_triplet_loss(e, lab1, 3, 1, 0.2, &mean, &frac, &nt, &err), 0);
    assert_int_equal(nt, 0);
    assert_true(isnan(mean));
}

static void brute_triplet(const float *e, const int *lab, int n, int d, double alpha,
                          double *mean, long long *count, long long *active)
{
    double *dm = malloc((size_t)n * n * sizeof *dm);
    assert_non_null(dm);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < d; k++)
                s += pow((double)e[i * d + k] - e[j * d + k], 2);
            dm[(size_t)i * n + j] = s;
        }
    double sum = 0;
    *count = *active = 0;
    for (int a = 0; a < n; a++)
        for (int p = 0; p < n; p++) {
            if (p == a || lab[p] != lab[a])
                continue;
            for (int g = 0; g < n; g++) {
                if (lab[g] == lab[a])
                    continue;
                double l = dm[(size_t)a * n + p] - dm[(size_t)a * n + g] + alpha;
                (*count)++;
                if (l > 0) {
                    sum += l;
                    (*active)++;
                }
            }
        }
    *mean = sum / (double)*count;
    free(dm);
}

/* n_labels = 12 gives ~25 images per label (the sorted path), 100 gives ~3
 * (the linear-scan path); n = 300 spans two anchor blocks (256 per gemm). */
static void triplet_vs_brute_force(int n_labels)
{
    enum { N = 300, D = 16 };
    float *e = malloc(sizeof(float) * N * D);
    int lab[N];
    assert_non_null(e);
    for (int i = 0; i < N; i++) {
        lab[i] = (int)(urand() * n_labels);
        double s = 0;
        for (int k = 0; k < D; k++) {
            /* each label has a centre; unit-normalised like embeddings */
            e[i * D + k] = (float)(0.6 * sin(lab[i] * 1.7 + k) + 0.5 * (urand() - 0.5));
            s += (double)e[i * D + k] * e[i * D + k];
        }
        for (int k = 0; k < D; k++)
            e[i * D + k] = (float)(e[i * D + k] / sqrt(s));
    }
    double mean, frac, ref;
    long long nt, rc, ra;
    fn_err err;
    assert_int_equal(fn_mean_triplet_loss(e, lab, N, D, 0.2, &mean, &frac, &nt, &err), 0);
    brute_triplet(e, lab, N, D, 0.2, &ref, &rc, &ra);
    print_message("%d labels: mean triplet loss %.9f (brute force %.9f), %lld triplets, "
                  "%.5f active (brute force %.5f)\n",
                  n_labels, mean, ref, nt, frac, (double)ra / (double)rc);
    assert_int_equal(nt, rc);
    assert_true(fabs(mean - ref) < 1e-5 * ref);
    /* The active count can differ only for triplets within rounding of the hinge. */
    assert_true(fabs(frac - (double)ra / (double)rc) < 1e-4);
    free(e);
}

static void test_mean_triplet_loss_brute_force(void **state)
{
    (void)state;
    triplet_vs_brute_force(12);
    triplet_vs_brute_force(100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_dev_files),
        cmocka_unit_test(test_pairs_view2_header),
        cmocka_unit_test(test_pairs_malformed),
        cmocka_unit_test(test_separable_reversed_ties),
        cmocka_unit_test(test_nan_pairs_are_skipped),
        cmocka_unit_test(test_kfold_consecutive),
        cmocka_unit_test(test_tar_at_far),
        cmocka_unit_test(test_metrics_brute_force),
        cmocka_unit_test(test_mean_triplet_loss_hand),
        cmocka_unit_test(test_mean_triplet_loss_brute_force),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
