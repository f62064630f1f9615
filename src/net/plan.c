/* plan.c - activation memory planning.
 *
 * Planning (once per batch size and input size):
 *  1. every executed layer's output is a tensor; a Flatten is a view of its input;
 *  2. a tensor consumed by a channel Concatenate is written straight into its slice
 *     of the concat output (row stride = the concat's width) when its producer can
 *     write strided rows and every consumer can read them - no copy;
 *  3. each buffer ("root") lives from its first write to its last read; buffers are
 *     placed greedily, largest first, at the lowest offset that overlaps no buffer
 *     alive at the same time (the plan is printed by `facenet info`);
 *  4. scratch areas follow, one per engine thread, each the largest any op asks for
 *     (a tile's im2col).
 * The forward pass then only walks the layers: it allocates nothing. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "layers/ops.h"
#include "core/mem.h"
#include "net/graph.h"

#define FN_ALIGN_FLOATS 16                   /* 64-byte aligned buffers */

static int executed(const fn_layer *L)
{
    return !(L->flags & FN_L_IDENTITY);
}

static int is_output(const fn_net *net, int s)
{
    for (int k = 0; k < net->n_out; k++)
        if (fn_net_resolve(net, net->out[k]) == s)
            return 1;
    return 0;
}

static int width(const fn_shape *s)
{
    return s->d[s->rank - 1];
}

/* Can tensor s be written into a slice of concat k? */
static int can_place(const fn_net *net, const char *placed, int s, int k)
{
    const fn_layer *S = &net->layers[s];
    if (s == net->input || !executed(S) || placed[s] || is_output(net, s) || !(S->flags & FN_L_STRIDED_OUT) ||
        (S->flags & FN_L_VIEW))
        return 0;
    int in_k = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *C = &net->layers[i];
        if (!executed(C))
            continue;
        for (int j = 0; j < C->n_in; j++) {
            if (fn_net_resolve(net, C->in[j]) != s)
                continue;
            if (i == k)
                in_k++;
            if (!(C->flags & FN_L_STRIDED_IN) || (C->flags & FN_L_VIEW))
                return 0;
        }
    }
    return in_k == 1;
}

static int plan_places(fn_net *net, char *placed)
{
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        net->place[i] = (fn_place){i, 0, L->out_shape.rank ? width(&L->out_shape) : 1};
    }
    for (int i = 0; i < net->n_layers; i++) { /* views share their input's buffer */
        const fn_layer *L = &net->layers[i];
        if (executed(L) && (L->flags & FN_L_VIEW)) {
            net->place[i] = net->place[fn_net_resolve(net, L->in[0])];
            net->place[i].ld = width(&L->out_shape);
        }
    }
    /* Outer concats first, so nested concats compose their offsets. */
    for (int k = net->n_layers - 1; k >= 0; k--) {
        const fn_layer *K = &net->layers[k];
        if (!executed(K) || K->op != &fn_op_concat || !(K->flags & FN_L_STRIDED_OUT))
            continue;
        int col = net->place[k].col;
        for (int j = 0; j < K->n_in; j++) {
            int s = fn_net_resolve(net, K->in[j]);
            if (can_place(net, placed, s, k)) {
                net->place[s] = (fn_place){net->place[k].root, col, net->place[k].ld};
                placed[s] = 1;
            }
            col += width(&K->in_shape[j]);
        }
    }
    return 0;
}

typedef struct {
    int root;
    size_t size, first, last, off;
} buf;

static int by_size_desc(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->root - y->root;
}

static size_t align_up(size_t v)
{
    return (v + FN_ALIGN_FLOATS - 1) / FN_ALIGN_FLOATS * FN_ALIGN_FLOATS;
}

