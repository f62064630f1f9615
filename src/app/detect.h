/* detect.h - face detection pre- and post-processing as face-api 1.7.15 does it.
 *
 * Everything around the three networks of face-api's detection pipeline, as pure
 * functions; the networks themselves (SSD MobileNetV1, the tiny YOLOv2 face
 * detector, the 68-point landmark net) are run by the engine from converted Keras
 * files.  One image goes through:
 *
 *   image --fn_det_input_tensor(SSD)--> [512,512,3] --SSD net--> enc [N,4], logits [N,3]
 *         --fn_ssd_decode(+ anchors [N,4])--> boxes [N,4], scores [N]
 *         --fn_ssd_nms--> kept indices --fn_ssd_final_box--> fn_detection (image px)
 *   or
 *   image --fn_det_input_tensor(tiny)--> [416,416,3] --tiny net--> raw [13,13,25]
 *         --fn_tiny_decode--> candidates --fn_tiny_nms--> fn_detection (image px)
 *   then per face
 *   detection box --fn_landmark_crop--> integer crop --fn_det_input_tensor(landmarks,
 *         crop)--> [112,112,3] --landmark net--> raw [136]
 *         --fn_landmarks_decode--> relative [136] and 68 points (image px)
 *         --fn_descriptor_rect--> integer crop --fn_det_input_tensor(recognition,
 *         crop)--> [150,150,3] for the recognition net;
 *         --fn_landmarks68_to5--> the 5 points of app/align.h.
 *
 * Conventions.  Tensors are float32, row-major, NHWC without the batch axis.  Image
 * coordinates are face-api's, unshifted (see fn_landmarks68_to5 for align.h's);
 * JavaScript numbers are doubles, so boxes and points are doubles, while tensor
 * arithmetic that face-api does in TensorFlow.js is done here in float32, in the same
 * order, so that results agree to the bit where the reference kernels allow it.
 * Every parameter is in a struct whose *_default() sets face-api's values.
 * The file:function of each stage in face-api's src/ is named at each declaration;
 * docs/detection-post.md has the formulas and the measured agreement.
 *
 * No function exits or aborts: bad arguments give -1 and a message in *err (a NULL
 * err is allowed).  Non-finite network outputs never crash anything and never become
 * detections (see each function).
 */
#ifndef FN_DETECT_H
#define FN_DETECT_H

#include <stddef.h>

#include "core/error.h"
#include "io/image.h"

/* A face-api Rect/Box: x, y, width, height in image pixels (doubles, like JS). */
typedef struct {
    double x, y, width, height;
} fn_box;

/* An integer crop rectangle (what face-api slices out of the image tensor). */
typedef struct {
    int x, y, width, height;
} fn_irect;

/* One detected face: face-api's FaceDetection (score, box in image pixels). */
typedef struct {
    double score;
    fn_box box;
} fn_detection;

/* ------------------------------------------------------------ input tensors */

/* NetInput.toBatchTensor(size, center) followed by the net's normalisation:
 *   pad the (cropped) image with zeros to a square of side d = max(w, h)
 *     center == 0: all |w-h| zero rows/cols after the image (bottom or right);
 *     center != 0: round(|w-h|/2) after, the rest before (ops/padToSquare.ts);
 *   resize to size x size with TensorFlow.js's legacy resizeBilinear (alignCorners
 *     false, halfPixelCenters false; skipped when d == size), as the wasm backend
 *     runs it (XNNPACK resize-bilinear, TENSORFLOW_LEGACY_MODE), in float32:
 *       src = (float)i * ((float)d / (float)size), i0 = (int)src,
 *       i1 = min(i0 + 1, d - 1), a = src - (float)i0,
 *       top = tl + (tr - tl) * ax,  bot = bl + (br - bl) * ax,  v = top + (bot - top) * ay;
 *   normalise in float32: out = (v - mean[c]) / divisor - offset. */
typedef struct {
    int size;        /* output side */
    int center;      /* padToSquare's isCenterImage */
    float mean[3];   /* RGB, subtracted first */
    float divisor;   /* then divided by */
    float offset;    /* then subtracted */
} fn_det_input_params;

/* SSD (ssdMobilenetv1/SsdMobilenetv1.ts forwardInput): 512, end padding, x/127.5 - 1. */
void fn_det_input_ssd_default(fn_det_input_params *p);
/* Tiny (tinyYolov2/TinyYolov2Base.ts forwardInput + tinyFaceDetector/const.ts):
 * 416, end padding, (x - [117.001, 114.697, 97.404]) / 255. */
