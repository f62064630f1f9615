/* gen_weights.c - write a Keras-layout weights file with deterministic random weights
 * for any model.json, so full-size architectures can be tested and benchmarked
 * without their trained weights.
 *
 *   gen_weights --model-json model.json -o model.h5 [--layout weights|full] [--seed N]
 *
 * The engine itself declares which weights each layer needs (names and shapes follow
 * from the config and shape inference), so this tool knows nothing about layer types.
 * Values are chosen to keep activations in a sane range through deep stacks:
 *   kernel  uniform, variance 1/fan_in      bias, beta   uniform +-0.05
 *   gamma   uniform [0.8, 1.2]             moving_mean  uniform +-0.1
 *   moving_variance uniform [0.5, 1.5]     alpha (PReLU) 0.25
 * Each tensor's stream is seeded from (seed, layer name, weight name), so a tensor's
 * values do not depend on the rest of the model. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/lib/keras_h5w.h"
#include "core/file.h"
#include "facenet.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = mix(h ^ (unsigned char)*s);
    return h;
}

/* uniform in [lo, hi) from a 64-bit stream */
static float uniform(uint64_t *state, float lo, float hi)
{
    *state = mix(*state);
    return lo + (hi - lo) * (float)((*state >> 40) / 16777216.0);
}

static size_t weight_count(const fn_weight_info *w)
{
    size_t n = 1;
    for (int d = 0; d < w->rank; d++)
        n *= (size_t)w->dims[d];
    return n;
}

static void fill(const fn_weight_info *w, const char *layer, uint64_t seed, float *out)
{
    uint64_t st = hash_str(hash_str(mix(seed), layer), w->name);
    size_t n = weight_count(w);
    float lo = -0.05f, hi = 0.05f;
    if (!strcmp(w->name, "kernel") || !strcmp(w->name, "depthwise_kernel")) {
        size_t fan_in = w->dims[w->rank - 1] ? n / (size_t)w->dims[w->rank - 1] : 1;
        float a = sqrtf(3.0f / (float)(fan_in ? fan_in : 1));
        lo = -a, hi = a;
    } else if (!strcmp(w->name, "gamma")) {
        lo = 0.8f, hi = 1.2f;
    } else if (!strcmp(w->name, "moving_mean")) {
        lo = -0.1f, hi = 0.1f;
    } else if (!strcmp(w->name, "moving_variance")) {
        lo = 0.5f, hi = 1.5f;
    } else if (!strcmp(w->name, "alpha")) {
        lo = hi = 0.25f;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = lo == hi ? lo : uniform(&st, lo, hi);
}

static int usage(void)
{
    fprintf(stderr, "usage: gen_weights --model-json FILE -o OUT.h5 [--layout weights|full] [--seed N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *json = NULL, *out = NULL, *layout = "weights";
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--model-json"))
            json = argv[++i];
        else if (!strcmp(argv[i], "-o"))
            out = argv[++i];
        else if (!strcmp(argv[i], "--layout"))
            layout = argv[++i];
        else if (!strcmp(argv[i], "--seed"))
            seed = strtoull(argv[++i], NULL, 10);
        else
            return usage();
    }
    int full = !strcmp(layout, "full");
    if (!json || !out || (!full && strcmp(layout, "weights")))
        return usage();
    fn_err err = {0};
    fn_net *net = NULL;
    fn_load_opts o = {.model_json = json};
    if (fn_net_load(&o, &net, &err)) {
        fprintf(stderr, "gen_weights: %s\n", err.msg);
        return 2;
    }
    char *text = NULL;
    size_t text_len;
    if (full && fn_read_file(json, (size_t)256 << 20, &text, &text_len, &err)) {
        fprintf(stderr, "gen_weights: %s\n", err.msg);
        fn_net_free(net);
        return 2;
    }
    fn_kh5w *w = fn_kh5w_create(out, full, text, &err);
    int rc = w ? 0 : -1;
    const int n_layers = fn_net_n_layers(net);
    for (int i = 0; !rc && i < n_layers; i++) {
        fn_layer_info L;
        fn_net_layer_info(net, i, &L);
        fn_kh5w_tensor t[8];
        float *data[8] = {0};
        char names[8][48];
        if (L.n_weights > 8) {
            rc = fn_fail(&err, FN_E_UNSUPPORTED, "layer %s: too many weights", L.name);
            break;
        }
        for (int k = 0; k < L.n_weights && !rc; k++) {
            fn_weight_info wi;
            fn_net_weight_info(net, i, k, &wi);
            size_t n = weight_count(&wi);
            data[k] = malloc(sizeof(float) * (n ? n : 1));
            if (!data[k]) {
                rc = fn_fail(&err, FN_E_NOMEM, "out of memory");
                break;
            }
            fill(&wi, L.name, seed, data[k]);
            snprintf(names[k], sizeof names[k], "%s:0", wi.name);
            t[k].name = names[k];
            t[k].rank = wi.rank;
            for (int d = 0; d < t[k].rank; d++)
                t[k].dims[d] = wi.dims[d];
            t[k].data = data[k];
        }
        if (!rc)
            rc = fn_kh5w_layer(w, L.name, L.n_weights, t, &err);
        for (int k = 0; k < L.n_weights; k++)
            free(data[k]);
    }
    if (!rc) {
        rc = fn_kh5w_finish(w, &err);
        w = NULL;
    }
    if (rc) {
        fn_kh5w_abort(w);
        fprintf(stderr, "gen_weights: %s\n", err.msg); /* the writer's messages name the file */
    } else {
        printf("%s: %zu parameters, %d layers, seed %llu, %s layout\n", out, fn_net_param_count(net),
               n_layers, seed, full ? "model.save()" : "save_weights()");
    }
    free(text);
    fn_net_free(net);
    return rc ? 2 : 0;
}
