/* openface2keras.c - convert the course's OpenFace nn4.small2 weights (a folder of CSV
 * files exported from the Torch model) into Keras 2.4 files the generic engine loads:
 *
 *     openface2keras CSV_DIR OUT_DIR
 *
 * writes OUT_DIR/model.json (the course's faceRecoModel((3, 96, 96)), channels_first,
 * with its layer names), OUT_DIR/model.h5 (model.save_weights() layout) and
 * OUT_DIR/facenet.json (96x96, /255, RGB, threshold 0.7, output already normalised).
 * Every CSV file is read and checked before anything is written; the three outputs
 * appear together or not at all.
 *
 * The network, as the course's inception_blocks_v2.py and fr_utils.py build it
 * (tensors (C, H, W) per image; ZeroPadding2D always after the ReLU):
 *   ZeroPadding2D(3) -> conv1 7x7/2 (64) -> bn1 (eps 1e-3) -> relu -> pad 1 -> maxpool 3/2
 *   -> conv2 1x1 (64) -> bn2 -> relu -> pad 1 -> conv3 3x3 (192) -> bn3 -> relu -> pad 1
 *   -> maxpool 3/2 -> inception 3a 3b 3c 4a 4e 5a 5b -> avgpool 3/1 -> flatten
 *   -> dense_layer (128) -> Lambda l2_normalize(axis=1)
 * Each block concatenates (axis 1) its branches in the order 3x3, 5x5, pool, 1x1; a
 * branch is conv2d_bn() of fr_utils.py: <b>_conv1 1x1 -> <b>_bn1 -> relu -> pad ->
 * <b>_conv2 kxk/s -> <b>_bn2 -> relu (or, without a second conv, <b>_conv -> <b>_bn ->
 * relu -> optional pad).  Every BatchNormalization but bn1 has epsilon 1e-5.  Unnamed
 * layers get the names of the Keras summary in ../shared/models/openface-nn4small2/
 * layers.txt (zero_padding2d_N, activation_N, ...).
 *
 * Weights (fr_utils.load_weights): <conv>_w.csv holds the Torch kernel (O, I, kh, kw),
 * stored transposed (2, 3, 1, 0) as Keras' HWIO kernel; <conv>_b.csv the bias;
 * <bn>_w|b|m|v.csv gamma, beta, moving mean, moving variance; dense_w.csv a (128, 736)
 * matrix stored transposed as the (736, 128) kernel; dense_b.csv the bias.  Other files
 * in the folder (the two stray inception_5a_3x3_conv2_m/v.csv) are ignored, as the
 * course's loader ignores them.
 */
#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "lib/csv_floats.h"
#include "lib/keras_graph.h"

#define INPUT_SIZE 96
#define EMBEDDING 128
#define MAX_LAYERS 192
#define NAME_LEN 48
#define MAX_IN 4

/* `lambda x: K.l2_normalize(x, axis=1)` marshalled by CPython 3.7 (Keras stores the
 * lambda's bytecode; the engine recognises it, never runs it).  The same string is a
 * fixture of tests/test_lambda.c ("l2_kw1"). */
static const char L2_LAMBDA_B64[] =
    "4wEAAAAAAAAAAQAAAAQAAABDAAAAcw4AAAB0AGoBfABkAWQCjQJTACkDTukBAAAAKQFaBGF4aXMpAtoBS1oMbDJf"
    "bm9ybWFsaXplKQHaAXipAHIEAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA=";

typedef enum { K_INPUT, K_ZEROPAD, K_CONV, K_BN, K_RELU, K_MAXPOOL, K_AVGPOOL, K_CONCAT, K_FLATTEN,
               K_DENSE, K_LAMBDA } kind;

static const char *const CLASS[] = {"InputLayer", "ZeroPadding2D", "Conv2D", "BatchNormalization",
                                    "Activation", "MaxPooling2D", "AveragePooling2D", "Concatenate",
                                    "Flatten", "Dense", "Lambda"};

