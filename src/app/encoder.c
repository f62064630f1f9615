/* encoder.c - see encoder.h. */
#include "app/encoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/match.h"
#include "core/hash.h"
#include "io/image.h"
#include "layers/kernels.h"

/* The identity of what turns a photo into an embedding: the net's fingerprint (the
 * canonical architecture and the weight values, src/net/load.c) and every profile
 * field that changes the embedding, in one canonical text.  Not the threshold (a
 * decision on distances, not a property of the embeddings) and not the files' bytes:
 * converting the model again, or rewriting facenet.json with other spacing or an
 * explicit default, keeps galleries and outputs working. */
static void encoder_fingerprint(fn_encoder *e)
{
    const fn_profile *p = &e->prof;
    double t[10];
    fn_profile_template(p, t);
    const float *ss = p->use_scale ? p->scale : p->std;
    char text[1024];
    int len = snprintf(text, sizeof text,
                       "net %s dim %d in %dx%d chw %d resize %d pad %d mean %.9g %.9g %.9g %s %.9g %.9g %.9g "
                       "bgr %d l2 %d align %d tmpl %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g",
                       fn_net_fingerprint(e->net), e->dim, p->in_h, p->in_w, e->chw, (int)p->resize,
                       (int)p->pad_to_square, p->mean[0], p->mean[1], p->mean[2], p->use_scale ? "scale" : "std",
                       ss[0], ss[1], ss[2], p->bgr, p->l2_normalize, (int)p->align_mode, t[0], t[1], t[2], t[3],
                       t[4], t[5], t[6], t[7], t[8], t[9]);
    fn_hash h;
    fn_hash_init(&h);
    fn_hash_update(&h, text, len > 0 && (size_t)len < sizeof text ? (size_t)len : sizeof text - 1);
    char hex[33];
    fn_hash_hex(&h, hex);
    snprintf(e->fingerprint, sizeof e->fingerprint, "%s%s", FN_FINGERPRINT_PREFIX, hex);
}

int fn_encoder_open(fn_encoder *e, const char *json, const char *weights, const char *profile,
                    fn_err *err)
{
    fn_load_opts o = {.model_json = json, .weights = weights};
    return fn_encoder_open_opts(e, &o, profile, err);
}

int fn_encoder_open_opts(fn_encoder *e, const fn_load_opts *opts, const char *profile, fn_err *err)
{
    const char *json = opts->model_json, *weights = opts->weights;
    fn_load_opts o = *opts;
    o.no_fuse = 0;
    memset(e, 0, sizeof *e);
    if (fn_net_load(&o, &e->net, err))
        return -1;
    fn_shape in = fn_net_input_shape(e->net);
    /* 3xHxW (H, W not 3) is a channels-first image input; anything else must be HxWx3 */
    e->chw = in.rank == 3 && in.d[0] == 3 && in.d[2] != 3;
    if (in.rank != 3 || (!e->chw && in.d[2] != 3) || fn_net_n_outputs(e->net) != 1) {
        fn_encoder_close(e);
        return fn_fail(err, FN_E_UNSUPPORTED,
                       "%s: not a face-embedding model (needs an HxWx3 or 3xHxW input and one output)",
                       json ? json : weights);
    }
    const int mh = in.d[e->chw ? 1 : 0], mw = in.d[e->chw ? 2 : 1];
    struct stat st;
    int have_profile = profile && stat(profile, &st) == 0;
    if (have_profile ? fn_profile_load(profile, mh, mw, &e->prof, err)
                     : (fn_profile_default(&e->prof, mh > 0 ? mh : 160, mw > 0 ? mw : 160), 0)) {
        fn_encoder_close(e);
        return -1;
    }
    if ((mh > 0 && mh != e->prof.in_h) || (mw > 0 && mw != e->prof.in_w)) {
        fn_fail(err, FN_E_SHAPE, "%s: input_size %dx%d does not match the model's %dx%d", profile,
                e->prof.in_h, e->prof.in_w, mh, mw);
        fn_encoder_close(e);
        return -1;
    }
    e->in_shape = e->chw ? (fn_shape){3, {3, e->prof.in_h, e->prof.in_w, 0}}
                         : (fn_shape){3, {e->prof.in_h, e->prof.in_w, 3, 0}};
    fn_err perr = {0};
    if (fn_net_plan(e->net, 1, &e->in_shape, &perr)) {
        fn_encoder_close(e);
        *err = perr;
        return -1;
    }
    fn_shape os;
    fn_net_output(e->net, 0, &os);
    e->dim = (int)fn_shape_count(&os);
    fn_encoder_set_max_pixels(e, 0);
    encoder_fingerprint(e);
    return 0;
}

