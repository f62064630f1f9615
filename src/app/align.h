/* align.h - 5-point face alignment: similarity fit + bilinear chip sampling.
 *
 * Points are 10 doubles x0 y0 ... x4 y4 (left eye, right eye, nose tip, left
 * and right mouth corner), in pixel coordinates whose integers are pixel
 * centres.  A template gives where those points should land in the chip.
 *
 * The transform is the least-squares similarity (rotation, uniform scale,
 * translation; never a reflection) fitted from the template to the
 * landmarks, i.e. chip -> image, which is the map sampling needs and the
 * direction dlib fits (find_similarity_transform(chip_points, img_points)).
 * Two ways to sample the chip with it:
 *  FN_ALIGN_SIMILARITY  chip pixel (u, v) samples the image at M(u, v):
 *                       bilinear, edge-clamped within half a pixel of the
 *                       image, 0 beyond, rounded to nearest.  Landmarks land
 *                       on the template (up to the fit residual).
 *  FN_ALIGN_DLIB        dlib's chip_details + extract_image_chip arithmetic,
 *                       bit for bit: the chip spans a rectangle of
 *                       (size * scale - 1) image pixels centred on M(size/2),
 *                       bilinear needs all four neighbours inside the image
 *                       (else 0) and the value is truncated.  This puts the
 *                       landmarks about half a chip pixel off the template,
 *                       but it is what dlib-trained models (face-api's ResNet)
 *                       saw.  dlib's pyramid pre-blur for faces much larger
 *                       than the chip is not reproduced.
 */
#ifndef FN_ALIGN_H
#define FN_ALIGN_H

#include "core/error.h"
#include "io/image.h"

typedef enum { FN_ALIGN_SIMILARITY, FN_ALIGN_DLIB } fn_align_mode;

/* Least-squares similarity mapping src points onto dst points:
 *   dst ~ (M[0]*x + M[1]*y + M[2], M[3]*x + M[4]*y + M[5]),
 * with M[0] = M[4] = s*cos(a), M[3] = -M[1] = s*sin(a).
 * Fails when the points are not finite or src is degenerate (all equal). */
int fn_similarity_fit(const double src[10], const double dst[10], double M[6], fn_err *err);

void fn_similarity_apply(const double M[6], double x, double y, double *ox, double *oy);

/* Cut an out_w x out_h chip from img so that landmarks lm map onto tmpl
 * (both in the conventions above) into a newly allocated *chip. */
int fn_align_face(const fn_image *img, const double lm[10], const double tmpl[10], int out_w,
                  int out_h, fn_align_mode mode, fn_image *chip, fn_err *err);

/* Default template for a w x h network input: the 5-point reference of
 * InsightFace/ArcFace for 112x112 crops (eyes 38.29,51.70 / 73.53,51.50,
 * nose 56.03,71.74, mouth 41.55,92.37 / 70.73,92.20), scaled by
 * 0.8 * min(w, h) / 112 about the crop centre, so the ArcFace face box fills
 * the central 80% and leaves a margin like FaceNet's MTCNN crops (margin 32
 * at 160 px).  For 160x160: eyes (59.84, 75.15) (100.11, 74.93), nose
 * (80.10, 98.06), mouth (63.56, 121.63) (96.91, 121.45).  A heuristic:
 * models trained on other crops should carry align_template in facenet.json. */
void fn_align_default_template(int w, int h, double tmpl[10]);

/* dlib's get_face_chip_details template for these landmarks: the eye centres
 * (mean of the 6 points of each eye), nose tip (30) and mouth corners (48,
 * 54) of dlib's mean face shape, with dlib's padding, in a size x size chip.
 * For size 150, padding 0.25 it reproduces the face-api golden chips. */
void fn_align_dlib_template(int size, double padding, double tmpl[10]);

#endif
