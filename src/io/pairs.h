/* pairs.h - LFW pairs files (LFW README section 3c).
 *
 * The first line is either "N" (View 1: pairsDevTrain.txt / pairsDevTest.txt: N
 * same-person pairs, then N different-person pairs) or "S N" (View 2 pairs.txt: S
 * sets, each N same pairs then N different pairs). A same pair is "name i j", a
 * different pair "name1 i name2 j"; image i of name is "name/name_%04d.jpg".
 * The metrics computed on such pairs are in app/eval.h.
 */
#ifndef FN_PAIRS_H
#define FN_PAIRS_H

#include "core/error.h"

typedef struct {
    char *path_a, *path_b; /* relative to the image root, e.g. "Ann/Ann_0001.jpg"; owned by
                              the fn_lfw_pairs (each distinct path stored once): read only */
    int same;              /* 1 same person, 0 different */
} fn_lfw_pair;

typedef struct {
    fn_lfw_pair *pairs; /* n, in file order */
    int n;
    int n_sets;   /* 1 for a View 1 "N" header */
    int per_set;  /* N: same pairs per set (= different pairs per set) */
    int n_paths;  /* distinct image paths */
    void *store;  /* the paths, each stored once (private) */
} fn_lfw_pairs;

/* Pairs a file may announce unless the caller allows more (LFW's pairs.txt has 6000).
 * What a load keeps: 24 bytes a pair plus each distinct image path once (its bytes and
 * 16 bytes of index); the file is read line by line, never whole. */
#define FN_PAIRS_DEFAULT_MAX ((size_t)1000000)

/* Parse a pairs file. Errors (FN_E_IO, FN_E_FORMAT) name the file and line:
 * wrong field count for the position, bad image number (1..9999), a name
 * with '/' or '\' or starting with '.', a same pair using one image twice, a
 * different pair naming one person, missing or extra lines, a NUL byte, a line over
 * 1023 bytes.  A header announcing more than max_pairs pairs (0: FN_PAIRS_DEFAULT_MAX)
 * is FN_E_LIMIT "... the limit pairs=MAX", before anything is allocated for them. */
int fn_lfw_pairs_load_max(const char *path, size_t max_pairs, fn_lfw_pairs *out, fn_err *err);
int fn_lfw_pairs_load(const char *path, fn_lfw_pairs *out, fn_err *err); /* the default limit */
void fn_lfw_pairs_free(fn_lfw_pairs *p);

#endif
