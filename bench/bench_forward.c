/* bench_forward.c - time the forward pass of a model: median (and min/max) over
 * repeated runs at a given batch size, for the GEMM kernels and (optionally) the
 * naive reference kernels, in one process so their ratio is measured under the same
 * conditions.  Inputs are deterministic pseudo-random values.
 *
 *   bench_forward --model-json M.json --weights W.h5 [--batch N] [--runs R] [--threads T]
 *                 [--isa portable|avx2|avx512] [--reference] [--dump OUT.f32]
 *                 [--profile [--top K]] [--input-shape HxWxC]
 *
 * --isa caps the instruction set of the engine's kernels (what a smaller CPU would run).
 * --threads is the engine's thread count (fn_load_opts.threads; 0 = all cores); the
 * engine keeps OpenBLAS on one thread whatever OPENBLAS_NUM_THREADS says.
 * --dump writes the outputs of the last GEMM run (all outputs in order, raw float32),
 * for comparing with another runtime on the same input (bench/compare.sh).  The first
 * line names the machine, the kernels' ISA, the threads and the BLAS with its core.
 * --profile times every layer (through the engine's observer, fn_net_set_observer) over
 * the same number of extra runs and prints, per layer and per op type, the median time,
 * its share of the summed medians and GFLOP/s from the layer's MAC count (the K slowest
 * layers with --top K, default 25).  The observer reads the clock around each layer, so
 * the summed medians can exceed the plain run's median a little.
 * --input-shape sets the per-sample input size of a model that accepts any (the SSD
 * detector: 512x512x3).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "facenet.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double *t;  /* runs x layers seconds */
    int n_layers, run;
} prof;

static int on_layer(void *user, const fn_layer_output *o)
{
    prof *p = user;
    p->t[(size_t)p->run * p->n_layers + o->layer] += o->seconds;
    return 0;
}

typedef struct {
    int layer;
    double med;
} layer_time;

static int by_time(const void *a, const void *b)
{
    double x = ((const layer_time *)a)->med, y = ((const layer_time *)b)->med;
    return x > y ? -1 : x < y;
}

/* Per-layer and per-op medians over runs; prints the top K layers and every op type. */
static int profile(fn_net *net, const float *in, int batch, const fn_shape *shape, int runs, int top)
{
    fn_err err = {0};
    int L = fn_net_n_layers(net);
    prof p = {calloc((size_t)runs * L, sizeof(double)), L, 0};
    double *col = malloc(sizeof(double) * runs);
    layer_time *lt = malloc(sizeof *lt * L);
    int rc = p.t && col && lt ? 0 : -1;
    fn_net_set_reference(net, 0, NULL); /* turning it off cannot fail */
    fn_net_set_observer(net, on_layer, &p);
    for (p.run = 0; !rc && p.run < runs; p.run++)
        if (fn_net_run(net, in, batch, shape, &err)) {
            fprintf(stderr, "bench_forward: %s\n", err.msg);
            rc = -1;
        }
    fn_net_set_observer(net, NULL, NULL);
    double total = 0;
    int n = 0;
    for (int l = 0; !rc && l < L; l++) {
        fn_layer_info li;
        fn_net_layer_info(net, l, &li);
        if (!li.executed)
            continue;
        for (int r = 0; r < runs; r++)
            col[r] = p.t[(size_t)r * L + l];
        qsort(col, (size_t)runs, sizeof *col, cmp);
        lt[n++] = (layer_time){l, col[runs / 2]};
        total += col[runs / 2];
    }
    if (!rc) {
        qsort(lt, (size_t)n, sizeof *lt, by_time);
        printf("profile: %d runs, batch %d, summed layer medians %.3f ms (%.3f ms/image)\n", runs, batch,
               total * 1e3, total * 1e3 / batch);
        printf("%-36s %-20s %10s %6s %8s\n", "layer", "op", "ms", "share", "GFLOP/s");
        for (int i = 0; i < n && i < top; i++) {
            fn_layer_info li;
            fn_net_layer_info(net, lt[i].layer, &li);
            printf("%-36.36s %-20.20s %10.3f %5.1f%% %8.1f\n", li.name, li.op, lt[i].med * 1e3,
                   100 * lt[i].med / total, lt[i].med > 0 ? 2 * li.macs * batch / lt[i].med / 1e9 : 0.0);
        }
        /* per op type: sum of its layers' medians */
        printf("%-36s %6s %10s %6s %8s\n", "op type", "layers", "ms", "share", "GFLOP/s");
        int *done = calloc((size_t)n, sizeof(int));
        for (int i = 0; done && i < n; i++) {
            if (done[i])
                continue;
            fn_layer_info a;
            fn_net_layer_info(net, lt[i].layer, &a);
            double t = 0, macs = 0;
            int count = 0;
            for (int j = i; j < n; j++) {
                fn_layer_info b;
                fn_net_layer_info(net, lt[j].layer, &b);
                if (done[j] || strcmp(a.op, b.op))
                    continue;
                done[j] = 1;
                t += lt[j].med;
                macs += b.macs;
                count++;
            }
            printf("%-36.36s %6d %10.3f %5.1f%% %8.1f\n", a.op, count, t * 1e3, 100 * t / total,
                   t > 0 ? 2 * macs * batch / t / 1e9 : 0.0);
        }
        free(done);
    }
    free(p.t);
    free(col);
    free(lt);
    return rc;
}

