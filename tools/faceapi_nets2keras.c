/* faceapi_nets2keras.c - convert face-api's detection and landmark networks (npm
 * @vladmandic/face-api 1.7.15) into standard Keras files the generic engine runs:
 *
 *     faceapi_nets2keras NET MANIFEST OUTDIR
 *
 *   NET       ssd-mobilenetv1 | tiny-face-detector | face-landmark-68 | face-landmark-68-tiny
 *   MANIFEST  face-api's model/<net>-weights_manifest.json (its .bin beside it)
 *   OUTDIR    receives model.json, model.h5, facenet.json (the input preprocessing, in
 *             the profile format of src/app/profile.h), detector.json (what the
 *             post-processing needs: output layout, anchors, thresholds) and, for the
 *             SSD, anchors.f32 (5118 x [ymin, xmin, ymax, xmax], float32 little-endian);
 *             all of them or none (tools/lib/outfiles.h)
 *
 * The graphs (tools/lib/faceapi_nets.c, faceapi_ssd.c) follow face-api's src/ exactly
 * and end where face-api's nets end; docs/detection.md maps every face-api tensor to
 * its Keras layer.  Every manifest tensor must be used by the graph (or be one of the
 * SSD's checked constants): anything else is an error naming the tensor. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "lib/faceapi_nets.h"
#include "lib/outfiles.h"

static const char *const NETS[] = {"ssd-mobilenetv1", "tiny-face-detector", "face-landmark-68",
                                   "face-landmark-68-tiny"};

static cJSON *doubles(const double *v, int n)
{
    return cJSON_CreateDoubleArray(v, n);
}

/* facenet.json: the input as face-api prepares it (NetInput.toBatchTensor + normalise). */
static char *profile_json(int net)
{
    static const double tiny_mean[3] = {117.001, 114.697, 97.404}, lm_mean[3] = {122.782, 117.001, 104.298};
    cJSON *root = cJSON_CreateObject();
    int size = net == 0 ? 512 : net == 1 ? 416 : 112;
    cJSON_AddItemToObject(root, "input_size", cJSON_CreateIntArray((int[]){size, size}, 2));
    cJSON_AddStringToObject(root, "resize", "bilinear");
    cJSON_AddStringToObject(root, "pad_to_square", net <= 1 ? "end" : "center");
    if (net == 0) { /* x / 127.5 - 1 = (x - 127.5) / 127.5 (up to float rounding) */
        cJSON_AddNumberToObject(root, "mean", 127.5);
        cJSON_AddNumberToObject(root, "std", 127.5);
    } else {
        cJSON_AddItemToObject(root, "mean", doubles(net == 1 ? tiny_mean : lm_mean, 3));
        cJSON_AddNumberToObject(root, "std", 255);
    }
    cJSON_AddStringToObject(root, "channel_order", "rgb");
    cJSON_AddBoolToObject(root, "l2_normalize", 0);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* One model output: {"layer", "shape", "layout"}. */
static void add_output(cJSON *outs, const char *key, const char *layer, const int *shape, int rank, const char *layout)
{
    cJSON *o = cJSON_AddObjectToObject(outs, key);
    cJSON_AddStringToObject(o, "layer", layer);
    cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray(shape, rank));
    cJSON_AddStringToObject(o, "layout", layout);
}