typedef struct {
    kind k;
    char name[NAME_LEN];
    int n_in, in[MAX_IN];   /* producer layer indices */
    int c, h, w;            /* output shape per image, channels first */
    int units, ksize, stride; /* Conv2D filters / Dense units; window and stride */
    int pad[4];             /* ZeroPadding2D: top, bottom, left, right */
    double eps;             /* BatchNormalization */
    int n_w;                /* weights, Keras layout (owned) */
    float *wt[4];
    size_t w_count[4];
} layer;

typedef struct {
    layer L[MAX_LAYERS];
    int n;
    int auto_id[K_LAMBDA + 1]; /* Keras' per-class counters for unnamed layers */
} net;

/* ---- the architecture (inception_blocks_v2.py, fr_utils.conv2d_bn) ------------------- */

/* Append a layer reading x (-1: none); units = Conv2D filters or Dense units, ksize and
 * stride for convolutions and pooling ('valid' everywhere in this model).  The layer
 * list is fixed, so running out of room is a programming error. */
static int add(net *N, kind k, const char *name, int x, int units, int ksize, int stride)
{
    static const char *const auto_name[] = {"input", "zero_padding2d", "conv2d", "batch_normalization",
                                            "activation", "max_pooling2d", "average_pooling2d",
                                            "concatenate", "flatten", "dense", "lambda"};
    assert(N->n < MAX_LAYERS);
    layer *L = &N->L[N->n];
    memset(L, 0, sizeof *L);
    L->k = k;
    if (name)
        snprintf(L->name, sizeof L->name, "%s", name);
    else
        snprintf(L->name, sizeof L->name, "%s_%d", auto_name[k], ++N->auto_id[k]);
    if (x >= 0) {
        L->n_in = 1, L->in[0] = x;
        L->c = N->L[x].c, L->h = N->L[x].h, L->w = N->L[x].w;
    }
    L->units = units, L->ksize = ksize, L->stride = stride;
    if (k == K_CONV || k == K_MAXPOOL || k == K_AVGPOOL)
        L->h = (L->h - ksize) / stride + 1, L->w = (L->w - ksize) / stride + 1;
    if (k == K_CONV || k == K_DENSE)
        L->c = units;
    return N->n++;
}

static int bn(net *N, int x, const char *name, double eps)
{
    int i = add(N, K_BN, name, x, 0, 0, 0);
    N->L[i].eps = eps;
    return i;
}

static int zeropad(net *N, int x, int t, int b, int l, int r)
{
    int i = add(N, K_ZEROPAD, NULL, x, 0, 0, 0);
    layer *L = &N->L[i];
    L->pad[0] = t, L->pad[1] = b, L->pad[2] = l, L->pad[3] = r;
    L->h += t + b, L->w += l + r;
    return i;
}

static int concat(net *N, int n, const int *xs)
{
    int i = add(N, K_CONCAT, NULL, xs[0], 0, 0, 0);
    layer *L = &N->L[i];
    L->n_in = n;
    for (int j = 1; j < n; j++) {
        L->in[j] = xs[j];
        assert(N->L[xs[j]].h == L->h && N->L[xs[j]].w == L->w);
        L->c += N->L[xs[j]].c;
    }
    return i;
}

#define conv(x, name, filters, k, s) add(N, K_CONV, name, x, filters, k, s)
#define relu(x) add(N, K_RELU, NULL, x, 0, 0, 0)
#define pool(x, kind, k, s) add(N, kind, NULL, x, 0, k, s)

/* fr_utils.conv2d_bn: 1x1 conv (+ bn, relu), then optionally pad (t, b, l, r all = pad,
 * or pad < 0 for none) and a k x k / s conv (+ bn, relu) when cv2_out > 0. */
static int conv2d_bn(net *N, int x, const char *blk, int cv1_out, int cv2_out, int k, int s, int pad)
{
    char c1[NAME_LEN], b1[NAME_LEN], c2[NAME_LEN], b2[NAME_LEN];
    const char *num = cv2_out ? "1" : "";
    snprintf(c1, sizeof c1, "%s_conv%s", blk, num);
    snprintf(b1, sizeof b1, "%s_bn%s", blk, num);
    snprintf(c2, sizeof c2, "%s_conv2", blk);
    snprintf(b2, sizeof b2, "%s_bn2", blk);
    int t = relu(bn(N, conv(x, c1, cv1_out, 1, 1), b1, 1e-5));
    if (pad < 0)
        return t;
    t = zeropad(N, t, pad, pad, pad, pad);
    if (!cv2_out)
        return t;
    return relu(bn(N, conv(t, c2, cv2_out, k, s), b2, 1e-5));
}

