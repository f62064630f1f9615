/* lfw_pairs.h - the LFW pair sets of bench/lfw_detect and bench/lfw_align: every image
 * named by pairsDevTrain + pairsDevTest numbered once in order of first appearance, and
 * each pair as the numbers of its two images.  Benchmarks only: out of memory exits. */
#ifndef LFW_PAIRS_H
#define LFW_PAIRS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/pairs.h"

typedef struct {
    char **path; /* relative to the image root */
    int n, cap;
} names;

static inline int name_index(names *s, const char *p)
{
    for (int i = s->n - 1; i >= 0; i--) /* pairs repeat recent images; n is ~5000 */
        if (!strcmp(s->path[i], p))
            return i;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->path = realloc(s->path, sizeof *s->path * (size_t)s->cap);
        if (!s->path)
            exit(2);
    }
    s->path[s->n] = strdup(p);
    return s->n++;
}

typedef struct {
    fn_lfw_pairs pairs;
    int *ia, *ib; /* the pairs' image numbers */
} pairset;

static inline int load_pairs(const char *lfw, const char *file, names *imgs, pairset *ps)
{
    char path[4096];
    fn_err err = {0};
    snprintf(path, sizeof path, "%s/%s", lfw, file);
    if (fn_lfw_pairs_load(path, &ps->pairs, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    ps->ia = malloc(sizeof(int) * ps->pairs.n);
    ps->ib = malloc(sizeof(int) * ps->pairs.n);
    if (!ps->ia || !ps->ib)
        exit(2);
    for (int i = 0; i < ps->pairs.n; i++) {
        ps->ia[i] = name_index(imgs, ps->pairs.pairs[i].path_a);
        ps->ib[i] = name_index(imgs, ps->pairs.pairs[i].path_b);
    }
    return 0;
}

#endif
