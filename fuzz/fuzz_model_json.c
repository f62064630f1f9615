/* fuzz_model_json.c - model.json -> graph -> shapes -> memory plan.
 *
 * The bytes become model.json (architecture only: weights are declared, not read);
 * every layer and weight description is read back through the public API, and when
 * the declared input is fully known the net is planned for one image.  Planning is
 * skipped when a rough upper bound of the arena (activations plus per-layer im2col
 * scratch estimated from the declared kernels) passes 256 MiB: the engine refuses
 * plans only beyond 16 GiB, which is a limit, not a bug, but would exhaust the
 * fuzzer's memory.
 * First, the count that guards the parser (io/json_limit.c) must equal the nodes cJSON
 * builds whenever cJSON accepts the text: a difference aborts. */
#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facenet.h"
#include "fuzz_util.h"
#include "io/json_limit.h"

#define PLAN_CAP_FLOATS ((double)(64 << 20))

static double plan_estimate(const fn_net *net)
{
    double total = 0;
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info li;
        if (fn_net_layer_info(net, i, &li))
            return 1e300;
        double out = (double)fn_shape_count(&li.out_shape);
        total += out;
        for (int k = 0; k < li.n_weights; k++) {
            fn_weight_info wi;
            if (fn_net_weight_info(net, i, k, &wi) || wi.rank < 1)
                continue;
            double per = 1; /* kernel size without its output dimension */
            for (int d = 0; d < wi.rank - 1; d++)
                per *= wi.dims[d] > 0 ? wi.dims[d] : 1;
            if (out * per > total)
                total += out * per;
        }
    }
    return total;
}

static size_t nodes(const cJSON *j)
{
    size_t n = 1;
    for (const cJSON *c = j->child; c; c = c->next)
        n += nodes(c);
    return n;
}

static void check_count(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (!t)
        return;
    memcpy(t, data, size);
    t[size] = '\0';
    cJSON *j = cJSON_ParseWithOpts(t, NULL, 1);
    if (j) {
        size_t built = nodes(j), counted = fn_json_count_values(t, strlen(t));
        if (built != counted) {
            fprintf(stderr, "fuzz_model_json: %zu JSON values counted, cJSON built %zu\n", counted, built);
            abort();
        }
        cJSON_Delete(j);
    }
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_count(data, size);
    char path[600];
    fuzz_write("model.json", data, size, path, sizeof path);
    fn_load_opts o = {.model_json = path};
    fn_net *net;
    fn_err err;
    if (fn_net_load(&o, &net, &err)) {
        fuzz_note("load", err.msg);
        return 0;
    }
    for (int i = 0; i < fn_net_n_layers(net); i++) {
        fn_layer_info li;
        char s[64];
        if (fn_net_layer_info(net, i, &li) == 0)
            fn_shape_str(&li.out_shape, s, sizeof s);
    }
    for (int i = 0; i < fn_net_n_outputs(net); i++)
        (void)fn_net_output_name(net, i);
    fn_shape in = fn_net_input_shape(net);
    if (fn_shape_count(&in) > 0 && plan_estimate(net) <= PLAN_CAP_FLOATS &&
        fn_net_plan(net, 1, NULL, &err) == 0) {
        fuzz_note("planned", "ok");
        (void)fn_net_arena_bytes(net);
        (void)fn_net_macs(net);
    }
    fn_net_free(net);
    return 0;
}
