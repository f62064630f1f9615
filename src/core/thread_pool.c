/* thread_pool.c - a small thread pool (see thread_pool.h).
 *
 * Waking a sleeping thread (futex, scheduler) costs tens of microseconds under a
 * hypervisor - as much as a whole small layer at batch 1.  So a worker that has
 * finished a job polls for the next one for a bounded time (FN_SPIN_NS) before it
 * sleeps on the condition variable, and the caller polls for the end of a job for
 * the same bound before it sleeps.  Between forward passes the workers are asleep
 * after FN_SPIN_NS; nothing spins for longer.
 *
 * Hand-off without the mutex: the caller writes the job, then publishes it in `state`
 * (the job's generation in the high 32 bits, the next task in the low 32; seq_cst)
 * and reads `sleepers`; a worker going to sleep increments `sleepers` and re-reads
 * `state` under the mutex.  In the single order of seq_cst operations one of the two
 * sees the other's write, so either the worker runs the job or the caller broadcasts
 * (under the mutex, so the wake-up cannot fall between the worker's check and its
 * wait).
 *
 * A task is claimed by a compare-and-swap of `state` that also checks the generation,
 * and the job is over when `done` counts all its tasks - not when every worker has
 * looked in: on a busy machine a worker may not get a processor for milliseconds,
 * and the caller then runs the tasks itself instead of waiting for it.  A worker that
 * comes late reads a finished (or newer) job's state, its claim fails, and it goes
 * back to waiting.
 *
 * A claim reads the job's fields (function, argument, number of tasks) between its
 * read of `state` and its compare-and-swap, and a late worker can be preempted in
 * between for as long as the next job takes to be written.  So the caller first
 * closes the finished job - `state` moves to an odd generation, in which nothing can
 * be claimed - then rewrites the fields (release), then opens the new job (the next,
 * even, generation).  A worker that read a rewritten field (acquire) therefore also
 * sees the closing write, and its compare-and-swap of the old state fails; a claim
 * that succeeds read the fields of its own job.  (Without the closing step a worker
 * late for a job of 2 tasks that read the next job's 40 claimed "task 2" of the old
 * generation and ran it with the new job's function - a task run twice, and the caller
 * returning before it finished: tests/test_thread_pool.c.)
 *
 * Two threads on one processor.  Linux places a new or woken thread on an idle
 * processor, but a worker that keeps polling never sleeps, and the load balancer is
 * slow to move a thread that ran a moment ago ("cache hot"): measured here, caller and
 * worker shared one of two idle vCPUs for the first ~60 ms of a run (20 forward passes
 * of the dlib ResNet at batch 1, each at one-thread speed) before one was moved.  So
 * each thread notes its processor when it takes up a job (sched_getcpu: no system call
 * with glibc's rseq), and a worker that finds another pool thread on its own processor
 * moves itself: it narrows its affinity to the processors no pool thread is on and
 * widens it back at once (the move happens at the narrowing; nothing stays pinned).
 * At most once per FN_MOVE_NS per worker, so an overloaded machine does not make it
 * a habit. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu, sched_setaffinity, CPU_* */
#endif
#include "core/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define FN_SPIN_NS 200000L /* 0.2 ms */
#define FN_MOVE_NS 5000000L /* 5 ms */

struct fn_pool {
    int threads;                /* workers + the caller */
    pthread_t *workers;
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    atomic_ullong state;        /* generation << 32 | next task to claim */
    atomic_int sleepers;        /* workers asleep (or about to be) on `wake` */
    atomic_int quit;
    /* the current job (written before state publishes it) */
    _Atomic(fn_task_fn) fn;
    _Atomic(void *) arg;
    atomic_int n;
    atomic_int done;            /* tasks of the current job finished */
    atomic_int *cpu;            /* threads slots: the processor each thread last ran a job on, -1 unknown */
    atomic_int refs;            /* owners (fn_pool_retain); the last fn_pool_free stops the workers */
};