void fn_encoder_close(fn_encoder *e)
{
    fn_net_free(e->net);
    free(e->batch);
    memset(e, 0, sizeof *e);
}

void fn_encoder_set_max_pixels(fn_encoder *e, size_t max_pixels)
{
    e->max_pixels = e->prof.max_pixels = max_pixels ? max_pixels : FN_IMAGE_DEFAULT_MAX_PIXELS;
}

size_t fn_encoder_input_floats(const fn_encoder *e)
{
    return (size_t)e->prof.in_h * e->prof.in_w * 3;
}

int fn_encoder_prepare_image(const fn_encoder *e, const fn_image *img, const double *lm, float *in, fn_err *err)
{
    /* preprocessing writes HWC; a channels-first model gets it transposed */
    float *hwc = e->chw ? malloc(sizeof(float) * fn_encoder_input_floats(e)) : in;
    if (!hwc)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    int rc = lm ? fn_preprocess_aligned(&e->prof, img, lm, hwc, err) : fn_preprocess(&e->prof, img, hwc, err);
    if (e->chw) {
        if (!rc)
            fn_hwc_to_chw(hwc, 3, e->prof.in_h * e->prof.in_w, in);
        free(hwc);
    }
    return rc;
}

int fn_encoder_prepare(const fn_encoder *e, const char *path, const double *lm, float *in, fn_err *err)
{
    fn_image img = {0};
    if (fn_image_load(path, e->max_pixels, &img, err))
        return -1;
    int rc = fn_encoder_prepare_image(e, &img, lm, in, err);
    fn_image_free(&img);
    if (rc)
        return fn_wrap(err, "%s: ", path);
    return 0;
}

int fn_encoder_run(fn_encoder *e, const float *in, int n, float *emb, fn_err *err)
{
    if (fn_net_run(e->net, in, n, &e->in_shape, err))
        return -1;
    memcpy(emb, fn_net_output(e->net, 0, NULL), sizeof(float) * (size_t)n * e->dim);
    if (e->prof.l2_normalize)
        for (int k = 0; k < n; k++)
            fn_l2_normalize(emb + (size_t)k * e->dim, e->dim);
    return 0;
}

int fn_encoder_encode_files(fn_encoder *e, const char *const *paths, const double *const *lms, int n,
                            float *emb, fn_err *err)
{
    const size_t per = fn_encoder_input_floats(e);
    const int chunk = 16;
    if (!e->batch) {
        e->batch = malloc(sizeof(float) * per * chunk);
        if (!e->batch)
            return fn_fail(err, FN_E_NOMEM, "out of memory");
        e->batch_cap = chunk;
    }
    for (int start = 0; start < n; start += chunk) {
        int m = n - start < chunk ? n - start : chunk;
        for (int k = 0; k < m; k++)
            if (fn_encoder_prepare(e, paths[start + k], lms ? lms[start + k] : NULL, e->batch + per * k, err))
                return -1;
        if (fn_encoder_run(e, e->batch, m, emb + (size_t)start * e->dim, err))
            return -1;
    }
    return 0;
}

int fn_fingerprint_is_legacy(const char *fp)
{
    if (!fp || strlen(fp) != 32)
        return 0;
    for (int i = 0; i < 32; i++)
        if (!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f')))
            return 0;
    return 1;
}
