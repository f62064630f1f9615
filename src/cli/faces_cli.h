/* faces_cli.h - the images of a command, as faces.
 *
 * Every command that takes photos (encode, enroll, verify, identify, distance,
 * evaluate) reads them through here: each image is decoded once, its faces are found
 * (app/faces.h: face-api's SSD or tiny detector and 68 landmarks) unless --no-detect
 * or --landmarks FILE says where the face is, the command's pick rule chooses among
 * them, each chosen face is cut as the network sees it (--chip) and the cuts are
 * encoded in batches.  Each image ends with one status, reported once on stderr:
 *   "facenet: a.jpg: no face found (skipped)"
 *   "facenet: b.jpg: 3 faces found, one expected (--largest takes the largest) (...)"
 * and an image the decoder refuses is reported with the decoder's reason.
 */
#ifndef FN_FACES_CLI_H
#define FN_FACES_CLI_H

#include "app/faces.h"
#include "cli/cli.h"

typedef enum {
    FN_PICK_ALL,     /* every face (encode, identify, distance) */
    FN_PICK_ONE,     /* exactly one; none or several fail the image (enroll, verify) */
    FN_PICK_LARGEST, /* the largest box (--largest) */
    FN_PICK_CENTRAL, /* the box whose centre is nearest the image's (evaluate) */
} fn_pick;

typedef enum {
    FN_IMG_OK,         /* at least one face encoded */
    FN_IMG_UNREADABLE, /* decode, landmarks or preprocessing failed */
    FN_IMG_NO_FACE,    /* the detector found none */
    FN_IMG_MANY,       /* FN_PICK_ONE and several faces */
} fn_img_status;

/* Where a command's faces come from: built from its options by fn_face_source_open. */
typedef struct {
    fn_faces *det;           /* NULL: --no-detect or --landmarks (each image is one face) */
    fn_chip_mode chip;       /* --chip align|faceapi */
    fn_landmarks lms;        /* --landmarks FILE (--landmark-scale S) */
    const char *lm_path;
    const char *save_chips;  /* --save-chips DIR, or NULL */
    fn_pick pick;
    int batch;               /* faces per forward pass */
} fn_face_source;

/* One encoded face. */
typedef struct {
    int image;        /* index into the command's images */
    int face;         /* index among the image's detections (by score); -1 without detection */
    int n_faces;      /* detections in the image (1 without detection) */
    double score;     /* detector score (NaN without detection) */
    fn_box box;       /* image pixels (the whole image without detection) */
    float *landmarks; /* 68 (x, y) in image pixels when kept (keep_landmarks), else NULL */
} fn_cli_face;

typedef struct {
    fn_cli_face *face;
    int n, cap, dim;
    float *emb;              /* n x dim: what the profile compares */
    float *raw;              /* n x dim network outputs, when asked for */
    unsigned char *status;   /* per image: fn_img_status */
    int *n_found;            /* per image: faces the detector found (0 without detection) */
    int n_images, n_ok, n_unreadable, n_no_face, n_many;
} fn_cli_face_set;

/* Read --no-detect, --landmarks/--landmark-scale, --detector, --min-score, --chip,
 * --save-chips and --largest from a (options a command does not have read as unset);
 * `pick` is the command's rule (--largest replaces FN_PICK_ALL and FN_PICK_ONE).
 * 0, or FN_EXIT_ERROR after printing the error. */
int fn_face_source_open(const fn_cli_args *a, fn_pick pick, int batch, fn_face_source *s);
void fn_face_source_close(fn_face_source *s);
/* Does the source detect (no --no-detect, no --landmarks)? */
static inline int fn_face_source_detects(const fn_face_source *s) { return s->det != NULL; }

/* Encode the faces of n images (keys: the landmark lookup keys).  Per-image failures
 * are reported with `note` and counted; -1 only when nothing could go on (memory, the
 * network).  want_raw: also fill set->raw; keep_landmarks: fill face->landmarks. */
int fn_cli_encode_faces(fn_face_source *s, fn_encoder *enc, const char *const *paths, const char *const *keys,
                        int n, const char *note, int want_raw, int keep_landmarks, fn_cli_face_set *set,
                        fn_err *err);
void fn_cli_face_set_free(fn_cli_face_set *set);
/* first[i] = the index of paths[i]'s first occurrence if it came before, else -1 (one
 * pass: a hash table).  -1 when out of memory. */
int fn_cli_first_occurrences(const char *const *paths, int n, int *first);
/* Move src's faces to the end of dst, their images shifted by offset (dst's images
 * offset.. are src's); src is left to be freed. */
int fn_cli_face_set_append(fn_cli_face_set *dst, fn_cli_face_set *src, int offset, fn_err *err);

/* DIR/NAME<suffix>.png for an image's key (its path relative to the folder operand;
 * a file operand outside the current folder by its base name), '/' as '_', without
 * its extension: where --save-chips and --draw write. */
void fn_cli_out_name(char *buf, size_t cap, const char *dir, const char *key, const char *suffix);

/* One embedding per image (the source's pick must not be FN_PICK_ALL): emb row i and
 * ok[i] for paths[i] (NaN and 0 for an image that gave none, reported with note). */
int fn_cli_encode_each(fn_face_source *s, fn_encoder *enc, const char *const *paths, const char *const *keys, int n,
                       const char *note, float *emb, int *ok, int *n_ok, fn_err *err);

/* "path" for an image's only face (or without detection), "path#k" for face k of
 * several - the label in distance matrices and messages. */
const char *fn_cli_face_label(const fn_cli_face_set *set, const char *const *paths, int i, char *buf, size_t cap);

/* The detection keys of a face as JSON ("face", "score", "box", and "landmarks" when
 * kept) added to obj; nothing without detection. */
void fn_cli_face_json(cJSON *obj, const fn_cli_face *f);

/* A JSON line for an image that gave no embedding: {"image", "faces": N (when the
 * detector ran), "error": "no face found" | "several faces, one expected" | "unreadable"}. */
cJSON *fn_cli_image_status_json(const char *path, fn_img_status st, int n_found);

#endif