static void build(net *N)
{
    int x = add(N, K_INPUT, "input_1", -1, 0, 0, 0);
    N->L[x].c = 3, N->L[x].h = N->L[x].w = INPUT_SIZE;
    x = zeropad(N, x, 3, 3, 3, 3);
    x = relu(bn(N, conv(x, "conv1", 64, 7, 2), "bn1", 1e-3));
    x = pool(zeropad(N, x, 1, 1, 1, 1), K_MAXPOOL, 3, 2);
    x = relu(bn(N, conv(x, "conv2", 64, 1, 1), "bn2", 1e-5));
    x = zeropad(N, x, 1, 1, 1, 1);
    x = relu(bn(N, conv(x, "conv3", 192, 3, 1), "bn3", 1e-5));
    x = pool(zeropad(N, x, 1, 1, 1, 1), K_MAXPOOL, 3, 2);
    int b[4];
    /* 3a */
    b[0] = conv2d_bn(N, x, "inception_3a_3x3", 96, 128, 3, 1, 1);
    b[1] = conv2d_bn(N, x, "inception_3a_5x5", 16, 32, 5, 1, 2);
    b[2] = conv2d_bn(N, pool(x, K_MAXPOOL, 3, 2), "inception_3a_pool", 32, 0, 0, 0, -1);
    b[2] = zeropad(N, b[2], 3, 4, 3, 4);
    b[3] = conv2d_bn(N, x, "inception_3a_1x1", 64, 0, 0, 0, -1);
    x = concat(N, 4, b);
    /* 3b */
    b[0] = conv2d_bn(N, x, "inception_3b_3x3", 96, 128, 3, 1, 1);
    b[1] = conv2d_bn(N, x, "inception_3b_5x5", 32, 64, 5, 1, 2);
    b[2] = conv2d_bn(N, pool(x, K_AVGPOOL, 3, 3), "inception_3b_pool", 64, 0, 0, 0, 4);
    b[3] = conv2d_bn(N, x, "inception_3b_1x1", 64, 0, 0, 0, -1);
    x = concat(N, 4, b);
    /* 3c */
    b[0] = conv2d_bn(N, x, "inception_3c_3x3", 128, 256, 3, 2, 1);
    b[1] = conv2d_bn(N, x, "inception_3c_5x5", 32, 64, 5, 2, 2);
    b[2] = zeropad(N, pool(x, K_MAXPOOL, 3, 2), 0, 1, 0, 1);
    x = concat(N, 3, b);
    /* 4a */
    b[0] = conv2d_bn(N, x, "inception_4a_3x3", 96, 192, 3, 1, 1);
    b[1] = conv2d_bn(N, x, "inception_4a_5x5", 32, 64, 5, 1, 2);
    b[2] = conv2d_bn(N, pool(x, K_AVGPOOL, 3, 3), "inception_4a_pool", 128, 0, 0, 0, 2);
    b[3] = conv2d_bn(N, x, "inception_4a_1x1", 256, 0, 0, 0, -1);
    x = concat(N, 4, b);
    /* 4e */
    b[0] = conv2d_bn(N, x, "inception_4e_3x3", 160, 256, 3, 2, 1);
    b[1] = conv2d_bn(N, x, "inception_4e_5x5", 64, 128, 5, 2, 2);
    b[2] = zeropad(N, pool(x, K_MAXPOOL, 3, 2), 0, 1, 0, 1);
    x = concat(N, 3, b);
    /* 5a */
    b[0] = conv2d_bn(N, x, "inception_5a_3x3", 96, 384, 3, 1, 1);
    b[1] = conv2d_bn(N, pool(x, K_AVGPOOL, 3, 3), "inception_5a_pool", 96, 0, 0, 0, 1);
    b[2] = conv2d_bn(N, x, "inception_5a_1x1", 256, 0, 0, 0, -1);
    x = concat(N, 3, b);
    /* 5b */
    b[0] = conv2d_bn(N, x, "inception_5b_3x3", 96, 384, 3, 1, 1);
    b[1] = conv2d_bn(N, pool(x, K_MAXPOOL, 3, 2), "inception_5b_pool", 96, 0, 0, 0, -1);
    b[1] = zeropad(N, b[1], 1, 1, 1, 1);
    b[2] = conv2d_bn(N, x, "inception_5b_1x1", 256, 0, 0, 0, -1);
    x = concat(N, 3, b);
    /* top */
    x = add(N, K_FLATTEN, "flatten", pool(x, K_AVGPOOL, 3, 1), 0, 0, 0);
    N->L[x].c *= N->L[x].h * N->L[x].w;
    N->L[x].h = N->L[x].w = 1;
    x = add(N, K_DENSE, "dense_layer", x, EMBEDDING, 0, 0);
    add(N, K_LAMBDA, "lambda", x, 0, 0, 0);
}

