/* keras2onnx.c - convert a Keras model the engine can run to ONNX (opset 13), so it
 * runs in ONNX Runtime and other runtimes, with the same weights and the same outputs.
 *
 *   keras2onnx [--model-json model.json] --weights model.h5 -o model.onnx [--batch N|dynamic]
 *
 * Without --model-json the config is read from the weights file (model.save()).  The
 * ONNX graph takes and returns tensors in Keras' layout (NHWC images for FaceNet) with
 * a symbolic batch "N" unless --batch fixes it.  The written file is read back and
 * checked (every node input defined before use, initializer sizes) before the summary
 * is printed.  Exit status 0, or 2 with one line naming the file and layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/lib/keras_onnx.h"

static int usage(void)
{
    fprintf(stderr, "usage: keras2onnx [--model-json FILE] --weights FILE.h5 -o OUT.onnx [--batch N|dynamic]\n");
    return 2;
}

int main(int argc, char **argv)
{
    fn_k2o_opts o = {0};
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        if (!strcmp(argv[i], "--model-json")) {
            o.model_json = argv[++i];
        } else if (!strcmp(argv[i], "--weights")) {
            o.weights = argv[++i];
        } else if (!strcmp(argv[i], "-o")) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--batch")) {
            const char *b = argv[++i];
            char *end;
            long v = strtol(b, &end, 10);
            if (!strcmp(b, "dynamic"))
                o.batch = 0;
            else if (*end || v < 1 || v > 1 << 20)
                return usage();
            else
                o.batch = (int)v;
        } else {
            return usage();
        }
    }
    if (!o.weights || !out)
        return usage();
    fn_err err = {0};
    fn_k2o_result r;
    fn_onnx_summary s = {0};
    if (fn_keras_to_onnx(&o, out, &r, &err) || fn_onnx_read(out, &s, &err)) {
        fprintf(stderr, "keras2onnx: %s\n", err.msg);
        return 2;
    }
    printf("%s: opset %lld, %d layers -> %d nodes (%d layout Transposes), %d initializers, "
           "%zu weight values (engine: %zu) + %zu added constants, batch %s\n",
           out, s.opset, r.n_layers, s.n.nodes, r.transposes, s.n.initializers, r.keras_values, r.engine_params,
           s.n.values - r.keras_values, o.batch ? "fixed" : "dynamic");
    return 0;
}
