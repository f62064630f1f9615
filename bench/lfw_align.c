/* lfw_align.c - LFW View 1 from the detection cache of bench/lfw_detect --cache: the
 * chip variants of the alignment choice (docs/detection.md, "Alignment"), compared on
 * DevTrain without detecting again.
 *
 *   lfw_align [--lfw DIR] [--images SUB] [--weights DIR] [--test] [--errors]
 *             [--variants LIST] CACHE...
 *
 * Per variant, the face nearest the centre of each photo (the cache's pick) is cut and
 * encoded by the dlib ResNet; a pair with a photo without a face is answered
 * "different" (every pair counted).  Printed per variant: the best DevTrain threshold
 * and its accuracy (errors of 2200), DevTrain 10-fold mean +- std and AUC over the pairs
 * with both faces.  Only with --test are the DevTest images encoded and DevTest's
 * accuracy at the DevTrain threshold printed (plus its 10-fold and AUC): choose first,
 * then look.  --errors lists each DevTrain error pair (per photo: how far (b)'s 5 points
 * are from the landmarks file's in chip pixels, the pass, the score).  LIST is
 * comma-separated (default a,b,dlib68,all51,dlib5,b33,learn5,learn33,learn68,file):
 *
 *   a           face-api's crop (FN_CHIP_FACEAPI)
 *   b           the 5-point alignment as the library does it (FN_CHIP_ALIGN5)
 *   lib         the library's FN_CHIP_DEFAULT
 *   dlib68      dlib's own 68-point chip: the similarity fitted on points 27-54 and
 *               60-64 (no jaw, brows, lower lip) onto dlib's mean face shape, as
 *               get_face_chip_details does for a 68-point shape
 *   all51       the same on all of points 17-67 (brows and lower lip too)
 *   dlib5       dlib's 5-point chip: eye corners 45, 42, 36, 39 and the nostril base 33
 *               onto the template of its 5-point model
 *   b33         (b) with the nostril base 33 instead of the nose tip 30
 *   learn33     dlib68's points fitted onto a template learned on DevTrain's photos:
 *               the coordinate-wise median, over the DevTrain photos with a face and a
 *               line in the landmarks file, of the detected 68 points mapped into the
 *               chip that the file's 5 points give (the 'file' chip); no pair labels
 *   learn68     the same with all 68 points
 *   learn5      (b)'s 5 points onto their learned positions
 *   file        reference, not a candidate: (b) from the landmarks file (x 0.6)
 *   X+flip      X's embedding averaged with that of X's mirrored chip (for a, b, lib:
 *               the library's fn_faces_encode_flip)
 *   X&Y         the average of X's and Y's embeddings
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/align.h"
#include "app/encoder.h"
#include "app/eval.h"
#include "app/faces.h"
#include "io/landmarks.h"
#include "io/pairs.h"
#include "facenet.h"
#include "app/match.h"
#include "lfw_cache.h"
#include "lfw_pairs.h"

#define DIM 128
#define MISSING 1e6f

/* ------------------------------------------------------------ geometry */

/* dlib's mean face shape, points 17..67, in [0, 1] (get_face_chip_details). */
static const double mean_x[51] = {
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689};
static const double mean_y[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182};

/* Least-squares similarity src -> dst over n points (align.c's closed form). */
static int fit_n(const double *src, const double *dst, int n, double M[6])
{
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (int i = 0; i < n; i++)
        msx += src[2 * i], msy += src[2 * i + 1], mdx += dst[2 * i], mdy += dst[2 * i + 1];
    msx /= n, msy /= n, mdx /= n, mdy /= n;
    double dot = 0, cross = 0, var = 0;
    for (int i = 0; i < n; i++) {
        double xs = src[2 * i] - msx, ys = src[2 * i + 1] - msy;
        double xd = dst[2 * i] - mdx, yd = dst[2 * i + 1] - mdy;
        dot += xs * xd + ys * yd;
        cross += xs * yd - ys * xd;
        var += xs * xs + ys * ys;
    }
    if (!(var > 1e-12))
        return -1;
    double a = dot / var, b = cross / var;
    M[0] = a, M[1] = -b, M[2] = mdx - (a * msx - b * msy);
    M[3] = b, M[4] = a, M[5] = mdy - (b * msx + a * msy);
    return 0;
}

