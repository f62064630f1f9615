/* conv2d.c - Keras Conv2D: any kernel size and stride, 'valid'/'same' padding with
 * TensorFlow's asymmetric rule, optional bias, fused activation, channels_last or
 * channels_first.  The kernel stays in Keras' HWIO layout, which read as a
 * (kh*kw*cin) x filters matrix is exactly the GEMM operand im2col needs.
 * Dilation and groups other than 1 are rejected. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    int filters, kh, kw, sh, sw, same, use_bias;
    float *bias;      /* filters values; owned; zeros when the layer has no bias */
    fn_packed_b pb;   /* kernel and bias packed for fn_gemm_packed (after folding), or empty */
    fn_winograd_w wg; /* 3x3 stride 1: the kernel's Winograd transform (winograd.c), or empty */
} conv_params;

/* Winograd pays when the products have rows enough: with few tiles (an 8x8 image at
 * batch 1: 16) its 16/9 larger transformed weights stream from memory for little
 * work, and the direct GEMM (fewer bytes of weights) is faster - measured per layer
 * on the dlib ResNet at batch 1. */
#define FN_WG_MIN_TILES 64

static int wg_pays(const fn_conv_geom *g)
{
    return (size_t)g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2) >= FN_WG_MIN_TILES;
}

void fn_conv2d_naive(const fn_conv_geom *g, const float *in, const float *kernel,
                     const float *bias, float *out)
{
    for (int n = 0; n < g->n; n++)
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float *o = out + (((size_t)n * g->oh + oy) * g->ow + ox) * g->ldo;
                for (int f = 0; f < g->f; f++) {
                    double acc = bias ? bias[f] : 0.0;
                    for (int ky = 0; ky < g->kh; ky++) {
                        int y = oy * g->sh - g->pt + ky;
                        if (y < 0 || y >= g->h)
                            continue;
                        for (int kx = 0; kx < g->kw; kx++) {
                            int x = ox * g->sw - g->pl + kx;
                            if (x < 0 || x >= g->w)
                                continue;
                            const float *px = in + (((size_t)n * g->h + y) * g->w + x) * g->ldi;
                            const float *kp = kernel + ((size_t)ky * g->kw + kx) * g->c * g->f + f;
                            for (int c = 0; c < g->c; c++)
                                acc += (double)px[c] * kp[(size_t)c * g->f];
                        }
                    }
                    o[f] = (float)acc;
                }
            }
}

static int is_pointwise(const fn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

size_t fn_conv2d_scratch(const fn_conv_geom *g)
{
    if (is_pointwise(g))
        return 0;
    return (size_t)g->oh * g->ow * g->kh * g->kw * g->c;
}

static void add_bias(float *out, size_t rows, int f, int ld, const float *bias)
{
    if (!bias)
        return;
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * (size_t)ld;
        for (int i = 0; i < f; i++)
            o[i] += bias[i];
    }
}

void fn_conv2d_gemm(const fn_conv_geom *g, const float *in, const float *kernel,
                    const float *bias, float *out, float *scratch)
{
    const int K = g->kh * g->kw * g->c;
    if (is_pointwise(g)) {
        /* A 1x1 convolution is a matrix product over all pixels of the batch. */
        const int M = g->n * g->h * g->w;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, g->f, K, 1.0f, in, g->ldi,
                    kernel, g->f, 0.0f, out, g->ldo);
    } else {
        const int M = g->oh * g->ow;
        for (int n = 0; n < g->n; n++) {
            fn_im2col(g, in + (size_t)n * g->h * g->w * g->ldi, scratch);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, g->f, K, 1.0f, scratch, K,
                        kernel, g->f, 0.0f, out + (size_t)n * M * g->ldo, g->ldo);
        }
    }
    add_bias(out, (size_t)g->n * g->oh * g->ow, g->f, g->ldo, bias);
}

/* Output rows per task, at most: a tile's im2col (<= FN_TILE_ROWS x K floats) and
 * output stay near the cache.  On the cblas path tiles never cross images and cut
 * each image the same way whatever the batch size and thread count, so an image's
 * embedding does not depend on either (OpenBLAS rounds differently for different
 * matrix heights); the packed path has no such constraint (fn_conv2d_packed). */
#define FN_TILE_ROWS 192

size_t fn_conv2d_tile_scratch(const fn_conv_geom *g)
{
    if (is_pointwise(g))
        return 0;
    return (size_t)FN_TILE_ROWS * g->kh * g->kw * g->c;
}

