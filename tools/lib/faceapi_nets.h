/* faceapi_nets.h - face-api's detection and landmark networks as Keras graphs
 * (tools/faceapi_nets2keras; docs/detection.md).  faceapi_nets.c holds the layer
 * helpers and the tiny-detector and landmark graphs, faceapi_ssd.c the SSD graph. */
#ifndef FN_FACEAPI_NETS_H
#define FN_FACEAPI_NETS_H

#include "core/error.h"
#include "keras_graph.h"
#include "tfjs_manifest.h"

typedef struct {
    const fn_tfjs_weights *w;
    const char *mpath;  /* the manifest, for messages */
    char *used;         /* per manifest tensor: read by the graph */
    kg_model *m;
    fn_err *err;
} cv;

/* The manifest tensor `name`: float32, the given shape (dims < 0: any), finite values;
 * marks it used.  NULL (error set) otherwise. */
const fn_tfjs_tensor *fa_get(cv *C, const char *name, int rank, const long long *dims);
int fa_out_size(int in, int k, int s, int same);
kg_layer *fa_add(cv *C, const char *cls, const char *name, cJSON *cfg, const char *in);
kg_layer *fa_src(cv *C, const char *name);
int fa_weight(cv *C, kg_layer *L, const char *wname, const fn_tfjs_tensor *t);
/* Conv2D from <prefix>/<fname> (kh,kw,cin,cout) and <prefix>/<bname>; act: Keras name. */
int fa_conv(cv *C, const char *name, const char *in, const char *prefix, const char *fname, const char *bname,
            int stride, const char *pad, const char *act);
/* SeparableConv2D 3x3 'same' from <prefix>/depthwise_filter, pointwise_filter, bias. */
int fa_sep(cv *C, const char *name, const char *in, const char *prefix, int stride, const char *act);
/* kind "relu6" -> ReLU(max_value 6), "leaky" -> LeakyReLU(alpha 0.1), else Activation(kind). */
int fa_act(cv *C, const char *kind, const char *name, const char *in);
int fa_pool(cv *C, const char *cls, const char *name, const char *in, int k, int s, const char *pad);
int fa_input(cv *C, int size);

int fa_build_ssd(cv *C);
int fa_build_tiny(cv *C);
int fa_build_landmarks(cv *C, int tiny);

/* SSD only: the anchors ('Output/extra_dim', [1, 5118, 4]) after fa_build_ssd. */
const fn_tfjs_tensor *fa_ssd_anchors(cv *C);

#endif