typedef enum { V_A, V_B, V_LIB, V_DLIB68, V_ALL51, V_DLIB5, V_B33, V_FILE, V_LEARN33,
               V_LEARN68, V_LEARN5 } base_kind;

static const char *base_names[] = {"a", "b", "lib", "dlib68", "all51", "dlib5", "b33", "file",
                                   "learn33", "learn68", "learn5"};

static double learned[136]; /* the learned 68-point template (learn_template) */
/* Per image, how far (b)'s 5 points are from the landmarks file's, in chip pixels of
 * the file's chip (max over the 5; NAN when either is missing), for --errors. */
static double *deviation;
static const fn_face *faces_of;
static int errors_out;

static int dlib_subset(int i) /* the points get_face_chip_details fits for 68 */
{
    return i >= 27 && !(i >= 55 && i <= 59) && i <= 64;
}

/* The 5 points whose fit onto tmpl5 gives the chip of variant k: for a variant that
 * fits other points, the image of tmpl5 under that fit (refitting them is exact up to
 * rounding). */
static int points5(base_kind k, const fn_face *f, const double *file5, const double tmpl5[10],
                   double size, double padding, double lm5[10], fn_err *err)
{
    const double *p = f ? f->landmarks : NULL;
    double src[2 * 51], dst[2 * 51], M[6];
    int n = 0;
    switch (k) {
    case V_B:
        return fn_landmarks68_to5(p, FN_LANDMARKS_PIXEL_OFFSET, lm5, err);
    case V_B33:
        if (fn_landmarks68_to5(p, FN_LANDMARKS_PIXEL_OFFSET, lm5, err))
            return -1;
        /* the template's nose point moves with it: handled by the caller's template */
        lm5[4] = p[66], lm5[5] = p[67];
        return 0;
    case V_FILE:
        memcpy(lm5, file5, sizeof(double) * 10);
        return 0;
    case V_DLIB68:
    case V_ALL51:
        for (int i = 17; i < 68; i++) {
            if (k == V_DLIB68 && (i <= 26 || (i >= 55 && i <= 59) || i >= 65))
                continue;
            src[2 * n] = (padding + mean_x[i - 17]) / (2 * padding + 1) * size;
            src[2 * n + 1] = (padding + mean_y[i - 17]) / (2 * padding + 1) * size;
            dst[2 * n] = p[2 * i], dst[2 * n + 1] = p[2 * i + 1];
            n++;
        }
        break;
    case V_LEARN33:
    case V_LEARN68:
        for (int i = 0; i < 68; i++) {
            if (k == V_LEARN33 && !dlib_subset(i))
                continue;
            src[2 * n] = learned[2 * i], src[2 * n + 1] = learned[2 * i + 1];
            dst[2 * n] = p[2 * i], dst[2 * n + 1] = p[2 * i + 1];
            n++;
        }
        break;
    case V_LEARN5:
        if (fn_landmarks68_to5(p, FN_LANDMARKS_PIXEL_OFFSET, dst, err) ||
            fn_landmarks68_to5(learned, FN_LANDMARKS_PIXEL_OFFSET, src, err))
            return -1;
        n = 5;
        break;
    case V_DLIB5: {
        static const double t5[5][2] = {{0.8595674595992, 0.2134981538014},
                                        {0.6460604764104, 0.2289674387677},
                                        {0.1205750620789, 0.2137274526848},
                                        {0.3340850613712, 0.2290642403242},
                                        {0.4901123135679, 0.6277975316475}};
        static const int idx[5] = {45, 42, 36, 39, 33};
        for (n = 0; n < 5; n++) {
            src[2 * n] = (padding + t5[n][0]) / (2 * padding + 1) * size;
            src[2 * n + 1] = (padding + t5[n][1]) / (2 * padding + 1) * size;
            dst[2 * n] = p[2 * idx[n]], dst[2 * n + 1] = p[2 * idx[n] + 1];
        }
        break;
    }
    default:
        return fn_fail(err, FN_E_ARG, "variant %d has no points", (int)k);
    }
    if (fit_n(src, dst, n, M))
        return fn_fail(err, FN_E_ARG, "degenerate points");
    for (int i = 0; i < 5; i++)
        fn_similarity_apply(M, tmpl5[2 * i], tmpl5[2 * i + 1], &lm5[2 * i], &lm5[2 * i + 1]);
    return 0;
}

