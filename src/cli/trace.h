/* trace.h - the pieces of `facenet trace` (cmd_trace.c): per-layer statistics and the
 * observer that gathers them, the .npy dump (trace_dump.c) and the feature-map grid
 * (draw_maps.c). */
#ifndef FN_CLI_TRACE_H
#define FN_CLI_TRACE_H

#include <stddef.h>

#include "core/error.h"
#include "facenet.h"

/* Activation statistics of one layer's output (first sample), in double. */
typedef struct {
    int seen;              /* the observer was called for it */
    double seconds;
    double mean, std, min, max;
    double zeros;          /* share of values exactly 0 (dead ReLU units) */
} fn_trace_stat;

/* What a run of the trace keeps per layer. */
typedef struct {
    fn_net *net;
    int n_layers;
    int *chain_end;        /* executed layer -> the Keras layer whose output its tensor is
                              (itself, or the last layer folded into it) */
    char **file;           /* executed layer -> its dump file name (NULL: none) */
    fn_trace_stat *st;
    const char *dump_dir;  /* NULL: no dump */
    int maps_layer;        /* executed layer whose output is kept (-1: none) */
    float *maps;           /* its first sample, contiguous */
    fn_err err;            /* why the observer stopped the run */
} fn_trace;

/* The layers folded into executed layer e, if any, end at chain_end[e]; for a folded
 * layer f, fn_trace_owner gives the executed layer that computes it. */
int fn_trace_init(fn_trace *t, fn_net *net, fn_err *err);
void fn_trace_free(fn_trace *t);
int fn_trace_owner(const fn_net *net, int layer);
/* The observer for fn_net_set_observer (user = fn_trace *). */
int fn_trace_observe(void *user, const fn_layer_output *o);

/* trace_dump.c: DIR (created) gets <layer>.npy per computed tensor, named by the Keras
 * layer it is the output of, and index.json listing every layer. */
int fn_trace_dump_prepare(fn_trace *t, const char *dir, fn_err *err);
int fn_trace_dump_layer(fn_trace *t, const fn_layer_output *o, fn_err *err);
int fn_trace_dump_index(const fn_trace *t, const char *input_name, fn_err *err);
/* A layer name as a file name: [A-Za-z0-9._-] kept, anything else '_'. */
void fn_trace_safe_name(const char *name, char *out, size_t cap);

/* draw_maps.c: the feature maps of an h x w x c tensor (HWC, one sample) as a grid
 * of grey images, every channel, each scaled to its own min..max and labelled by its
 * number.  PNG, or SVG when path ends in .svg. */
typedef struct {
    int zoom;              /* each map drawn at zoom x its size (nearest neighbour): */
    int map_w, map_h;      /* w*zoom, h*zoom, zoom the smallest making the larger side >= 48 px */
    int cols, rows;        /* of the grid: cols = ceil(sqrt(c)), rows = ceil(c / cols) */
    int width, height;     /* of the whole picture (see FN_MAPS_* in draw_maps.c) */
} fn_maps_layout;
void fn_maps_layout_for(int h, int w, int c, fn_maps_layout *l);
int fn_draw_maps(const char *path, const float *data, int h, int w, int c, const char *title,
                 const char *subtitle, fn_err *err);

#endif
