/* openface_ref.h - test helpers for the course's OpenFace nn4.small2 (tools/openface2keras):
 * its weight files as fr_utils.py lists them, CSV folders with made-up values, and an
 * independent forward pass in NCHW order straight from the Torch-layout CSV arrays.
 *
 * The reference is written from the course's inception_blocks_v2.py / fr_utils.py with
 * plain loops (double accumulation); it shares no code with the converter or the engine.
 *
 *     of_weights *w = of_weights_make(OF_RANDOM, 42);
 *     of_weights_write(w, dir);                       // dir/conv1_w.csv, ...
 *     float emb[128];
 *     of_reference(w, x_chw, emb);                    // x: 3 x 96 x 96
 *     of_weights_free(w);
 */
#ifndef FN_OPENFACE_REF_H
#define FN_OPENFACE_REF_H

#include <stddef.h>

#define OF_SIZE 96
#define OF_EMB 128
#define OF_PARAMS 3743280
#define OF_N_CONV 37

/* fr_utils.conv_shape: Torch OIHW shape of each convolution (dense is (128, 736)). */
typedef struct {
    const char *name;
    int o, i, k;
} of_conv;
extern const of_conv of_convs[OF_N_CONV];

/* One CSV file's values (name without ".csv"). */
typedef struct {
    char name[48];
    size_t n;
    float *v;
} of_file;

typedef struct {
    of_file *f;
    int n;
    size_t total;
} of_weights;

typedef enum {
    OF_INDEX,   /* value = its index over all files in fr_utils' WEIGHTS order (exact in float32) */
    OF_RANDOM   /* plausible random weights (He-scaled kernels, BN stats with some small variances) */
} of_fill;

of_weights *of_weights_make(of_fill fill, unsigned seed);
void of_weights_free(of_weights *w);
/* The file's values, or NULL (name without ".csv": "conv1_w", "bn1_v", "dense_w"). */
const of_file *of_weights_find(const of_weights *w, const char *name);
/* Write every file as one line of "%.14g" values ending in "\n" (crlf: "\r\n"), as the
 * course's folder has them; fails the running test on error. */
void of_weights_write(const of_weights *w, const char *dir, int crlf);

/* The course model on one image x (3 x 96 x 96, channels first) -> emb (128, L2-normalised). */
void of_reference(const of_weights *w, const float *x, float *emb);

#endif
