/* embedder.c - the public embedder of include/facenet_app.h: an opaque handle around
 * the encoder (app/encoder.c) that opens a model directory the way `facenet encode
 * --model DIR` does and embeds one image at a time. */
#include "facenet_app.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/encoder.h"
#include "app/match.h"
#include "io/image.h"

/* Set by the Makefile from PREFIX: where `make install` puts the shared data. */
#ifndef FN_DATADIR
#define FN_DATADIR "/usr/local/share/facenet"
#endif

struct fn_embedder {
    fn_encoder enc;
};

const char *fn_default_model_dir(void)
{
    return FN_DATADIR "/models/dlib-resnet";
}

fn_embedder *fn_embedder_open(const char *model_dir, fn_err *err)
{
    return fn_embedder_open_opts(model_dir, NULL, err);
}

fn_embedder *fn_embedder_open_opts(const char *model_dir, const fn_embedder_opts *opts, fn_err *err)
{
    const char *dir = model_dir ? model_dir : fn_default_model_dir();
    if (!*dir) {
        fn_fail(err, FN_E_ARG, "empty model directory name");
        return NULL;
    }
    /* the files `facenet --model DIR` reads: DIR/model.json when present (a full-model
     * .h5 carries its own config), DIR/model.h5, DIR/facenet.json when present */
    char json[PATH_MAX], h5[PATH_MAX], prof[PATH_MAX];
    if (snprintf(json, sizeof json, "%s/model.json", dir) >= (int)sizeof json ||
        snprintf(h5, sizeof h5, "%s/model.h5", dir) >= (int)sizeof h5 ||
        snprintf(prof, sizeof prof, "%s/facenet.json", dir) >= (int)sizeof prof) {
        fn_fail(err, FN_E_ARG, "%s: model directory name too long", dir);
        return NULL;
    }
    if (access(h5, F_OK) != 0) {
        fn_fail(err, FN_E_IO, "%s: no model here (no model.h5)%s", dir,
                model_dir ? "" : "; the default model is installed by make install");
        return NULL;
    }
    fn_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        fn_fail(err, FN_E_NOMEM, "out of memory");
        return NULL;
    }
    fn_load_opts o = {.model_json = access(json, F_OK) == 0 ? json : NULL, .weights = h5};
    if (opts) {
        o.sandbox = opts->sandbox;
        o.sandbox_timeout_s = opts->sandbox_timeout_s;
    }
    if (fn_encoder_open_opts(&e->enc, &o, prof, err)) {
        free(e);
        return NULL;
    }
    if (e->enc.dim < 1 || e->enc.dim > FN_EMBEDDER_MAX_DIM) {
        fn_fail(err, FN_E_UNSUPPORTED, "%s: the model's output has %d values (an embedder takes 1 to %d)", dir,
                e->enc.dim, FN_EMBEDDER_MAX_DIM);
        fn_embedder_close(e);
        return NULL;
    }
    return e;
}

void fn_embedder_close(fn_embedder *e)
{
    if (!e)
        return;
    fn_encoder_close(&e->enc);
    free(e);
}

int fn_embedder_dim(const fn_embedder *e)
{
    return e->enc.dim;
}

void fn_embedder_input_size(const fn_embedder *e, int *height, int *width)
{
    if (height)
        *height = e->enc.prof.in_h;
    if (width)
        *width = e->enc.prof.in_w;
}

float fn_embedder_threshold(const fn_embedder *e)
{
    return e->enc.prof.threshold;
}

int fn_embedder_normalized(const fn_embedder *e)
{
    return e->enc.prof.l2_normalize != 0;
}

const char *fn_embedder_fingerprint(const fn_embedder *e)
{
    return e->enc.fingerprint;
}

/* One prepared input through the network into out. */
static int run_one(fn_embedder *e, float *in, float *out, fn_err *err)
{
    int rc = fn_encoder_run(&e->enc, in, 1, out, err);
    free(in);
    return rc;
}

static float *input_buffer(const fn_embedder *e, fn_err *err)
{
    float *in = malloc(sizeof(float) * fn_encoder_input_floats(&e->enc));
    if (!in)
        fn_fail(err, FN_E_NOMEM, "out of memory");
    return in;
}

static int embed_path(fn_embedder *e, const char *path, const double *lm, float *out, fn_err *err)
{
    if (!e || !path || !out)
        return fn_fail(err, FN_E_ARG, "fn_embedder_embed_file: NULL argument");
    float *in = input_buffer(e, err);
    if (!in)
        return -1;
    if (fn_encoder_prepare(&e->enc, path, lm, in, err)) {
        free(in);
        return -1;
    }
    return run_one(e, in, out, err);
}

int fn_embedder_embed_file(fn_embedder *e, const char *image_path, float *out, fn_err *err)
{
    return embed_path(e, image_path, NULL, out, err);
}

int fn_embedder_embed_file_aligned(fn_embedder *e, const char *image_path, const double landmarks[10],
                                   float *out, fn_err *err)
{
    if (!landmarks)
        return fn_fail(err, FN_E_ARG, "fn_embedder_embed_file_aligned: NULL landmarks");
    return embed_path(e, image_path, landmarks, out, err);
}

int fn_embedder_embed_rgb(fn_embedder *e, const unsigned char *rgb, int width, int height, float *out,
                          fn_err *err)
{
    if (!e || !rgb || !out)
        return fn_fail(err, FN_E_ARG, "fn_embedder_embed_rgb: NULL argument");
    if (width < 1 || height < 1 || (size_t)width * (size_t)height > e->enc.max_pixels)
        return fn_fail(err, FN_E_ARG, "fn_embedder_embed_rgb: %dx%d pixels (1 to %zu allowed)", width, height,
                       e->enc.max_pixels);
    float *in = input_buffer(e, err);
    if (!in)
        return -1;
    /* preprocessing only reads the pixels */
    fn_image img = {.w = width, .h = height, .rgb = (unsigned char *)rgb};
    if (fn_encoder_prepare_image(&e->enc, &img, NULL, in, err)) {
        free(in);
        return fn_wrap(err, "%dx%d RGB image: ", width, height);
    }
    return run_one(e, in, out, err);
}

float fn_distance(const float *a, const float *b, int dim)
{
    return fn_l2_distance(a, b, dim);
}
