/* facenet_app.h - the public API of facenet-c's application layer: photos in,
 * embeddings out, exactly as `facenet encode` computes them.  Self-contained (it
 * includes facenet.h, which it sits beside); link with -lfacenet (pkg-config facenet).
 *
 *   #include <facenet_app.h>
 *
 *   fn_err err;
 *   fn_embedder *e = fn_embedder_open(NULL, &err);  // NULL: the installed default model
 *   if (!e) { fprintf(stderr, "%s\n", err.msg); return 2; }
 *   float a[FN_EMBEDDER_MAX_DIM], b[FN_EMBEDDER_MAX_DIM];
 *   if (fn_embedder_embed_file(e, "a.jpg", a, &err) || fn_embedder_embed_file(e, "b.jpg", b, &err)) ...
 *   int dim = fn_embedder_dim(e);                   // 128 for the default model
 *   int same = fn_distance(a, b, dim) < fn_embedder_threshold(e);
 *   fn_embedder_close(e);
 *
 * A model directory holds model.json (optional when model.h5 is a full-model file),
 * model.h5 and the preprocessing profile facenet.json (optional; see the README).
 * One embedding: decode the JPEG/PNG to RGB, take it as a face crop and resize it to
 * the model's input (or align it from 5 landmarks), scale the pixels as the profile
 * says, run the network, L2-normalise unless the profile says not to.
 *
 * Errors are values: a fallible call returns 0 (or a pointer), or -1 (NULL) with one
 * line in *err naming the file or value that was wrong; nothing exits or prints.  An
 * embedder is not thread-safe (it owns the network's activation memory): use one per
 * thread.  The library reads no environment variables.
 */
#ifndef FACENET_APP_H
#define FACENET_APP_H

#include "facenet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest embedding an embedder gives (fn_embedder_open refuses models with a
 * longer output), so a float[FN_EMBEDDER_MAX_DIM] always suffices; the models in the
 * README give 128. */
#define FN_EMBEDDER_MAX_DIM 4096

typedef struct fn_embedder fn_embedder;

typedef struct {
    /* Read the weights in a forked child with a time limit (fn_load_opts.sandbox): for
     * model files from outside, which libhdf5 could crash or hang on. */
    int sandbox;
    int sandbox_timeout_s; /* 0: 120 s */
} fn_embedder_opts;

/* The default model's directory as installed: PREFIX/share/facenet/models/dlib-resnet
 * for the PREFIX the library was built for. */
const char *fn_default_model_dir(void);

/* Open the model in model_dir (NULL: fn_default_model_dir()).  Returns NULL on error.
 * The files are read here, once; opts may be NULL (no sandbox). */
fn_embedder *fn_embedder_open(const char *model_dir, fn_err *err);
fn_embedder *fn_embedder_open_opts(const char *model_dir, const fn_embedder_opts *opts, fn_err *err);
void fn_embedder_close(fn_embedder *e); /* NULL is allowed */

int fn_embedder_dim(const fn_embedder *e);                           /* embedding length */
void fn_embedder_input_size(const fn_embedder *e, int *height, int *width); /* network input */
float fn_embedder_threshold(const fn_embedder *e); /* the profile's distance threshold for "same person" */
int fn_embedder_normalized(const fn_embedder *e);   /* 1: embeddings have unit length */
/* Hex digest of the model files and profile (what a gallery records to refuse another
 * model's embeddings); valid while e lives. */
const char *fn_embedder_fingerprint(const fn_embedder *e);

/* The embedding of the JPEG or PNG file at image_path, taken as a face crop, into out
 * (fn_embedder_dim floats). */
int fn_embedder_embed_file(fn_embedder *e, const char *image_path, float *out, fn_err *err);
/* The same, aligned from 5 landmarks: x0 y0 ... x4 y4 in the image's pixel coordinates
 * (left eye, right eye, nose tip, left and right mouth corner). */
int fn_embedder_embed_file_aligned(fn_embedder *e, const char *image_path, const double landmarks[10],
                                   float *out, fn_err *err);
/* The same from 8-bit RGB pixels in memory: height rows of width x 3 bytes, no padding
 * (a C-contiguous uint8 array of shape (height, width, 3)). */
int fn_embedder_embed_rgb(fn_embedder *e, const unsigned char *rgb, int width, int height, float *out,
                          fn_err *err);

/* Euclidean distance between two embeddings of length dim (accumulated in double):
 * what `facenet verify` compares with the threshold. */
float fn_distance(const float *a, const float *b, int dim);

#ifdef __cplusplus
}
#endif

#endif
