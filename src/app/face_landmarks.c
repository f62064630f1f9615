/* face_landmarks.c - the 68-point landmark stage around the landmark net and the
 * alignment that follows it (see detect.h): crop, output decoding to image points,
 * face-api's descriptor rect, and the 5 points for app/align.c. */
/* float32 results must equal TF.js's unfused multiply-adds: GCC does not contract in
 * ISO C mode (-std=c11); clang needs telling (its default fuses within expressions). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include "app/detect.h"

#include <math.h>

int fn_landmark_crop(const fn_detection *det, int img_w, int img_h, fn_irect *crop, fn_err *err)
{
    if (img_w <= 0 || img_h <= 0)
        return fn_fail(err, FN_E_ARG, "landmark crop: invalid image size %dx%d", img_w, img_h);
    /* det.forSize(W, H).box = box.rescale(1/W, 1/H).rescale(W, H) */
    double iw = 1.0 / img_w, ih = 1.0 / img_h;
    fn_box b = {det->box.x * iw * img_w, det->box.y * ih * img_h, det->box.width * iw * img_w,
                det->box.height * ih * img_h};
    if (fn_clip_box(&b, img_w, img_h, crop, err))
        return fn_wrap(err, "landmark crop: ");
    return 0;
}

int fn_landmarks_decode(const float raw[136], const fn_irect *crop, const fn_box *box,
                        int input_size, float rel[136], double pts[136], fn_err *err)
{
    if (!raw || !crop || (pts && !box))
        return fn_fail(err, FN_E_ARG, "landmarks: missing buffer");
    if (crop->width <= 0 || crop->height <= 0 || input_size <= 0)
        return fn_fail(err, FN_E_ARG, "landmarks: empty crop %dx%d or input size %d",
                       crop->width, crop->height, input_size);
    double cw = crop->width, ch = crop->height;
    /* postProcess: inputDimensions in doubles, the tensor ops in float32 */
    double s = (double)input_size / (ch > cw ? ch : cw);
    double sw = cw * s, sh = ch * s;
    float pad_x = (float)(sw < sh ? fabs(sw - sh) / 2 : 0);
    float pad_y = (float)(sh < sw ? fabs(sw - sh) / 2 : 0);
    float fsw = (float)sw, fsh = (float)sh, fin = (float)input_size;
    for (int i = 0; i < FN_LANDMARKS68; i++) {
        float rx = (raw[2 * i] * fin - pad_x) / fsw;
        float ry = (raw[2 * i + 1] * fin - pad_y) / fsh;
        if (rel) {
            rel[2 * i] = rx;
            rel[2 * i + 1] = ry;
        }
        if (pts) {
            /* FaceLandmarks: rel * (w, h); shiftBy(box.x, box.y): (p / (w, h)) * (w, h) + shift */
            double px = (double)rx * cw, py = (double)ry * ch;
            pts[2 * i] = px / cw * cw + box->x;
            pts[2 * i + 1] = py / ch * ch + box->y;
        }
    }
    return 0;
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* utils getCenterPoint: sum from (0, 0) in order, divided by the count */
static void center_of(const double pts[136], int first, int count, double c[2])
{
    double x = 0, y = 0;
    for (int i = first; i < first + count; i++) {
        x += pts[2 * i];
        y += pts[2 * i + 1];
    }
    c[0] = x / count;
    c[1] = y / count;
}

int fn_descriptor_rect(const double pts[136], int crop_w, int crop_h, fn_box *rect, fn_err *err)
{
    rect->x = rect->y = rect->width = rect->height = 0;
    if (!all_finite(pts, 136))
        return fn_fail(err, FN_E_ARG, "descriptor rect: landmarks are not finite");
    /* classes/FaceLandmarks.ts constants relX, relY, relScale */
    const double rel_x = 0.5, rel_y = 0.43, rel_scale = 0.45;
    double le[2], re[2], mc[2];
    center_of(pts, 36, 6, le);
    center_of(pts, 42, 6, re);
    center_of(pts, 48, 20, mc);
    double dl = sqrt((mc[0] - le[0]) * (mc[0] - le[0]) + (mc[1] - le[1]) * (mc[1] - le[1]));
    double dr = sqrt((mc[0] - re[0]) * (mc[0] - re[0]) + (mc[1] - re[1]) * (mc[1] - re[1]));
    double size = floor(((dl + dr) / 2) / rel_scale);
    double cx = (((0 + le[0]) + re[0]) + mc[0]) / 3, cy = (((0 + le[1]) + re[1]) + mc[1]) / 3;
    double x = floor(fmax(0, cx - rel_x * size)), y = floor(fmax(0, cy - rel_y * size));
    rect->x = x;
    rect->y = y;
    rect->width = size < crop_w + x ? size : crop_w + x;
    rect->height = size < crop_h + y ? size : crop_h + y;
    return 0;
}

int fn_landmarks68_to5(const double pts[136], double pixel_offset, double out[10], fn_err *err)
{
    if (!all_finite(pts, 136) || !isfinite(pixel_offset))
        return fn_fail(err, FN_E_ARG, "landmarks 68 to 5: points are not finite");
    double le[2], re[2];
    center_of(pts, 36, 6, le);
    center_of(pts, 42, 6, re);
    const double five[10] = {le[0], le[1], re[0], re[1], pts[60], pts[61],
                             pts[96], pts[97], pts[108], pts[109]};
    for (int i = 0; i < 10; i++)
        out[i] = five[i] - pixel_offset;
    return 0;
}
