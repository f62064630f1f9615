/* faces_chip.c - the recognition chip of a detected face (faces.h): face-api's
 * descriptor crop or the 5-point alignment, as the encoder's input or as an image;
 * drawing the faces onto a photo. */
#include "app/faces.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/align.h"
#include "layers/kernels.h"

/* FN_CHIP_FACEAPI: the crop of face-api's descriptor rect, padded to a square and
 * resized to size with TF.js's legacy bilinear, as raw float pixel values (size^2 x 3,
 * RGB).  Padding follows the profile ("end" if it says so, else face-api's centred). */
static int faceapi_pixels(const fn_profile *p, const fn_image *img, const fn_face *face,
                          float *raw, fn_err *err)
{
    if (p->in_h != p->in_w)
        return fn_fail(err, FN_E_UNSUPPORTED, "face-api's crop needs a square input, the "
                                              "model's is %dx%d", p->in_w, p->in_h);
    fn_box rect;
    fn_irect crop;
    if (fn_descriptor_rect(face->landmarks, face->landmark_crop.width,
                           face->landmark_crop.height, &rect, err) ||
        fn_clip_box(&rect, img->w, img->h, &crop, err))
        return -1;
    /* mean 0, divisor 1, offset 0: (v - 0) / 1 - 0 == v exactly, so normalising
     * afterwards gives face-api's (v - mean) / 255 to the bit */
    fn_det_input_params ip = {.size = p->in_w, .center = p->pad_to_square != FN_PAD_END,
                              .mean = {0, 0, 0}, .divisor = 1, .offset = 0};
    return fn_det_input_tensor(img, &crop, &ip, raw, err);
}

/* raw RGB values -> the profile's normalisation and channel order, then the model's
 * layout (channels first when the encoder says so). */
static int finish_input(const fn_encoder *enc, float *hwc, float *in, fn_err *err)
{
    const fn_profile *p = &enc->prof;
    size_t n = (size_t)p->in_h * p->in_w;
    for (size_t i = 0; i < n; i++) {
        float *o = hwc + 3 * i, px[3] = {o[0], o[1], o[2]};
        for (int c = 0; c < 3; c++) {
            float v = px[p->bgr ? 2 - c : c] - p->mean[c];
            o[c] = p->use_scale ? v * p->scale[c] : v / p->std[c];
        }
    }
    if (enc->chw) {
        if (!in)
            return fn_fail(err, FN_E_ARG, "no input buffer");
        fn_hwc_to_chw(hwc, 3, (int)n, in);
    }
    return 0;
}

int fn_faces_input(const fn_encoder *enc, const fn_image *img, const char *name,
                   const fn_face *face, fn_chip_mode mode, float *in, fn_err *err)
{
    if (!name)
        name = "image";
    const fn_profile *p = &enc->prof;
    size_t n = fn_encoder_input_floats(enc);
    float *hwc = enc->chw ? malloc(sizeof(float) * n) : in;
    if (!hwc)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    int rc;
    if (mode == FN_CHIP_FACEAPI) {
        rc = faceapi_pixels(p, img, face, hwc, err);
        if (!rc)
            rc = finish_input(enc, hwc, in, err);
    } else {
        double lm5[10];
        rc = fn_landmarks68_to5(face->landmarks, FN_LANDMARKS_PIXEL_OFFSET, lm5, err);
        if (!rc)
            rc = fn_preprocess_aligned(p, img, lm5, hwc, err);
        if (!rc && enc->chw)
            fn_hwc_to_chw(hwc, 3, p->in_h * p->in_w, in);
    }
    if (enc->chw)
        free(hwc);
    if (rc)
        return fn_wrap(err, "%s: face at (%.0f, %.0f): ", name, face->box.x, face->box.y);
    return 0;
}