typedef struct {
    const fn_conv_geom *g;
    const float *in, *kernel, *bias;
    fn_act act;
    float *out, *scratch;
    size_t stride, per, tiles, tile; /* cblas: rows per image, tiles per image, rows per tile */
    const fn_packed_b *pb;           /* packed path: NULL for cblas */
    int chunks, panels;              /* packed path: column chunks per row task, panels of 16 */
    size_t rows, units, unit;        /* packed path: all rows, cut into `tiles` tasks of whole units */
    int np;                          /* packed path: column chunks are cut at multiples of np panels */
} conv_job;

/* Rows [r0, r1) of task t (cblas: tile t % tiles of image t / tiles; packed: row task t). */
static void task_rows(const conv_job *j, size_t t, size_t *r0, size_t *r1)
{
    if (j->pb) {
        size_t u0 = t * j->units / j->tiles, u1 = (t + 1) * j->units / j->tiles;
        *r0 = u0 * j->unit, *r1 = u1 * j->unit < j->rows ? u1 * j->unit : j->rows;
        return;
    }
    const size_t end = (t / j->tiles + 1) * j->per;
    *r0 = (t / j->tiles) * j->per + (t % j->tiles) * j->tile;
    *r1 = *r0 + j->tile < end ? *r0 + j->tile : end;
}

/* Task t: rows of task_rows (packed path: column chunk t % chunks of row task t / chunks). */
static void conv_task(void *arg, int t, int thread)
{
    const conv_job *j = arg;
    const fn_conv_geom *g = j->g;
    const int K = g->kh * g->kw * g->c;
    int chunk = 0;
    if (j->pb)
        chunk = t % j->chunks, t /= j->chunks;
    size_t r0, r1;
    task_rows(j, (size_t)t, &r0, &r1);
    const float *A;
    int lda;
    if (is_pointwise(g)) {
        A = j->in + r0 * g->ldi, lda = g->ldi;
    } else {
        float *cols = j->scratch + (size_t)thread * j->stride;
        fn_im2col_rows(g, j->in, r0, r1, cols);
        A = cols, lda = K;
    }
    float *o = j->out + r0 * g->ldo;
    if (j->pb) {
        const int groups = (j->panels + j->np - 1) / j->np;
        int p0 = chunk * groups / j->chunks * j->np, p1 = (chunk + 1) * groups / j->chunks * j->np;
        fn_gemm_packed((int)(r1 - r0), p0, p1 < j->panels ? p1 : j->panels, A, lda, j->pb, j->act, o, g->ldo);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), g->f, K, 1.0f, A, lda, j->kernel,
                g->f, 0.0f, o, g->ldo);
    fn_bias_act(o, r1 - r0, g->f, g->ldo, j->bias, j->act);
}

void fn_conv2d_fast(const fn_conv_geom *g, const float *in, const float *kernel, const float *bias,
                    fn_act act, float *out, float *scratch, size_t scratch_stride, fn_pool *pool)
{
    const size_t per = (size_t)g->oh * g->ow, tiles = (per + FN_TILE_ROWS - 1) / FN_TILE_ROWS;
    const size_t tile = (per + tiles - 1) / tiles; /* balanced: 289 rows -> 145 + 144 */
    conv_job j = {g, in, kernel, bias, act, out, scratch, scratch_stride, per, tiles, tile, NULL, 1, 1, 0, 0, 0, 1};
    fn_pool_run(pool, (int)(g->n * tiles), conv_task, &j);
}

void fn_conv2d_packed(const fn_conv_geom *g, const float *in, const fn_packed_b *pb, const float *kernel,
                      const float *bias, fn_act act, float *out, float *scratch, size_t scratch_stride,
                      fn_pool *pool)
{
    if (!pb->panels || (!fn_gemm_available() && kernel)) {
        fn_conv2d_fast(g, in, kernel, bias, act, out, scratch, scratch_stride, pool);
        return;
    }
    /* The packed kernel's sums do not depend on the tiling, so row tasks run across
     * image boundaries (nine-pixel images of a batch fill whole micro-tiles) and are
     * balanced in whole micro-tile heights (units), at most FN_TILE_ROWS rows each.
     * With several threads: as many row tasks as a multiple of the thread count
     * when there are rows enough (at least two micro-tiles per thread, and more rows
     * than filters: each thread then reads all the weights and its own rows); else
     * (a small image at batch 1, more weights than activations) one row task cut
     * into column chunks of whole panel groups, so each thread reads its share of
     * the weights. */
    const size_t rows = (size_t)g->n * g->oh * g->ow;
    const size_t unit = (size_t)fn_gemm_mr(), units = (rows + unit - 1) / unit, cap = FN_TILE_ROWS / unit;
    const int threads = fn_pool_threads(pool), panels = (g->f + FN_GEMM_NR - 1) / FN_GEMM_NR;
    const int np = fn_gemm_np(), groups = (panels + np - 1) / np;
    size_t tasks = (units + cap - 1) / cap;
    int chunks = 1;
    if (threads > 1 && act != FN_ACT_SOFTMAX) {
        if (units >= 2 * (size_t)threads && (rows > (size_t)g->f || groups < threads))
            tasks = (tasks + threads - 1) / threads * threads;
        else if (tasks < (size_t)threads)
            chunks = groups < threads ? groups : threads;
    }
    if (tasks > units)
        tasks = units;
    conv_job j = {g,    in,     kernel, bias,  act,  out,  scratch, scratch_stride, rows, tasks, 0, pb,
                  chunks, panels, rows,   units, unit, np};
    fn_pool_run(pool, (int)(tasks * (size_t)chunks), conv_task, &j);
}

