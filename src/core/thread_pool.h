/* thread_pool.h - the engine's own worker threads.
 *
 * A pool of `threads` threads (the caller's plus threads-1 workers) runs a job of
 * n tasks: task t goes to whichever thread takes it first, fn(arg, t, thread) with
 * thread in [0, threads) naming the thread's scratch area.  Between jobs a worker
 * polls for the next one for at most 0.2 ms (a wake-up from sleep costs tens of
 * microseconds, as much as a small layer), then sleeps on a condition variable; the
 * machine may be shared, so nothing spins for longer.  The calling thread works too,
 * so a job of one task costs no hand-off at all.
 * A NULL pool runs every task on the caller (thread 0). */
#ifndef FN_THREAD_POOL_H
#define FN_THREAD_POOL_H

#include <stddef.h>

#include "core/error.h"

typedef struct fn_pool fn_pool;
typedef void (*fn_task_fn)(void *arg, int task, int thread);

/* threads >= 1; threads == 1 makes a pool without workers. */
int fn_pool_create(int threads, fn_pool **out, fn_err *err);
/* One more owner of p (returned); each owner calls fn_pool_free once, and the last
 * call stops the workers.  Owners must not run jobs at the same time. */
fn_pool *fn_pool_retain(fn_pool *p);
void fn_pool_free(fn_pool *p);
int fn_pool_threads(const fn_pool *p); /* 1 for NULL */
/* Run tasks 0..n-1 and return when all are done.  Not reentrant: one job at a time. */
void fn_pool_run(fn_pool *p, int n, fn_task_fn fn, void *arg);
/* Run fn(arg, i0, i1) over [0, n) cut into equal ranges, one per thread, but none
 * smaller than `grain` items (so a small layer stays on the caller: a hand-off
 * costs more than it saves). */
typedef void (*fn_range_fn)(void *arg, size_t i0, size_t i1);
void fn_pool_for(fn_pool *p, size_t n, size_t grain, fn_range_fn fn, void *arg);
/* Online processors (at least 1). */
int fn_cpu_count(void);

#endif
