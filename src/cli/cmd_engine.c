/* cmd_engine.c - `facenet info` and `facenet embed`: the engine seen from the shell. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/file.h"

/* "HxWxC" (or any rank up to FN_MAX_RANK, 'x'-separated). */
static int parse_shape(const char *s, fn_shape *out)
{
    out->rank = 0;
    while (*s && out->rank < FN_MAX_RANK) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 1000000)
            return -1;
        out->d[out->rank++] = (int)v;
        s = end;
        if (*s == 'x' || *s == 'X')
            s++;
        else if (*s)
            return -1;
    }
    return *s || out->rank == 0 ? -1 : 0;
}

static int shape_opt(int argc, char **argv, int *i, fn_shape *shape, int *have)
{
    const char *v = fn_cli_value(argc, argv, i);
    if (!v)
        return -1;
    if (parse_shape(v, shape)) {
        fn_cli_fail("--input-shape: '%s' is not of the form HxWxC", v);
        return -1;
    }
    *have = 1;
    return 0;
}

int fn_cmd_info(int argc, char **argv)
{
    fn_model_args m = {0};
    fn_shape shape;
    int have_shape = 0, layers = 0, batch = 1;
    for (int i = 1; i < argc; i++) {
        int r = fn_cli_model_opt(&m, argc, argv, &i);
        if (r < 0)
            return FN_EXIT_ERROR;
        if (r)
            continue;
        if (!strcmp(argv[i], "--layers"))
            layers = 1;
        else if (!strcmp(argv[i], "--input-shape")) {
            if (shape_opt(argc, argv, &i, &shape, &have_shape))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--batch")) {
            const char *v = fn_cli_value(argc, argv, &i);
            if (!v || fn_cli_int("--batch", v, 1, 65536, &batch))
                return FN_EXIT_ERROR;
        } else
            return fn_cli_fail("info: unknown option %s", argv[i]);
    }
    fn_net *net;
    fn_err err = {0};
    if (fn_cli_load_model(&m, &net, &err))
        return fn_cli_fail_err(&err);
    fn_shape in = fn_net_input_shape(net);
    char buf[128];
    fn_shape decl = fn_net_input_shape(net);
    int known = 1;
    for (int d = 0; d < decl.rank; d++)
        known &= decl.d[d] > 0;
    int planned = 0;
    if (have_shape || known) {
        if (fn_net_plan(net, batch, have_shape ? &shape : NULL, &err)) {
            fn_net_free(net);
            return fn_cli_fail_err(&err);
        }
        planned = 1;
    }
    fn_shape_str(&in, buf, sizeof buf);
    printf("source:       %s\n", fn_net_source(net));
    fn_layer_info li;
    fn_net_layer_info(net, fn_net_input_layer(net), &li);
    printf("input:        %s (%s)\n", buf, li.name);
    for (int k = 0; k < fn_net_n_outputs(net); k++) {
        fn_net_layer_info(net, fn_net_output_layer(net, k), &li);
        fn_shape_str(&li.out_shape, buf, sizeof buf);
        printf("output:       %s (%s)\n", buf, li.name);
    }
    int executed = 0, n_layers = fn_net_n_layers(net);
    for (int i = 0; i < n_layers; i++) {
        fn_net_layer_info(net, i, &li);
        executed += li.executed;
    }
    printf("layers:       %d (%d executed after folding)\n", n_layers, executed);
    printf("parameters:   %zu\n", fn_net_param_count(net));
    fn_machine mach;
    fn_machine_describe(&mach);
    printf("machine:      %s, %d cores; kernels %s, %d thread%s; BLAS %s\n", mach.cpu, mach.cores, mach.isa,
           fn_net_threads(net), fn_net_threads(net) == 1 ? "" : "s", mach.blas);
    if (planned) {
        printf("MACs/image:   %.0f (%.3f G)\n", fn_net_macs(net), fn_net_macs(net) / 1e9);
        printf("activations:  %.2f MiB planned for batch %d (%.2f MiB unplanned), scratch %.2f MiB\n",
               fn_net_activation_bytes(net) / (double)(1 << 20), batch, fn_net_naive_bytes(net) / (double)(1 << 20),
               fn_net_scratch_bytes(net) / (double)(1 << 20));
    } else {
        printf("MACs/image:   unknown until the input size is given (--input-shape HxWxC)\n");
    }
    if (layers) {
        printf("\n%-4s %-34s %-22s %-14s %10s %14s  %s\n", "#", "layer", "class", "output", "params",
               "MACs", "buffer / note");
        for (int i = 0; i < n_layers; i++) {
            fn_net_layer_info(net, i, &li);
            char note[160] = "";
            if (!li.executed)
                snprintf(note, sizeof note, li.folded_into ? "folded into %s" : "identity at inference",
                         li.folded_into);
            else if (planned)
                snprintf(note, sizeof note, "buf @%zu KiB%s", li.offset_bytes / 1024,
                         li.buffer != i ? (li.is_view ? " (view)" : " (slice of concat)") : "");
            fn_shape_str(&li.out_shape, buf, sizeof buf);
            printf("%-4d %-34s %-22s %-14s %10zu %14.0f  %s\n", i, li.name, li.class_name, buf, li.params,
                   li.macs, note);
        }
    }
    fn_net_free(net);
    return FN_EXIT_OK;
}

#define FN_MAX_RAW_BYTES ((size_t)4 << 30)

