/* test_thread_pool.c - the engine's thread pool (core/thread_pool.c): every task of a
 * job runs exactly once, fn_pool_run returns only when all of them have finished,
 * and nothing of a job runs after it returned - over many jobs of changing sizes, on
 * more threads than processors (so threads are preempted at any instruction).
 *
 * The hand-off the last check guards: a worker that is late for job g reads its state
 * (all tasks claimed), is preempted, and reads the job's size again only after the
 * caller has started job g+1 with more tasks; it must not then claim task n_g of job
 * g - with job g+1's function - before job g+1 is published.
 *
 * Also: nets sharing one pool (fn_net_share_threads, as detector, landmarks and
 * recognition do in the CLI) give the outputs they give alone, and either may be
 * freed first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/thread_pool.h"
#include "facenet.h"
#include "lib/testutil.h"
#include "net/graph.h"

#define MAX_TASKS 64

typedef struct {
    atomic_int runs[MAX_TASKS]; /* times each task ran */
    atomic_int running;         /* tasks started and not finished */
    atomic_int bad_thread;      /* a thread index outside [0, threads) */
    int threads;
    int spin;                   /* busy work per task */
    int n;                      /* tasks of the job */
} job;

/* Tasks of j run other than once each (or outside 0..n-1); *missing counts those not run. */
static long miscounted(job *j, long *missing)
{
    long stray = 0;
    for (int t = 0; t < MAX_TASKS; t++) {
        int r = atomic_load(&j->runs[t]);
        if (t < j->n && r == 0)
            (*missing)++;
        else if (t < j->n ? r != 1 : r != 0)
            stray++;
    }
    return stray;
}