/* The encoder's input of variant k (HWC; the dlib ResNet is channels-last). */
static int chip_input(fn_encoder *enc, base_kind k, const fn_image *img, const fn_face *f,
                      const double *file5, float *in, fn_err *err)
{
    if (k == V_A || k == V_LIB)
        return fn_faces_input(enc, img, "img", f, k == V_A ? FN_CHIP_FACEAPI : FN_CHIP_DEFAULT,
                              in, err);
    fn_profile p = enc->prof; /* a copy: b33 moves the template's nose point */
    double tmpl5[10], lm5[10];
    fn_profile_template(&p, tmpl5);
    if (k == V_B33) { /* the profile's template with dlib's mean nostril base (33) */
        memcpy(p.tmpl, tmpl5, sizeof tmpl5);
        p.tmpl[4] = (0.25 + mean_x[33 - 17]) / 1.5 * p.in_w;
        p.tmpl[5] = (0.25 + mean_y[33 - 17]) / 1.5 * p.in_h;
        p.has_template = 1;
    }
    if (points5(k, f, file5, tmpl5, p.in_w, 0.25, lm5, err))
        return -1;
    return fn_preprocess_aligned(&p, img, lm5, in, err);
}

static void flip_hwc(float *in, int h, int w)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w / 2; x++)
            for (int c = 0; c < 3; c++) {
                float *a = in + ((size_t)y * w + x) * 3 + c, *b = in + ((size_t)y * w + (w - 1 - x)) * 3 + c;
                float t = *a;
                *a = *b, *b = t;
            }
}

static int cmpdbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The learned template (see the header): per DevTrain photo with a face and a line in
 * the landmarks file, the similarity from the file's 5 points onto the profile's
 * template maps the 68 detected points into the chip; the template is the per
 * coordinate median.  Also prints how far (b)'s 5 points land from the template's 5
 * there (median offset per point, chip pixels). */
