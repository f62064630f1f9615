/* cmd_trace.c - `facenet trace IMG`: one image through the network, layer by layer in
 * execution order: name, class, output shape, multiply-adds, time, activation
 * statistics (mean, std, min, max, share of exact zeros) and the layers feeding it, so
 * the residual Adds and the Inception Concatenates show.  The image is prepared as
 * `facenet encode` prepares it (the model profile's resize and normalisation, or an
 * alignment from --landmarks); --raw FILE.f32 feeds a prepared tensor instead.
 * --dump DIR writes each output as .npy (trace_dump.c), --maps LAYER -o FILE.png draws
 * that layer's feature maps (draw_maps.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/profile.h"
#include "cli/cli.h"
#include "cli/trace.h"
#include "core/file.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "layers/kernels.h"

/* The input tensor: --raw as stored, or the image prepared per the profile. */
static int prepare_input(const fn_model_args *m, const fn_net *net, const char *img, const char *raw,
                         const double *lm, const fn_shape *given, fn_shape *in, float **out, fn_err *err)
{
    *in = given ? *given : fn_net_input_shape(net);
    fn_shape decl = fn_net_input_shape(net);
    int chw = decl.rank == 3 && decl.d[0] == 3 && decl.d[2] != 3;
    if (raw) {
        size_t per = fn_shape_count(in), bytes;
        char *buf;
        for (int d = 0; d < in->rank; d++)
            if (in->d[d] <= 0)
                return fn_fail(err, FN_E_ARG, "the model accepts any input size: give --input-shape HxWxC");
        if (fn_read_file(raw, (size_t)1 << 31, &buf, &bytes, err))
            return -1;
        if (bytes != per * sizeof(float)) {
            free(buf);
            return fn_fail(err, FN_E_SHAPE, "%s: %zu bytes, but one input of %zu floats is %zu bytes", raw, bytes,
                           per, per * sizeof(float));
        }
        *out = (float *)buf;
        return 0;
    }
    if (in->rank != 3 || (!chw && in->d[2] != 3))
        return fn_fail(err, FN_E_UNSUPPORTED, "the model's input is not an image (HxWx3 or 3xHxW): use --raw FILE.f32");
    char dir[4096], ppath[4200];
    snprintf(ppath, sizeof ppath, "%s/facenet.json", fn_cli_model_dir(m, dir, sizeof dir));
    fn_profile prof;
    int mh = in->d[chw ? 1 : 0], mw = in->d[chw ? 2 : 1];
    if (fn_profile_load(ppath, mh, mw, &prof, err))
        return -1;
    *in = chw ? (fn_shape){3, {3, prof.in_h, prof.in_w, 0}} : (fn_shape){3, {prof.in_h, prof.in_w, 3, 0}};
    size_t per = fn_shape_count(in);
    fn_image im = {0};
    float *hwc = malloc(sizeof(float) * per), *x = chw ? malloc(sizeof(float) * per) : hwc;
    if (!hwc || !x) {
        free(hwc);
        if (chw)
            free(x);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    int loaded = !fn_image_load(img, FN_IMAGE_DEFAULT_MAX_PIXELS, &im, err); /* its errors name img */
    int rc = !loaded || (lm ? fn_preprocess_aligned(&prof, &im, lm, hwc, err) : fn_preprocess(&prof, &im, hwc, err));
    fn_image_free(&im);
    if (!rc && chw)
        fn_hwc_to_chw(hwc, 3, prof.in_h * prof.in_w, x);
    if (chw)
        free(hwc);
    if (rc) {
        free(x);
        return loaded ? fn_wrap(err, "%s: ", img) : -1;
    }
    *out = x;
    return 0;
}

static void print_inputs(const fn_net *net, const fn_layer_info *li)
{
    for (int j = 0; j < li->n_inputs; j++) {
        fn_layer_info in;
        fn_net_layer_info(net, li->inputs[j], &in);
        printf("%s%s", j ? ", " : "", in.name);
    }
}

static void print_table(const fn_trace *t, int fused)
{
    const fn_net *net = t->net;
    int wn = 5, wc = 5;
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        wn = (int)strlen(li.name) > wn ? (int)strlen(li.name) : wn;
        wc = (int)strlen(li.class_name) > wc ? (int)strlen(li.class_name) : wc;
    }
    wn = wn > 64 ? 64 : wn;
    wc = wc > 32 ? 32 : wc;
    printf("%-4s %-*s %-*s %-12s %11s %8s %10s %10s %10s %10s %6s  %s\n", "#", wn, "layer", wc, "class", "output",
           "MACs", "ms", "mean", "std", "min", "max", "zeros", "<- inputs / note");
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        char shape[64];
        fn_shape_str(&li.out_shape, shape, sizeof shape);
        printf("%-4d %-*s %-*s %-12s ", i, wn, li.name, wc, li.class_name, shape);
        const fn_trace_stat *s = &t->st[i];
        if (li.executed && s->seen)
            printf("%11.0f %8.3f %10.4g %10.4g %10.4g %10.4g %5.1f%%  <- ", li.macs, s->seconds * 1e3, s->mean,
                   s->std, s->min, s->max, 100 * s->zeros);
        else
            printf("%11s %8s %10s %10s %10s %10s %6s  <- ", "", "", "", "", "", "", "");
        print_inputs(net, &li);
        if (!li.executed)
            printf(li.folded_into ? "  (folded into %s: %s)" : "  (identity at inference)", li.folded_into,
                   t->chain_end[fn_trace_owner(net, i)] == i ? "its output is that row's" : "output not computed");
        else if (t->chain_end[i] != i) {
            fn_layer_info end;
            fn_net_layer_info(net, t->chain_end[i], &end);
            printf("  (computes %s)", end.name);
        }
        if (li.out_scale != 1.0f)
            printf("  (residual scale %g folded in; figures divided by it)", (double)li.out_scale);
        printf("\n");
    }
    if (fused)
        printf("\nfolded: BatchNorm and activations run inside the layer before them; --no-fuse traces every "
               "Keras layer separately\n");
}