/* detector.json: what face-api's post-processing needs (fields: docs/detection.md). */
static char *detector_json(int net)
{
    cJSON *root = cJSON_CreateObject(), *o;
    cJSON_AddStringToObject(root, "source", "@vladmandic/face-api 1.7.15");
    cJSON_AddStringToObject(root, "net", NETS[net]);
    cJSON_AddStringToObject(root, "kind", net == 0 ? "ssd" : net == 1 ? "tiny_yolov2" : "landmarks68");
    cJSON_AddNumberToObject(root, "input_size", net == 0 ? 512 : net == 1 ? 416 : 112);
    cJSON *outs = cJSON_AddObjectToObject(root, "outputs");
    switch (net) {
    case 0:
        add_output(outs, "box_encodings", "box_encodings", (int[]){5118, 4}, 2, "ty, tx, th, tw per anchor");
        add_output(outs, "class_logits", "class_predictions", (int[]){5118, 3}, 2,
                   "logits per anchor; score = sigmoid(logit[score_class])");
        o = cJSON_AddObjectToObject(root, "anchors");
        cJSON_AddStringToObject(o, "file", "anchors.f32");
        cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray((int[]){5118, 4}, 2));
        cJSON_AddStringToObject(o, "dtype", "float32-le");
        cJSON_AddStringToObject(o, "layout", "ymin, xmin, ymax, xmax relative to the padded square input");
        cJSON_AddItemToObject(root, "box_scales", doubles((double[]){10, 10, 5, 5}, 4));
        cJSON_AddNumberToObject(root, "score_class", 1);
        cJSON_AddNumberToObject(root, "min_confidence", 0.5);
        cJSON_AddNumberToObject(root, "iou_threshold", 0.5);
        cJSON_AddNumberToObject(root, "max_results", 100);
        cJSON_AddStringToObject(root, "nms", "src/ssdMobilenetv1/nonMaxSuppression.ts");
        break;
    case 1: {
        static const double anchors[5][2] = {{1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061},
                                             {4.266906, 5.178857}, {9.041765, 10.66308}};
        add_output(outs, "grid", "conv8", (int[]){13, 13, 25}, 3,
                   "per cell (row, col): 5 anchors x (tx, ty, tw, th, score logit)");
        cJSON_AddNumberToObject(root, "box_encoding_size", 5);
        cJSON *a = cJSON_AddArrayToObject(root, "anchors");
        for (int i = 0; i < 5; i++)
            cJSON_AddItemToArray(a, doubles(anchors[i], 2));
        cJSON_AddNumberToObject(root, "score_threshold", 0.5);
        cJSON_AddNumberToObject(root, "iou_threshold", 0.4);
        cJSON_AddStringToObject(root, "nms", "src/ops/nonMaxSuppression.ts");
        break;
    }
    default:
        add_output(outs, "landmarks", "fc", (int[]){136}, 1,
                   "x0, y0, x1, y1, ... (68 points) relative to the padded 112x112 square");
        cJSON_AddNumberToObject(root, "points", 68);
        cJSON_AddStringToObject(root, "postprocess", "src/faceLandmarkNet/FaceLandmark68NetBase.ts postProcess");
        break;
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

/* Stage text exactly (these nets' JSON files have never ended in a newline) and free it. */
static int stage_text(fn_outfiles *o, const char *name, char *text, fn_err *err)
{
    int rc = text ? fn_outfiles_bytes(o, name, text, strlen(text), err) : fn_fail(err, FN_E_NOMEM, "out of memory");
    cJSON_free(text);
    return rc;
}

/* outdir/model.json, model.h5, facenet.json, detector.json (+ anchors.f32): all or none. */
static int write_outputs(cv *C, int net, const char *outdir, fn_err *err)
{
    fn_outfiles o;
    int rc = fn_outfiles_open(&o, outdir, err) || stage_text(&o, "model.json", kg_model_json(C->m), err) ||
             kg_stage_h5(C->m, &o, err) || stage_text(&o, "facenet.json", profile_json(net), err) ||
             stage_text(&o, "detector.json", detector_json(net), err);
    if (!rc && net == 0) {
        const fn_tfjs_tensor *a = fa_ssd_anchors(C); /* float32 values are little-endian on our targets */
        rc = !a || fn_outfiles_bytes(&o, "anchors.f32", a->data, a->count * sizeof(float), err);
    }
    rc = rc || fn_outfiles_commit(&o, err) ? -1 : 0;
    fn_outfiles_close(&o);
    return rc;
}

static int convert(int net, const fn_tfjs_weights *w, const char *mpath, const char *outdir, fn_err *err)
{
    cv C = {.w = w, .mpath = mpath, .used = calloc((size_t)w->n + 1, 1), .m = kg_new(NETS[net]), .err = err};
    int rc = -1;
    if (!C.used || !C.m) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        goto out;
    }
    if (net == 0 ? fa_build_ssd(&C) : net == 1 ? fa_build_tiny(&C) : fa_build_landmarks(&C, net == 3))
        goto out;
    for (int i = 0; i < w->n; i++)
        if (!C.used[i]) {
            fn_fail(err, FN_E_FORMAT, "%s: unexpected tensor '%s' (not part of face-api's %s)", mpath, w->t[i].name,
                    NETS[net]);
            goto out;
        }
    rc = write_outputs(&C, net, outdir, err);
out:
    free(C.used);
    kg_free(C.m);
    return rc;
}

int main(int argc, char **argv)
{
    fn_err err;
    fn_err_clear(&err);
    fn_tfjs_limits lim = {0, 0, 0};
    int op = fn_tfjs_limit_args(argc, argv, &lim, &err), net = -1;
    if (op < 0) {
        fn_tfjs_print_err("faceapi_nets2keras", &err);
        return 2;
    }
    for (int i = 0; argc - op == 3 && i < 4; i++)
        if (!strcmp(argv[op], NETS[i]))
            net = i;
    if (net < 0) {
        fprintf(stderr, "usage: faceapi_nets2keras [--limit NAME=N]... NET MANIFEST OUTDIR\n"
                        "  NET       ssd-mobilenetv1 | tiny-face-detector | face-landmark-68 | face-landmark-68-tiny\n"
                        "  MANIFEST  face-api's model/<net>-weights_manifest.json (its .bin beside it)\n"
                        "  OUTDIR    receives model.json, model.h5, facenet.json, detector.json (+ anchors.f32)\n"
                        "  --limit   json-bytes (default 64M), json-values (1000000) of the manifest,\n"
                        "            weight-bytes (1G) of its shards together\n");
        return 2;
    }
    const char *manifest = argv[op + 1], *outdir = argv[op + 2];
    fn_tfjs_weights w;
    if (fn_tfjs_load_limits(manifest, &lim, &w, &err)) {
        fn_tfjs_print_err("faceapi_nets2keras", &err);
        return 1;
    }
    int rc = convert(net, &w, manifest, outdir, &err) ? 1 : 0;
    if (rc)
        fprintf(stderr, "faceapi_nets2keras: %s\n", err.msg);
    else
        printf("faceapi_nets2keras: %s -> %s (%d tensors)\n", manifest, outdir, w.n);
    fn_tfjs_free(&w);
    return rc;
}