void fn_det_input_tiny_default(fn_det_input_params *p);
/* Landmarks (faceFeatureExtractor/FaceFeatureExtractor.ts forwardInput, the landmark
 * net's feature extractor): 112, centred padding,
 * (x - [122.782, 117.001, 104.298]) / 255. */
void fn_det_input_landmarks_default(fn_det_input_params *p);
/* Recognition (faceRecognitionNet/FaceRecognitionNet.ts forwardInput): 150, centred
 * padding, (x - [122.782, 117.001, 104.298]) / 255. */
void fn_det_input_recognition_default(fn_det_input_params *p);

/* The input tensor for the part `crop` of img (NULL crop = the whole image) into
 * out [p->size, p->size, 3].  The crop must lie inside the image and be non-empty;
 * padding and resizing read the image in place (nothing image-sized is allocated). */
int fn_det_input_tensor(const fn_image *img, const fn_irect *crop, const fn_det_input_params *p,
                        float *out, fn_err *err);

/* NetInput.getReshapedInputDimensions (utils computeReshapedDimensions): the size the
 * w x h image occupies inside the size x size input:
 *   rw = round(w * size / max(w, h)), rh = round(h * size / max(w, h)). */
void fn_det_reshaped_dims(int w, int h, int size, int *rw, int *rh);

/* Box.clipAtImageBorders(W, H): x, y clipped at 0, right/bottom at W/H, then the floor
 * of x, y, width, height (face-api floors the width, not the right edge).  Fails when
 * the result is empty (face-api's extractFaceTensors drops such a face), not finite
 * or outside the image. */
int fn_clip_box(const fn_box *box, int img_w, int img_h, fn_irect *crop, fn_err *err);

/* ------------------------------------------------------------------ SSD */

typedef struct {
    int input_size;         /* 512 */
    float scale_y, scale_x; /* 10, 10: box-centre encoding divisors */
    float scale_h, scale_w; /* 5, 5: log-size encoding divisors */
    double min_confidence;  /* 0.5 (SsdMobilenetv1Options) */
    double iou_threshold;   /* 0.5 (SsdMobilenetv1.locateFaces) */
    int max_results;        /* 100 */
} fn_ssd_params;

void fn_ssd_default(fn_ssd_params *p);

/* ssdMobilenetv1/outputLayer.ts (decodeBoxesLayer + sigmoid), in float32:
 *   enc     [n,4]  (ty, tx, th, tw) raw box encodings
 *   logits  [n,3]  raw class logits (background, face, unused); may be NULL if
 *                  scores is NULL
 *   anchors [n,4]  (ymin, xmin, ymax, xmax) relative to the padded input square
 *   boxes   [n,4]  out: (ymin, xmin, ymax, xmax) relative, not clipped
 *   scores  [n]    out: sigmoid(logits[:,1]); may be NULL
 * with ha = ymax - ymin, ya = ymin + ha / 2 (likewise x, w):
 *   yc = ty / 10 * ha + ya,  h/2 = exp(th / 5) * ha / 2, ymin = yc - h/2, ymax = yc + h/2.
 * Never fails; non-finite or huge inputs give non-finite boxes or NaN scores, which
 * fn_ssd_nms never takes as candidates. */
void fn_ssd_decode(const float *enc, const float *logits, const float *anchors, size_t n,
                   const fn_ssd_params *p, float *boxes, float *scores);

/* ssdMobilenetv1/nonMaxSuppression.ts: candidates with score > min_confidence sorted by
 * descending score (stable: ties keep index order), each kept unless its IoU on the
 * raw relative boxes with a kept box is > iou_threshold, at most
 * min(max_results, n) kept.  Unlike face-api, a box with a non-finite coordinate is
 * never a candidate.  keep[] (capacity max(0, min(max_results, n))) receives
 * indices in decreasing score; *nkeep their count.  Fails only when out of memory or
 * on bad arguments. */
int fn_ssd_nms(const float *boxes, const float *scores, size_t n, const fn_ssd_params *p,
               int *keep, int *nkeep, fn_err *err);

/* SsdMobilenetv1.locateFaces + FaceDetection: decoded box -> image pixels:
 *   top = max(0, ymin) * size / rh, bottom = min(1, ymax) * size / rh (x likewise
 *   with rw), (rw, rh) = fn_det_reshaped_dims; relative Rect(left, top, right - left,
 *   bottom - top) times (img_w, img_h). */
void fn_ssd_final_box(const float box[4], int img_w, int img_h, const fn_ssd_params *p,
                      fn_box *out);

