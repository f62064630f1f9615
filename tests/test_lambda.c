/* test_lambda.c - Lambda layers are recognised from Keras' marshalled bytecode, never
 * run.  Fixtures: the code objects of real lambdas marshalled by CPython 3.6 to 3.10
 * (base64, as Keras stores them; generated once with each interpreter's marshal.dumps).
 * FaceNet's scale-sum and K.l2_normalize (keyword or positional axis, K / tf.math) must
 * be accepted and computed; look-alikes (negated, squared input, scaled result, another
 * function, a difference instead of a sum) must be refused with the layer's name. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "facenet.h"

static const struct {
    int py;
    const char *kind, *b64;
} fixtures[] = {
    {36, "l2_kw1", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTukBAAAAKQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwAAAAA="},
    {36, "l2_kwm1", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkA2QCjQJTACkETukBAAAAKQFaBGF4aXPp/////ykC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgUAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAAAAAA=="},
    {36, "l2_tf", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxAAAAB0AGoBagJ8AGQDZAKNAlMAKQRO6QEAAAApAVoEYXhpc+n/////KQPaAnRmWgRtYXRoWgxsMl9ub3JtYWxpemUpAdoBeKkAcgUAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAAAAAA=="},
    {36, "l2_pos", "4wEAAAAAAAAAAQAAAAMAAABDAAAAcwwAAAB0AGoBfABkAYMCUwApAk7pAQAAACkC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAAAAAA=="},
    {36, "neg_minus", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxAAAAB0AGoBfABkA2QCjQILAFMAKQRO6QEAAAApAVoEYXhpc+n/////KQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBQAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMAAAAA"},
    {36, "neg_sq", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxIAAAB0AGoBfAB8ABQAZANkAo0CUwApBE7pAQAAACkBWgRheGlz6f////8pAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIFAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwAAAAA="},
    {36, "neg_times3", "4wEAAAAAAAAAAQAAAAIAAABDAAAAcw4AAAB0AGoBfACDAWQBFABTACkCTukDAAAAKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMAAAAA"},
    {36, "neg_abs", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTukBAAAAKQFaBGF4aXMpAtoBS9oDYWJzKQHaAXipAHIFAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwAAAAA="},
    {36, "scale_sum", "4wIAAAAAAAAAAgAAAAMAAABDAAAAcxQAAAB8AGQBGQB8AGQCGQB8ARQAFwBTACkDTukAAAAA6QEAAACpACkCWgZpbnB1dHNaBXNjYWxlcgMAAAByAwAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMAAAAA"},
    {36, "neg_scale_diff", "4wIAAAAAAAAAAgAAAAMAAABDAAAAcxQAAAB8AGQBGQB8AGQCGQB8ARQAGABTACkDTukAAAAA6QEAAACpACkCWgZpbnB1dHNaBXNjYWxlcgMAAAByAwAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMAAAAA"},
    {37, "l2_kw1", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTukBAAAAKQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {37, "l2_kwm1", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTun/////KQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {37, "l2_tf", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxAAAAB0AGoBagJ8AGQBZAKNAlMAKQNO6f////8pAVoEYXhpcykD2gJ0ZloEbWF0aFoMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {37, "l2_pos", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcwwAAAB0AKABfABkAaECUwApAk7pAQAAACkC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {37, "neg_minus", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxAAAAB0AGoBfABkAWQCjQILAFMAKQNO6f////8pAVoEYXhpcykC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {37, "neg_sq", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcxIAAAB0AGoBfAB8ABQAZAFkAo0CUwApA07p/////ykBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {37, "neg_times3", "4wEAAAAAAAAAAQAAAAMAAABDAAAAcw4AAAB0AKABfAChAWQBFABTACkCTukDAAAAKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {37, "neg_abs", "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTukBAAAAKQFaBGF4aXMpAtoBS9oDYWJzKQHaAXipAHIFAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {37, "scale_sum", "4wIAAAAAAAAAAgAAAAMAAABDAAAAcxQAAAB8AGQBGQB8AGQCGQB8ARQAFwBTACkDTukAAAAA6QEAAACpACkCWgZpbnB1dHNaBXNjYWxlcgMAAAByAwAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {37, "neg_scale_diff", "4wIAAAAAAAAAAgAAAAMAAABDAAAAcxQAAAB8AGQBGQB8AGQCGQB8ARQAGABTACkDTukAAAAA6QEAAACpACkCWgZpbnB1dHNaBXNjYWxlcgMAAAByAwAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {38, "l2_kw1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {38, "l2_kwm1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07p/////ykBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {38, "l2_tf", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAWoCfABkAWQCjQJTACkDTun/////KQFaBGF4aXMpA9oCdGZaBG1hdGhaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {38, "l2_pos", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMMAAAAdACgAXwAZAGhAlMAKQJO6QEAAAApAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {38, "neg_minus", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAXwAZAFkAo0CCwBTACkDTun/////KQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {38, "neg_sq", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdABqAXwAfAAUAGQBZAKNAlMAKQNO6f////8pAVoEYXhpcykC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {38, "neg_times3", "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMOAAAAdACgAXwAoQFkARQAUwApAk7pAwAAACkC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {38, "neg_abs", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUvaA2FicykB2gF4qQByBQAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {38, "scale_sum", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABcAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {38, "neg_scale_diff", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABgAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {39, "l2_kw1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {39, "l2_kwm1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07p/////ykBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {39, "l2_tf", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAWoCfABkAWQCjQJTACkDTun/////KQFaBGF4aXMpA9oCdGZaBG1hdGhaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {39, "l2_pos", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMMAAAAdACgAXwAZAGhAlMAKQJO6QEAAAApAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {39, "neg_minus", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAXwAZAFkAo0CCwBTACkDTun/////KQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA="},
    {39, "neg_sq", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdABqAXwAfAAUAGQBZAKNAlMAKQNO6f////8pAVoEYXhpcykC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {39, "neg_times3", "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMOAAAAdACgAXwAoQFkARQAUwApAk7pAwAAACkC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {39, "neg_abs", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUvaA2FicykB2gF4qQByBQAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAPMAAAAA"},
    {39, "scale_sum", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABcAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {39, "neg_scale_diff", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABgAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA=="},
    {310, "l2_kw1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMCAAAADgA="},
    {310, "l2_kwm1", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07p/////ykBWgRheGlzKQLaAUtaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMCAAAADgA="},
    {310, "l2_tf", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAWoCfABkAWQCjQJTACkDTun/////KQFaBGF4aXMpA9oCdGZaBG1hdGhaDGwyX25vcm1hbGl6ZSkB2gF4qQByBAAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMCAAAAEAA="},
    {310, "l2_pos", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMMAAAAdACgAXwAZAGhAlMAKQJO6QEAAAApAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwIAAAAMAA=="},
    {310, "neg_minus", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMQAAAAdABqAXwAZAFkAo0CCwBTACkDTun/////KQFaBGF4aXMpAtoBS1oMbDJfbm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAAcwIAAAAQAA=="},
    {310, "neg_sq", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdABqAXwAfAAUAGQBZAKNAlMAKQNO6f////8pAVoEYXhpcykC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAgAAABIA"},
    {310, "neg_times3", "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMOAAAAdACgAXwAoQFkARQAUwApAk7pAwAAACkC2gFLWgxsMl9ub3JtYWxpemUpAdoBeKkAcgQAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAgAAAA4A"},
    {310, "neg_abs", "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAXwAZAFkAo0CUwApA07pAQAAACkBWgRheGlzKQLaAUvaA2FicykB2gF4qQByBQAAANoIPHN0cmluZz7aCDxsYW1iZGE+AQAAAHMCAAAADgA="},
    {310, "scale_sum", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABcAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAgAAABQA"},
    {310, "neg_scale_diff", "4wIAAAAAAAAAAAAAAAIAAAADAAAAQwAAAHMUAAAAfABkARkAfABkAhkAfAEUABgAUwApA07pAAAAAOkBAAAAqQApAloGaW5wdXRzWgVzY2FsZXIDAAAAcgMAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgEAAABzAgAAABQA"},
};

static fn_net *load(const char *json, fn_err *err)
{
    char path[] = "/tmp/facenet-lambda-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    fputs(json, f);
    fclose(f);
    fn_net *net = NULL;
    fn_load_opts o = {.model_json = path};
    fn_net_load(&o, &net, err);
    remove(path);
    return net;
}

static void test_l2_normalize_lambdas(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof fixtures / sizeof *fixtures; k++) {
        int positive = !strncmp(fixtures[k].kind, "l2_", 3);
        if (strncmp(fixtures[k].kind, "l2_", 3) && strncmp(fixtures[k].kind, "neg_", 4))
            continue;
        if (!strcmp(fixtures[k].kind, "neg_scale_diff"))
            continue;
        char json[4096];
        snprintf(json, sizeof json,
                 "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
                 "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 4]}, \"inbound_nodes\": []},"
                 "{\"class_name\": \"Lambda\", \"name\": \"norm\", \"config\": {\"name\": \"norm\", \"function\": [\"%s\", null, null], "
                 "\"function_type\": \"lambda\", \"arguments\": {}}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}],"
                 "\"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"norm\", 0, 0]]}}",
                 fixtures[k].b64);
        fn_err err = {0};
        fn_net *net = load(json, &err);
        if (positive) {
            if (!net)
                fail_msg("py%d %s refused: %s", fixtures[k].py, fixtures[k].kind, err.msg);
            const float x[8] = {3, 4, 0, 0, 0, 0, 0, 0};
            assert_int_equal(fn_net_run(net, x, 2, NULL, &err), 0);
            const float *y = fn_net_output(net, 0, NULL);
            assert_true(fabsf(y[0] - 0.6f) < 1e-7f && fabsf(y[1] - 0.8f) < 1e-7f && y[2] == 0 && y[3] == 0);
            assert_true(y[4] == 0 && y[7] == 0); /* the zero row stays zero (epsilon), no NaN */
            fn_net_free(net);
        } else {
            if (net)
                fail_msg("py%d %s was accepted", fixtures[k].py, fixtures[k].kind);
            assert_non_null(strstr(err.msg, "norm"));
            assert_non_null(strstr(err.msg, "not recognised"));
        }
    }
}

