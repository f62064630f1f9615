/* lfw_cache.h - the detection cache of bench/lfw_detect --cache, read by bench/lfw_align.
 * Text, one record per processed image:
 *   I <index> <path> <w> <h> <nfaces> <central>
 * then <nfaces> lines
 *   F <pass> <score> <box x y w h> <landmark_crop x y w h> <x0 y0 ... x67 y67>
 * index: the image's position in pairsDevTrain + pairsDevTest order (first appearance);
 * central: fn_faces_central's pick (-1: no face); doubles printed with %.17g, so a chip
 * cut from the cache is the one cut right after detection, bit for bit. */
#ifndef LFW_CACHE_H
#define LFW_CACHE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/faces.h"

static inline void lfw_cache_write(FILE *f, int index, const char *path, int w, int h,
                                   const fn_face_list *faces, int central)
{
    fprintf(f, "I %d %s %d %d %d %d\n", index, path, w, h, faces->n, central);
    for (int k = 0; k < faces->n; k++) {
        const fn_face *x = &faces->face[k];
        fprintf(f, "F %d %.17g %.17g %.17g %.17g %.17g %d %d %d %d", x->pass, x->score,
                x->box.x, x->box.y, x->box.width, x->box.height, x->landmark_crop.x,
                x->landmark_crop.y, x->landmark_crop.width, x->landmark_crop.height);
        for (int j = 0; j < 136; j++)
            fprintf(f, " %.17g", x->landmarks[j]);
        fputc('\n', f);
    }
    fflush(f);
}

/* One image's record.  Returns 1 on a record, 0 at the end, -1 on a malformed file. */
typedef struct {
    int index, w, h, central;
    char path[1024];
    fn_face_list faces;
} lfw_cache_rec;

static inline int lfw_cache_read(FILE *f, lfw_cache_rec *r)
{
    int n;
    int got = fscanf(f, " I %d %1023s %d %d %d %d", &r->index, r->path, &r->w, &r->h, &n, &r->central);
    if (got == EOF)
        return 0;
    if (got != 6 || n < 0 || n > 10000)
        return -1;
    if (n > r->faces.cap) {
        fn_face *p = realloc(r->faces.face, sizeof *p * (size_t)n);
        if (!p)
            return -1;
        r->faces.face = p;
        r->faces.cap = n;
    }
    r->faces.n = n;
    for (int k = 0; k < n; k++) {
        fn_face *x = &r->faces.face[k];
        memset(x, 0, sizeof *x);
        if (fscanf(f, " F %d %lf %lf %lf %lf %lf %d %d %d %d", &x->pass, &x->score, &x->box.x,
                   &x->box.y, &x->box.width, &x->box.height, &x->landmark_crop.x,
                   &x->landmark_crop.y, &x->landmark_crop.width, &x->landmark_crop.height) != 10)
            return -1;
        for (int j = 0; j < 136; j++)
            if (fscanf(f, "%lf", &x->landmarks[j]) != 1)
                return -1;
    }
    return 1;
}

#endif
