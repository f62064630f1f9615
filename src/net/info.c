/* info.c - what the public API tells about a net: its facts (parameters, MACs,
 * memory) and a read-only description of each layer as the engine runs it - what
 * was folded into what, where each output lives in the activation arena.  `facenet
 * info`, the tools and the benchmarks read the net only through these. */
#include <string.h>

#include "core/thread_pool.h"
#include "layers/kernels.h"
#include "net/graph.h"

int fn_net_threads(const fn_net *net)
{
    return net->threads;
}

int fn_limit_isa(const char *name)
{
    static const char *names[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, names[i])) {
            fn_cpu_force_isa(i);
            return 0;
        }
    return -1;
}

void fn_machine_describe(fn_machine *m)
{
    fn_cpu_model(m->cpu, sizeof m->cpu);
    m->isa = fn_isa_name(fn_cpu_isa());
    fn_blas_info(m->blas, sizeof m->blas);
    m->cores = fn_cpu_count();
}

fn_shape fn_net_input_shape(const fn_net *net)
{
    /* the InputLayer's private params are its declared shape */
    return *(const fn_shape *)net->layers[net->input].priv;
}

int fn_net_n_outputs(const fn_net *net)
{
    return net->n_out;
}

const char *fn_net_output_name(const fn_net *net, int i)
{
    return net->layers[net->out[i]].name;
}

size_t fn_net_param_count(const fn_net *net)
{
    return net->params;
}

double fn_net_macs(const fn_net *net)
{
    double m = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const fn_layer *L = &net->layers[i];
        if (L->op->macs && L->n_in && fn_shape_count(&L->in_shape[0]))
            m += L->op->macs(L, &L->in_shape[0]);
    }
    return m;
}

size_t fn_net_arena_bytes(const fn_net *net)
{
    return net->planned ? (net->act_floats + net->scratch_floats) * sizeof(float) : 0;
}

size_t fn_net_naive_bytes(const fn_net *net)
{
    return net->planned ? net->naive_floats * sizeof(float) : 0;
}

const char *fn_net_source(const fn_net *net)
{
    return net->source ? net->source : "?";
}

const char *fn_net_fingerprint(const fn_net *net)
{
    return net->fingerprint;
}

size_t fn_net_activation_bytes(const fn_net *net)
{
    return net->planned ? net->act_floats * sizeof(float) : 0;
}

size_t fn_net_scratch_bytes(const fn_net *net)
{
    return net->planned ? net->scratch_floats * sizeof(float) : 0;
}

int fn_net_planned(const fn_net *net)
{
    return net->planned;
}

int fn_net_n_layers(const fn_net *net)
{
    return net->n_layers;
}

int fn_net_input_layer(const fn_net *net)
{
    return net->input;
}

int fn_net_output_layer(const fn_net *net, int i)
{
    return i >= 0 && i < net->n_out ? net->out[i] : -1;
}

int fn_net_layer_info(const fn_net *net, int i, fn_layer_info *out)
{
    if (i < 0 || i >= net->n_layers)
        return -1;
    const fn_layer *L = &net->layers[i];
    memset(out, 0, sizeof *out);
    out->name = L->name;
    out->class_name = L->class_name;
    out->op = L->op->class_name;
    out->n_inputs = L->n_in;
    out->inputs = L->in;
    out->out_shape = L->out_shape;
    out->n_weights = L->n_w;
    for (int k = 0; k < L->n_w; k++)
        out->params += fn_shape_count(&L->w[k].shape);
    out->macs = net->planned && L->op->macs && L->n_in ? L->op->macs(L, &L->in_shape[0]) : 0;
    out->executed = !(L->flags & FN_L_IDENTITY);
    out->folded_into = out->executed ? NULL : L->fused_into;
    out->buffer = -1;
    out->out_scale = L->folded_scale != 0.0f ? L->folded_scale : 1.0f;
    if (out->executed && net->planned) {
        const fn_place *p = &net->place[i];
        out->buffer = p->root;
        out->offset_bytes = net->offset[p->root] * sizeof(float);
        out->column = p->col;
        out->is_view = (L->flags & FN_L_VIEW) != 0;
    }
    return 0;
}

int fn_net_weight_info(const fn_net *net, int layer, int k, fn_weight_info *out)
{
    if (layer < 0 || layer >= net->n_layers || k < 0 || k >= net->layers[layer].n_w)
        return -1;
    const fn_weight *w = &net->layers[layer].w[k];
    out->name = w->name;
    out->rank = w->shape.rank;
    for (int d = 0; d < FN_MAX_RANK; d++)
        out->dims[d] = d < w->shape.rank ? w->shape.d[d] : 0;
    return 0;
}
