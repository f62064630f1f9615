/* trace_run.c - what `facenet trace` gathers while the network runs: which Keras layer
 * each computed tensor is the output of (folding merges layers), and per layer its
 * activation statistics and time, through the engine's observer (fn_net_set_observer).
 * The dump and the feature-map copy happen in the same callback, while the tensor is
 * still in the arena. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/trace.h"

int fn_trace_owner(const fn_net *net, int layer)
{
    fn_layer_info li;
    /* a folded layer's output is its (only) input's, computed by whoever computes that */
    for (int guard = 0; guard <= fn_net_n_layers(net); guard++) {
        if (fn_net_layer_info(net, layer, &li) || li.executed || li.n_inputs < 1)
            return layer;
        layer = li.inputs[0];
    }
    return layer;
}

int fn_trace_init(fn_trace *t, fn_net *net, fn_err *err)
{
    memset(t, 0, sizeof *t);
    t->net = net;
    t->n_layers = fn_net_n_layers(net);
    t->maps_layer = -1;
    t->chain_end = malloc(sizeof *t->chain_end * (size_t)t->n_layers);
    t->file = calloc((size_t)t->n_layers, sizeof *t->file);
    t->st = calloc((size_t)t->n_layers, sizeof *t->st);
    if (!t->chain_end || !t->file || !t->st) {
        fn_trace_free(t);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    /* Layers are in execution order and a folded chain is linear (fuse.c folds only
     * into a producer nobody else reads), so the last folded layer owned by e is the
     * chain's end: the Keras layer whose output e's tensor holds. */
    for (int i = 0; i < t->n_layers; i++)
        t->chain_end[i] = i;
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        if (!li.executed && li.folded_into) /* not a pure identity (Dropout): it changed the value */
            t->chain_end[fn_trace_owner(net, i)] = i;
    }
    return 0;
}

void fn_trace_free(fn_trace *t)
{
    if (t->file)
        for (int i = 0; i < t->n_layers; i++)
            free(t->file[i]);
    free(t->file);
    free(t->chain_end);
    free(t->st);
    free(t->maps);
    memset(t, 0, sizeof *t);
}

/* Statistics of the first sample: rows/n rows of cols values, ld apart, each divided
 * by scale (a folded residual scale, so the figures are Keras' layer's). */
static void stats(const fn_layer_output *o, float scale, fn_trace_stat *s)
{
    size_t rows = o->rows / (size_t)o->n, count = rows * (size_t)o->cols, zeros = 0;
    double sum = 0, sum2 = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < rows; r++) {
        const float *p = o->data + r * (size_t)o->ld;
        for (int c = 0; c < o->cols; c++) {
            double v = (double)p[c] / scale;
            sum += v;
            sum2 += v * v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            zeros += p[c] == 0.0f;
        }
    }
    double mean = count ? sum / (double)count : 0;
    double var = count ? sum2 / (double)count - mean * mean : 0;
    s->mean = mean;
    s->std = sqrt(var > 0 ? var : 0);
    s->min = count ? lo : 0;
    s->max = count ? hi : 0;
    s->zeros = count ? (double)zeros / (double)count : 0;
}

int fn_trace_observe(void *user, const fn_layer_output *o)
{
    fn_trace *t = user;
    fn_layer_info li;
    fn_net_layer_info(t->net, o->layer, &li);
    fn_trace_stat *s = &t->st[o->layer];
    stats(o, li.out_scale, s);
    s->seconds = o->seconds;
    s->seen = 1;
    if (o->layer == t->maps_layer) {
        size_t rows = o->rows / (size_t)o->n;
        free(t->maps);
        t->maps = malloc(sizeof(float) * rows * (size_t)o->cols);
        if (!t->maps)
            return fn_fail(&t->err, FN_E_NOMEM, "out of memory"), -1;
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < o->cols; c++)
                t->maps[r * (size_t)o->cols + c] = o->data[r * (size_t)o->ld + c] / li.out_scale;
    }
    if (t->dump_dir && fn_trace_dump_layer(t, o, &t->err))
        return -1;
    return 0;
}