static void test_scale_sum_lambdas(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof fixtures / sizeof *fixtures; k++) {
        int positive = !strcmp(fixtures[k].kind, "scale_sum");
        if (!positive && strcmp(fixtures[k].kind, "neg_scale_diff"))
            continue;
        char json[4096];
        snprintf(json, sizeof json,
                 "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
                 "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 2]}, \"inbound_nodes\": []},"
                 "{\"class_name\": \"Activation\", \"name\": \"r\", \"config\": {\"name\": \"r\", \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]},"
                 "{\"class_name\": \"Lambda\", \"name\": \"sum\", \"config\": {\"name\": \"sum\", \"function\": [\"%s\", null, null], "
                 "\"function_type\": \"lambda\", \"arguments\": {\"scale\": 0.25}}, \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"r\", 0, 0, {}]]]}],"
                 "\"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"sum\", 0, 0]]}}",
                 fixtures[k].b64);
        fn_err err = {0};
        fn_net *net = load(json, &err);
        if (positive) {
            if (!net)
                fail_msg("py%d scale_sum refused: %s", fixtures[k].py, err.msg);
            const float x[2] = {2, -2};
            assert_int_equal(fn_net_run(net, x, 1, NULL, &err), 0);
            const float *y = fn_net_output(net, 0, NULL);
            assert_true(y[0] == 2.5f && y[1] == -2.0f); /* x + relu(x) * 0.25 */
            fn_net_free(net);
        } else {
            if (net)
                fail_msg("py%d %s was accepted", fixtures[k].py, fixtures[k].kind);
            assert_non_null(strstr(err.msg, "sum"));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_l2_normalize_lambdas),
        cmocka_unit_test(test_scale_sum_lambdas),
    };
    return cmocka_run_group_tests_name("Lambda recognition", tests, NULL, NULL);
}
