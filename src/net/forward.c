/* forward.c - the forward pass: copy the input into its planned buffer, then run
 * every executed layer in topological order, each reading its inputs from and writing
 * its output to the places plan.c gave them.  Allocates nothing.
 *
 * An observer (fn_net_set_observer, `facenet trace`) is shown each layer's output
 * right after it is computed, with the wall time of its forward; without one the loop
 * reads no clock. */
#include <string.h>
#include <time.h>

#include "net/graph.h"

static fn_view view_of(const fn_net *net, int i)
{
    const fn_place *p = &net->place[i];
    return (fn_view){net->arena + net->offset[p->root] + p->col, p->ld};
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Layer i's output to the observer; -1 (with err) when it asks to stop. */
static int observe(const fn_net *net, int i, int n, double seconds, fn_err *err)
{
    const fn_shape *s = &net->layers[i].out_shape;
    size_t rows = (size_t)n;
    for (int d = 0; d + 1 < s->rank; d++)
        rows *= (size_t)s->d[d];
    fn_view v = view_of(net, i);
    fn_layer_output o = {i, v.p, n, rows, s->rank ? s->d[s->rank - 1] : 1, v.ld, seconds};
    if (net->observer(net->observer_user, &o))
        return fn_fail(err, FN_E_ARG, "run stopped by its observer after layer %s", net->layers[i].name);
    return 0;
}

int fn_net_run(fn_net *net, const float *input, int n, const fn_shape *in, fn_err *err)
{
    if (!net->weights_loaded && net->params)
        return fn_fail(err, FN_E_ARG, "the model has no weights loaded");
    if (fn_net_plan(net, n, in, err))
        return -1;
    const fn_ctx ctx = {n, net->arena + net->act_floats, net->scratch_stride, net->reference,
                        net->reference ? NULL : net->pool};
    const int watched = net->observer != NULL;
    double t0 = watched ? now() : 0;
    memcpy(view_of(net, net->input).p, input, sizeof(float) * n * fn_shape_count(&net->plan_in));
    if (watched && observe(net, net->input, n, now() - t0, err))
        return -1;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if ((L->flags & FN_L_IDENTITY) || i == net->input)
            continue;
        if (L->flags & FN_L_VIEW) {
            if (watched && observe(net, i, n, 0.0, err))
                return -1;
            continue;
        }
        fn_view inv[FN_MAX_INPUTS];
        for (int j = 0; j < L->n_in; j++)
            inv[j] = view_of(net, fn_net_resolve(net, L->in[j]));
        if (watched)
            t0 = now();
        L->op->forward(L, inv, L->in_shape, L->n_in, view_of(net, i), &ctx);
        if (watched && observe(net, i, n, now() - t0, err))
            return -1;
    }
    return 0;
}

const float *fn_net_output(const fn_net *net, int i, fn_shape *shape)
{
    if (!net->planned || i < 0 || i >= net->n_out)
        return NULL;
    int s = fn_net_resolve(net, net->out[i]);
    if (shape)
        *shape = net->layers[s].out_shape;
    return view_of(net, s).p;
}

int fn_net_set_reference(fn_net *net, int on, fn_err *err)
{
    for (int i = 0; on && i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->op->restore && L->op->restore(L, err))
            return -1; /* restored layers keep both copies; the others are as they were */
    }
    net->reference = on;
    return 0;
}

void fn_net_set_observer(fn_net *net, fn_layer_observer fn, void *user)
{
    net->observer = fn;
    net->observer_user = user;
}
