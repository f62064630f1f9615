/* prefetch.c - see prefetch.h.  One producer (the decoding thread), one consumer (the
 * caller), a ring of `ahead` slots: image k goes to slot k % ahead once the caller has
 * taken image k - ahead.  A mutex guards the counters; the decoding runs outside it. */
#include "cli/prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fn_image img;
    fn_err err;
    int rc;
} slot;

struct fn_prefetch {
    const char *const *paths;
    int n, ahead;
    size_t max_pixels;
    slot *ring;
    int produced, taken; /* images decoded, images handed over */
    int quit, threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t ready, room;
};

static void *producer(void *arg)
{
    fn_prefetch *p = arg;
    for (int k = 0; k < p->n; k++) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && k - p->taken >= p->ahead)
            pthread_cond_wait(&p->room, &p->mu);
        int quit = p->quit;
        pthread_mutex_unlock(&p->mu);
        if (quit)
            break;
        slot *s = &p->ring[k % p->ahead];
        memset(s, 0, sizeof *s);
        s->rc = fn_image_load(p->paths[k], p->max_pixels, &s->img, &s->err);
        pthread_mutex_lock(&p->mu);
        p->produced = k + 1;
        pthread_cond_signal(&p->ready);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

fn_prefetch *fn_prefetch_start(const char *const *paths, int n, size_t max_pixels, int ahead)
{
    fn_prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->paths = paths, p->n = n, p->max_pixels = max_pixels, p->ahead = ahead < 1 ? 1 : ahead;
    if (!(p->ring = calloc((size_t)p->ahead, sizeof *p->ring)) || pthread_mutex_init(&p->mu, NULL)) {
        free(p->ring);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->ready, NULL);
    pthread_cond_init(&p->room, NULL);
    p->threaded = n > 1 && pthread_create(&p->thread, NULL, producer, p) == 0;
    return p;
}

int fn_prefetch_take(fn_prefetch *p, fn_image *img, fn_err *err)
{
    memset(img, 0, sizeof *img);
    const int k = p->taken;
    if (k >= p->n)
        return fn_fail(err, FN_E_ARG, "no image left to take");
    if (!p->threaded) { /* no thread: decode here */
        p->taken++;
        return fn_image_load(p->paths[k], p->max_pixels, img, err);
    }
    pthread_mutex_lock(&p->mu);
    while (p->produced <= k)
        pthread_cond_wait(&p->ready, &p->mu);
    pthread_mutex_unlock(&p->mu);
    slot *s = &p->ring[k % p->ahead];
    int rc = s->rc;
    if (rc)
        *err = s->err;
    else
        *img = s->img;
    memset(&s->img, 0, sizeof s->img);
    pthread_mutex_lock(&p->mu);
    p->taken = k + 1;
    pthread_cond_signal(&p->room);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void fn_prefetch_stop(fn_prefetch *p)
{
    if (!p)
        return;
    if (p->threaded) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_signal(&p->room);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        for (int k = p->taken; k < p->produced; k++) /* decoded, never taken */
            fn_image_free(&p->ring[k % p->ahead].img);
    }
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->room);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p);
}