int fn_faces_chip(const fn_encoder *enc, const fn_image *img, const char *name,
                  const fn_face *face, fn_chip_mode mode, fn_image *chip, fn_err *err)
{
    if (!name)
        name = "image";
    const fn_profile *p = &enc->prof;
    int rc;
    if (mode == FN_CHIP_FACEAPI) {
        float *raw = malloc(sizeof(float) * fn_encoder_input_floats(enc));
        if (!raw)
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
        rc = faceapi_pixels(p, img, face, raw, err);
        if (!rc)
            rc = fn_image_alloc(chip, p->in_w, p->in_h, err);
        if (!rc)
            for (size_t i = 0; i < (size_t)p->in_w * p->in_h * 3; i++) {
                float v = roundf(raw[i]);
                chip->rgb[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        free(raw);
    } else {
        double lm5[10], tmpl[10];
        fn_profile_template(p, tmpl);
        rc = fn_landmarks68_to5(face->landmarks, FN_LANDMARKS_PIXEL_OFFSET, lm5, err);
        if (!rc)
            rc = fn_align_face(img, lm5, tmpl, p->in_w, p->in_h, p->align_mode, chip, err);
    }
    if (rc)
        return fn_wrap(err, "%s: face at (%.0f, %.0f): ", name, face->box.x, face->box.y);
    return 0;
}

int fn_faces_encode(fn_encoder *enc, const fn_image *img, const char *name, const fn_face *face,
                    fn_chip_mode mode, float *emb, fn_err *err)
{
    float *in = malloc(sizeof(float) * fn_encoder_input_floats(enc));
    if (!in)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name ? name : "image");
    int rc = fn_faces_input(enc, img, name, face, mode, in, err);
    if (!rc)
        rc = fn_encoder_run(enc, in, 1, emb, err);
    free(in);
    return rc;
}

/* Mirror one input left-right in place, in the model's layout. */
static void mirror_input(const fn_encoder *enc, float *in)
{
    int h = enc->prof.in_h, w = enc->prof.in_w;
    for (int c = 0; c < (enc->chw ? 3 : 1); c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w / 2; x++)
                for (int k = 0; k < (enc->chw ? 1 : 3); k++) {
                    size_t a, b;
                    if (enc->chw)
                        a = ((size_t)c * h + y) * w + x, b = ((size_t)c * h + y) * w + (w - 1 - x);
                    else
                        a = ((size_t)y * w + x) * 3 + k, b = ((size_t)y * w + (w - 1 - x)) * 3 + k;
                    float t = in[a];
                    in[a] = in[b], in[b] = t;
                }
}

int fn_faces_encode_flip(fn_encoder *enc, const fn_image *img, const char *name,
                         const fn_face *face, fn_chip_mode mode, float *emb, fn_err *err)
{
    size_t n = fn_encoder_input_floats(enc);
    float *in = malloc(sizeof(float) * 2 * n), *two = malloc(sizeof(float) * 2 * (size_t)enc->dim);
    int rc = in && two ? 0 : fn_fail(err, FN_E_NOMEM, "%s: out of memory", name ? name : "image");
    if (!rc)
        rc = fn_faces_input(enc, img, name, face, mode, in, err);
    if (!rc) {
        memcpy(in + n, in, sizeof(float) * n);
        mirror_input(enc, in + n);
        rc = fn_encoder_run(enc, in, 2, two, err);
    }
    if (!rc) {
        double ss = 0;
        for (int k = 0; k < enc->dim; k++) {
            emb[k] = (two[k] + two[enc->dim + k]) / 2;
            ss += (double)emb[k] * emb[k];
        }
        if (enc->prof.l2_normalize && ss > 0)
            for (int k = 0; k < enc->dim; k++)
                emb[k] = (float)(emb[k] / sqrt(ss));
    }
    free(in);
    free(two);
    return rc;
}

static void put(fn_image *img, double x, double y, const unsigned char c[3])
{
    if (!(x >= 0 && y >= 0 && x < img->w && y < img->h)) /* also false for NaN */
        return;
    unsigned char *p = img->rgb + ((size_t)(int)y * img->w + (int)x) * 3;
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
}

void fn_faces_draw(fn_image *img, const fn_face_list *faces)
{
    static const unsigned char green[3] = {0, 255, 0}, red[3] = {255, 0, 0};
    for (int i = 0; i < faces->n; i++) {
        const fn_face *f = &faces->face[i];
        double x0 = floor(f->box.x), y0 = floor(f->box.y);
        double x1 = floor(f->box.x + f->box.width), y1 = floor(f->box.y + f->box.height);
        if (!(x1 - x0 < 1e5 && y1 - y0 < 1e5)) /* not finite or absurd */
            continue;
        for (int t = 0; t < 2; t++) {
            for (double x = x0; x <= x1; x++)
                put(img, x, y0 + t, green), put(img, x, y1 - t, green);
            for (double y = y0; y <= y1; y++)
                put(img, x0 + t, y, green), put(img, x1 - t, y, green);
        }
        for (int p = 0; p < 68; p++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    put(img, floor(f->landmarks[2 * p]) + dx, floor(f->landmarks[2 * p + 1]) + dy, red);
    }
}
