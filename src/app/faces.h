/* faces.h - photos in, faces out: face detection (face-api's SSD MobileNetV1 or tiny
 * detector), 68 landmarks (face-api's full or tiny landmark net) and the aligned chip
 * the recognition encoder (app/encoder.h) takes, for one decoded image.
 *
 *   fn_faces *det;
 *   fn_faces_opts o;
 *   fn_faces_opts_default(&o, "weights");          // ssd + face-landmark-68
 *   if (fn_faces_open(&det, &o, &err)) ...
 *   fn_face_list faces = {0};
 *   if (fn_faces_detect(det, &img, "photo.jpg", &faces, &err)) ...   // 0 faces is no error
 *   float *emb = malloc(sizeof(float) * enc.dim);  // enc.dim: the model's output size
 *   for (int i = 0; i < faces.n; i++)
 *       if (fn_faces_encode(&enc, &img, "photo.jpg", &faces.face[i], FN_CHIP_FACEAPI, emb, &err)) ...
 *   free(emb);
 *   fn_face_list_free(&faces);
 *   fn_faces_close(det);
 *
 * The nets are ordinary Keras files run through the public engine API (fn_net_load,
 * fn_net_run, fn_net_output); everything around them is app/detect.h (face-api's
 * pre- and post-processing, bit-exact against its dumps).  A photo whose longer side
 * is at least opts.small_side pixels (300) goes through exactly face-api's detection
 * and landmark steps.  A smaller photo (LFW's 150x150) goes through them too, then
 * detection runs again on a copy placed in the middle of a larger zero canvas
 * (opts.small_canvas[0] times its longer side), where a face that filled the photo has
 * a size the SSD finds, and its new faces join (always with opts.small_always, else
 * only when face-api's steps found none), then on the next canvas sizes while there is
 * still no face (docs/detection.md, "Small photos").
 *
 * All coordinates are face-api's: image pixels, continuous (not pixel centres).
 * No function exits or aborts; errors name the image. */
#ifndef FN_FACES_H
#define FN_FACES_H

#include "app/detect.h"
#include "app/encoder.h"
#include "core/error.h"
#include "io/image.h"

typedef enum { FN_DETECTOR_SSD, FN_DETECTOR_TINY } fn_detector_kind;

#define FN_FACES_MAX_CANVAS 4

/* How the recognition chip is cut:
 *  FN_CHIP_FACEAPI  face-api's own crop: fn_descriptor_rect (a square from the eye and
 *                   mouth centres, no rotation), padded to a square and resized to the
 *                   encoder's input with TF.js's legacy bilinear (fn_det_input_tensor);
 *                   bit-exact with face-api's recognition input for the dlib ResNet.
 *  FN_CHIP_ALIGN5   the 5-point similarity alignment of app/align.c onto the encoder
 *                   profile's template and align_mode, from fn_landmarks68_to5. */
typedef enum { FN_CHIP_FACEAPI, FN_CHIP_ALIGN5 } fn_chip_mode;

/* The default mode, chosen on LFW View 1's DevTrain (bench/lfw_align from the
 * detections of bench/lfw_detect --cache, the dlib ResNet, 150x150 photos with
 * small_always, every pair counted): accuracy at the best DevTrain threshold 0.9905 (21
 * errors of 2200) with FN_CHIP_ALIGN5 against 0.9873 (28) with FN_CHIP_FACEAPI
 * (10-fold on DevTrain 0.9877 against 0.9845; AUC 0.9993 against 0.9987).  DevTest,
 * looked at after the choice: 0.9830 against 0.9880.  Other 68-to-5 mappings and
 * templates (dlib's 68- and 5-point chips, learned templates) came within 2 pairs of
 * FN_CHIP_ALIGN5 on DevTrain: noise.  FN_CHIP_FACEAPI reproduces face-api's descriptors
 * (docs/detection.md, "Alignment"). */
#define FN_CHIP_DEFAULT FN_CHIP_ALIGN5

