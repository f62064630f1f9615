/* thread_pool.c - a small condition-variable thread pool (see thread_pool.h). */
#include "core/thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct fn_pool {
    int threads;                /* workers + the caller */
    pthread_t *workers;
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    unsigned long generation;   /* bumped per job: workers run each job once */
    int quit;
    /* the current job */
    fn_task_fn fn;
    void *arg;
    int n;
    atomic_int next;            /* next task to take */
    int busy;                   /* workers still inside the job */
};

typedef struct {
    fn_pool *p;
    int id;
} worker_arg;

static void take_tasks(fn_pool *p, int thread)
{
    for (int t; (t = atomic_fetch_add(&p->next, 1)) < p->n;)
        p->fn(p->arg, t, thread);
}

static void *worker(void *a)
{
    worker_arg wa = *(worker_arg *)a;
    free(a);
    fn_pool *p = wa.p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        take_tasks(p, wa.id);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
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
    atomic_init(&p->next, 0);
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p);
        return fn_fail(err, FN_E_NOMEM, "cannot create a mutex");
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1 && !(p->workers = calloc((size_t)threads - 1, sizeof *p->workers))) {
        fn_pool_free(p);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
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

void fn_pool_free(fn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn, p->arg = arg, p->n = n;
    atomic_store(&p->next, 0);
    p->busy = p->n_started;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    take_tasks(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
