/* plot.h - the pictures and data files of `facenet distance` and `facenet evaluate`:
 * the distance heat map (--plot), the ROC curve beside the same/different distance
 * histograms (--plot), and every scored pair as CSV (--scores).
 *
 * Plots are PNG or SVG by the file name's extension, drawn with cairo. Each carries
 * the numbers it shows as one JSON object under the key "facenet-data" (PNG: an iTXt
 * chunk; SVG: <metadata id="facenet-data">), so the figure can be checked against
 * the command's text output (tests/test_plots.c does). */
#ifndef FN_PLOT_H
#define FN_PLOT_H

#include "core/error.h"
#include "io/pairs.h"

/* 0 if path names a file a plot can be written as (.png or .svg); checked before the
 * images are encoded, so a wrong name fails at once. */
int fn_plot_check_path(const char *path, fn_err *err);

/* The heat map of the distances between the n images with ok[i] set (emb: n x dim,
 * paths label them by file name), on a diverging scale centred on thr: blue below
 * (the same person by this threshold, cells outlined), red above. The distances are
 * fn_l2_distance's, as `facenet distance` prints them. title may be NULL. */
int fn_plot_distances(const char *path, const char *const *paths, const int *ok, int n, const float *emb, int dim,
                      double thr, const char *title, fn_err *err);

/* Two panels: the ROC curve (TAR against FAR; log10 FAR axis when log_far) with its
 * AUC and the operating point at thr, and the histograms of the same-person and
 * different-person distances with thr marked. NaN distances (pairs not scored) are
 * left out. Decision rule as in eval.h: same iff dist < thr. */
int fn_plot_evaluation(const char *path, const float *dist, const int *same, int n, double thr, int log_far,
                       const char *title, fn_err *err);

/* CSV, one row per pair: set (test = --pairs, train = --train-pairs), image_a,
 * image_b (root/path as read), label (same/different), distance (%.9g, empty when not
 * answered), fold (1..folds of the k-fold split for test pairs, empty for train),
 * answered (1: both images gave an embedding). train/tdist may be NULL. */
int fn_write_scores(const char *path, const char *root, const fn_lfw_pairs *test, const float *dist,
                    const fn_lfw_pairs *train, const float *tdist, int folds, fn_err *err);

#endif
