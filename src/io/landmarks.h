/* landmarks.h - 5-point face landmark files, looked up by relative image path.
 *
 * Format (one face per line, tab-separated, like lfw/landmarks-5pt-250px.txt):
 *   Name/Name_0001.jpg <TAB> x0 <TAB> y0 <TAB> ... <TAB> x4 <TAB> y4
 * with the points in this order: left eye, right eye, nose tip, left mouth
 * corner, right mouth corner ("left" = smaller x in the image), in pixels of
 * the image the file was made for.  Empty lines and lines starting with '#'
 * are skipped; anything else that does not parse is an error naming the file
 * and line.  `scale` multiplies every coordinate on load (0.6 maps the LFW
 * 250 px landmarks onto the 150 px original-150 images).  Numbers are decimal
 * (no hex floats, no inf/nan); points that cannot be a face are refused with the
 * reason: a coordinate beyond FN_LANDMARK_MAX_COORD after scaling, both eyes at one
 * point, or the mouth on the line through the eyes (collinear points).
 */
#ifndef FN_LANDMARKS_H
#define FN_LANDMARKS_H

#include <stddef.h>

#include "core/error.h"

#define FN_LANDMARK_MAX_COORD 1e6 /* pixels: no photo is larger */

typedef struct {
    char *path;    /* relative image path, the lookup key */
    double pt[10]; /* x0 y0 ... x4 y4, already scaled */
    long line;     /* 1-based line in the file, for messages */
} fn_landmark_entry;

typedef struct {
    fn_landmark_entry *items; /* sorted by path (strcmp) */
    size_t n;
} fn_landmarks;

/* Entries a file may hold unless the caller allows more (LFW's has 13,233), and its
 * size: a file over either is FN_E_LIMIT ("the limit landmarks=N"), refused before the
 * entries are allocated.  Each entry costs about 110 bytes plus its path. */
#define FN_LANDMARKS_DEFAULT_MAX ((size_t)1000000)
#define FN_LANDMARKS_MAX_FILE_BYTES ((size_t)256 << 20)

/* Read a landmarks file.  Duplicate paths are an error. */
int fn_landmarks_load(const char *path, double scale, fn_landmarks *lm, fn_err *err);
/* The same with a limit on its entries (0: FN_LANDMARKS_DEFAULT_MAX). */
int fn_landmarks_load_max(const char *path, double scale, size_t max_entries, fn_landmarks *lm, fn_err *err);

/* Same from a buffer (need not be NUL-terminated); `name` names it in errors. */
int fn_landmarks_parse(const char *text, size_t len, const char *name, double scale,
                       fn_landmarks *lm, fn_err *err);

/* The 10 coordinates for relpath, or NULL when it has none. */
const double *fn_landmarks_find(const fn_landmarks *lm, const char *relpath);

void fn_landmarks_free(fn_landmarks *lm);

#endif