/* ---- weights: CSV (Torch layouts) -> Keras layouts ------------------------------------ */

static int load_csv(const char *dir, const char *file, const char *what, size_t count, float **out,
                    fn_err *err)
{
    size_t len = strlen(dir) + strlen(file) + 2;
    char *path = malloc(len);
    if (!path)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    snprintf(path, len, "%s/%s", dir, file);
    int rc = fn_csv_read_floats(path, count, out, err);
    free(path);
    return rc ? fn_wrap(err, "%s: ", what) : 0;
}

/* Conv2D: <name>_w.csv (O, I, k, k) -> kernel (k, k, I, O), np.transpose (2, 3, 1, 0);
 * Dense: dense_w.csv (128, 736) -> kernel (736, 128), the same transpose with k = 1.
 * Then the bias.  BatchNormalization: <name>_w|b|m|v.csv as they are. */
static int load_layer(layer *L, const layer *src, const char *dir, fn_err *err)
{
    char file[NAME_LEN + 8], what[160];
    if (L->k == K_BN) {
        static const char suffix[4] = {'w', 'b', 'm', 'v'};
        static const char *const role[4] = {"gamma", "beta", "moving mean", "moving variance"};
        for (int k = 0; k < 4; k++) {
            snprintf(file, sizeof file, "%s_%c.csv", L->name, suffix[k]);
            snprintf(what, sizeof what, "layer %s %s (%d values)", L->name, role[k], L->c);
            L->w_count[k] = (size_t)L->c;
            L->n_w = k + 1;
            if (load_csv(dir, file, what, (size_t)L->c, &L->wt[k], err))
                return -1;
        }
        return 0;
    }
    if (L->k != K_CONV && L->k != K_DENSE)
        return 0;
    const char *stem = L->k == K_DENSE ? "dense" : L->name;
    const int O = L->units, I = src->c, K = L->k == K_DENSE ? 1 : L->ksize;
    const size_t n = (size_t)O * I * K * K;
    float *oihw;
    snprintf(file, sizeof file, "%s_w.csv", stem);
    if (L->k == K_DENSE)
        snprintf(what, sizeof what, "layer %s kernel (%dx%d, stored transposed)", L->name, O, I);
    else
        snprintf(what, sizeof what, "layer %s kernel (Torch OIHW %dx%dx%dx%d)", L->name, O, I, K, K);
    if (load_csv(dir, file, what, n, &oihw, err))
        return -1;
    L->wt[0] = malloc(sizeof(float) * n);
    if (!L->wt[0]) {
        free(oihw);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int y = 0; y < K; y++)
                for (int x = 0; x < K; x++)
                    L->wt[0][(((size_t)y * K + x) * I + i) * O + o] = oihw[(((size_t)o * I + i) * K + y) * K + x];
    free(oihw);
    L->w_count[0] = n;
    L->w_count[1] = (size_t)O;
    L->n_w = 2;
    snprintf(file, sizeof file, "%s_b.csv", stem);
    snprintf(what, sizeof what, "layer %s bias (%d values)", L->name, O);
    return load_csv(dir, file, what, (size_t)O, &L->wt[1], err);
}

static void net_free(net *N)
{
    for (int i = 0; i < N->n; i++)
        for (int k = 0; k < 4; k++)
            free(N->L[i].wt[k]);
    N->n = 0;
}

