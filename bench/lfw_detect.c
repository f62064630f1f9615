/* lfw_detect.c - LFW View 1 end to end from the photos, with face detection (no
 * landmarks file): every image of pairsDevTrain + pairsDevTest is decoded, its faces
 * detected (app/faces.h), the face nearest the centre encoded by the dlib ResNet in
 * both chip modes (face-api's crop and the 5-point alignment).  Per mode: the
 * threshold that is best on DevTrain, applied to DevTest, with EVERY pair counted (a
 * pair with an image without a face is answered "different"); also the k-fold figures
 * of app/eval.h on the pairs both of whose images had a face.
 *
 *   lfw_detect [--lfw DIR] [--images SUB] [--weights DIR] [--detector ssd|tiny]
 *              [--small-side N] [--canvas X] [--small-always 0|1] [--limit N] [--detect-only] [--missed FILE]
 *              [--shard K/N --save FILE] [--only LIST] [--cache FILE] [--merge FILE...]
 *
 * --shard K/N processes only the images i with i % N == K and --save writes what it
 * found (per image: processed, face found, both embeddings) to FILE; --merge reads such
 * files (one per shard, same pair files) and reports on their union, so that the ~5000
 * images can be split over processes (a later file's images replace an earlier one's).
 * --only LIST processes only the images LIST names (one relative path a line).
 * --cache FILE writes every processed image's detections as text (format in
 * bench/lfw_cache.h), so that bench/lfw_align can try chip variants without detecting
 * again; with --detect-only nothing is encoded.
 * DIR defaults to ../shared/lfw, SUB to original-150, weights to weights.  --limit N
 * processes only the first N images (timing; the accuracy then covers the pairs whose
 * images were all processed).  Prints the per-image time (median, mean) of decode +
 * detection + landmarks + both embeddings.  (Uses src/app directly, as the CLI's
 * `evaluate --detect` will.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/encoder.h"
#include "app/eval.h"
#include "app/faces.h"
#include "io/pairs.h"
#include "app/match.h"
#include "lfw_cache.h"
#include "lfw_pairs.h"
#include "facenet.h"

#define DIM 128
#define MISSING 1e6f /* a pair without a face: farther than any threshold */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Distances of a pair set in one mode; an image without a face gives MISSING (or NaN
 * for the k-fold figures); an unprocessed image (--limit) gives NaN in both. */
static void distances(const pairset *ps, const float *emb, const unsigned char *found,
                      const unsigned char *done, float *every, float *both, int *same)
{
    for (int i = 0; i < ps->pairs.n; i++) {
        int a = ps->ia[i], b = ps->ib[i];
        same[i] = ps->pairs.pairs[i].same;
        if (!done[a] || !done[b]) {
            every[i] = both[i] = NAN;
        } else if (found[a] && found[b]) {
            every[i] = both[i] = fn_l2_distance(emb + (size_t)a * DIM, emb + (size_t)b * DIM, DIM);
        } else {
            every[i] = MISSING;
            both[i] = NAN;
        }
    }
}

static void report(const char *mode, pairset *train, pairset *test, const float *emb,
                   const unsigned char *found, const unsigned char *done)
{
    int nt = train->pairs.n, ne = test->pairs.n;
    float *te = malloc(sizeof(float) * nt), *tb = malloc(sizeof(float) * nt);
    float *ee = malloc(sizeof(float) * ne), *eb = malloc(sizeof(float) * ne);
    int *ts = malloc(sizeof(int) * nt), *es = malloc(sizeof(int) * ne);
    distances(train, emb, found, done, te, tb, ts);
    distances(test, emb, found, done, ee, eb, es);
    fn_err err = {0};
    double thr, acc_train;
    if (fn_eval_best_threshold(te, ts, nt, &thr, &acc_train, &err)) {
        printf("%s: %s\n", mode, err.msg);
    } else {
        double acc_test = fn_eval_accuracy(ee, es, ne, thr);
        int used = 0;
        for (int i = 0; i < ne; i++)
            used += !isnan(ee[i]);
        printf("%s: threshold %.4f (best on DevTrain, accuracy %.4f); DevTest accuracy %.4f "
               "over %d pairs (every pair counted)\n", mode, thr, acc_train, acc_test, used);
        fn_eval_result r;
        if (!fn_eval_lfw(tb, ts, nt, 10, &r, &err))
            printf("%s: DevTrain pairs with both faces: %d of %d; 10-fold %.4f +- %.4f, AUC %.4f\n",
                   mode, r.n_used, r.n_pairs, r.acc_mean, r.acc_std, r.auc);
        if (!fn_eval_lfw(eb, es, ne, 10, &r, &err))
            printf("%s: DevTest pairs with both faces: %d of %d; 10-fold %.4f +- %.4f, AUC %.4f\n",
                   mode, r.n_used, r.n_pairs, r.acc_mean, r.acc_std, r.auc);
    }
    free(te), free(tb), free(ee), free(eb), free(ts), free(es);
}

