/* graph.c - the engine's graph: built from io's description of a Keras model (names
 * resolved, layers in topological order, each parsed by its op), shape inference, and
 * the small queries the rest of the engine asks about it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/thread_pool.h"
#include "layers/ops.h"
#include "net/graph.h"

/* Layer lookup by name: (name, index) pairs sorted by name, searched by bisection
 * (models with tens of thousands of layers stay fast). */
typedef struct {
    const char *name;
    int index;
} name_ref;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const name_ref *)a)->name, ((const name_ref *)b)->name);
}

static int find_spec(const name_ref *sorted, int n, const char *name)
{
    name_ref key = {name, 0};
    const name_ref *hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, by_name);
    return hit ? hit->index : -1;
}

/* A min-heap of layer indices: Kahn's algorithm that always takes the ready layer that
 * comes first in the file, so a file already in execution order keeps its order. */
static void heap_push(int *h, int *n, int v)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int heap_pop(int *h, int *n)
{
    int top = h[0], v = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = v;
    return top;
}

static int resolve_io(fn_net *net, const fn_keras_model *m, const char *src, fn_err *err);

int fn_graph_build(fn_net *net, fn_keras_model *m, const char *src, fn_err *err)
{
    const fn_keras_layer *specs = m->layers;
    const int n = m->n_layers;
    int *order = malloc(sizeof(int) * (size_t)n), *done = calloc((size_t)n, sizeof(int));
    int *src_idx = malloc(sizeof(int) * (size_t)n * FN_MAX_INPUTS);
    name_ref *sorted = malloc(sizeof *sorted * (size_t)n);
    int *indeg = calloc((size_t)n, sizeof(int)), *first = calloc((size_t)n + 1, sizeof(int));
    int *users = NULL, *heap = malloc(sizeof(int) * (size_t)n);
    int rc = -1, k = 0, nh = 0;
    if (!order || !done || !src_idx || !sorted || !indeg || !first || !heap) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        sorted[i] = (name_ref){specs[i].name, i};
    qsort(sorted, (size_t)n, sizeof *sorted, by_name);
    for (int i = 1; i < n; i++)
        if (!strcmp(sorted[i].name, sorted[i - 1].name)) {
            fn_fail(err, FN_E_FORMAT, "%s: two layers are named %s", src, sorted[i].name);
            goto out;
        }
    size_t edges = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < specs[i].n_in; j++) {
            int s = find_spec(sorted, n, specs[i].in_names[j]);
            if (s < 0) {
                fn_fail(err, FN_E_FORMAT, "%s: layer %s takes input from unknown layer %s", src,
                        specs[i].name, specs[i].in_names[j]);
                goto out;
            }
            src_idx[i * FN_MAX_INPUTS + j] = s;
            first[s + 1]++;
            edges++;
        }
        indeg[i] = specs[i].n_in;
    }
    /* consumers of each layer, as one array sliced by first[] */
    for (int i = 0; i < n; i++)
        first[i + 1] += first[i];
    users = malloc(sizeof(int) * (edges ? edges : 1));
    int *fill = calloc((size_t)n, sizeof(int));
    if (!users || !fill) {
        free(fill);
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < specs[i].n_in; j++) {
            int s = src_idx[i * FN_MAX_INPUTS + j];
            users[first[s] + fill[s]++] = i;
        }
    free(fill);
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0)
            heap_push(heap, &nh, i);
    while (nh) {
        int i = heap_pop(heap, &nh);
        done[i] = 1 + k; /* position + 1 */
        order[k++] = i;
        for (int e = first[i]; e < first[i + 1]; e++)
            if (--indeg[users[e]] == 0)
                heap_push(heap, &nh, users[e]);
    }
    if (k < n) {
        for (int i = 0; i < n; i++)
            if (!done[i]) {
                fn_fail(err, FN_E_FORMAT, "%s: the graph has a cycle through layer %s", src, specs[i].name);
                goto out;
            }
    }
    net->layers = calloc((size_t)n, sizeof *net->layers);
    if (!net->layers) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    net->n_layers = n;
    for (int p = 0; p < n; p++) {
        if (fn_keras_describe_lambda(m, order[p], src, err))
            goto out;
        const fn_keras_layer *s = &specs[order[p]];
        fn_layer *L = &net->layers[p];
        L->index = p;
        L->name = strdup(s->name);
        L->class_name = strdup(s->class_name);
        if (!L->name || !L->class_name) {
            fn_fail(err, FN_E_NOMEM, "out of memory");
            goto out;
        }
        L->n_in = s->n_in;
        for (int j = 0; j < s->n_in; j++)
            L->in[j] = done[src_idx[order[p] * FN_MAX_INPUTS + j]] - 1;
        L->op = fn_op_find(s->op);
        if (!L->op) {
            if (fn_op_known_unsupported(s->class_name))
                fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: class %s is not supported", src, s->name,
                        s->class_name);
            else
                fn_fail(err, FN_E_UNSUPPORTED, "%s: layer %s: unknown layer class '%s'", src, s->name,
                        s->class_name);
            goto out;
        }
        if (L->op->parse(L, s->config, err)) {
            fn_wrap(err, "%s: ", src);
            goto out;
        }
        if ((L->op == &fn_op_input) != (s->n_in == 0)) {
            fn_fail(err, FN_E_FORMAT, "%s: layer %s: %s", src, s->name,
                    s->n_in ? "an InputLayer cannot have inputs" : "has no inputs");
            goto out;
        }
    }
    rc = resolve_io(net, m, src, err);