static int print_json(const fn_trace *t)
{
    const fn_net *net = t->net;
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(net, i, &li);
        cJSON *o = cJSON_CreateObject(), *ins = cJSON_CreateArray(), *shape = cJSON_CreateArray();
        cJSON_AddNumberToObject(o, "index", i);
        cJSON_AddItemToObject(o, "layer", fn_json_str(li.name));
        cJSON_AddItemToObject(o, "class", fn_json_str(li.class_name));
        cJSON_AddItemToObject(o, "op", fn_json_str(li.op));
        for (int j = 0; j < li.n_inputs; j++) {
            fn_layer_info in;
            fn_net_layer_info(net, li.inputs[j], &in);
            cJSON_AddItemToArray(ins, fn_json_str(in.name));
        }
        cJSON_AddItemToObject(o, "inputs", ins);
        for (int d = 0; d < li.out_shape.rank; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(li.out_shape.d[d]));
        cJSON_AddItemToObject(o, "shape", shape);
        cJSON_AddNumberToObject(o, "params", (double)li.params);
        cJSON_AddNumberToObject(o, "macs", li.macs);
        cJSON_AddBoolToObject(o, "executed", li.executed);
        const fn_trace_stat *s = &t->st[i];
        if (!li.executed) {
            cJSON_AddItemToObject(o, "folded_into", li.folded_into ? fn_json_str(li.folded_into) : cJSON_CreateNull());
        } else if (s->seen) {
            if (t->chain_end[i] != i) {
                fn_layer_info end;
                fn_net_layer_info(net, t->chain_end[i], &end);
                cJSON_AddItemToObject(o, "computes", fn_json_str(end.name));
            }
            if (li.out_scale != 1.0f)
                cJSON_AddNumberToObject(o, "folded_scale", li.out_scale);
            cJSON_AddNumberToObject(o, "ms", s->seconds * 1e3);
            cJSON_AddNumberToObject(o, "mean", s->mean);
            cJSON_AddNumberToObject(o, "std", s->std);
            cJSON_AddNumberToObject(o, "min", s->min);
            cJSON_AddNumberToObject(o, "max", s->max);
            cJSON_AddNumberToObject(o, "zeros", s->zeros);
        }
        if (fn_json_print(o))
            return FN_EXIT_ERROR;
    }
    return FN_EXIT_OK;
}

/* --maps LAYER: the executed layer computing LAYER's Keras output, or -1 after a message. */
static int maps_layer(const fn_trace *t, const char *name, fn_err *err)
{
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(t->net, i, &li);
        if (strcmp(li.name, name))
            continue;
        int e = fn_trace_owner(t->net, i);
        if (e != i && t->chain_end[e] != i)
            return fn_fail(err, FN_E_ARG, "--maps %s: its output is never computed (folded into %s); use --no-fuse",
                           name, li.folded_into ? li.folded_into : "?");
        if (e == i && t->chain_end[e] != i) {
            fn_layer_info end;
            fn_net_layer_info(t->net, t->chain_end[e], &end);
            return fn_fail(err, FN_E_ARG,
                           "--maps %s: its own output is never computed (%s is folded into it): use --maps %s or --no-fuse",
                           name, end.name, end.name);
        }
        fn_net_layer_info(t->net, e, &li);
        if (li.out_shape.rank != 3)
            return fn_fail(err, FN_E_ARG, "--maps %s: output has rank %d, not HxWxC feature maps", name,
                           li.out_shape.rank);
        return e;
    }
    return fn_fail(err, FN_E_NOTFOUND, "--maps %s: no layer of that name (see facenet trace or info --layers)", name);
}

