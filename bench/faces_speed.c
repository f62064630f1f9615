/* faces_speed.c - time the detection pipeline of app/faces.h.
 *
 *   faces_speed [--threads N] [--small-always 0|1] [--runs R] photo [R]
 *   faces_speed [--threads N] [--small-always 0|1] --list FILE [--limit N]
 *   faces_speed --dump-rgb OUT (photo | --list FILE [--limit N])
 *
 * On `photo`: decode once, then R times (default 11, after one warm-up): detection +
 * 68 landmarks of every face (fn_faces_detect), then the dlib ResNet descriptor of
 * every face on face-api's crop (fn_faces_encode); prints the medians.
 * With --list FILE (one image path a line, the first N with --limit): after one
 * warm-up on the first image, each image is decoded, then detected, and EVERY face
 * it holds is encoded (what `facenet encode` does, and what face-api's
 * detectAllFaces().withFaceLandmarks().withFaceDescriptors() does); the time per
 * photo counts detection + landmarks + descriptors, not the decoding (timed apart),
 * so that it compares with bench/faceapi_bench.js, which is fed decoded pixels; the
 * process's CPU time per photo is printed too.
 * --small-always sets fn_faces_opts.small_always (default: the library's, 1).
 * Threads: --threads N for the three nets (fn_load_opts.threads; default 0 = one per
 * online core); the engine keeps OpenBLAS on one thread.  The CPU time of the process
 * is printed beside the wall-clock time (on a busy machine they differ).  The last
 * line of a timing run is machine-readable: "result key=value ...".
 *
 * --dump-rgb OUT decodes the photo (or the listed images) with the engine's decoder
 * (fn_image_load, Pillow's pixels) and writes them to OUT for bench/faceapi_bench.js,
 * so that both engines see identical pixels.  Per image: the magic "FNRGB1\n", the
 * width, height and name length as little-endian uint32, the name, then width x
 * height x 3 bytes (row-major RGB). */
#include <stdint.h>
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

/* The image paths: the photo, or the first `limit` lines of the list (0: all). */
static char **read_paths(const char *photo, const char *list, int limit, int *n)
{
    int cap = 16;
    char **p = malloc(sizeof *p * (size_t)cap);
    *n = 0;
    if (!p)
        return NULL;
    if (!list) {
        p[(*n)++] = strdup(photo);
        return p;
    }
    FILE *f = fopen(list, "r");
    if (!f) {
        perror(list);
        free(p);
        return NULL;
    }
    char line[4096];
    while ((limit <= 0 || *n < limit) && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        if (*n == cap) {
            char **q = realloc(p, sizeof *p * (size_t)(cap *= 2));
            if (!q)
                break;
            p = q;
        }
        p[(*n)++] = strdup(line);
    }
    fclose(f);
    return p;
}

static void put_u32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    fwrite(b, 1, 4, f);
}

static int dump_rgb(char **paths, int n, const char *out)
{
    FILE *f = fopen(out, "wb");
    if (!f) {
        perror(out);
        return 2;
    }
    int bad = 0;
    fn_err err = {0};
    for (int i = 0; i < n; i++) {
        fn_image img = {0};
        if (fn_image_load(paths[i], 0, &img, &err)) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            bad++;
            continue;
        }
        size_t len = strlen(paths[i]);
        fputs("FNRGB1\n", f);
        put_u32(f, (uint32_t)img.w);
        put_u32(f, (uint32_t)img.h);
        put_u32(f, (uint32_t)len);
        fwrite(paths[i], 1, len, f);
        fwrite(img.rgb, 1, (size_t)img.w * img.h * 3, f);
        fn_image_free(&img);
    }
    int werr = ferror(f);
    if (fclose(f) || werr) {
        perror(out);
        return 2;
    }
    fprintf(stderr, "faces_speed: %d image(s) written to %s (%d unreadable)\n", n - bad, out, bad);
    return bad ? 2 : 0;
}

/* Detection + landmarks + a descriptor for every face: faces found, or -1. */
static int pipeline(fn_faces *det, fn_encoder *enc, const fn_image *img, const char *name,
                    fn_face_list *faces, fn_err *err)
{
    if (fn_faces_detect(det, img, name, faces, err))
        return -1;
    float *emb = malloc(sizeof(float) * (size_t)enc->dim);
    int rc = emb ? faces->n : -1;
    for (int k = 0; k < faces->n && rc >= 0; k++)
        if (fn_faces_encode(enc, img, name, &faces->face[k], FN_CHIP_FACEAPI, emb, err))
            rc = -1;
    free(emb);
    return rc;
}

static int run_list(fn_faces *det, fn_encoder *enc, char **paths, int n, int threads)
{
    double *ms = malloc(sizeof(double) * (size_t)n), t_pipe = 0, t_dec = 0, c_pipe = 0;
    int done = 0, with_face = 0, faces_total = 0;
    fn_face_list faces = {0};
    fn_err err = {0};
    for (int i = -1; i < n; i++) { /* i = -1: warm-up on the first image */
        const char *p = paths[i < 0 ? 0 : i];
        double t0 = now();
        fn_image img = {0};
        if (fn_image_load(p, 0, &img, &err)) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            continue;
        }
        double t1 = now(), c1 = cpu();
        int k = pipeline(det, enc, &img, p, &faces, &err);
        double t2 = now(), c2 = cpu();
        fn_image_free(&img);
        if (k < 0) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            continue;
        }
        if (i < 0)
            continue;
        t_dec += t1 - t0;
        t_pipe += t2 - t1;
        c_pipe += c2 - c1;
        ms[done++] = (t2 - t1) * 1e3;
        with_face += k > 0;
        faces_total += k;
    }
    fn_face_list_free(&faces);
    if (done == 0) {
        free(ms);
        return 2;
    }
    double med = median(ms, done);
    printf("%d images (%d with a face, %d faces): detect + landmarks + every descriptor %.1f s "
           "(CPU time %.1f s), %.2f images/s, median %.1f ms an image; decoding apart %.1f s; "
           "%d thread(s)\n",
           done, with_face, faces_total, t_pipe, c_pipe, done / t_pipe, med, t_dec, threads);
    printf("result mode=list threads=%d images=%d with_face=%d faces=%d seconds=%.3f "
           "cpu_ms=%.2f photos_per_s=%.3f median_ms=%.2f decode_s=%.3f\n",
           threads, done, with_face, faces_total, t_pipe, c_pipe * 1e3 / done, done / t_pipe, med,
           t_dec);
    free(ms);
    return done == n ? 0 : 2;
}