static int conv_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    conv_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    int ks[2], st[2], dil[2], groups;
    const char *pad;
    if (fn_cfg_string(L, cfg, "padding", "valid", &pad, err))
        return -1;
    if (fn_cfg_int(L, cfg, "filters", 0, &p->filters, err) ||
        fn_cfg_pair(L, cfg, "kernel_size", 0, ks, err) || fn_cfg_pair(L, cfg, "strides", 1, st, err) ||
        fn_cfg_pair(L, cfg, "dilation_rate", 1, dil, err) || fn_cfg_int(L, cfg, "groups", 1, &groups, err) ||
        fn_cfg_bool(L, cfg, "use_bias", 1, &p->use_bias, err) || fn_cfg_data_format(L, cfg, err) ||
        fn_cfg_act(L, cfg, err))
        return -1;
    if (p->filters <= 0 || ks[0] <= 0 || ks[1] <= 0 || st[0] <= 0 || st[1] <= 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: filters, kernel_size and strides must be positive",
                       L->name);
    if (dil[0] != 1 || dil[1] != 1)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: dilation_rate %dx%d is not supported (only 1)",
                       L->name, dil[0], dil[1]);
    if (groups != 1)
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: groups=%d is not supported (only 1)", L->name,
                       groups);
    if (strcmp(pad, "valid") && strcmp(pad, "same"))
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: padding '%s' is not supported", L->name, pad);
    p->kh = ks[0], p->kw = ks[1], p->sh = st[0], p->sw = st[1];
    p->same = !strcmp(pad, "same");
    L->flags = fn_layer_channels_first(L) ? 0 : FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

/* Output size of one spatial axis; unknown (-1) stays unknown. */
int fn_op_window(const fn_layer *L, const char *axis, int in, int k, int s, int same, int *out,
                 int *pad, fn_err *err)
{
    if (in < 0) {
        *out = -1, *pad = 0;
        return 0;
    }
    if (fn_window_out(in, k, s, same, out, pad))
        return fn_fail(err, FN_E_SHAPE, "layer %s: input %s %d is smaller than the window %d", L->name,
                       axis, in, k);
    return 0;
}

static int conv_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    conv_params *p = L->priv;
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: Conv2D needs one input of rank 3", L->name);
    int h, w, c, oh, ow, pt, pl;
    fn_layer_hwc(L, in, &h, &w, &c);
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the number of input channels must be known", L->name);
    if (fn_op_window(L, "height", h, p->kh, p->sh, p->same, &oh, &pt, err) ||
        fn_op_window(L, "width", w, p->kw, p->sw, p->same, &ow, &pl, err))
        return -1;
    *out = fn_layer_image(L, oh, ow, p->filters);
    int kdims[4] = {p->kh, p->kw, c, p->filters};
    if (fn_layer_declare(L, "kernel", 4, kdims, 0, err))
        return -1;
    if (p->use_bias && fn_layer_declare(L, "bias", 1, &p->filters, 0, err))
        return -1;
    return 0;
}

