/* graph.c - loading a model into an fn_net (the phase driver), shape inference, and
 * the small queries the rest of the engine asks about the graph. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "layers/ops.h"
#include "net/graph.h"

#define FN_MAX_JSON_BYTES ((size_t)256 << 20)

static int read_text(const char *path, char **out, fn_err *err)
{
    size_t len;
    if (fn_read_file(path, FN_MAX_JSON_BYTES, out, &len, err))
        return -1;
    if (len == 0) {
        free(*out);
        *out = NULL;
        return fn_fail(err, FN_E_FORMAT, "%s: file is empty", path);
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
            before[k] = L->w[k].data ? fn_shape_count(&L->w[k].shape) : 0;
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

static int prepare_layers(fn_net *net, fn_err *err)
{
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        if (L->op->prepare && L->op->prepare(L, err))
            return -1;
    }
    return 0;
}

/* libhdf5 (1.10) can crash or spin on some corrupted files: a flipped byte in a heap
 * or object header is enough.  So before loading in this process, the same load runs in
 * a forked child with a time limit; only if the child got through (or failed cleanly,
 * which the real load then reports) does this process touch the file.  The load is
 * deterministic, so what the child survived, the parent survives.  Costs one extra
 * read of the files; FACENET_NO_SANDBOX=1 turns it off, FACENET_LOAD_TIMEOUT sets the
 * limit in seconds (default 120). */
static int load_direct(const fn_load_opts *o, fn_net **out, fn_err *err);

static int sandboxed_preload(const fn_load_opts *o, fn_err *err)
{
    const char *off = getenv("FACENET_NO_SANDBOX"), *t = getenv("FACENET_LOAD_TIMEOUT");
    if (off && *off && strcmp(off, "0"))
        return 0;
    int limit = t && atoi(t) > 0 ? atoi(t) : 120;
    const char *file = o->weights ? o->weights : o->model_json;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0; /* cannot fork: load directly */
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 2);
        fn_net *net = NULL;
        fn_err e;
        /* 0: loaded; 3: failed cleanly (the real load reports why).  Anything else -
         * a signal, or a sanitizer's exit status - means the library broke. */
        _exit(load_direct(o, &net, &e) ? 3 : 0); /* no cleanup: the process ends */
    }
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 0;
        if (waited_ms >= limit * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return fn_fail(err, FN_E_FORMAT, "%s: reading did not finish within %d s (corrupt file?)", file, limit);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (WIFSIGNALED(status))
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt file (the HDF5 library crashed reading it, signal %d)", file,
                       WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3)
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt file (reading it failed in the HDF5 library, status %d)", file,
                       WEXITSTATUS(status));
    return 0;
}

int fn_net_load(const fn_load_opts *o, fn_net **out, fn_err *err)
{
    *out = NULL;
    if (o->weights && sandboxed_preload(o, err))
        return -1;
    return load_direct(o, out, err);
}

static int load_direct(const fn_load_opts *o, fn_net **out, fn_err *err)
{
    char *text = NULL;
    const char *src = o->model_json;
    *out = NULL;
    if (o->model_json) {
        if (read_text(o->model_json, &text, err))
            return -1;
    } else if (o->weights) {
        if (fn_keras_h5_config(o->weights, &text, err))
            return -1;
        src = o->weights;
    } else {
        return fn_fail(err, FN_E_ARG, "no model given");
    }
    fn_net *net = calloc(1, sizeof *net);
    if (!net) {
        free(text);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    int rc = fn_keras_build(net, text, src, err);
    free(text);
    if (!rc && fn_net_infer(net, NULL, err))
        rc = fn_wrap(err, "%s: ", src);
    if (!rc) {
        for (int i = 0; i < net->n_layers; i++)
            for (int k = 0; k < net->layers[i].n_w; k++)
                net->params += fn_shape_count(&net->layers[i].w[k].shape);
    }
    if (!rc && o->weights) {
        rc = fn_keras_load_weights(net, o->weights, err);
        if (!rc && prepare_layers(net, err))
            rc = fn_wrap(err, "%s: ", o->weights);
        if (!rc && !o->no_fuse)
            rc = fn_net_fuse(net, err);
        net->weights_loaded = !rc;
    }
    if (!rc) { /* point every identity layer at its final source: resolving is one step */
        for (int i = 0; i < net->n_layers; i++)
            if (net->layers[i].flags & FN_L_IDENTITY)
                net->layers[i].in[0] = fn_net_resolve(net, net->layers[i].in[0]);
    }
    if (!rc && !net->source) {
        char buf[96];
        snprintf(buf, sizeof buf, "keras ?, %s", net->backend ? net->backend : "?");
        net->source = strdup(buf);
    }
    if (rc) {
        fn_net_free(net);
        return -1;
    }
    *out = net;
    return 0;
}

int fn_net_load_dir(const char *dir, int no_fuse, fn_net **out, fn_err *err)
{
    char json[4096], h5[4096];
    snprintf(json, sizeof json, "%s/model.json", dir);
    snprintf(h5, sizeof h5, "%s/model.h5", dir);
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: model directory does not exist", dir);
    fn_load_opts o = {.model_json = stat(json, &st) == 0 ? json : NULL, .weights = h5, .no_fuse = no_fuse};
    return fn_net_load(&o, out, err);
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
    free(net->source);
    free(net->backend);
    free(net);
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

void fn_net_set_reference(fn_net *net, int on)
{
    net->reference = on;
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