static int dump(const fn_net *net, int batch, const char *path)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL;
    for (int i = 0; ok && i < fn_net_n_outputs(net); i++) {
        fn_shape s;
        const float *o = fn_net_output(net, i, &s);
        size_t n = fn_shape_count(&s) * (size_t)batch;
        ok = fwrite(o, sizeof(float), n, f) == n;
    }
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "bench_forward: cannot write %s\n", path);
    return ok ? 0 : -1;
}

static int bench(fn_net *net, const float *in, int batch, const fn_shape *shape, int runs, int reference,
                 const char *label)
{
    fn_err err = {0};
    if (fn_net_set_reference(net, reference, &err) || fn_net_run(net, in, batch, shape, &err)) { /* warm-up, plans memory */
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return -1;
    }
    double *t = malloc(sizeof(double) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        fn_net_run(net, in, batch, shape, &err);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    double med = t[runs / 2];
    printf("%-10s batch %-3d runs %-3d median %8.2f ms  (%.2f ms/image, %.1f images/s, %.2f GMAC/s)  min %.2f max %.2f\n",
           label, batch, runs, med * 1e3, med * 1e3 / batch, batch / med, fn_net_macs(net) * batch / med / 1e9,
           t[0] * 1e3, t[runs - 1] * 1e3);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *json = NULL, *weights = NULL, *dump_path = NULL;
    int batch = 1, runs = 10, reference = 0, threads = 0, prof_on = 0, top = 25, ih = 0, iw = 0, ic = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model-json") && i + 1 < argc)
            json = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
            weights = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (fn_limit_isa(argv[++i])) {
                fprintf(stderr, "bench_forward: --isa portable|avx2|avx512\n");
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--reference"))
            reference = 1;
        else if (!strcmp(argv[i], "--profile"))
            prof_on = 1;
        else if (!strcmp(argv[i], "--top") && i + 1 < argc)
            top = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--input-shape") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%dx%d", &ih, &iw, &ic) != 3 || ih < 1 || iw < 1 || ic < 1) {
                fprintf(stderr, "bench_forward: --input-shape HxWxC\n");
                return 2;
            }
        }
        else {
            fprintf(stderr, "usage: bench_forward [--model-json F] --weights F [--batch N] [--runs R] [--threads T] "
                            "[--isa portable|avx2|avx512] [--reference] [--dump F] [--profile [--top K]] "
                            "[--input-shape HxWxC]\n");
            return 2;
        }
    }
    if (!weights || batch < 1 || runs < 1) {
        fprintf(stderr, "bench_forward: --weights is required\n");
        return 2;
    }
    fn_err err = {0};
    fn_net *net;
    fn_load_opts o = {.model_json = json, .weights = weights, .threads = threads};
    if (fn_net_load(&o, &net, &err)) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return 2;
    }
    fn_machine m;
    fn_machine_describe(&m);
    printf("machine: %s, %d cores; kernels %s, %d thread%s; BLAS %s\n", m.cpu, m.cores, m.isa,
           fn_net_threads(net), fn_net_threads(net) == 1 ? "" : "s", m.blas);
    fn_shape s = fn_net_input_shape(net);
    if (ih) {
        if (s.rank != 3) {
            fprintf(stderr, "bench_forward: --input-shape needs a model with an image input\n");
            return 2;
        }
        s.d[0] = ih, s.d[1] = iw, s.d[2] = ic;
    }
    const fn_shape *shape = ih ? &s : NULL;
    size_t per = 1;
    for (int d = 0; d < s.rank; d++)
        per *= (size_t)(s.d[d] > 0 ? s.d[d] : 1);
    float *in = malloc(sizeof(float) * per * (size_t)batch);
    unsigned r = 1;
    for (size_t i = 0; i < per * (size_t)batch; i++) {
        r = r * 1664525u + 1013904223u;
        in[i] = (float)((r >> 8) & 0xffff) / 65535.0f;
    }
    int rc = bench(net, in, batch, shape, runs, 0, "gemm");
    if (!rc && dump_path)
        rc = dump(net, batch, dump_path);
    if (!rc && reference)
        rc = bench(net, in, batch, shape, runs < 3 ? runs : 3, 1, "reference");
    if (!rc && prof_on)
        rc = profile(net, in, batch, shape, runs, top);
    printf("model %s: %.3f GMAC/image, planned arena %.2f MiB\n", weights, fn_net_macs(net) / 1e9,
           fn_net_arena_bytes(net) / 1048576.0);
    printf("openblas core %s, %d threads\n", openblas_get_corename(), openblas_get_num_threads());
    free(in);
    fn_net_free(net);
    return rc ? 2 : 0;
}