static int conv_prepare(fn_layer *L, fn_err *err)
{
    conv_params *p = L->priv;
    fn_weight *k = fn_layer_weight(L, "kernel");
    if (L->theano_kernels) {
        /* Theano convolves (flipped kernel); TensorFlow correlates: flip both spatial axes,
         * as Keras' convert_kernel does when loading such a file. */
        const fn_shape *s = &k->shape;
        size_t inner = (size_t)s->d[2] * s->d[3], hw = (size_t)s->d[0] * s->d[1];
        for (size_t i = 0; i < hw / 2; i++) {
            float *a = k->data + i * inner, *b = k->data + (hw - 1 - i) * inner;
            for (size_t j = 0; j < inner; j++) {
                float t = a[j];
                a[j] = b[j];
                b[j] = t;
            }
        }
    }
    p->bias = calloc((size_t)p->filters, sizeof(float));
    if (!p->bias)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    const fn_weight *b = fn_layer_weight_c(L, "bias");
    if (p->use_bias && b && b->data)
        memcpy(p->bias, b->data, sizeof(float) * (size_t)p->filters);
    return 0;
}

static fn_conv_geom conv_geom(const fn_layer *L, const fn_shape *in, int n)
{
    const conv_params *p = L->priv;
    fn_conv_geom g = {0};
    fn_layer_hwc(L, in, &g.h, &g.w, &g.c);
    g.n = n, g.kh = p->kh, g.kw = p->kw, g.sh = p->sh, g.sw = p->sw, g.f = p->filters;
    fn_window_out(g.h, g.kh, g.sh, p->same, &g.oh, &g.pt);
    fn_window_out(g.w, g.kw, g.sw, p->same, &g.ow, &g.pl);
    g.ldi = g.c, g.ldo = g.f;
    return g;
}

static size_t conv_scratch(const fn_layer *L, const fn_shape *in)
{
    fn_conv_geom g = conv_geom(L, in, 1);
    size_t s = fn_conv2d_tile_scratch(&g);
    if (!fn_layer_channels_first(L) && fn_winograd_fits(&g) && fn_winograd_scratch(&g) > s)
        s = fn_winograd_scratch(&g);
    if (fn_layer_channels_first(L))
        s += (size_t)g.h * g.w * g.c + (size_t)g.oh * g.ow * g.f;
    return s;
}

static void conv_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                         fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const conv_params *p = L->priv;
    const float *kernel = fn_layer_weight_c(L, "kernel")->data;
    fn_conv_geom g = conv_geom(L, in_shape, ctx->n);
    if (!fn_layer_channels_first(L)) {
        g.ldi = in[0].ld, g.ldo = out.ld;
        if (ctx->reference) {
            fn_conv2d_naive(&g, in[0].p, kernel, p->bias, out.p);
            fn_layer_act(L, out.p, (size_t)g.n * g.oh * g.ow, g.f, out.ld);
        } else {
            const fn_act act = fn_layer_store_act(L); /* in the kernels' epilogue */
            if (p->wg.c && fn_winograd_fits(&g) && (act == FN_ACT_LINEAR || act == FN_ACT_RELU) && wg_pays(&g))
                fn_conv2d_winograd(&g, in[0].p, &p->wg, act, out.p, ctx->scratch, ctx->scratch_stride, ctx->pool);
            else
                fn_conv2d_packed(&g, in[0].p, &p->pb, kernel, p->bias, act, out.p, ctx->scratch,
                                 ctx->scratch_stride, ctx->pool);
            if (act != L->act) /* an activation with parameters: a pass of its own */
                fn_layer_act(L, out.p, (size_t)g.n * g.oh * g.ow, g.f, out.ld);
        }
        return;
    }
    /* channels_first: transpose each image to HWC, convolve, transpose back. */
    const size_t in_sz = (size_t)g.h * g.w * g.c, out_sz = (size_t)g.oh * g.ow * g.f;
    float *s_in = ctx->scratch, *s_out = s_in + in_sz, *cols = s_out + out_sz;
    fn_conv_geom one = g;
    one.n = 1;
    for (int n = 0; n < g.n; n++) {
        fn_chw_to_hwc(in[0].p + n * in_sz, g.c, g.h * g.w, s_in);
        if (ctx->reference)
            fn_conv2d_naive(&one, s_in, kernel, p->bias, s_out);
        else
            fn_conv2d_packed(&one, s_in, &p->pb, kernel, p->bias, FN_ACT_LINEAR, s_out, cols, 0, NULL);
        fn_hwc_to_chw(s_out, g.f, g.oh * g.ow, out.p + n * out_sz);
        /* Keras applies the activation to the output as stored (softmax: over W) */
        fn_layer_act(L, out.p + n * out_sz, (size_t)g.f * g.oh, g.ow, g.ow);
    }
}

/* Weights are final (BatchNorm and residual scales folded in): pack them once, and
 * keep only the packed copy - the panels hold every value of the kernel (conv_restore
 * and conv_plan unpack it when the reference kernels or Winograd need Keras' layout),
 * so a model's weights are in memory once, not twice (FaceNet: 91 MB). */