/* ---- the Keras model (tools/lib/keras_graph) ------------------------------------------- */

/* BatchNormalization(axis=1, epsilon=eps) as Keras 2.4 get_config writes it. */
static int bn_config(cJSON *cfg, double eps)
{
    static const char *const nulls[] = {"beta_regularizer", "gamma_regularizer", "beta_constraint",
                                        "gamma_constraint", NULL};
    int axis = 1;
    int bad = !cJSON_AddItemToObject(cfg, "axis", cJSON_CreateIntArray(&axis, 1));
    bad |= !cJSON_AddNumberToObject(cfg, "momentum", 0.99);
    bad |= !cJSON_AddNumberToObject(cfg, "epsilon", eps);
    bad |= !cJSON_AddBoolToObject(cfg, "center", 1);
    bad |= !cJSON_AddBoolToObject(cfg, "scale", 1);
    bad |= kg_initializer(cfg, "beta_initializer", "Zeros", 0);
    bad |= kg_initializer(cfg, "gamma_initializer", "Ones", 0);
    bad |= kg_initializer(cfg, "moving_mean_initializer", "Zeros", 0);
    bad |= kg_initializer(cfg, "moving_variance_initializer", "Ones", 0);
    bad |= kg_nulls(cfg, nulls);
    return bad ? -1 : 0;
}

/* Lambda(lambda x: K.l2_normalize(x, axis=1)) as Keras 2.4 serialises it. */
static int lambda_config(cJSON *cfg)
{
    cJSON *fn = cJSON_AddArrayToObject(cfg, "function");
    int bad = !cJSON_AddItemToArray(fn, cJSON_CreateString(L2_LAMBDA_B64));
    bad |= !cJSON_AddItemToArray(fn, cJSON_CreateNull());
    bad |= !cJSON_AddItemToArray(fn, cJSON_CreateNull());
    bad |= !cJSON_AddStringToObject(cfg, "function_type", "lambda");
    bad |= !cJSON_AddStringToObject(cfg, "module", "inception_blocks_v2");
    bad |= !cJSON_AddNullToObject(cfg, "output_shape");
    bad |= !cJSON_AddStringToObject(cfg, "output_shape_type", "raw");
    bad |= !cJSON_AddNullToObject(cfg, "output_shape_module");
    bad |= !cJSON_AddObjectToObject(cfg, "arguments");
    return bad ? -1 : 0;
}

/* The class-specific part of a layer's config, channels first. */
static int layer_config(const layer *L, cJSON *cfg)
{
    switch (L->k) {
    case K_ZEROPAD:
        return kg_zeropad2d_config(cfg, L->pad[0], L->pad[1], L->pad[2], L->pad[3], KG_CF);
    case K_CONV:
        return kg_conv2d_config(cfg, L->units, L->ksize, L->ksize, L->stride, L->stride, "valid", KG_CF, "linear", 1);
    case K_BN:
        return bn_config(cfg, L->eps);
    case K_RELU:
        return kg_activation_config(cfg, "relu");
    case K_MAXPOOL:
    case K_AVGPOOL:
        return kg_pool2d_config(cfg, L->ksize, L->ksize, L->stride, L->stride, "valid", KG_CF);
    case K_CONCAT:
        return cJSON_AddNumberToObject(cfg, "axis", 1) ? 0 : -1;
    case K_FLATTEN:
        return kg_data_format_config(cfg, KG_CF);
    case K_DENSE:
        return kg_dense_config(cfg, L->units, "linear", 1);
    case K_LAMBDA:
        return lambda_config(cfg);
    case K_INPUT:
        break;
    }
    return 0;
}

/* Hand layer L's weights (Keras layouts already) over to K. */
static int move_weights(layer *L, const layer *src, kg_layer *K, fn_err *err)
{
    static const char *const conv_w[] = {"kernel:0", "bias:0"};
    static const char *const bn_w[] = {"gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"};
    for (int k = 0; k < L->n_w; k++) {
        long long dims[4] = {(long long)L->w_count[k]};
        int rank = 1;
        if (k == 0 && L->k == K_CONV)
            rank = 4, dims[0] = dims[1] = L->ksize, dims[2] = src->c, dims[3] = L->units;
        else if (k == 0 && L->k == K_DENSE)
            rank = 2, dims[0] = src->c, dims[1] = L->units;
        float *data = L->wt[k];
        L->wt[k] = NULL;
        if (kg_weight_take(K, L->k == K_BN ? bn_w[k] : conv_w[k], rank, dims, data, err))
            return -1;
    }
    return 0;
}