typedef struct {
    const char *detector_dir;  /* model.json, model.h5, detector.json (+ anchors.f32) */
    const char *landmarks_dir; /* model.json, model.h5, detector.json */
    double min_score;          /* <= 0: detector.json's (SSD 0.5, tiny 0.5) */
    int small_side;            /* photos with a longer side below this get the small-photo
                                  pass; 0: never (face-api exactly).  Default 300 */
    double small_canvas[FN_FACES_MAX_CANVAS]; /* those passes' canvas side / the photo's
                                  longer side, in order, until one finds a face; a 0 ends
                                  the list.  Default 2, 2.5, 3, 1.5 */
    int small_always;          /* 1: the first canvas pass runs on every small photo and
                                  its faces join face-api's (a face-api pass that finds
                                  only a stray face at the border no longer hides the
                                  central one); 0: only when face-api's pass found
                                  nothing.  Default 1 */
    int sandbox;               /* fn_load_opts.sandbox for the two nets */
    int threads;               /* fn_load_opts.threads for the two nets (0: all cores) */
} fn_faces_opts;

/* detector_dir = root/ssd-mobilenetv1, landmarks_dir = root/face-landmark-68 (the
 * strings live in static storage: one root at a time), the other fields as above. */
void fn_faces_opts_default(fn_faces_opts *o, const char *root);

typedef struct {
    double score;              /* detector confidence */
    fn_box box;                /* [x, y, w, h], image pixels */
    double landmarks[136];     /* x0, y0, ..., x67, y67, image pixels */
    fn_irect landmark_crop;    /* the crop the landmark net saw (fn_landmark_crop) */
    int pass;                  /* the pass that found it: 0 face-api's, k >= 1 the
                                  small-photo canvas opts.small_canvas[k - 1] */
} fn_face;

typedef struct {
    fn_face *face;             /* n faces in decreasing score */
    int n, cap;
} fn_face_list;

typedef struct fn_faces fn_faces;

int fn_faces_open(fn_faces **out, const fn_faces_opts *o, fn_err *err);
void fn_faces_close(fn_faces *det);
/* Run the detector and landmark nets on the threads of `net` (the recognition net of
 * the same loop: fn_net_share_threads); they must not run at the same time as it. */
int fn_faces_share_threads(fn_faces *det, fn_net *net, fn_err *err);
fn_detector_kind fn_faces_kind(const fn_faces *det);

/* Every face of img (faces->n = 0 when there is none), replacing what *faces held;
 * `name` (the file) names the image in errors and may be NULL. */
int fn_faces_detect(fn_faces *det, const fn_image *img, const char *name, fn_face_list *faces,
                    fn_err *err);
void fn_face_list_free(fn_face_list *faces);

/* fn_image_load (max_pixels 0: the default limit) + fn_faces_detect: *img receives the
 * decoded photo (the caller frees it, also on failure). */
int fn_faces_detect_file(fn_faces *det, const char *path, size_t max_pixels, fn_image *img,
                         fn_face_list *faces, fn_err *err);

/* Draw the faces onto img (for --draw): each box as a 2-pixel green outline, each
 * landmark as a 3x3 red dot; whatever falls outside the image is skipped. */
void fn_faces_draw(fn_image *img, const fn_face_list *faces);

/* Index of the face whose box centre is nearest the image centre (-1 if none), and
 * of the largest box (-1 if none). */
int fn_faces_central(const fn_face_list *faces, int img_w, int img_h);
int fn_faces_largest(const fn_face_list *faces);

/* The encoder's input for one face (fn_encoder_input_floats(enc) floats, in the model's
 * layout), cut from img in the given mode.  FN_CHIP_FACEAPI needs a square input. */
int fn_faces_input(const fn_encoder *enc, const fn_image *img, const char *name,
                   const fn_face *face, fn_chip_mode mode, float *in, fn_err *err);

/* The chip as an 8-bit RGB image of the encoder's input size (for --save-chips):
 * FN_CHIP_FACEAPI rounds the float resize to the nearest byte. */
int fn_faces_chip(const fn_encoder *enc, const fn_image *img, const char *name,
                  const fn_face *face, fn_chip_mode mode, fn_image *chip, fn_err *err);

/* fn_faces_input + fn_encoder_run: the face's embedding (enc->dim floats). */
int fn_faces_encode(fn_encoder *enc, const fn_image *img, const char *name, const fn_face *face,
                    fn_chip_mode mode, float *emb, fn_err *err);

/* Test-time flip: the average of the embeddings of the chip and of its mirror image
 * (one batch of 2: twice the recognition net's work), re-normalised when the profile
 * normalises.  Not the default anywhere: on LFW View 1's DevTrain it changed a few
 * pairs of 2200 (docs/detection.md, "Alignment"). */
int fn_faces_encode_flip(fn_encoder *enc, const fn_image *img, const char *name,
                         const fn_face *face, fn_chip_mode mode, float *emb, fn_err *err);

#endif
