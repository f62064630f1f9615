/* bench_load.c - model load time in-process, with and without the weights sandbox
 * (fn_load_opts.sandbox: libhdf5 runs in a forked child that hands the arrays back):
 *   bench_load --model-json M.json --weights W.h5 [--runs N]
 *   bench_load --weights FULL.h5 [--runs N]      (config read from the .h5 too)
 * Runs alternate between the two settings; prints the median and min wall time of
 * each, the median of the per-pair differences (sandbox minus direct), and the median
 * CPU time (user + system, this process and the sandbox child): on a busy machine
 * the CPU time is the steadier figure. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "facenet.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU seconds of this process and its waited-for children (the sandbox child). */
static double cpu_ms(void)
{
    struct rusage s, c;
    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    return (s.ru_utime.tv_sec + c.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_stime.tv_sec) * 1e3 +
           (s.ru_utime.tv_usec + c.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_stime.tv_usec) * 1e-3;
}

static double last_cpu;

static double load_once(const char *json, const char *weights, int sandbox)
{
    fn_load_opts o = {.model_json = json, .weights = weights, .sandbox = sandbox, .threads = 1};
    fn_net *net;
    fn_err err;
    double t0 = now_ms(), c0 = cpu_ms();
    if (fn_net_load(&o, &net, &err)) {
        fprintf(stderr, "bench_load: %s\n", err.msg);
        exit(2);
    }
    double t = now_ms() - t0;
    last_cpu = cpu_ms() - c0;
    fn_net_free(net);
    return t;
}

int main(int argc, char **argv)
{
    const char *json = NULL, *weights = NULL;
    int runs = 11;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model-json") && i + 1 < argc)
            json = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
            weights = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_load [--model-json F] --weights F.h5 [--runs N]\n");
            return 2;
        }
    }
    if (!weights || runs < 1 || runs > 1000) {
        fprintf(stderr, "usage: bench_load [--model-json F] --weights F.h5 [--runs N]\n");
        return 2;
    }
    double *on = malloc(sizeof(double) * runs), *off = malloc(sizeof(double) * runs),
           *diff = malloc(sizeof(double) * runs), *con = malloc(sizeof(double) * runs),
           *coff = malloc(sizeof(double) * runs);
    if (!on || !off || !diff || !con || !coff)
        return 2;
    load_once(json, weights, 0); /* page cache */
    for (int r = 0; r < runs; r++) {
        on[r] = load_once(json, weights, 1);
        con[r] = last_cpu;
        off[r] = load_once(json, weights, 0);
        coff[r] = last_cpu;
        diff[r] = on[r] - off[r];
    }
    double mon = median(on, runs), moff = median(off, runs), md = median(diff, runs);
    printf("%s: %d runs: wall: sandbox on %.1f ms (min %.1f), off %.1f ms (min %.1f), difference %.1f ms "
           "(median of pairs); CPU (process + child): on %.1f ms, off %.1f ms (medians)\n",
           weights, runs, mon, on[0], moff, off[0], md, median(con, runs), median(coff, runs));
    free(on), free(off), free(diff), free(con), free(coff);
    return 0;
}
