/* embeddings.h - write a set of embeddings with their image paths, format chosen by
 * the file extension:
 *   .npy  float32 N x D (NumPy format 1.0), paths one per line in the .txt beside it
 *   .csv  one row per image: path, then D values
 *   .h5   datasets "embeddings" (N x D float32) and "paths" (N variable-length UTF-8)
 * With faces (fn_write_embeddings_faces: rows are detected faces), each row also has
 * the face's index in its image, its box [x, y, width, height] in pixels and the
 * detector's score: .csv columns face,x,y,width,height,score after path; .h5 datasets
 * "face" (int32), "box" (N x 4 float32), "score" (float32); .npy a second sidecar
 * FILE.faces.csv (row,face,x,y,width,height,score).
 * Each file is written under a temporary name and renamed into place, so a failed or
 * interrupted write never leaves a half-written output. */
#ifndef FN_EMBEDDINGS_H
#define FN_EMBEDDINGS_H

#include "core/error.h"

typedef struct {
    const int *face;     /* n */
    const float *box;    /* n x 4 */
    const float *score;  /* n */
} fn_emb_faces;

int fn_write_embeddings(const char *path, const char *const *paths, int n, int dim, const float *emb,
                        fn_err *err);

int fn_write_embeddings_faces(const char *path, const char *const *paths, const fn_emb_faces *faces, int n,
                              int dim, const float *emb, fn_err *err);

#endif
