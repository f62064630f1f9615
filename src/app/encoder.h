/* encoder.h - photos in, embeddings out: a loaded model plus its preprocessing
 * profile (facenet.json beside model.json) and a fingerprint of both (of what they
 * mean, not of the files' bytes: see encoder.c:encoder_fingerprint).
 *
 *   fn_encoder enc;
 *   if (fn_encoder_open(&enc, "m/model.json", "m/model.h5", "m/facenet.json", &err)) ...
 *   float *emb = malloc(sizeof(float) * 2 * enc.dim); // enc.dim: the model's output size
 *   const char *paths[2] = {"a.jpg", "b.jpg"};
 *   if (fn_encoder_encode_files(&enc, paths, NULL, 2, emb, &err)) ...
 *   free(emb);
 *   fn_encoder_close(&enc);
 *
 * Images are taken as face crops (the course photos are) and resized to the model's
 * input size, or aligned from 5 landmarks when they are given.  Embeddings are
 * L2-normalised unless the profile says otherwise (dlib's descriptor is not).
 * A model whose input is declared 3xHxW (channels first, e.g. OpenFace nn4.small2
 * in the course's port) gets its input transposed to CHW; HxWx3 stays HWC. */
#ifndef FN_ENCODER_H
#define FN_ENCODER_H

#include "app/profile.h"
#include "core/error.h"
#include "facenet.h"

/* Fingerprints start with this; older versions of facenet wrote 32 bare hex digits
 * (a hash of the model files' bytes), which fn_fingerprint_is_legacy recognises. */
#define FN_FINGERPRINT_PREFIX "v2-"

typedef struct {
    fn_net *net;
    fn_profile prof;
    int dim;                 /* embedding size: the model's output size (no fixed maximum; a gallery
                                holds up to FN_GALLERY_MAX_DIM, app/gallery.h) */
    size_t max_pixels;       /* images larger than this are refused before decoding */
    char fingerprint[40];    /* "v2-" + 32 hex: net fingerprint + canonical profile */
    fn_shape in_shape;       /* H x W x 3, or 3 x H x W when chw */
    int chw;                 /* the model takes channels-first input */
    float *batch;            /* scratch for encode_files */
    int batch_cap;
} fn_encoder;

/* json may be NULL (full-model h5); profile may be NULL or a missing file (defaults). */
/* As fn_encoder_open, with the engine's load options (e.g. sandbox on for files from
 * outside); o->no_fuse is ignored. */
int fn_encoder_open_opts(fn_encoder *e, const fn_load_opts *o, const char *profile, fn_err *err);
int fn_encoder_open(fn_encoder *e, const char *json, const char *weights, const char *profile,
                    fn_err *err);
void fn_encoder_close(fn_encoder *e);
/* Pixels an image may have, decoded and after padding to a square (0: the default,
 * FN_IMAGE_DEFAULT_MAX_PIXELS); over it is FN_E_LIMIT "the limit pixels=N". */
void fn_encoder_set_max_pixels(fn_encoder *e, size_t max_pixels);
size_t fn_encoder_input_floats(const fn_encoder *e);
/* Decode and preprocess one image (aligned when lm != NULL) into in (input_floats). */
int fn_encoder_prepare(const fn_encoder *e, const char *path, const double *lm, float *in,
                       fn_err *err);
/* The same from decoded pixels. */
int fn_encoder_prepare_image(const fn_encoder *e, const fn_image *img, const double *lm, float *in,
                             fn_err *err);
/* Run n prepared inputs; emb receives n x dim values (normalised per the profile). */
int fn_encoder_run(fn_encoder *e, const float *in, int n, float *emb, fn_err *err);
/* Prepare and run n files (lms: n landmark pointers or NULL); all or nothing. */
int fn_encoder_encode_files(fn_encoder *e, const char *const *paths, const double *const *lms,
                            int n, float *emb, fn_err *err);

/* 1 when fp is an old-style fingerprint (32 hex digits of the files' bytes). */
int fn_fingerprint_is_legacy(const char *fp);

#endif