/* The course's model as a keras_graph model, taking over the weights; NULL on failure. */
static kg_model *to_keras(net *N, fn_err *err)
{
    kg_model *m = kg_new("FaceRecoModel");
    if (!m) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < N->n; i++) {
        layer *L = &N->L[i];
        const char *in[MAX_IN];
        for (int j = 0; j < L->n_in; j++)
            in[j] = N->L[L->in[j]].name;
        cJSON *cfg = L->k == K_INPUT ? kg_input_config_dims(3, (const int[]){L->c, L->h, L->w}) : cJSON_CreateObject();
        kg_layer *K = kg_add(m, CLASS[L->k], L->name, cfg, L->n_in, in, err);
        if (!K)
            goto fail;
        if (layer_config(L, K->cfg)) {
            fn_fail(err, FN_E_NOMEM, "out of memory");
            goto fail;
        }
        if (move_weights(L, L->n_in ? &N->L[L->in[0]] : L, K, err))
            goto fail;
    }
    if (!kg_output(m, N->L[N->n - 1].name, err))
        return m;
fail:
    kg_free(m);
    return NULL;
}

/* The course's img_to_encoding: RGB, /255, no mean; the model L2-normalises itself. */
static char *profile_json(void)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input_size", kg_pair(INPUT_SIZE, INPUT_SIZE));
    cJSON_AddStringToObject(root, "resize", "nearest");
    cJSON_AddNumberToObject(root, "mean", 0);
    cJSON_AddNumberToObject(root, "std", 255);
    cJSON_AddStringToObject(root, "channel_order", "rgb");
    cJSON_AddNumberToObject(root, "threshold", 0.7);
    cJSON_AddBoolToObject(root, "l2_normalize", 0);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: openface2keras CSV_DIR OUT_DIR\n"
                        "  CSV_DIR  the course's weights folder (conv1_w.csv, bn1_w.csv, ..., dense_b.csv)\n"
                        "  OUT_DIR  receives model.json, model.h5 and facenet.json (created if missing)\n");
        return 2;
    }
    const char *csv_dir = argv[1], *outdir = argv[2];
    fn_err err;
    fn_err_clear(&err);
    net *N = calloc(1, sizeof *N);
    if (!N) {
        fprintf(stderr, "openface2keras: out of memory\n");
        return 1;
    }
    int rc = 1, files = 0;
    size_t params = 0;
    struct stat st;
    kg_model *m = NULL;
    char *pj = NULL;
    build(N);
    if (stat(csv_dir, &st) != 0) {
        fn_fail(&err, FN_E_IO, "%s: cannot open the weights folder: %s", csv_dir, strerror(errno));
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        fn_fail(&err, FN_E_ARG, "%s: not a directory (give the folder of CSV files)", csv_dir);
        goto done;
    }
    for (int i = 0; i < N->n; i++) {
        layer *L = &N->L[i];
        if (load_layer(L, L->n_in ? &N->L[L->in[0]] : L, csv_dir, &err))
            goto done;
        files += L->n_w;
        for (int k = 0; k < L->n_w; k++)
            params += L->w_count[k];
    }
    if (!(pj = profile_json())) {
        fn_fail(&err, FN_E_NOMEM, "out of memory");
        goto done;
    }
    if (!(m = to_keras(N, &err)) || kg_write_outputs(m, pj, outdir, &err))
        goto done;
    printf("openface2keras: %s -> %s/{model.json,model.h5,facenet.json}: %d CSV files, %zu parameters, "
           "%d Keras layers\n", csv_dir, outdir, files, params, N->n);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "openface2keras: %s\n", err.msg);
    kg_free(m);
    cJSON_free(pj);
    net_free(N);
    free(N);
    return rc;
}