/* --save / --merge file: "LFWD", n, then done[n], found[n], emb_a[n*DIM], emb_b[n*DIM]. */
static int save(const char *path, int n, const unsigned char *done, const unsigned char *found,
                const float *a, const float *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite("LFWD", 1, 4, f) == 4 && fwrite(&n, sizeof n, 1, f) == 1 &&
             fwrite(done, 1, (size_t)n, f) == (size_t)n &&
             fwrite(found, 1, (size_t)n, f) == (size_t)n &&
             fwrite(a, sizeof *a * DIM, (size_t)n, f) == (size_t)n &&
             fwrite(b, sizeof *b * DIM, (size_t)n, f) == (size_t)n;
    if (f && fclose(f))
        ok = 0;
    if (!ok)
        fprintf(stderr, "lfw_detect: cannot write %s\n", path);
    return ok ? 0 : -1;
}

static int merge(const char *path, int n, unsigned char *done, unsigned char *found, float *a,
                 float *b)
{
    FILE *f = fopen(path, "rb");
    char magic[4];
    int m = 0, ok = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "LFWD", 4) &&
                    fread(&m, sizeof m, 1, f) == 1 && m == n;
    unsigned char *d2 = malloc((size_t)n), *f2 = malloc((size_t)n);
    float *a2 = malloc(sizeof(float) * DIM * (size_t)n), *b2 = malloc(sizeof(float) * DIM * (size_t)n);
    ok = ok && d2 && f2 && a2 && b2 && fread(d2, 1, (size_t)n, f) == (size_t)n &&
         fread(f2, 1, (size_t)n, f) == (size_t)n &&
         fread(a2, sizeof(float) * DIM, (size_t)n, f) == (size_t)n &&
         fread(b2, sizeof(float) * DIM, (size_t)n, f) == (size_t)n;
    for (int i = 0; ok && i < n; i++)
        if (d2[i]) {
            done[i] = 1;
            found[i] = f2[i];
            memcpy(a + (size_t)i * DIM, a2 + (size_t)i * DIM, sizeof(float) * DIM);
            memcpy(b + (size_t)i * DIM, b2 + (size_t)i * DIM, sizeof(float) * DIM);
        }
    if (f)
        fclose(f);
    free(d2), free(f2), free(a2), free(b2);
    if (!ok)
        fprintf(stderr, "lfw_detect: %s is not a result file for these pairs\n", path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *lfw = "../shared/lfw", *sub = "original-150", *wroot = "weights";
    const char *detector = "ssd", *missed_path = NULL, *save_path = NULL, *only_path = NULL;
    const char *cache_path = NULL;
    int limit = 0, detect_only = 0, small_side = -1, small_always = -1, shard = 0, nshards = 1, merge_from = 0;
    double canvas = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--detect-only")) {
            detect_only = 1;
            continue;
        }
        if (!strcmp(a, "--merge")) {
            merge_from = i + 1;
            break;
        }
        if (!v) {
            fprintf(stderr, "usage: see the header of bench/lfw_detect.c\n");
            return 2;
        }
        i++;
        if (!strcmp(a, "--lfw")) lfw = v;
        else if (!strcmp(a, "--images")) sub = v;
        else if (!strcmp(a, "--weights")) wroot = v;
        else if (!strcmp(a, "--detector")) detector = v;
        else if (!strcmp(a, "--small-side")) small_side = atoi(v);
        else if (!strcmp(a, "--canvas")) canvas = atof(v);
        else if (!strcmp(a, "--small-always")) small_always = atoi(v);
        else if (!strcmp(a, "--limit")) limit = atoi(v);
        else if (!strcmp(a, "--missed")) missed_path = v;
        else if (!strcmp(a, "--save")) save_path = v;
        else if (!strcmp(a, "--only")) only_path = v;
        else if (!strcmp(a, "--cache")) cache_path = v;
        else if (!strcmp(a, "--shard")) {
            if (sscanf(v, "%d/%d", &shard, &nshards) != 2 || nshards < 1 || shard < 0 || shard >= nshards) {
                fprintf(stderr, "lfw_detect: --shard K/N with 0 <= K < N\n");
                return 2;
            }
        }
        else {
            fprintf(stderr, "lfw_detect: unknown option %s\n", a);
            return 2;
        }
    }
    names imgs = {0};
    pairset train = {0}, test = {0};
    if (load_pairs(lfw, "pairsDevTrain.txt", &imgs, &train) ||
        load_pairs(lfw, "pairsDevTest.txt", &imgs, &test))
        return 2;
    int n = limit > 0 && limit < imgs.n ? limit : imgs.n;
    if (merge_from) {
        float *a = calloc((size_t)imgs.n * DIM, sizeof(float)), *b = calloc((size_t)imgs.n * DIM, sizeof(float));
        unsigned char *found = calloc((size_t)imgs.n, 1), *done = calloc((size_t)imgs.n, 1);
        for (int i = merge_from; i < argc; i++)
            if (merge(argv[i], imgs.n, done, found, a, b))
                return 2;
        int nd = 0, nf = 0;
        for (int i = 0; i < imgs.n; i++)
            nd += done[i], nf += done[i] && found[i];
        printf("merged: faces found on %d of %d images (%.2f%%)\n", nf, nd, 100.0 * nf / nd);
        report("(a) face-api crop", &train, &test, a, found, done);
        report("(b) 5-point align", &train, &test, b, found, done);
        return 0;
    }

    fn_err err = {0};
    fn_faces_opts o;
    fn_faces_opts_default(&o, wroot);
    char detdir[4096], lmdir[4096];
    snprintf(detdir, sizeof detdir, "%s/%s", wroot,
             !strcmp(detector, "tiny") ? "tiny-face-detector" : "ssd-mobilenetv1");
    snprintf(lmdir, sizeof lmdir, "%s/face-landmark-68", wroot);
    o.detector_dir = detdir;
    o.landmarks_dir = lmdir;
    if (small_side >= 0)
        o.small_side = small_side;
    if (small_always >= 0)
        o.small_always = small_always;
    if (canvas > 0) { /* one canvas size only */
        memset(o.small_canvas, 0, sizeof o.small_canvas);
        o.small_canvas[0] = canvas;
    }
    fn_faces *det;
    fn_encoder enc;
    char mj[4096], mh[4096], mp[4096];
    snprintf(mj, sizeof mj, "%s/dlib-resnet/model.json", wroot);
    snprintf(mh, sizeof mh, "%s/dlib-resnet/model.h5", wroot);
    snprintf(mp, sizeof mp, "%s/dlib-resnet/facenet.json", wroot);
    if (fn_faces_open(&det, &o, &err) || fn_encoder_open(&enc, mj, mh, mp, &err)) {
        fprintf(stderr, "lfw_detect: %s\n", err.msg);
        return 2;
    }
    printf("lfw_detect: %d images (%d in the pair files), detector %s, small_side %d, "
           "small_always %d, canvas", n, imgs.n, detector, o.small_side, o.small_always);
    for (int i = 0; i < FN_FACES_MAX_CANVAS && o.small_canvas[i] != 0; i++)
        printf(" %.2f", o.small_canvas[i]);
    printf("\n");
    float *emb_a = calloc((size_t)imgs.n * DIM, sizeof(float));
    float *emb_b = calloc((size_t)imgs.n * DIM, sizeof(float));
    unsigned char *found = calloc((size_t)imgs.n, 1), *done = calloc((size_t)imgs.n, 1);
    double *ms = malloc(sizeof(double) * (size_t)n), t_all = now();
    FILE *missed = missed_path ? fopen(missed_path, "w") : NULL;
    FILE *cache = cache_path ? fopen(cache_path, "w") : NULL;
    if (cache_path && !cache) {
        fprintf(stderr, "lfw_detect: cannot write %s\n", cache_path);
        return 2;
    }
    int nfound = 0, multi = 0, nerr = 0;
    fn_face_list faces = {0};
    unsigned char *only = NULL;
    if (only_path) {
        FILE *f = fopen(only_path, "r");
        char line[4096];
        only = calloc((size_t)imgs.n, 1);
        if (!f || !only) {
            fprintf(stderr, "lfw_detect: cannot read %s\n", only_path);
            return 2;
        }
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            for (int i = 0; i < imgs.n; i++)
                if (!strcmp(imgs.path[i], line))
                    only[i] = 1;
        }
        fclose(f);
    }
    int nmine = 0;
    for (int i = 0; i < n; i++) {
        if (i % nshards != shard || (only && !only[i]))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/%s", lfw, sub, imgs.path[i]);
        double t0 = now();
        fn_image img = {0};
        int rc = fn_image_load(path, 0, &img, &err) || fn_faces_detect(det, &img, path, &faces, &err);
        int c = rc ? -1 : fn_faces_central(&faces, img.w, img.h);
        if (!rc && c >= 0 && !detect_only)
            rc = fn_faces_encode(&enc, &img, path, &faces.face[c], FN_CHIP_FACEAPI,
                                 emb_a + (size_t)i * DIM, &err) ||
                 fn_faces_encode(&enc, &img, path, &faces.face[c], FN_CHIP_ALIGN5,
                                 emb_b + (size_t)i * DIM, &err);
        ms[nmine++] = (now() - t0) * 1e3;
        if (rc) {
            fprintf(stderr, "lfw_detect: %s\n", err.msg);
            nerr++;
        } else if (c >= 0) {
            found[i] = 1;
            nfound++;
            multi += faces.n > 1;
        } else if (missed) {
            fprintf(missed, "%s\n", imgs.path[i]);
        }
        done[i] = 1;
        if (cache && !rc)
            lfw_cache_write(cache, i, imgs.path[i], img.w, img.h, &faces, c);
        fn_image_free(&img);
        if (nmine % 250 == 0) {
            fprintf(stderr, "lfw_detect: %d images, %d with a face\n", nmine, nfound);
            if (save_path) /* so that a stopped run keeps what it did */
                save(save_path, imgs.n, done, found, emb_a, emb_b);
        }
    }
    t_all = now() - t_all;
    if (missed)
        fclose(missed);
    if (cache && fclose(cache)) {
        fprintf(stderr, "lfw_detect: cannot write %s\n", cache_path);
        return 2;
    }
    double mean = 0;
    for (int i = 0; i < nmine; i++)
        mean += ms[i] / nmine;
    qsort(ms, (size_t)nmine, sizeof *ms, cmpd);
    printf("faces found on %d of %d images (%.2f%%), %d with more than one, %d errors\n", nfound,
           nmine, 100.0 * nfound / nmine, multi, nerr);
    if (save_path && save(save_path, imgs.n, done, found, emb_a, emb_b))
        return 2;
    printf("time per image (decode + detect + landmarks%s): median %.1f ms, mean %.1f ms; "
           "total %.1f s; OPENBLAS_NUM_THREADS=%s\n", detect_only ? "" : " + 2 descriptors",
           ms[nmine / 2], mean, t_all, getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    if (!detect_only) {
        report("(a) face-api crop", &train, &test, emb_a, found, done);
        report("(b) 5-point align", &train, &test, emb_b, found, done);
    }
    fn_face_list_free(&faces);
    fn_faces_close(det);
    fn_encoder_close(&enc);
    return 0;
}