/* Anchors.  face-api does not compute them: they are the model's `Output/extra_dim`
 * weight [1, N, 4], (ymin, xmin, ymax, xmax) relative to the input square, which the
 * TensorFlow Object Detection API's ssd_anchor_generator (multiple_grid_anchor_generator
 * create_ssd_anchors, tile_anchors) computed.  The engine takes them from a file given
 * with the model (fn_ssd_anchors_load; format in docs/detection-post.md: raw
 * little-endian float32, N x 4, no header).  fn_ssd_anchors_generate recomputes them
 * from the generator's parameters: layer l of grid g_l x g_l has, per cell (row-major)
 * and in this order, the box specs (scale, ratio)
 *   l = 0:  (0.1, 1), (s_0, 2), (s_0, 0.5)
 *   l > 0:  (s_l, r_0), (sqrt(s_l s_{l+1}), 1), (s_l, r_1), ..., (s_l, r_4)
 * with s_l = min + (max - min) l / (L - 1), s_L = 1, ratios (1, 2, 0.5, 3, 0.3333);
 * h = s / sqrt(r), w = s sqrt(r), centre ((i + 0.5) / g), corners centre -/+ size / 2.
 * It agrees with face-api's weight to 1 float32 ulp (TensorFlow computed the sqrt of
 * the first 4 ratios of a layer with Eigen's approximate packet sqrt; measured in
 * docs/detection-post.md), so the file is the reference, the generator a check. */
#define FN_SSD_MAX_LAYERS 8
#define FN_SSD_MAX_RATIOS 8
typedef struct {
    int num_layers;                        /* 6 */
    int grid[FN_SSD_MAX_LAYERS];           /* 32, 16, 8, 4, 2, 1 (512 input) */
    double min_scale, max_scale;           /* 0.2, 0.95 */
    int num_ratios;                        /* 5 */
    float aspect_ratios[FN_SSD_MAX_RATIOS]; /* 1, 2, 0.5, 3, 0.3333 */
    float interpolated_ratio;              /* 1 */
    float lowest_scale;                    /* 0.1: layer 0's first box */
} fn_ssd_anchor_params;

void fn_ssd_anchor_default(fn_ssd_anchor_params *p);
/* Number of anchors the parameters give (5118 for the defaults). */
int fn_ssd_anchor_count(const fn_ssd_anchor_params *p, size_t *n, fn_err *err);
/* anchors [n, 4]; n must equal fn_ssd_anchor_count. */
int fn_ssd_anchors_generate(const fn_ssd_anchor_params *p, float *anchors, size_t n,
                            fn_err *err);
/* Read exactly n anchors (n x 4 little-endian float32) from path into anchors [n, 4];
 * a size mismatch or a non-finite value is an error naming the file. */
int fn_ssd_anchors_load(const char *path, size_t n, float *anchors, fn_err *err);

/* All three steps for one image: decode, NMS, final boxes, into dets (capacity
 * min(max_results, n)); *ndets their count, in decreasing score.  Fails when the image is so thin that a side
 * rounds to 0 pixels of the input (face-api would divide by 0).  boxes/scores:
 * the caller's scratch, [n,4] and [n]. */
int fn_ssd_postprocess(const float *enc, const float *logits, const float *anchors, size_t n,
                       int img_w, int img_h, const fn_ssd_params *p, float *boxes,
                       float *scores, fn_detection *dets, int *ndets, fn_err *err);

/* ----------------------------------------------------------------- tiny */

#define FN_TINY_MAX_ANCHORS 16

typedef struct {
    int input_size;                    /* 416 */
    int num_anchors;                   /* 5 */
    double anchors[FN_TINY_MAX_ANCHORS][2]; /* (w, h) in grid cells (tinyFaceDetector/const.ts) */
    double score_threshold;            /* 0.5 (TinyFaceDetectorOptions); 0 keeps all */
    double iou_threshold;              /* 0.4 */
} fn_tiny_params;

void fn_tiny_default(fn_tiny_params *p);

/* TinyYolov2Base.extractBoxes, in doubles like face-api:
 *   raw [grid, grid, num_anchors * 5]: per anchor (tx, ty, tw, th, objectness logit);
 *   score = sigmoid(logit); kept when score > threshold (threshold 0: every finite one)
 *   cx = (col + sigmoid(tx)) / grid * cfx,  cy = (row + sigmoid(ty)) / grid * cfy,
 *   w = exp(tw) * anchor_w / grid * cfx,    h = exp(th) * anchor_h / grid * cfy,
 *   cf = input_size / reshaped dims (fn_det_reshaped_dims), box (cx - w/2, cy - h/2, w, h)
 *   relative to the image (not clipped).  Unlike face-api, a candidate whose box is not
 *   finite (exp overflow, NaN output) or reaches beyond a million times the image is
 *   dropped.
 * Writes up to cap candidates into cands (box relative) and their count into *ncand;
 * fails (naming the counts) when there are more than cap.  A cap of
 * grid * grid * num_anchors always suffices. */