typedef struct {
    fn_pool *p;
    int id;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Poll until cond(p, v) holds or FN_SPIN_NS pass; 1 if it holds. */
#define SPIN_UNTIL(cond)                                                                                  \
    do {                                                                                                   \
        long t0_ = 0;                                                                                      \
        for (int i_ = 0;; i_++) {                                                                          \
            if (cond) {                                                                                    \
                spun = 1;                                                                                  \
                break;                                                                                     \
            }                                                                                              \
            if ((i_ & 15) == 15) {                                                                         \
                sched_yield();                                                                             \
                long t_ = now_ns();                                                                        \
                if (!t0_)                                                                                  \
                    t0_ = t_;                                                                              \
                else if (t_ - t0_ > FN_SPIN_NS)                                                            \
                    break;                                                                                 \
            }                                                                                              \
            cpu_relax();                                                                                   \
        }                                                                                                  \
    } while (0)

static int current_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

/* Worker `id` took up a job on processor `me`: if another pool thread is there, move
 * to a processor none is on (see the top of the file). */
static void spread(fn_pool *p, int id, int me, long *last_move)
{
#ifdef __linux__
    if (me < 0)
        return;
    int shared = 0;
    for (int i = 0; i < p->threads && !shared; i++)
        shared = i != id && atomic_load_explicit(&p->cpu[i], memory_order_relaxed) == me;
    if (!shared)
        return;
    long t = now_ns();
    if (*last_move && t - *last_move < FN_MOVE_NS)
        return;
    *last_move = t;
    cpu_set_t allowed, free_cpus;
    if (sched_getaffinity(0, sizeof allowed, &allowed))
        return;
    free_cpus = allowed;
    for (int i = 0; i < p->threads; i++) {
        int c = atomic_load_explicit(&p->cpu[i], memory_order_relaxed);
        if (c >= 0 && c < CPU_SETSIZE)
            CPU_CLR(c, &free_cpus);
    }
    if (CPU_COUNT(&free_cpus) == 0 || sched_setaffinity(0, sizeof free_cpus, &free_cpus))
        return;
    sched_setaffinity(0, sizeof allowed, &allowed);
    atomic_store_explicit(&p->cpu[id], current_cpu(), memory_order_relaxed);
#else
    (void)p, (void)id, (void)me, (void)last_move;
#endif
}

static unsigned gen_of(unsigned long long state)
{
    return (unsigned)(state >> 32);
}

/* Claim and run tasks of job `gen` until none is left (or a newer job is out).  An
 * odd generation is a closed job: nothing to claim. */
static void take_tasks(fn_pool *p, unsigned gen, int thread)
{
    if (gen & 1u)
        return;
    for (;;) {
        unsigned long long s = atomic_load(&p->state);
        if (gen_of(s) != gen)
            return;
        const int t = (int)(unsigned)(s & 0xffffffffu), n = atomic_load_explicit(&p->n, memory_order_acquire);
        if (t >= n)
            return;
        fn_task_fn fn = atomic_load_explicit(&p->fn, memory_order_acquire);
        void *arg = atomic_load_explicit(&p->arg, memory_order_acquire);
        if (!atomic_compare_exchange_weak(&p->state, &s, s + 1))
            continue;
        fn(arg, t, thread);
        if (atomic_fetch_add(&p->done, 1) + 1 == n) { /* the last task: tell a sleeping caller */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *worker(void *a)
{
    worker_arg wa = *(worker_arg *)a;
    free(a);
    fn_pool *p = wa.p;
    unsigned seen = 0;
    long last_move = 0;
    for (;;) {
        int spun = 0;
        SPIN_UNTIL(gen_of(atomic_load(&p->state)) != seen || atomic_load(&p->quit));
        if (!spun) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (!atomic_load(&p->quit) && gen_of(atomic_load(&p->state)) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit))
            break;
        seen = gen_of(atomic_load(&p->state));
        if (seen & 1u) /* a job being written: wait for it to open */
            continue;
        int me = current_cpu();
        atomic_store_explicit(&p->cpu[wa.id], me, memory_order_relaxed);
        spread(p, wa.id, me, &last_move);
        take_tasks(p, seen, wa.id);
    }
    return NULL;
}

int fn_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

int fn_pool_create(int threads, fn_pool **out, fn_err *err)
{
    *out = NULL;
    if (threads < 1 || threads > 1024)
        return fn_fail(err, FN_E_ARG, "threads must be in 1..1024 (got %d)", threads);
    fn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    p->threads = threads;
    atomic_init(&p->state, 0);
    atomic_init(&p->fn, NULL);
    atomic_init(&p->arg, NULL);
    atomic_init(&p->n, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->refs, 1);
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return fn_fail(err, FN_E_NOMEM, "cannot create a mutex");
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (!(p->cpu = malloc(sizeof *p->cpu * (size_t)threads)) ||
        (threads > 1 && !(p->workers = calloc((size_t)threads - 1, sizeof *p->workers)))) {
        fn_pool_free(p);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < threads; i++)
        atomic_init(&p->cpu[i], -1);
    for (int i = 1; i < threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a || (a->p = p, a->id = i, pthread_create(&p->workers[i - 1], NULL, worker, a))) {
            free(a);
            fn_pool_free(p);
            return fn_fail(err, FN_E_NOMEM, "cannot start worker thread %d of %d", i, threads - 1);
        }
        p->n_started++;
    }
    *out = p;
    return 0;
}

fn_pool *fn_pool_retain(fn_pool *p)
{
    if (p)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

void fn_pool_free(fn_pool *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) > 1)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->cpu);
    free(p);
}