static int run_photo(fn_faces *det, fn_encoder *enc, const char *photo, int runs, int threads)
{
    fn_err err = {0};
    fn_image img = {0};
    if (fn_image_load(photo, 0, &img, &err)) {
        fprintf(stderr, "faces_speed: %s\n", err.msg);
        return 2;
    }
    double *td = malloc(sizeof(double) * runs), *te = malloc(sizeof(double) * runs);
    double *tt = malloc(sizeof(double) * runs), *tc = malloc(sizeof(double) * runs);
    fn_face_list faces = {0};
    float *emb = malloc(sizeof(float) * (size_t)enc->dim);
    int rc = emb ? 0 : 2;
    for (int r = -1; r < runs && !rc; r++) {
        double t0 = now(), c0 = cpu();
        if (fn_faces_detect(det, &img, photo, &faces, &err)) {
            rc = 2;
            break;
        }
        double t1 = now();
        for (int k = 0; k < faces.n && !rc; k++)
            if (fn_faces_encode(enc, &img, photo, &faces.face[k], FN_CHIP_FACEAPI, emb, &err))
                rc = 2;
        double t2 = now();
        if (r >= 0)
            td[r] = (t1 - t0) * 1e3, te[r] = (t2 - t1) * 1e3, tt[r] = (t2 - t0) * 1e3,
            tc[r] = (cpu() - c0) * 1e3;
    }
    if (rc)
        fprintf(stderr, "faces_speed: %s\n", err.msg);
    else {
        double md = median(td, runs), me = median(te, runs), mt = median(tt, runs),
               mc = median(tc, runs);
        printf("%s (%dx%d, %d faces), %d runs, %d thread(s): median detect + landmarks "
               "%.1f ms, descriptors %.1f ms (%.1f ms a face), total %.1f ms (CPU time %.1f ms)\n",
               photo, img.w, img.h, faces.n, runs, threads, md, me, faces.n ? me / faces.n : 0,
               mt, mc);
        printf("result mode=photo threads=%d faces=%d runs=%d ms=%.2f detect_ms=%.2f "
               "descriptors_ms=%.2f cpu_ms=%.2f\n",
               threads, faces.n, runs, mt, md, me, mc);
    }
    fn_face_list_free(&faces);
    fn_image_free(&img);
    free(td), free(te), free(tt), free(tc), free(emb);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: faces_speed [--threads N] [--runs R] photo [R]\n"
                    "       faces_speed [--threads N] --list FILE [--limit N]\n"
                    "       faces_speed --dump-rgb OUT (photo | --list FILE [--limit N])\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *photo = NULL, *list = NULL, *dump = NULL;
    int runs = 11, threads = 0, limit = 0, small_always = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--list") && v)
            list = v, i++;
        else if (!strcmp(a, "--dump-rgb") && v)
            dump = v, i++;
        else if (!strcmp(a, "--threads") && v)
            threads = atoi(v), i++;
        else if (!strcmp(a, "--runs") && v)
            runs = atoi(v), i++;
        else if (!strcmp(a, "--limit") && v)
            limit = atoi(v), i++;
        else if (!strcmp(a, "--small-always") && v)
            small_always = atoi(v), i++;
        else if (a[0] == '-')
            return usage();
        else if (!photo)
            photo = a;
        else
            runs = atoi(a);
    }
    if ((!photo == !list) || runs < 1 || runs > 1000 || threads < 0 || limit < 0)
        return usage();
    int n = 0;
    char **paths = read_paths(photo, list, limit, &n);
    if (!paths)
        return 2;
    if (n == 0) {
        fprintf(stderr, "faces_speed: %s names no image\n", list);
        return 2;
    }
    int rc;
    if (dump)
        rc = dump_rgb(paths, n, dump);
    else {
        fn_err err = {0};
        fn_faces_opts o;
        fn_faces_opts_default(&o, "weights");
        o.threads = threads;
        if (small_always >= 0)
            o.small_always = small_always;
        fn_load_opts eo = {.model_json = "weights/dlib-resnet/model.json",
                           .weights = "weights/dlib-resnet/model.h5",
                           .threads = threads};
        fn_faces *det = NULL;
        fn_encoder enc;
        if (fn_faces_open(&det, &o, &err) ||
            fn_encoder_open_opts(&enc, &eo, "weights/dlib-resnet/facenet.json", &err)) {
            fprintf(stderr, "faces_speed: %s\n", err.msg);
            if (det)
                fn_faces_close(det);
            return 2;
        }
        int used = fn_net_threads(enc.net);
        rc = list ? run_list(det, &enc, paths, n, used) : run_photo(det, &enc, photo, runs, used);
        fn_faces_close(det);
        fn_encoder_close(&enc);
    }
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return rc;
}
