/* embeddings.h - write a set of embeddings with their image paths, format chosen by
 * the file extension:
 *   .npy  float32 N x D (NumPy format 1.0), paths one per line in the .txt beside it
 *   .csv  one row per image: path, then D values
 *   .h5   datasets "embeddings" (N x D float32) and "paths" (N variable-length UTF-8)
 * Each file is written under a temporary name and renamed into place, so a failed or
 * interrupted write never leaves a half-written output. */
#ifndef FN_EMBEDDINGS_H
#define FN_EMBEDDINGS_H

#include "core/error.h"

int fn_write_embeddings(const char *path, const char *const *paths, int n, int dim, const float *emb,
                        fn_err *err);

#endif