int fn_net_plan(fn_net *net, int n, const fn_shape *in, fn_err *err)
{
    fn_shape want = in ? *in : fn_net_input_shape(net);
    if (net->planned && net->plan_n == n && fn_shape_equal(&net->plan_in, &want))
        return 0;
    if (n < 1)
        return fn_fail(err, FN_E_ARG, "batch size must be at least 1");
    for (int d = 0; d < want.rank; d++)
        if (want.d[d] <= 0)
            return fn_fail(err, FN_E_ARG, "the model accepts inputs of any size: give the input shape");
    net->planned = 0;
    if (fn_net_infer(net, &want, err))
        return -1;
    const int L = net->n_layers;
    char *placed = calloc((size_t)L, 1);
    buf *bufs = calloc((size_t)L, sizeof *bufs);
    fn_place *place = realloc(net->place, sizeof *place * (size_t)L);
    size_t *offset = realloc(net->offset, sizeof *offset * (size_t)L);
    if (place)
        net->place = place;
    if (offset)
        net->offset = offset;
    if (!placed || !bufs || !place || !offset) {
        free(placed);
        free(bufs);
        return fn_fail(err, FN_E_NOMEM, "out of memory while planning");
    }
    plan_places(net, placed);

    /* sizes and lifetimes of roots */
    int nb = 0;
    size_t naive = 0, scratch = 0;
    int *slot = malloc(sizeof(int) * (size_t)L);
    if (!slot) {
        free(placed);
        free(bufs);
        return fn_fail(err, FN_E_NOMEM, "out of memory while planning");
    }
    for (int i = 0; i < L; i++) {
        slot[i] = -1;
        const fn_layer *Li = &net->layers[i];
        if (!executed(Li))
            continue;
        size_t count = fn_shape_count(&Li->out_shape), size;
        /* kernels index with int: every tensor stays below 2^31 values */
        if (count == 0 || fn_mul_size(count, (size_t)n, &size) || size > INT_MAX) {
            free(placed), free(bufs), free(slot);
            return fn_fail(err, FN_E_NOMEM, "layer %s: output of %zu values per image x %d is too large",
                           Li->name, count, n);
        }
        if (!(Li->flags & FN_L_VIEW))
            naive += size;
        if (net->place[i].root == i) {
            slot[i] = nb;
            bufs[nb++] = (buf){i, align_up(size), (size_t)i, (size_t)i, 0};
        }
        if (Li->op->scratch && Li->n_in) {
            size_t s = Li->op->scratch(Li, &Li->in_shape[0]);
            if (s > INT_MAX) {
                free(placed), free(bufs), free(slot);
                return fn_fail(err, FN_E_NOMEM, "layer %s: needs %zu values of scratch, too many", Li->name, s);
            }
            scratch = s > scratch ? s : scratch;
        }
    }
    for (int i = 0; i < L; i++) {
        const fn_layer *Li = &net->layers[i];
        if (!executed(Li))
            continue;
        buf *own = &bufs[slot[net->place[i].root]];
        if ((size_t)i < own->first)
            own->first = (size_t)i;
        for (int j = 0; j < Li->n_in; j++) {
            buf *b = &bufs[slot[net->place[fn_net_resolve(net, Li->in[j])].root]];
            if ((size_t)i > b->last)
                b->last = (size_t)i;
        }
    }
    for (int k = 0; k < net->n_out; k++)
        bufs[slot[net->place[fn_net_resolve(net, net->out[k])].root]].last = (size_t)L;
    bufs[slot[net->place[net->input].root]].first = 0;

    /* greedy placement, largest first */
    qsort(bufs, (size_t)nb, sizeof *bufs, by_size_desc);
    size_t total = 0;
    for (int a = 0; a < nb; a++) {
        size_t off = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int b = 0; b < a; b++) {
                int alive = bufs[a].first <= bufs[b].last && bufs[b].first <= bufs[a].last;
                if (alive && off < bufs[b].off + bufs[b].size && bufs[b].off < off + bufs[a].size) {
                    off = bufs[b].off + bufs[b].size;
                    moved = 1;
                }
            }
        }
        bufs[a].off = off;
        net->offset[bufs[a].root] = off;
        if (off + bufs[a].size > total)
            total = off + bufs[a].size;
    }
    free(placed);
    free(bufs);
    free(slot);

    /* layouts for this batch size (after finalize: only with the final weights) */
    for (int i = 0; i < L && net->weights_loaded; i++) {
        fn_layer *Li = &net->layers[i];
        if (executed(Li) && Li->op->plan && Li->n_in && Li->op->plan(Li, &Li->in_shape[0], n, err))
            return -1;
    }

    /* one scratch area per thread (the reference kernels use the first) */
    size_t stride = align_up(scratch), all_scratch;
    if (fn_mul_size(stride, (size_t)(net->threads > 1 ? net->threads : 1), &all_scratch))
        return fn_fail(err, FN_E_NOMEM, "scratch of %zu values x %d threads is too large", stride, net->threads);
    size_t need = total + all_scratch;
    const size_t max_arena = net->max_arena_bytes ? net->max_arena_bytes : FN_DEFAULT_MAX_ARENA_BYTES;
    if (need > max_arena / sizeof(float))
        return fn_fail(err, FN_E_LIMIT, "planned memory of %zu MiB for batch %d is too large: more than the limit "
                       "arena=%zu (bytes)", need * sizeof(float) >> 20, n, max_arena);
    if (need > net->arena_cap) {
        free(net->arena);
        net->arena = NULL;
        net->arena_cap = 0;
        void *p = fn_alloc_big((need ? need : 1) * sizeof(float));
        if (!p)
            return fn_fail(err, FN_E_NOMEM, "cannot allocate %zu MiB of activations", need * sizeof(float) >> 20);
        net->arena = p;
        net->arena_cap = need;
    }
    net->act_floats = total;
    net->scratch_floats = all_scratch;
    net->scratch_stride = stride;
    net->naive_floats = naive;
    net->plan_n = n;
    net->plan_in = want;
    net->planned = 1;
    return 0;
}
