/* bench_forward.c - time the forward pass of a model: median (and min/max) over
 * repeated runs at a given batch size, for the GEMM kernels and (optionally) the
 * naive reference kernels, in one process so their ratio is measured under the same
 * conditions.  Inputs are deterministic pseudo-random values.
 *
 *   bench_forward --model-json M.json --weights W.h5 [--batch N] [--runs R] [--threads T]
 *                 [--isa portable|avx2|avx512] [--reference] [--dump OUT.f32]
 *
 * --isa caps the instruction set of the engine's kernels (what a smaller CPU would run).
 * --threads is the engine's thread count (fn_load_opts.threads; 0 = all cores); the
 * engine keeps OpenBLAS on one thread whatever OPENBLAS_NUM_THREADS says.
 * --dump writes the outputs of the last GEMM run (all outputs in order, raw float32),
 * for comparing with another runtime on the same input (bench/compare.sh).  The first
 * line names the machine, the kernels' ISA, the threads and the BLAS with its core.
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

static int bench(fn_net *net, const float *in, int batch, int runs, int reference, const char *label)
{
    fn_err err = {0};
    fn_net_set_reference(net, reference);
    if (fn_net_run(net, in, batch, NULL, &err)) { /* warm-up, plans memory */
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return -1;
    }
    double *t = malloc(sizeof(double) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        fn_net_run(net, in, batch, NULL, &err);
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
    int batch = 1, runs = 10, reference = 0, threads = 0;
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
        else {
            fprintf(stderr, "usage: bench_forward [--model-json F] --weights F [--batch N] [--runs R] [--threads T] "
                            "[--isa portable|avx2|avx512] [--reference] [--dump F]\n");
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
    size_t per = 1;
    for (int d = 0; d < s.rank; d++)
        per *= (size_t)(s.d[d] > 0 ? s.d[d] : 1);
    float *in = malloc(sizeof(float) * per * (size_t)batch);
    unsigned r = 1;
    for (size_t i = 0; i < per * (size_t)batch; i++) {
        r = r * 1664525u + 1013904223u;
        in[i] = (float)((r >> 8) & 0xffff) / 65535.0f;
    }
    int rc = bench(net, in, batch, runs, 0, "gemm");
    if (!rc && dump_path)
        rc = dump(net, batch, dump_path);
    if (!rc && reference)
        rc = bench(net, in, batch, runs < 3 ? runs : 3, 1, "reference");
    printf("model %s: %.3f GMAC/image, planned arena %.2f MiB\n", weights, fn_net_macs(net) / 1e9,
           fn_net_arena_bytes(net) / 1048576.0);
    printf("openblas core %s, %d threads\n", openblas_get_corename(), openblas_get_num_threads());
    free(in);
    fn_net_free(net);
    return rc ? 2 : 0;
}
