/* profile.h - how a model wants its input: the facenet.json beside model.json.
 *
 * Every field is optional; a missing file means all defaults.  Unknown keys
 * are errors (a typo must not silently fall back to a default).
 *
 *   {
 *     "input_size":    [H, W],          default: the model's input, else 160x160
 *     "resize":        "nearest" | "bilinear",            default "nearest"
 *     "pad_to_square": false | true | "end" | "center",   default false
 *                      zero-pad to a square before resizing; true = "end"
 *                      (bottom/right, face-api padToSquare's default);
 *                      "center" = face-api's padToSquare(img, true), which
 *                      its FaceRecognitionNet uses
 *     "mean":          [a, b, c] or a number, on 0..255 pixels, default 0
 *     "std":           [a, b, c] or a number, default 255
 *     "scale":         [a, b, c] or a number, instead of std (not both)
 *     "channel_order": "rgb" | "bgr",                     default "rgb"
 *     "threshold":     number, distance threshold for a match, default 0.7
 *     "l2_normalize":  bool, normalise embeddings, default true
 *     "align_template": [x0, y0, ..., x4, y4], default fn_align_default_template
 *     "align_mode":    "similarity" | "dlib",             default "similarity"
 *   }
 *
 * Input value, in float32 arithmetic exactly as Keras/NumPy and TF.js do it:
 *   out[y][x][c] = ((float)pixel[c'] - mean[c]) / std[c]   or
 *   out[y][x][c] = ((float)pixel[c'] - mean[c]) * scale[c]
 * where c counts channels in the model's order and c' is the matching RGB
 * channel (c' = 2 - c for "bgr"); mean/std/scale are in the model's order.
 * Keras FaceNet: the defaults ((p - 0) / 255).  face-api's dlib ResNet:
 * mean [122.782, 117.001, 104.298], std 255, bilinear, align_mode "dlib".
 */
#ifndef FN_PROFILE_H
#define FN_PROFILE_H

#include "app/align.h"
#include "core/error.h"
#include "io/image.h"

typedef enum { FN_PAD_NONE, FN_PAD_END, FN_PAD_CENTER } fn_pad_mode;

typedef struct {
    int in_h, in_w;
    fn_resize_method resize;
    fn_pad_mode pad_to_square;
    float mean[3];
    float std[3];     /* used when use_scale == 0 */
    float scale[3];   /* used when use_scale != 0 */
    int use_scale;
    int bgr;
    float threshold;
    int l2_normalize;
    int has_template;
    double tmpl[10];  /* valid when has_template; else the default is used */
    fn_align_mode align_mode;
    size_t max_pixels; /* not from the file: the caller's pixel limit, applied to the padded
                          square (0: FN_IMAGE_DEFAULT_MAX_PIXELS; fn_encoder_set_max_pixels) */
} fn_profile;

/* Defaults for an in_h x in_w model (<= 0: unknown, 160x160 is used). */
void fn_profile_default(fn_profile *p, int in_h, int in_w);

/* Load facenet.json at path.  model_h/model_w: the model's input size, or
 * <= 0 when unknown.  A missing file gives the defaults and returns 0; an
 * input_size that contradicts a known model size is an error. */
int fn_profile_load(const char *path, int model_h, int model_w, fn_profile *p, fn_err *err);

/* Same from JSON text; `name` names the source in errors. */
int fn_profile_parse(const char *json, const char *name, int model_h, int model_w, fn_profile *p,
                     fn_err *err);

/* The template alignment uses: the profile's, or the default for its size. */
void fn_profile_template(const fn_profile *p, double tmpl[10]);

/* Whole image -> network input: optional pad, resize to in_w x in_h, then
 * normalise into out (in_h * in_w * 3 floats, NHWC). */
int fn_preprocess(const fn_profile *p, const fn_image *img, float *out, fn_err *err);

/* Aligned face -> network input: align lm onto the profile's template into
 * an in_w x in_h chip (no pad or resize), then normalise into out. */
int fn_preprocess_aligned(const fn_profile *p, const fn_image *img, const double lm[10],
                          float *out, fn_err *err);

/* The 8-bit chip either of the two above normalises (lm NULL: padded and resized;
 * else aligned): what the network sees, for --save-chips.  *chip is the caller's to
 * free (also zeroed on failure). */
int fn_preprocess_chip(const fn_profile *p, const fn_image *img, const double *lm, fn_image *chip,
                       fn_err *err);

/* Normalise an image that already has the input size into out. */
int fn_profile_normalize(const fn_profile *p, const fn_image *img, float *out, fn_err *err);

#endif