out:
    free(order);
    free(done);
    free(src_idx);
    free(sorted);
    free(indeg);
    free(first);
    free(users);
    free(heap);
    return rc;
}


/* The model's input and output layers, by name. */
static int resolve_io(fn_net *net, const fn_keras_model *m, const char *src, fn_err *err)
{
    net->input = fn_net_find(net, m->input_names[0]);
    if (net->input < 0 || net->layers[net->input].op != &fn_op_input)
        return fn_fail(err, FN_E_FORMAT, "%s: input layer %s is not an InputLayer of the model", src,
                       m->input_names[0]);
    for (int i = 0; i < net->n_layers; i++)
        if (i != net->input && net->layers[i].op == &fn_op_input)
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: models with several inputs are not supported", src);
    net->out = malloc(sizeof(int) * (size_t)m->n_outputs);
    if (!net->out)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    net->n_out = m->n_outputs;
    for (int i = 0; i < m->n_outputs; i++) {
        net->out[i] = fn_net_find(net, m->output_names[i]);
        if (net->out[i] < 0)
            return fn_fail(err, FN_E_FORMAT, "%s: output layer %s does not exist", src, m->output_names[i]);
    }
    return 0;
}

int fn_net_find(const fn_net *net, const char *name)
{
    for (int i = 0; i < net->n_layers; i++)
        if (!strcmp(net->layers[i].name, name))
            return i;
    return -1;
}

int fn_net_resolve(const fn_net *net, int i)
{
    while (net->layers[i].flags & FN_L_IDENTITY)
        i = net->layers[i].in[0];
    return i;
}

int fn_net_infer(fn_net *net, const fn_shape *in, fn_err *err)
{
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        size_t before[FN_MAX_WEIGHTS] = {0};
        for (int k = 0; k < L->n_w; k++)
            before[k] = L->w[k].data || L->w[k].released ? fn_shape_count(&L->w[k].shape) : 0;
        for (int j = 0; j < L->n_in; j++)
            L->in_shape[j] = net->layers[L->in[j]].out_shape;
        unsigned removed = L->flags & FN_L_IDENTITY; /* set by the optimiser; infer rewrites flags */
        if (L->op->infer(L, L->in_shape, L->n_in, &L->out_shape, err))
            return -1;
        L->flags |= removed;
        if (i == net->input && in) {
            fn_shape decl = L->out_shape;
            char a[64], b[64];
            fn_shape_str(in, a, sizeof a);
            fn_shape_str(&decl, b, sizeof b);
            if (in->rank != decl.rank)
                return fn_fail(err, FN_E_SHAPE, "input shape %s does not match the model's %s", a, b);
            for (int d = 0; d < decl.rank; d++)
                if (in->d[d] <= 0 || (decl.d[d] >= 0 && decl.d[d] != in->d[d]))
                    return fn_fail(err, FN_E_SHAPE, "input shape %s does not match the model's %s", a, b);
            L->out_shape = *in;
        }
        for (int k = 0; k < L->n_w; k++)
            if (before[k] && before[k] != fn_shape_count(&L->w[k].shape))
                return fn_fail(err, FN_E_SHAPE, "layer %s: weight %s changes shape with the input size", L->name,
                               L->w[k].name);
    }
    return 0;
}

void fn_net_free(fn_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->op && L->op->destroy)
            L->op->destroy(L);
        else
            free(L->priv);
        for (int k = 0; k < L->n_w; k++)
            free(L->w[k].data);
        free(L->name);
        free(L->class_name);
        free(L->data_format);
    }
    free(net->layers);
    free(net->out);
    free(net->place);
    free(net->offset);
    free(net->arena);
    fn_pool_free(net->pool);
    free(net->source);
    free(net->backend);
    free(net);
}