int fn_pool_threads(const fn_pool *p)
{
    return p ? p->threads : 1;
}

void fn_pool_run(fn_pool *p, int n, fn_task_fn fn, void *arg)
{
    if (!p || p->threads == 1 || n <= 1) {
        for (int t = 0; t < n; t++)
            fn(arg, t, 0);
        return;
    }
    const unsigned closed = gen_of(atomic_load(&p->state)) + 1, gen = closed + 1; /* odd, even */
    atomic_store(&p->state, (unsigned long long)closed << 32); /* no claim of the last job from here on */
    atomic_store_explicit(&p->cpu[0], current_cpu(), memory_order_relaxed);
    atomic_store_explicit(&p->fn, fn, memory_order_release);
    atomic_store_explicit(&p->arg, arg, memory_order_release);
    atomic_store_explicit(&p->n, n, memory_order_release);
    atomic_store(&p->done, 0);
    atomic_store(&p->state, (unsigned long long)gen << 32); /* publishes the job (seq_cst) */
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    take_tasks(p, gen, 0);
    int spun = 0;
    SPIN_UNTIL(atomic_load(&p->done) == n);
    if (!spun) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->done) < n)
            pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

typedef struct {
    size_t n;
    int parts;
    fn_range_fn fn;
    void *arg;
} range_job;

static void range_task(void *arg, int t, int thread)
{
    (void)thread;
    const range_job *j = arg;
    j->fn(j->arg, j->n * (size_t)t / (size_t)j->parts, j->n * (size_t)(t + 1) / (size_t)j->parts);
}

void fn_pool_for(fn_pool *p, size_t n, size_t grain, fn_range_fn fn, void *arg)
{
    size_t parts = grain ? n / grain : n;
    if (parts > (size_t)fn_pool_threads(p))
        parts = (size_t)fn_pool_threads(p);
    if (parts <= 1) {
        if (n)
            fn(arg, 0, n);
        return;
    }
    range_job j = {n, (int)parts, fn, arg};
    fn_pool_run(p, (int)parts, range_task, &j);
}