int fn_tiny_decode(const float *raw, int grid, int img_w, int img_h, const fn_tiny_params *p,
                   fn_detection *cands, int cap, int *ncand, fn_err *err);

/* ops/nonMaxSuppression.ts on the candidates' boxes times input_size: repeatedly take
 * the highest score (among equal scores the last one), drop every other with
 * IoU > iou_threshold.  keep[] (capacity n) receives indices in pick order. */
int fn_tiny_nms(const fn_detection *cands, int n, const fn_tiny_params *p, int *keep, int *nkeep,
                fn_err *err);

/* Decode + NMS + image pixels (box times img_w, img_h) into dets; scratch: cands and
 * keep of capacity grid * grid * num_anchors. */
int fn_tiny_postprocess(const float *raw, int grid, int img_w, int img_h,
                        const fn_tiny_params *p, fn_detection *cands, int *keep,
                        fn_detection *dets, int *ndets, fn_err *err);

/* ------------------------------------------------------------ landmarks */

#define FN_LANDMARKS68 68

/* The crop the landmark net sees: Box.clipAtImageBorders of the detection box after
 * FaceDetection.forSize(W, H) (a rescale by 1/W, 1/H and back, as
 * dom/extractFaceTensors.ts does). */
int fn_landmark_crop(const fn_detection *det, int img_w, int img_h, fn_irect *crop, fn_err *err);

/* FaceLandmark68NetBase.postProcess + FaceLandmarks + extendWithFaceLandmarks:
 *   raw [136]: (x0, y0, x1, y1, ...) relative to the padded input square;
 *   s = input_size / max(cw, ch), sw = cw * s, sh = ch * s (unrounded),
 *   padx = |sw - sh| / 2 if sw < sh else 0 (pady likewise),
 *   rel[2i] = (raw[2i] * input_size - padx) / sw   (float32, like the tensor ops),
 *   pts[2i] = rel[2i] * cw + box.x                 (double; y likewise with ch, box.y)
 * where (cw, ch) is the integer crop size and box the unfloored detection box.  rel
 * or pts may be NULL.  Fails on an empty crop. */
int fn_landmarks_decode(const float raw[136], const fn_irect *crop, const fn_box *box,
                        int input_size, float rel[136], double pts[136], fn_err *err);

/* FaceLandmarks.align(null, {useDlibAlignment: true}) (classes/FaceLandmarks.ts
 * alignDlib), the rect face-api crops for the descriptor:
 *   le, re, mc = centres of points 36-41, 42-47, 48-67; d = (|mc - le| + |mc - re|) / 2;
 *   size = floor(d / 0.45); c = (le + re + mc) / 3;
 *   x = floor(max(0, c.x - 0.5 size)), y = floor(max(0, c.y - 0.43 size));
 *   rect (x, y, min(size, crop_w + x), min(size, crop_h + y))
 * (crop_w/h: the landmark crop's size, which face-api keeps as the landmarks' "image"
 * size).  The caller then clips it with fn_clip_box.  Fails on non-finite points. */
int fn_descriptor_rect(const double pts[136], int crop_w, int crop_h, fn_box *rect, fn_err *err);

/* The 5 points of app/align.h (left eye, right eye, nose tip, left and right mouth
 * corner: dlib's 5-point order of fn_align_dlib_template) from the 68:
 *   eye centres = means of points 36-41 and 42-47, nose tip = 30, mouth corners = 48
 *   and 54 (0-based iBUG/dlib 68-point indices); each coordinate minus pixel_offset.
 * pixel_offset shifts face-api's coordinates to another convention; the default
 * FN_LANDMARKS_PIXEL_OFFSET is 0: on the 42 faces that SSD finds among dlib's 43
 * annotated ones, the 5 points with offset 0 are closer to dlib's shape predictor
 * (integers = pixel centres, align.h's convention) than with 0.5 (mean error / outer
 * eye-corner distance 0.0475 vs 0.0583; tiny: 0.0459 vs 0.0467): face-api's own bias
 * (mean dx -0.13, dy -0.91 px) outweighs the half pixel (docs/detection-post.md). */
#define FN_LANDMARKS_PIXEL_OFFSET 0.0
int fn_landmarks68_to5(const double pts[136], double pixel_offset, double out[10], fn_err *err);

#endif