static int learn_template(const fn_profile *prof, int n, const unsigned char *train,
                          const unsigned char *found, const fn_face *face, const double *file5)
{
    double tmpl5[10];
    fn_profile_template(prof, tmpl5);
    double *v = malloc(sizeof(double) * (size_t)n * 146);
    int m = 0;
    fn_err err = {0};
    for (int i = 0; i < n; i++) {
        double M[6], five[10];
        if (!train[i] || !found[i] || isnan(file5[10 * i]) ||
            fn_similarity_fit(file5 + 10 * i, tmpl5, M, &err))
            continue;
        double *o = v + (size_t)m * 146;
        for (int j = 0; j < 68; j++)
            fn_similarity_apply(M, face[i].landmarks[2 * j], face[i].landmarks[2 * j + 1], &o[2 * j],
                                &o[2 * j + 1]);
        if (fn_landmarks68_to5(o, FN_LANDMARKS_PIXEL_OFFSET, five, &err))
            continue;
        double dev = 0;
        for (int j = 0; j < 5; j++)
            dev = fmax(dev, hypot(five[2 * j] - tmpl5[2 * j], five[2 * j + 1] - tmpl5[2 * j + 1]));
        deviation[i] = dev;
        for (int j = 0; j < 10; j++)
            o[136 + j] = five[j] - tmpl5[j];
        m++;
    }
    int nbig = 0;
    for (int i = 0; i < n; i++)
        nbig += deviation[i] > 10;
    printf("(b)'s 5 points more than 10 chip px from the file's on %d photos\n", nbig);
    if (m < 100) {
        free(v);
        fprintf(stderr, "lfw_align: only %d photos to learn a template from\n", m);
        return -1;
    }
    double *col = malloc(sizeof(double) * (size_t)m);
    double med[146];
    for (int j = 0; j < 146; j++) {
        for (int i = 0; i < m; i++)
            col[i] = v[(size_t)i * 146 + j];
        qsort(col, (size_t)m, sizeof *col, cmpdbl);
        med[j] = col[m / 2];
    }
    memcpy(learned, med, sizeof learned);
    printf("learned template from %d DevTrain photos; (b)'s 5 points - template, median, chip px:", m);
    for (int j = 0; j < 5; j++)
        printf(" (%+.2f, %+.2f)", med[136 + 2 * j], med[137 + 2 * j]);
    printf("\n");
    double five[10];
    fn_landmarks68_to5(learned, FN_LANDMARKS_PIXEL_OFFSET, five, &err);
    printf("learned template's 5 points:");
    for (int j = 0; j < 5; j++)
        printf(" (%.2f, %.2f)", five[2 * j], five[2 * j + 1]);
    printf("\nprofile template:           ");
    for (int j = 0; j < 5; j++)
        printf(" (%.2f, %.2f)", tmpl5[2 * j], tmpl5[2 * j + 1]);
    printf("\n");
    free(col);
    free(v);
    return 0;
}

/* ------------------------------------------------------------ evaluation */

static void distances(const pairset *ps, const float *emb, const unsigned char *found,
                      float *every, float *both, int *same)
{
    for (int i = 0; i < ps->pairs.n; i++) {
        int a = ps->ia[i], b = ps->ib[i];
        same[i] = ps->pairs.pairs[i].same;
        if (found[a] && found[b])
            every[i] = both[i] = fn_l2_distance(emb + (size_t)a * DIM, emb + (size_t)b * DIM, DIM);
        else
            every[i] = MISSING, both[i] = NAN;
    }
}

static void print_errors(const char *name, const pairset *ps, const float *every, const int *same,
                         double thr)
{
    for (int i = 0; i < ps->pairs.n; i++) {
        int pred = every[i] < thr;
        if (pred == same[i])
            continue;
        int a = ps->ia[i], b = ps->ib[i];
        printf("  %s err: %s d=%.4f | %s dev %.1f pass %d score %.2f | %s dev %.1f pass %d score %.2f\n",
               name, same[i] ? "same" : "diff", every[i], ps->pairs.pairs[i].path_a, deviation[a],
               faces_of[a].pass, faces_of[a].score, ps->pairs.pairs[i].path_b, deviation[b],
               faces_of[b].pass, faces_of[b].score);
    }
}