int fn_cmd_trace(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("trace", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    fn_model_args m = a.model;
    const char *raw = fn_cli_str(&a, "raw"), *dump = fn_cli_str(&a, "dump"), *maps = fn_cli_str(&a, "maps");
    const char *out_png = fn_cli_str(&a, "output"), *lm_path = fn_cli_str(&a, "landmarks");
    const char *sv = fn_cli_str(&a, "input-shape"), *img = a.n_pos == 1 ? a.pos[0] : NULL;
    double lm_scale = fn_cli_get_double(&a, "landmark-scale", 1.0);
    int json = fn_cli_flag(&a, "json"), n_pos = a.n_pos, reference = fn_cli_flag(&a, "reference");
    fn_shape shape;
    int have_shape = sv && !fn_cli_parse_shape(sv, &shape);
    fn_err err = {0};
    /* the files before the model: the image (a folder is not one here), --raw, --landmarks */
    int bad = fn_cli_check_inputs(&a, &m, img != NULL) ||
              (img && n_pos == 1 && fn_check_regular(img, &err) && fn_cli_fail_err(&err));
    fn_cli_args_free(&a);
    if (bad)
        return FN_EXIT_ERROR;
    if ((raw != NULL) + n_pos != 1)
        return fn_cli_fail("trace: give one image, or --raw FILE.f32 (see facenet trace --help)");
    if (maps && !out_png)
        return fn_cli_fail("trace: --maps %s needs -o FILE.png (or .svg)", maps);
    if (out_png && !maps)
        return fn_cli_fail("trace: -o is the picture of --maps LAYER; give --maps too");
    if (lm_path && raw)
        return fn_cli_fail("trace: --landmarks applies to an image, not to --raw");

    fn_net *net = NULL;
    fn_landmarks lms = {0};
    fn_trace t = {0};
    float *input = NULL;
    const double *lm = NULL;
    fn_shape in;
    int rc = FN_EXIT_ERROR;
    if (lm_path) {
        if (fn_landmarks_load(lm_path, lm_scale, &lms, &err))
            goto fail;
        if (!(lm = fn_cli_find_landmarks(&lms, img))) {
            fn_fail(&err, FN_E_NOTFOUND, "%s: no landmarks for it in %s", img, lm_path);
            goto fail;
        }
    }
    if (fn_cli_load_model(&m, &net, &err) ||
        prepare_input(&m, net, img, raw, lm, have_shape ? &shape : NULL, &in, &input, &err) ||
        fn_net_plan(net, 1, &in, &err) || fn_trace_init(&t, net, &err) ||
        (dump && fn_trace_dump_prepare(&t, dump, &err)))
        goto fail;
    if (maps && (t.maps_layer = maps_layer(&t, maps, &err)) < 0)
        goto fail;
    if (fn_net_set_reference(net, reference, &err))
        goto fail;
    fn_net_set_observer(net, fn_trace_observe, &t);
    if (fn_net_run(net, input, 1, &in, &err)) {
        if (t.err.msg[0])
            err = t.err;
        goto fail;
    }
    if (dump && fn_trace_dump_index(&t, raw ? raw : img, &err))
        goto fail;
    if (maps) {
        fn_layer_info li, named;
        fn_net_layer_info(net, t.maps_layer, &li);
        for (int i = 0; i < t.n_layers; i++)
            if (!fn_net_layer_info(net, i, &named) && !strcmp(named.name, maps))
                break;
        char title[600], sub[4400], sh[64];
        const char *src = raw ? raw : img, *base = strrchr(src, '/');
        fn_shape_str(&li.out_shape, sh, sizeof sh);
        snprintf(title, sizeof title, "%s (%s, %s)", maps, named.class_name, sh);
        snprintf(sub, sizeof sub, "input %s; each map scaled to its own min (black) .. max (white)",
                 base ? base + 1 : src);
        const int *d = li.out_shape.d;
        fn_shape decl = fn_net_input_shape(net);
        if (decl.rank == 3 && decl.d[0] == 3 && decl.d[2] != 3) { /* a channels-first model: CHW -> HWC */
            float *hwc = malloc(sizeof(float) * fn_shape_count(&li.out_shape));
            if (!hwc) {
                fn_fail(&err, FN_E_NOMEM, "out of memory");
                goto fail;
            }
            for (int c = 0; c < d[0]; c++)
                for (int p = 0; p < d[1] * d[2]; p++)
                    hwc[(size_t)p * d[0] + c] = t.maps[(size_t)c * d[1] * d[2] + p];
            rc = fn_draw_maps(out_png, hwc, d[1], d[2], d[0], title, sub, &err);
            free(hwc);
        } else {
            rc = fn_draw_maps(out_png, t.maps, d[0], d[1], d[2], title, sub, &err);
        }
        if (rc)
            goto fail;
    }
    if (json) {
        rc = print_json(&t);
    } else {
        char buf[64];
        fn_shape_str(&in, buf, sizeof buf);
        double total = 0;
        for (int i = 0; i < t.n_layers; i++)
            total += t.st[i].seconds;
        printf("input:   %s as %s\nmodel:   %s, %d layers, %.0f MACs, %.2f ms in the layers (%d thread%s)\n\n",
               raw ? raw : img, buf, fn_net_source(net), t.n_layers, fn_net_macs(net), total * 1e3,
               fn_net_threads(net), fn_net_threads(net) == 1 ? "" : "s");
        print_table(&t, !m.no_fuse);
        rc = FN_EXIT_OK;
    }
    goto done;
fail:
    rc = fn_cli_fail_err(&err);
done:
    fn_trace_free(&t);
    free(input);
    fn_net_free(net);
    fn_landmarks_free(&lms);
    return rc;
}
