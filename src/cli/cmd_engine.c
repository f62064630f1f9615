/* cmd_engine.c - `facenet info` and `facenet embed`: the engine seen from the shell. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/file.h"

int fn_cmd_info(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("info", argc, argv, &a);
    if (pr || a.n_pos) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : pr < 0 ? FN_EXIT_ERROR : fn_cli_fail("info: takes no operands (see facenet info --help)");
    }
    fn_model_args m = a.model;
    m.arch_only = 1;
    fn_shape shape;
    const char *sv = fn_cli_str(&a, "input-shape");
    int have_shape = sv && !fn_cli_parse_shape(sv, &shape), layers = fn_cli_flag(&a, "layers");
    int batch = fn_cli_get_int(&a, "batch", 1);
    int bad = fn_cli_check_inputs(&a, &m, 0);
    fn_cli_args_free(&a);
    if (bad)
        return FN_EXIT_ERROR;
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
    printf("fingerprint:  %s (architecture and weight values)\n", fn_net_fingerprint(net));
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

static int read_floats(const char *path, size_t per, size_t max_bytes, float **out, int *n, fn_err *err)
{
    char *buf;
    size_t bytes, one;
    if (per == 0 || fn_mul_size(per, sizeof(float), &one))
        return fn_fail(err, FN_E_SHAPE, "%s: input shape too large", path);
    if (fn_read_file_limit(path, max_bytes ? max_bytes : FN_CLI_DEFAULT_MAX_RAW_BYTES, "raw-bytes", &buf, &bytes,
                           err))
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

/* One input's outputs; with --json "embedding" is what the profile compares
 * (L2-normalised when it says so, l2), "raw" the network output. */
static int print_result(const fn_net *net, const char *name, int idx, int n, int json, int l2)
{
    fn_shape s0;
    const float *o0 = fn_net_output(net, 0, &s0);
    size_t per0 = fn_shape_count(&s0);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        char lbl[4200];
        snprintf(lbl, sizeof lbl, n > 1 ? "%s#%d" : "%s", name, idx);
        cJSON_AddItemToObject(j, "input", fn_json_str(lbl));
        if (fn_net_n_outputs(net) == 1) {
            const float *v = o0 + (size_t)idx * per0;
            float *e = malloc(per0 * sizeof(float));
            if (!e) {
                cJSON_Delete(j);
                return fn_cli_fail("out of memory");
            }
            memcpy(e, v, per0 * sizeof(float));
            if (l2)
                fn_l2_normalize(e, (int)per0);
            cJSON_AddItemToObject(j, "embedding", fn_json_floats(e, per0));
            cJSON_AddItemToObject(j, "raw", fn_json_floats(v, per0));
            cJSON_AddItemToObject(j, "output", fn_json_floats(v, per0)); /* = raw, kept for old readers */
            free(e);
        } else {
            cJSON *outs = cJSON_AddObjectToObject(j, "outputs");
            for (int k = 0; k < fn_net_n_outputs(net); k++) {
                fn_shape s;
                const float *o = fn_net_output(net, k, &s);
                size_t per = fn_shape_count(&s);
                cJSON_AddItemToObject(outs, fn_net_output_name(net, k), fn_json_floats(o + (size_t)idx * per, per));
            }
        }
        return fn_json_print(j) ? FN_EXIT_ERROR : 0;
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
    return 0;
}

int fn_cmd_embed(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("embed", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    fn_model_args m = a.model;
    fn_shape shape;
    const char *sv = fn_cli_str(&a, "input-shape");
    int have_shape = sv && !fn_cli_parse_shape(sv, &shape), json = fn_cli_flag(&a, "json");
    int reference = fn_cli_flag(&a, "reference"), rc = FN_EXIT_OK;
    /* --raw values and operands, in command-line order */
    int nfiles = 0;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) {
        fn_cli_args_free(&a);
        return fn_cli_fail("out of memory");
    }
    for (int i = 0; i < a.n_ev; i++)
        if (!strcmp(a.ev[i].opt->name, "raw"))
            files[nfiles++] = a.ev[i].val;
    for (int i = 0; i < a.n_pos; i++)
        files[nfiles++] = a.pos[i];
    fn_err err = {0};
    /* every input file (a run stops at the first bad one) before the model loads */
    int bad = fn_cli_check_inputs(&a, &m, json);
    for (int f = 0; f < nfiles && !bad; f++)
        if (fn_check_regular(files[f], &err))
            bad = fn_cli_fail_err(&err);
    fn_cli_args_free(&a);
    if (nfiles == 0 && !bad)
        bad = fn_cli_fail("embed: no input (use --raw FILE.f32 ...)");
    if (bad) {
        free(files);
        return FN_EXIT_ERROR;
    }
    fn_net *net;
    if (fn_cli_load_model(&m, &net, &err)) {
        free(files);
        return fn_cli_fail_err(&err);
    }
    if (fn_net_set_reference(net, reference, &err)) {
        fn_net_free(net);
        return fn_cli_fail_err(&err);
    }
    fn_profile prof = {0};
    char dir[4096], ppath[4200];
    snprintf(ppath, sizeof ppath, "%s/facenet.json", fn_cli_model_dir(&m, dir, sizeof dir));
    if (json && fn_profile_load(ppath, 0, 0, &prof, &err)) {
        fn_net_free(net);
        free(files);
        return fn_cli_fail_err(&err);
    }
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
        if (read_floats(files[f], fn_shape_count(&in), m.lim.raw_bytes, &data, &n, &err) ||
            fn_net_run(net, data, n, &in, &err)) {
            rc = fn_cli_fail_err(&err);
            free(data);
            break;
        }
        for (int k = 0; k < n && rc == FN_EXIT_OK; k++)
            rc = print_result(net, files[f], k, n, json, json && prof.l2_normalize);
        free(data);
    }
    fn_net_free(net);
    free(files);
    return rc;
}