static void report(const char *name, const pairset *train, const pairset *test, const float *emb,
                   const unsigned char *found, int with_test)
{
    int nt = train->pairs.n, ne = test->pairs.n;
    float *te = malloc(sizeof(float) * nt), *tb = malloc(sizeof(float) * nt);
    float *ee = malloc(sizeof(float) * ne), *eb = malloc(sizeof(float) * ne);
    int *ts = malloc(sizeof(int) * nt), *es = malloc(sizeof(int) * ne);
    distances(train, emb, found, te, tb, ts);
    fn_err err = {0};
    double thr, acc;
    fn_eval_result r;
    if (fn_eval_best_threshold(te, ts, nt, &thr, &acc, &err) || fn_eval_lfw(tb, ts, nt, 10, &r, &err)) {
        printf("%-16s %s\n", name, err.msg);
    } else {
        printf("%-16s DevTrain thr %.4f acc %.4f (%3d errors)  10-fold %.4f +- %.4f  AUC %.4f",
               name, thr, acc, (int)lround((1 - acc) * nt), r.acc_mean, r.acc_std, r.auc);
        if (with_test) {
            distances(test, emb, found, ee, eb, es);
            double at = fn_eval_accuracy(ee, es, ne, thr);
            printf("  | DevTest acc %.4f (%2d errors)", at, (int)lround((1 - at) * ne));
            if (!fn_eval_lfw(eb, es, ne, 10, &r, &err))
                printf(" 10-fold %.4f +- %.4f AUC %.4f (%d pairs)", r.acc_mean, r.acc_std, r.auc,
                       r.n_used);
        }
        printf("\n");
        if (errors_out)
            print_errors(name, train, te, ts, thr);
    }
    fflush(stdout);
    free(te), free(tb), free(ee), free(eb), free(ts), free(es);
}

/* ------------------------------------------------------------ main */

typedef struct {
    int nimg;
    fn_face *face;          /* the central face per image */
    unsigned char *found, *need;
    double *file5;          /* 10 per image, NAN when absent */
    fn_encoder *enc;
    const char *root;
    names *imgs;
} ctx;

/* Embeddings of a base variant, optionally flip-averaged, into emb (nimg x DIM). */
static int embed(ctx *c, base_kind k, int flip, float *emb, unsigned char *found)
{
    size_t nin = fn_encoder_input_floats(c->enc);
    float *in = malloc(sizeof(float) * nin), e2[DIM];
    fn_err err = {0};
    for (int i = 0; i < c->nimg; i++) {
        found[i] = 0;
        if (!c->need[i] || (k == V_FILE ? isnan(c->file5[10 * i]) : !c->found[i]))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", c->root, c->imgs->path[i]);
        fn_image img = {0};
        float *e = emb + (size_t)i * DIM;
        int lib_flip = flip && (k == V_A || k == V_B || k == V_LIB);
        int rc = fn_image_load(path, 0, &img, &err);
        if (!rc && lib_flip) /* the library's fn_faces_encode_flip */
            rc = fn_faces_encode_flip(c->enc, &img, "img", &c->face[i],
                                      k == V_A ? FN_CHIP_FACEAPI
                                               : k == V_B ? FN_CHIP_ALIGN5 : FN_CHIP_DEFAULT,
                                      e, &err);
        else if (!rc)
            rc = chip_input(c->enc, k, &img, &c->face[i], c->file5 + 10 * i, in, &err) ||
                 fn_encoder_run(c->enc, in, 1, e, &err);
        if (!rc && flip && !lib_flip) {
            flip_hwc(in, c->enc->prof.in_h, c->enc->prof.in_w);
            rc = fn_encoder_run(c->enc, in, 1, e2, &err);
            for (int j = 0; j < DIM && !rc; j++)
                e[j] = (e[j] + e2[j]) / 2;
        }
        fn_image_free(&img);
        if (rc) {
            fprintf(stderr, "lfw_align: %s: %s\n", path, err.msg);
            free(in);
            return -1;
        }
        found[i] = 1;
    }
    free(in);
    return 0;
}

static int base_of(const char *s, size_t len)
{
    for (int k = 0; k < (int)(sizeof base_names / sizeof *base_names); k++)
        if (strlen(base_names[k]) == len && !strncmp(s, base_names[k], len))
            return k;
    return -1;
}

/* Terms already computed (a&b after a and b costs nothing more). */
#define MEMO 24
static struct {
    char name[32];
    float *emb;
    unsigned char *found;
} memo[MEMO];

static int term_compute(ctx *c, const char *s, size_t len, float *emb, unsigned char *found);

