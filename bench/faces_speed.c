/* faces_speed.c - time the detection pipeline of app/faces.h.
 *
 *   faces_speed photo [runs] [--list FILE] [--small-always 0|1]
 *
 * On `photo`: decode once, then `runs` times (default 11, after one warm-up):
 * detection + 68 landmarks of every face (fn_faces_detect), then the dlib ResNet
 * descriptor of every face on face-api's crop (fn_faces_encode); prints the medians.
 * With --list FILE (one image path a line): each image decoded, detected, and its
 * central face encoded, once; prints the total and the median per image.
 * --small-always sets fn_faces_opts.small_always (default 1).  Threads:
 * OPENBLAS_NUM_THREADS (the engine's GEMMs are OpenBLAS').  The CPU time of the
 * process is printed beside the wall-clock time (on a busy machine they differ). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/encoder.h"
#include "app/faces.h"
#include "facenet.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): on a shared machine the wall-clock
 * time also counts waiting for a core, the CPU time does not. */
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run_list(fn_faces *det, fn_encoder *enc, const char *list)
{
    FILE *f = fopen(list, "r");
    if (!f) {
        perror(list);
        return 2;
    }
    char line[4096];
    int cap = 1024, n = 0, found = 0;
    double *ms = malloc(sizeof(double) * cap), t_all = now(), c_all = cpu();
    fn_face_list faces = {0};
    fn_err err = {0};
    float emb[128];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        double t0 = now();
        fn_image img = {0};
        if (fn_image_load(line, 0, &img, &err) || fn_faces_detect(det, &img, line, &faces, &err)) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            fn_image_free(&img);
            continue;
        }
        int c = fn_faces_central(&faces, img.w, img.h);
        if (c >= 0) {
            if (fn_faces_encode(enc, &img, line, &faces.face[c], FN_CHIP_FACEAPI, emb, &err))
                fprintf(stderr, "faces_speed: %s\n", err.msg);
            found++;
        }
        fn_image_free(&img);
        if (n == cap)
            ms = realloc(ms, sizeof(double) * (cap *= 2));
        ms[n++] = (now() - t0) * 1e3;
    }
    fclose(f);
    t_all = now() - t_all;
    c_all = cpu() - c_all;
    if (n == 0)
        return 2;
    printf("%d images (%d with a face): total %.1f s (CPU %.1f s), %.1f images/s; per image "
           "median %.1f ms (decode + detect + landmarks + 1 descriptor); OPENBLAS_NUM_THREADS=%s\n",
           n, found, t_all, c_all, n / t_all, median(ms, n),
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    fn_face_list_free(&faces);
    free(ms);
    return 0;
}

int main(int argc, char **argv)
{
    const char *photo = NULL, *list = NULL;
    int runs = 11, small_always = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list") && i + 1 < argc)
            list = argv[++i];
        else if (!strcmp(argv[i], "--small-always") && i + 1 < argc)
            small_always = atoi(argv[++i]);
        else if (!photo)
            photo = argv[i];
        else
            runs = atoi(argv[i]);
    }
    if ((!photo && !list) || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: faces_speed photo [runs] | faces_speed --list FILE\n");
        return 2;
    }
    fn_err err = {0};
    fn_faces_opts o;
    fn_faces_opts_default(&o, "weights");
    if (small_always >= 0)
        o.small_always = small_always;
    fn_faces *det;
    fn_encoder enc;
    if (fn_faces_open(&det, &o, &err) ||
        fn_encoder_open(&enc, "weights/dlib-resnet/model.json", "weights/dlib-resnet/model.h5",
                        "weights/dlib-resnet/facenet.json", &err)) {
        fprintf(stderr, "faces_speed: %s\n", err.msg);
        return 2;
    }
    if (list) {
        int rc = run_list(det, &enc, list);
        fn_faces_close(det);
        fn_encoder_close(&enc);
        return rc;
    }
    fn_image img = {0};
    if (fn_image_load(photo, 0, &img, &err)) {
        fprintf(stderr, "faces_speed: %s\n", err.msg);
        return 2;
    }
    double *td = malloc(sizeof(double) * runs), *te = malloc(sizeof(double) * runs);
    double *tt = malloc(sizeof(double) * runs), *tc = malloc(sizeof(double) * runs);
    fn_face_list faces = {0};
    float emb[128];
    for (int r = -1; r < runs; r++) {
        double t0 = now(), c0 = cpu();
        if (fn_faces_detect(det, &img, photo, &faces, &err)) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            return 2;
        }
        double t1 = now();
        for (int k = 0; k < faces.n; k++)
            if (fn_faces_encode(&enc, &img, photo, &faces.face[k], FN_CHIP_FACEAPI, emb, &err)) {
                fprintf(stderr, "faces_speed: %s\n", err.msg);
                return 2;
            }
        double t2 = now();
        if (r >= 0)
            td[r] = (t1 - t0) * 1e3, te[r] = (t2 - t1) * 1e3, tt[r] = (t2 - t0) * 1e3,
            tc[r] = (cpu() - c0) * 1e3;
    }
    printf("%s (%dx%d, %d faces), %d runs, OPENBLAS_NUM_THREADS=%s: median detect + landmarks "
           "%.1f ms, descriptors %.1f ms (%.1f ms a face), total %.1f ms (CPU time %.1f ms)\n",
           photo, img.w, img.h, faces.n, runs,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)",
           median(td, runs), median(te, runs), faces.n ? median(te, runs) / faces.n : 0,
           median(tt, runs), median(tc, runs));
    fn_face_list_free(&faces);
    fn_image_free(&img);
    free(td), free(te), free(tt), free(tc);
    fn_faces_close(det);
    fn_encoder_close(&enc);
    return 0;
}
