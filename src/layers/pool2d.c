/* pool2d.c - Keras MaxPooling2D and AveragePooling2D ('valid'/'same', any stride,
 * either data format).  With 'same', cells outside the image are ignored: max over
 * the valid cells, average divided by the number of valid cells (TensorFlow). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "layers/kernels.h"
#include "layers/ops.h"

typedef struct {
    int ph, pw, sh, sw, same;
} pool_params;

/* 4 channels at a time (GCC vector extension: one SSE register, any x86-64). */
typedef float v4 __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

/* One output pixel's channels [c0, c0 + 4) over the window cells [y0, y1) x [x0, x1) of
 * image n: max keeps a cell's value when it is greater (NaN never is), as the
 * scalar loop below; average sums in the same order and divides once. */
static void pool_4(const fn_conv_geom *g, const float *in, int n, int y0, int y1, int x0, int x1, int c0, int is_max,
                   float *dst)
{
    const float init = is_max ? -FLT_MAX : 0.0f;
    v4 acc = {init, init, init, init};
    for (int y = y0; y < y1; y++) {
        const float *row = in + (((size_t)n * g->h + y) * g->w) * g->ldi + c0;
        for (int x = x0; x < x1; x++) {
            v4 v;
            memcpy(&v, row + (size_t)x * g->ldi, sizeof v);
            if (is_max) {
                v4i gt = v > acc;
                acc = (v4)(((v4i)v & gt) | ((v4i)acc & ~gt));
            } else {
                acc += v;
            }
        }
    }
    if (!is_max) {
        const int cnt = (y1 - y0) * (x1 - x0);
        const float d = (float)cnt;
        acc = cnt > 0 ? acc / (v4){d, d, d, d} : (v4){0, 0, 0, 0};
    }
    memcpy(dst, &acc, sizeof acc);
}

/* Output lines [l0, l1) (line l = n*oh + oy). */
static void pool_lines(const fn_conv_geom *g, const float *in, float *out, int is_max, size_t l0, size_t l1)
{
    for (size_t l = l0; l < l1; l++) {
        const int n = (int)(l / (size_t)g->oh), oy = (int)(l % (size_t)g->oh);
        for (int ox = 0; ox < g->ow; ox++) {
            float *o = out + (((size_t)n * g->oh + oy) * g->ow + ox) * g->ldo;
            int y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
            int y1 = y0 + g->kh, x1 = x0 + g->kw;
            y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
            y1 = y1 > g->h ? g->h : y1, x1 = x1 > g->w ? g->w : x1;
            const int cnt = (y1 - y0) * (x1 - x0);
            int c = 0;
            for (; c + 4 <= g->c; c += 4)
                pool_4(g, in, n, y0, y1, x0, x1, c, is_max, o + c);
            for (; c < g->c; c++) { /* the last channels, one at a time */
                float acc = is_max ? -FLT_MAX : 0.0f;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) {
                        const float v = in[(((size_t)n * g->h + y) * g->w + x) * g->ldi + c];
                        acc = is_max ? (v > acc ? v : acc) : acc + v;
                    }
                o[c] = is_max ? acc : cnt > 0 ? acc / (float)cnt : 0.0f;
            }
        }
    }
}

static void pool(const fn_conv_geom *g, const float *in, float *out, int is_max)
{
    pool_lines(g, in, out, is_max, 0, (size_t)g->n * g->oh);
}

typedef struct {
    const fn_conv_geom *g;
    const float *in;
    float *out;
    int is_max;
} pool_job;

static void pool_range(void *arg, size_t l0, size_t l1)
{
    const pool_job *j = arg;
    pool_lines(j->g, j->in, j->out, j->is_max, l0, l1);
}

void fn_maxpool2d(const fn_conv_geom *g, const float *in, float *out)
{
    pool(g, in, out, 1);
}

void fn_avgpool2d(const fn_conv_geom *g, const float *in, float *out)
{
    pool(g, in, out, 0);
}