/* One term "base" or "base+flip" into emb/found; -1 on an unknown name. */
static int term(ctx *c, const char *s, size_t len, float *emb, unsigned char *found)
{
    size_t bytes = sizeof(float) * DIM * (size_t)c->nimg;
    int k = 0;
    for (; k < MEMO && memo[k].emb; k++)
        if (strlen(memo[k].name) == len && !strncmp(memo[k].name, s, len)) {
            memcpy(emb, memo[k].emb, bytes);
            memcpy(found, memo[k].found, (size_t)c->nimg);
            return 0;
        }
    if (term_compute(c, s, len, emb, found))
        return -1;
    if (k < MEMO && len < sizeof memo[k].name) {
        memo[k].emb = malloc(bytes);
        memo[k].found = malloc((size_t)c->nimg);
        if (memo[k].emb && memo[k].found) {
            snprintf(memo[k].name, sizeof memo[k].name, "%.*s", (int)len, s);
            memcpy(memo[k].emb, emb, bytes);
            memcpy(memo[k].found, found, (size_t)c->nimg);
        } else {
            free(memo[k].emb), free(memo[k].found);
            memo[k].emb = NULL;
        }
    }
    return 0;
}

static int term_compute(ctx *c, const char *s, size_t len, float *emb, unsigned char *found)
{
    int flip = len > 5 && !strncmp(s + len - 5, "+flip", 5);
    int k = base_of(s, flip ? len - 5 : len);
    if (k < 0) {
        fprintf(stderr, "lfw_align: unknown variant %.*s\n", (int)len, s);
        return -1;
    }
    return embed(c, (base_kind)k, flip, emb, found);
}