static void task(void *arg, int t, int thread)
{
    job *j = arg;
    atomic_fetch_add(&j->running, 1);
    if (thread < 0 || thread >= j->threads)
        atomic_store(&j->bad_thread, 1);
    volatile unsigned x = (unsigned)t;
    for (int i = 0; i < j->spin * (t % 3 + 1); i++)
        x = x * 1664525u + 1013904223u;
    atomic_fetch_add(&j->runs[t], 1);
    atomic_fetch_sub(&j->running, 1);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Jobs of random sizes 1..MAX_TASKS (small and large in turn) on `threads` threads
 * for about `budget` seconds; two job records in turn, so a stray run of the previous
 * job's task shows in that record when it is checked again. */
static void stress(int threads, double budget)
{
    fn_pool *p = NULL;
    fn_err err;
    assert_int_equal(fn_pool_create(threads, &p, &err), 0);
    static job jobs[2];
    unsigned rng = 77u + (unsigned)threads;
    long n_jobs = 0, stray = 0, missing = 0, early = 0;
    const double t_end = seconds() + budget;
    for (long k = 0; seconds() < t_end || k < 1000; k++) {
        job *j = &jobs[k & 1];
        for (int t = 0; t < MAX_TASKS; t++)
            atomic_store(&j->runs[t], 0);
        atomic_store(&j->running, 0);
        j->threads = threads;
        j->spin = (int)(tu_frand(&rng) * 50.0f);
        /* alternate few and many tasks: a late worker of a small job sees a large one */
        int n = (k & 1) ? 1 + (int)(tu_frand(&rng) * (MAX_TASKS - 1)) : 1 + (int)(tu_frand(&rng) * 3);
        if (n > MAX_TASKS)
            n = MAX_TASKS;
        j->n = n;
        fn_pool_run(p, n, task, j);
        n_jobs++;
        early += atomic_load(&j->running) != 0;
        stray += miscounted(j, &missing);
        assert_int_equal(atomic_load(&j->bad_thread), 0);
        if (stray || missing || early)
            break;
    }
    /* the last two jobs once more, once every worker has stopped */
    fn_pool_free(p);
    stray += miscounted(&jobs[0], &missing) + miscounted(&jobs[1], &missing);
    printf("%d threads: %ld jobs, %ld tasks run twice or out of range, %ld not run, %ld returns before the end\n",
           threads, n_jobs, stray, missing, early);
    assert_int_equal(stray, 0);
    assert_int_equal(missing, 0);
    assert_int_equal(early, 0);
}

static void test_each_task_once_two_threads(void **state)
{
    (void)state;
    stress(2, 2.0);
}

static void test_each_task_once_oversubscribed(void **state)
{
    (void)state;
    stress(4, 3.0);
}

static void test_single_thread_and_null_pool(void **state)
{
    (void)state;
    static job j;
    j.threads = 1;
    fn_pool_run(NULL, 5, task, &j);
    fn_pool *p = NULL;
    fn_err err;
    assert_int_equal(fn_pool_create(1, &p, &err), 0);
    fn_pool_run(p, 5, task, &j);
    fn_pool_run(p, 0, task, &j);
    fn_pool_free(p);
    for (int t = 0; t < MAX_TASKS; t++)
        assert_int_equal(atomic_load(&j.runs[t]), t < 5 ? 2 : 0);
    assert_int_equal(fn_pool_create(0, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_null(p);
}

/* tiny-resnet8 (keras-real) loaded with `threads`, run on its reference input. */
static fn_net *load_tiny(int threads, float **input, size_t *n_in)
{
    const char *h5 = tu_shared("keras-real/tiny-resnet8-k2.4.0/model.h5");
    fn_load_opts o = {.weights = h5, .threads = threads};
    fn_net *net = NULL;
    fn_err err = {0};
    if (fn_net_load(&o, &net, &err))
        fail_msg("%s", err.msg);
    if (input) {
        size_t bytes;
        *input = (float *)tu_read_must(tu_shared("keras-real/tiny-resnet8-k2.4.0/input.f32"), &bytes);
        *n_in = bytes / sizeof(float);
    }
    return net;
}

static void run_copy(fn_net *net, const float *x, float *out, size_t *n_out)
{
    fn_err err = {0};
    if (fn_net_run(net, x, 1, NULL, &err))
        fail_msg("%s", err.msg);
    fn_shape s;
    const float *y = fn_net_output(net, 0, &s);
    *n_out = fn_shape_count(&s);
    memcpy(out, y, sizeof(float) * *n_out);
}

static void test_nets_share_threads(void **state)
{
    (void)state;
    float *x;
    size_t n_in, n_out;
    fn_net *alone = load_tiny(3, &x, &n_in);
    static float want[4096], got[4096];
    run_copy(alone, x, want, &n_out);
    assert_true(n_out > 0 && n_out <= 4096);
    for (int free_first = 0; free_first < 2; free_first++) {
        fn_net *a = load_tiny(3, NULL, NULL), *b = load_tiny(3, NULL, NULL);
        fn_err err = {0};
        assert_ptr_not_equal(b->pool, a->pool);
        assert_int_equal(fn_net_share_threads(b, a, &err), 0);
        assert_ptr_equal(b->pool, a->pool); /* one set of workers */
        assert_int_equal(fn_net_share_threads(b, a, &err), 0); /* again: nothing changes */
        assert_ptr_equal(b->pool, a->pool);
        for (int round = 0; round < 20; round++) {
            size_t n;
            run_copy(round & 1 ? a : b, x, got, &n);
            assert_int_equal(n, n_out);
            assert_memory_equal(got, want, sizeof(float) * n);
        }
        fn_net_free(free_first ? b : a); /* the other goes on running on the shared workers */
        fn_net *rest = free_first ? a : b;
        size_t n;
        run_copy(rest, x, got, &n);
        assert_memory_equal(got, want, sizeof(float) * n);
        fn_net_free(rest);
    }
    /* a plan's scratch is cut for its thread count: other counts are refused */
    fn_net *two = load_tiny(2, NULL, NULL);
    fn_err err = {0};
    assert_int_equal(fn_net_share_threads(two, alone, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    assert_non_null(strstr(err.msg, "2 and 3 threads"));
    fn_net_free(two);
    fn_net_free(alone);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nets_share_threads),
        cmocka_unit_test(test_single_thread_and_null_pool),
        cmocka_unit_test(test_each_task_once_two_threads),
        cmocka_unit_test(test_each_task_once_oversubscribed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