static int read_floats(const char *path, size_t per, float **out, int *n, fn_err *err)
{
    char *buf;
    size_t bytes, one;
    if (per == 0 || fn_mul_size(per, sizeof(float), &one))
        return fn_fail(err, FN_E_SHAPE, "%s: input shape too large", path);
    if (fn_read_file(path, FN_MAX_RAW_BYTES, &buf, &bytes, err))
        return -1;
    if (bytes == 0 || bytes % one || bytes / one > 65536) {
        free(buf);
        return fn_fail(err, FN_E_SHAPE, "%s: %zu bytes is not a whole number (1 to 65536) of inputs of %zu floats",
                       path, bytes, per);
    }
    *out = (float *)buf; /* malloc'd: suitably aligned for float */
    *n = (int)(bytes / one);
    return 0;
}

static void print_result(const fn_net *net, const char *name, int idx, int n, int json)
{
    fn_shape s0;
    const float *o0 = fn_net_output(net, 0, &s0);
    size_t per0 = fn_shape_count(&s0);
    if (json) {
        printf("{\"input\": ");
        if (n > 1) {
            char lbl[4200];
            snprintf(lbl, sizeof lbl, "%s#%d", name, idx);
            fn_json_string(stdout, lbl);
        } else {
            fn_json_string(stdout, name);
        }
        if (fn_net_n_outputs(net) == 1) {
            const float *v = o0 + (size_t)idx * per0;
            float *e = malloc(per0 * sizeof(float));
            printf(", \"output\": ");
            fn_json_floats(stdout, v, per0);
            if (e) {
                memcpy(e, v, per0 * sizeof(float));
                fn_l2_normalize(e, (int)per0);
                printf(", \"embedding\": ");
                fn_json_floats(stdout, e, per0);
                free(e);
            }
        } else {
            printf(", \"outputs\": {");
            for (int k = 0; k < fn_net_n_outputs(net); k++) {
                fn_shape s;
                const float *o = fn_net_output(net, k, &s);
                size_t per = fn_shape_count(&s);
                printf("%s", k ? ", " : "");
                fn_json_string(stdout, fn_net_output_name(net, k));
                printf(": ");
                fn_json_floats(stdout, o + (size_t)idx * per, per);
            }
            printf("}");
        }
        printf("}\n");
        return;
    }
    for (int k = 0; k < fn_net_n_outputs(net); k++) {
        fn_shape s;
        const float *o = fn_net_output(net, k, &s);
        size_t per = fn_shape_count(&s);
        const float *v = o + (size_t)idx * per;
        char sh[64];
        fn_shape_str(&s, sh, sizeof sh);
        printf("%s", name);
        if (n > 1)
            printf("#%d", idx);
        printf(" %s [%s]:", fn_net_output_name(net, k), sh);
        for (size_t i = 0; i < per; i++)
            printf(" %.6g", (double)v[i]);
        printf("\n");
    }
}

int fn_cmd_embed(int argc, char **argv)
{
    fn_model_args m = {0};
    fn_shape shape;
    int have_shape = 0, json = 0, reference = 0, nfiles = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    if (!files)
        return fn_cli_fail("out of memory");
    int rc = FN_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int r = fn_cli_model_opt(&m, argc, argv, &i);
        if (r < 0) {
            free(files);
            return FN_EXIT_ERROR;
        }
        if (r)
            continue;
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--reference"))
            reference = 1;
        else if (!strcmp(argv[i], "--input-shape")) {
            if (shape_opt(argc, argv, &i, &shape, &have_shape)) {
                free(files);
                return FN_EXIT_ERROR;
            }
        } else if (!strcmp(argv[i], "--raw")) {
            if (i + 1 >= argc) {
                free(files);
                return fn_cli_fail("--raw needs at least one file");
            }
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                files[nfiles++] = argv[++i];
        } else if (argv[i][0] != '-') {
            files[nfiles++] = argv[i];
        } else {
            free(files);
            return fn_cli_fail("embed: unknown option %s", argv[i]);
        }
    }
    if (nfiles == 0) {
        free(files);
        return fn_cli_fail("embed: no input (use --raw FILE.f32 ...)");
    }
    fn_net *net;
    fn_err err = {0};
    if (fn_cli_load_model(&m, &net, &err)) {
        free(files);
        return fn_cli_fail_err(&err);
    }
    fn_net_set_reference(net, reference);
    fn_shape in = have_shape ? shape : fn_net_input_shape(net);
    if (!have_shape)
        for (int d = 0; d < in.rank; d++)
            if (in.d[d] < 0) {
                fn_net_free(net);
                free(files);
                return fn_cli_fail("embed: the model accepts any input size: give --input-shape HxWxC");
            }
    if (fn_net_plan(net, 1, &in, &err)) { /* checks the shape before any file is read */
        fn_net_free(net);
        free(files);
        return fn_cli_fail_err(&err);
    }
    for (int f = 0; f < nfiles; f++) {
        float *data = NULL;
        int n = 0;
        if (read_floats(files[f], fn_shape_count(&in), &data, &n, &err) ||
            fn_net_run(net, data, n, &in, &err)) {
            rc = fn_cli_fail_err(&err);
            free(data);
            break;
        }
        for (int k = 0; k < n; k++)
            print_result(net, files[f], k, n, json);
        free(data);
    }
    fn_net_free(net);
    free(files);
    return rc;
}