int main(int argc, char **argv)
{
    const char *lfw = "../shared/lfw", *sub = "original-150", *wroot = "weights";
    const char *list = "a,b,dlib68,all51,dlib5,b33,learn5,learn33,learn68,file";
    int with_test = 0, first_cache = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--test")) with_test = 1;
        else if (!strcmp(a, "--lfw") && v) lfw = v, i++;
        else if (!strcmp(a, "--images") && v) sub = v, i++;
        else if (!strcmp(a, "--weights") && v) wroot = v, i++;
        else if (!strcmp(a, "--variants") && v) list = v, i++;
        else if (!strcmp(a, "--errors")) errors_out = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "usage: see the header of bench/lfw_align.c\n");
            return 2;
        } else {
            first_cache = i;
            break;
        }
    }
    if (!first_cache) {
        fprintf(stderr, "lfw_align: no cache file (bench/lfw_detect --cache)\n");
        return 2;
    }
    names imgs = {0};
    pairset train = {0}, test = {0};
    if (load_pairs(lfw, "pairsDevTrain.txt", &imgs, &train) ||
        load_pairs(lfw, "pairsDevTest.txt", &imgs, &test))
        return 2;
    int n = imgs.n;
    ctx c = {.nimg = n, .imgs = &imgs};
    c.face = calloc((size_t)n, sizeof *c.face);
    c.found = calloc((size_t)n, 1);
    c.need = calloc((size_t)n, 1);
    c.file5 = malloc(sizeof(double) * 10 * (size_t)n);
    unsigned char *seen = calloc((size_t)n, 1);
    for (int i = 0; i < 10 * n; i++)
        c.file5[i] = NAN;
    int passes[FN_FACES_MAX_CANVAS + 1] = {0};
    for (int f = first_cache; f < argc; f++) {
        FILE *fp = fopen(argv[f], "r");
        lfw_cache_rec r = {0};
        int got;
        if (!fp) {
            fprintf(stderr, "lfw_align: cannot read %s\n", argv[f]);
            return 2;
        }
        while ((got = lfw_cache_read(fp, &r)) == 1) {
            if (r.index < 0 || r.index >= n || strcmp(imgs.path[r.index], r.path)) {
                fprintf(stderr, "lfw_align: %s: image %d is not %s\n", argv[f], r.index, r.path);
                return 2;
            }
            seen[r.index] = 1;
            if (r.central >= 0 && r.central < r.faces.n) {
                c.face[r.index] = r.faces.face[r.central];
                c.found[r.index] = 1;
                int p = r.faces.face[r.central].pass;
                passes[p >= 0 && p <= FN_FACES_MAX_CANVAS ? p : 0]++;
            }
        }
        fclose(fp);
        free(r.faces.face);
        if (got < 0) {
            fprintf(stderr, "lfw_align: %s is malformed\n", argv[f]);
            return 2;
        }
    }
    int nseen = 0, nfound = 0;
    for (int i = 0; i < n; i++)
        nseen += seen[i], nfound += c.found[i];
    printf("cache: %d of %d images, a face on %d; central face from face-api's pass %d, "
           "canvas passes %d %d %d %d\n", nseen, n, nfound, passes[0], passes[1], passes[2],
           passes[3], passes[4]);
    if (nseen < n)
        printf("cache: %d images missing (counted as no face)\n", n - nseen);
    for (int i = 0; i < train.pairs.n; i++)
        c.need[train.ia[i]] = c.need[train.ib[i]] = 1;
    unsigned char *train_img = calloc((size_t)n, 1);
    memcpy(train_img, c.need, (size_t)n);
    if (with_test)
        for (int i = 0; i < test.pairs.n; i++)
            c.need[test.ia[i]] = c.need[test.ib[i]] = 1;

    char lmpath[4096];
    snprintf(lmpath, sizeof lmpath, "%s/landmarks-5pt-250px.txt", lfw);
    fn_landmarks lm = {0};
    fn_err err = {0};
    if (!fn_landmarks_load(lmpath, 0.6, &lm, &err))
        for (int i = 0; i < n; i++) {
            const double *p = fn_landmarks_find(&lm, imgs.path[i]);
            if (p)
                memcpy(c.file5 + 10 * i, p, sizeof(double) * 10);
        }
    fn_encoder enc;
    char mj[4096], mh[4096], mp[4096], root[4096];
    snprintf(mj, sizeof mj, "%s/dlib-resnet/model.json", wroot);
    snprintf(mh, sizeof mh, "%s/dlib-resnet/model.h5", wroot);
    snprintf(mp, sizeof mp, "%s/dlib-resnet/facenet.json", wroot);
    snprintf(root, sizeof root, "%s/%s", lfw, sub);
    if (fn_encoder_open(&enc, mj, mh, mp, &err)) {
        fprintf(stderr, "lfw_align: %s\n", err.msg);
        return 2;
    }
    if (enc.chw) {
        fprintf(stderr, "lfw_align: the flip assumes a channels-last model\n");
        return 2;
    }
    c.enc = &enc;
    c.root = root;
    deviation = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        deviation[i] = NAN;
    faces_of = c.face;
    if ((strstr(list, "learn") || errors_out) &&
        learn_template(&enc.prof, n, train_img, c.found, c.face, c.file5))
        return 2;
    float *emb = malloc(sizeof(float) * DIM * (size_t)n), *emb2 = malloc(sizeof(float) * DIM * (size_t)n);
    unsigned char *found = malloc((size_t)n), *found2 = malloc((size_t)n);
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ",");
        const char *amp = memchr(s, '&', len);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc;
        if (amp) {
            rc = term(&c, s, (size_t)(amp - s), emb, found) ||
                 term(&c, amp + 1, len - (size_t)(amp - s) - 1, emb2, found2);
            for (size_t j = 0; !rc && j < (size_t)DIM * n; j++)
                emb[j] = (emb[j] + emb2[j]) / 2;
            for (int i = 0; !rc && i < n; i++)
                found[i] &= found2[i];
        } else {
            rc = term(&c, s, len, emb, found);
        }
        if (rc)
            return 2;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, s);
        report(name, &train, &test, emb, found, with_test);
        fprintf(stderr, "lfw_align: %s took %.1f s\n", name,
                (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
        s += len;
        if (*s == ',')
            s++;
    }
    fn_encoder_close(&enc);
    fn_landmarks_free(&lm);
    return 0;
}
