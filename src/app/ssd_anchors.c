/* ssd_anchors.c - the SSD's anchors (see detect.h): read from the file that comes
 * with the model, or generated from the TensorFlow Object Detection API parameters
 * that produced face-api's `Output/extra_dim` weight. */
/* float32 results must equal TF.js's unfused multiply-adds: GCC does not contract in
 * ISO C mode (-std=c11); clang needs telling (its default fuses within expressions). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#include "app/detect.h"

#include "core/file.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void fn_ssd_anchor_default(fn_ssd_anchor_params *p)
{
    static const int grids[6] = {32, 16, 8, 4, 2, 1};
    static const float ratios[5] = {1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};
    memset(p, 0, sizeof *p);
    p->num_layers = 6;
    memcpy(p->grid, grids, sizeof grids);
    p->min_scale = 0.2;
    p->max_scale = 0.95;
    p->num_ratios = 5;
    memcpy(p->aspect_ratios, ratios, sizeof ratios);
    p->interpolated_ratio = 1.0f;
    p->lowest_scale = 0.1f;
}

/* Box specs (scale, aspect ratio) of one layer, in the order of the weight:
 * layer 0 (reduced): (0.1, 1), (s0, 2), (s0, 0.5); others: (s, r0),
 * (sqrt(s * s_next), interpolated), (s, r1), ..., where s_next is 1 after the last. */
static int layer_specs(const fn_ssd_anchor_params *p, int layer, float *sc, float *ar)
{
    double s = p->num_layers > 1
                   ? p->min_scale + (p->max_scale - p->min_scale) * layer / (p->num_layers - 1)
                   : p->min_scale;
    double s_next = layer + 1 < p->num_layers
                        ? p->min_scale + (p->max_scale - p->min_scale) * (layer + 1) /
                                             (p->num_layers - 1)
                        : 1.0;
    if (layer == 0) {
        sc[0] = p->lowest_scale, ar[0] = 1.0f;
        sc[1] = (float)s, ar[1] = 2.0f;
        sc[2] = (float)s, ar[2] = 0.5f;
        return 3;
    }
    int n = 0;
    sc[n] = (float)s, ar[n++] = p->aspect_ratios[0];
    sc[n] = (float)sqrt(s * s_next), ar[n++] = p->interpolated_ratio;
    for (int r = 1; r < p->num_ratios; r++)
        sc[n] = (float)s, ar[n++] = p->aspect_ratios[r];
    return n;
}

int fn_ssd_anchor_count(const fn_ssd_anchor_params *p, size_t *n, fn_err *err)
{
    *n = 0;
    if (p->num_layers <= 0 || p->num_layers > FN_SSD_MAX_LAYERS || p->num_ratios <= 0 ||
        p->num_ratios > FN_SSD_MAX_RATIOS)
        return fn_fail(err, FN_E_ARG, "ssd anchors: %d layers, %d aspect ratios (1..%d, 1..%d)",
                       p->num_layers, p->num_ratios, FN_SSD_MAX_LAYERS, FN_SSD_MAX_RATIOS);
    size_t total = 0;
    for (int l = 0; l < p->num_layers; l++) {
        int g = p->grid[l];
        if (g <= 0 || g > 4096)
            return fn_fail(err, FN_E_ARG, "ssd anchors: layer %d: grid %d", l, g);
        total += (size_t)g * g * (l == 0 ? 3 : (size_t)p->num_ratios + 1);
    }
    *n = total;
    return 0;
}

int fn_ssd_anchors_generate(const fn_ssd_anchor_params *p, float *anchors, size_t n,
                            fn_err *err)
{
    size_t want;
    if (fn_ssd_anchor_count(p, &want, err))
        return -1;
    if (n != want)
        return fn_fail(err, FN_E_SHAPE, "ssd anchors: the parameters give %zu anchors, the "
                                        "buffer holds %zu", want, n);
    size_t k = 0;
    for (int l = 0; l < p->num_layers; l++) {
        float sc[FN_SSD_MAX_RATIOS + 1], ar[FN_SSD_MAX_RATIOS + 1];
        int nb = layer_specs(p, l, sc, ar), g = p->grid[l];
        /* grid_anchor_generator.tile_anchors, in float32 */
        float stride = 1.0f / (float)g, offset = 0.5f * stride;
        for (int y = 0; y < g; y++)
            for (int x = 0; x < g; x++)
                for (int b = 0; b < nb; b++) {
                    float r = sqrtf(ar[b]);
                    float h = sc[b] / r, w = sc[b] * r;
                    float cy = (float)y * stride + offset, cx = (float)x * stride + offset;
                    float *o = anchors + 4 * k++;
                    o[0] = cy - 0.5f * h;
                    o[1] = cx - 0.5f * w;
                    o[2] = cy + 0.5f * h;
                    o[3] = cx + 0.5f * w;
                }
    }
    return 0;
}

int fn_ssd_anchors_load(const char *path, size_t n, float *anchors, fn_err *err)
{
    char *buf;
    size_t len, want;
    if (fn_mul_size(n, 4 * sizeof(float), &want))
        return fn_fail(err, FN_E_ARG, "%s: %zu anchors is too many", path, n);
    if (fn_read_file(path, want + 1, &buf, &len, err))
        return -1;
    if (len != want) {
        free(buf);
        return fn_fail(err, FN_E_SHAPE,
                       "%s: %zu bytes, expected %zu anchors x 4 float32 = %zu bytes", path, len,
                       n, want);
    }
    for (size_t i = 0; i < 4 * n; i++) {
        const unsigned char *b = (const unsigned char *)buf + 4 * i;
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24; /* little-endian on any host */
        float v;
        memcpy(&v, &u, sizeof v);
        if (!isfinite(v)) {
            free(buf);
            return fn_fail(err, FN_E_FORMAT, "%s: anchor %zu value %zu is not finite", path,
                           i / 4, i % 4);
        }
        anchors[i] = v;
    }
    free(buf);
    return 0;
}