static int conv_finalize(fn_layer *L, fn_err *err)
{
    conv_params *p = L->priv;
    fn_weight *k = fn_layer_weight(L, "kernel");
    if (!k || k->released)
        return 0; /* packed already */
    fn_packed_b_free(&p->pb);
    fn_winograd_free(&p->wg);
    if (!fn_gemm_available() || !k->data || !p->bias)
        return 0;
    int K = (int)(fn_shape_count(&k->shape) / (size_t)p->filters);
    if (fn_gemm_pack_b(k->data, K, p->filters, p->bias, &p->pb))
        return fn_fail(err, FN_E_NOMEM, "layer %s: out of memory packing the kernel", L->name);
    free(k->data);
    k->data = NULL;
    k->released = 1;
    return 0;
}

/* The kernel back in Keras' layout (for the reference kernels), from its panels. */
static int conv_restore(fn_layer *L, fn_err *err)
{
    conv_params *p = L->priv;
    fn_weight *k = fn_layer_weight(L, "kernel");
    if (!k || !k->released)
        return 0;
    float *data = fn_alloc_big(sizeof(float) * fn_shape_count(&k->shape));
    if (!data)
        return fn_fail(err, FN_E_NOMEM, "layer %s: out of memory restoring the kernel", L->name);
    fn_gemm_unpack_b(&p->pb, data);
    k->data = data;
    k->released = 0;
    return 0;
}

/* The Winograd weights (16/9 the kernel's size) are built when a plan first has tiles
 * enough for them (wg_pays), not at load: a batch of one 150x150 image uses them on
 * few layers of the dlib ResNet, and loading stays as fast as before. */
static int conv_plan(fn_layer *L, const fn_shape *in, int n, fn_err *err)
{
    conv_params *p = L->priv;
    const fn_weight *k = fn_layer_weight_c(L, "kernel");
    if (p->wg.c || !p->pb.panels || !k || (!k->data && !k->released) || fn_layer_channels_first(L))
        return 0;
    const fn_conv_geom g = conv_geom(L, in, n);
    const fn_act act = fn_layer_store_act(L); /* as conv_forward */
    if (!fn_winograd_fits(&g) || !wg_pays(&g) || (act != FN_ACT_LINEAR && act != FN_ACT_RELU))
        return 0;
    float *kernel = k->data, *tmp = NULL; /* a released kernel comes back from its panels for a moment */
    if (!kernel && !(kernel = tmp = malloc(sizeof(float) * fn_shape_count(&k->shape))))
        return fn_fail(err, FN_E_NOMEM, "layer %s: out of memory transforming the kernel", L->name);
    if (tmp)
        fn_gemm_unpack_b(&p->pb, tmp);
    const int rc = fn_winograd_pack(kernel, p->bias, g.c, p->filters, &p->wg);
    free(tmp);
    if (rc)
        return fn_fail(err, FN_E_NOMEM, "layer %s: out of memory transforming the kernel", L->name);
    return 0;
}

static double conv_macs(const fn_layer *L, const fn_shape *in)
{
    fn_conv_geom g = conv_geom(L, in, 1);
    return (double)g.oh * g.ow * g.f * g.kh * g.kw * g.c;
}

static void conv_destroy(fn_layer *L)
{
    conv_params *p = L->priv;
    if (p) {
        free(p->bias);
        fn_packed_b_free(&p->pb);
        fn_winograd_free(&p->wg);
    }
    free(p);
    L->priv = NULL;
}

static int conv_fold_params(fn_layer *L, float **kernel, size_t *rows, float **bias, int *filters)
{
    conv_params *p = L->priv;
    fn_weight *k = p ? fn_layer_weight(L, "kernel") : NULL;
    if (!p || !p->bias || !k || !k->data)
        return -1;
    *kernel = k->data;
    *rows = fn_shape_count(&k->shape) / (size_t)p->filters;
    *bias = p->bias;
    *filters = p->filters;
    return 0;
}

const fn_op fn_op_conv2d = {
    .class_name = "Conv2D",
    .parse = conv_parse,
    .infer = conv_infer,
    .prepare = conv_prepare,
    .scratch = conv_scratch,
    .forward = conv_forward,
    .destroy = conv_destroy,
    .macs = conv_macs,
    .finalize = conv_finalize,
    .plan = conv_plan,
    .restore = conv_restore,
    .fold_params = conv_fold_params,
};