static int pool_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    pool_params *p = calloc(1, sizeof *p);
    if (!p)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = p;
    int ps[2], st[2];
    const char *pad;
    if (fn_cfg_string(L, cfg, "padding", "valid", &pad, err))
        return -1;
    if (fn_cfg_pair(L, cfg, "pool_size", 2, ps, err) || fn_cfg_data_format(L, cfg, err))
        return -1;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cfg, "strides");
    if (!s || cJSON_IsNull(s))
        st[0] = ps[0], st[1] = ps[1];
    else if (fn_cfg_pair(L, cfg, "strides", 1, st, err))
        return -1;
    if (ps[0] <= 0 || ps[1] <= 0 || st[0] <= 0 || st[1] <= 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: pool_size and strides must be positive", L->name);
    if (strcmp(pad, "valid") && strcmp(pad, "same"))
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: padding '%s' is not supported", L->name, pad);
    p->ph = ps[0], p->pw = ps[1], p->sh = st[0], p->sw = st[1], p->same = !strcmp(pad, "same");
    L->flags = fn_layer_channels_first(L) ? 0 : FN_L_STRIDED_IN | FN_L_STRIDED_OUT;
    return 0;
}

static int pool_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    const pool_params *p = L->priv;
    if (n_in != 1 || in->rank != 3)
        return fn_fail(err, FN_E_SHAPE, "layer %s: pooling needs one input of rank 3", L->name);
    int h, w, c, oh, ow, pad;
    fn_layer_hwc(L, in, &h, &w, &c);
    if (c <= 0)
        return fn_fail(err, FN_E_SHAPE, "layer %s: the number of channels must be known", L->name);
    if (fn_op_window(L, "height", h, p->ph, p->sh, p->same, &oh, &pad, err) ||
        fn_op_window(L, "width", w, p->pw, p->sw, p->same, &ow, &pad, err))
        return -1;
    *out = fn_layer_image(L, oh, ow, c);
    return 0;
}

static fn_conv_geom pool_geom(const fn_layer *L, const fn_shape *in, int n)
{
    const pool_params *p = L->priv;
    fn_conv_geom g = {0};
    fn_layer_hwc(L, in, &g.h, &g.w, &g.c);
    g.n = n, g.kh = p->ph, g.kw = p->pw, g.sh = p->sh, g.sw = p->sw, g.f = g.c;
    fn_window_out(g.h, g.kh, g.sh, p->same, &g.oh, &g.pt);
    fn_window_out(g.w, g.kw, g.sw, p->same, &g.ow, &g.pl);
    g.ldi = g.c, g.ldo = g.c;
    return g;
}

static size_t pool_scratch(const fn_layer *L, const fn_shape *in)
{
    if (!fn_layer_channels_first(L))
        return 0;
    fn_conv_geom g = pool_geom(L, in, 1);
    return (size_t)g.h * g.w * g.c + (size_t)g.oh * g.ow * g.c;
}

static void pool_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                         fn_view out, const fn_ctx *ctx)
{
    (void)n_in;
    const int is_max = L->op == &fn_op_maxpool2d;
    fn_conv_geom g = pool_geom(L, in_shape, ctx->n);
    if (!fn_layer_channels_first(L)) {
        g.ldi = in[0].ld, g.ldo = out.ld;
        /* lines split over the pool; ~16k values read per task at least */
        const size_t line = (size_t)g.ow * g.kh * g.kw * g.c;
        pool_job j = {&g, in[0].p, out.p, is_max};
        fn_pool_for(ctx->pool, (size_t)g.n * g.oh, (16384 + line - 1) / line, pool_range, &j);
        return;
    }
    const size_t in_sz = (size_t)g.h * g.w * g.c, out_sz = (size_t)g.oh * g.ow * g.c;
    float *s_in = ctx->scratch, *s_out = s_in + in_sz;
    fn_conv_geom one = g;
    one.n = 1;
    for (int n = 0; n < g.n; n++) {
        fn_chw_to_hwc(in[0].p + n * in_sz, g.c, g.h * g.w, s_in);
        pool(&one, s_in, s_out, is_max);
        fn_hwc_to_chw(s_out, g.c, g.oh * g.ow, out.p + n * out_sz);
    }
}

static void pool_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_maxpool2d = {.class_name = "MaxPooling2D", .parse = pool_parse, .infer = pool_infer,
                               .scratch = pool_scratch, .forward = pool_forward, .destroy = pool_destroy};
const fn_op fn_op_avgpool2d = {.class_name = "AveragePooling2D", .parse = pool_parse,
                               .infer = pool_infer, .scratch = pool_scratch, .forward = pool_forward,
                               .destroy = pool_destroy};
