/* outfiles.h - a converter's output folder: files that appear together or not at all.
 * Every converter writes through it (model.json, model.h5, facenet.json, ...).
 *
 * Each file is first written under a hidden temporary name in the folder; commit
 * renames them all into place.  Closing without a commit (after any failure) removes
 * what was staged, and the folder too when fn_outfiles_open created it.  A failed
 * commit removes the files it had already renamed.
 *
 *     fn_outfiles o;
 *     const char *h5;
 *     if (fn_outfiles_open(&o, dir, &err) ||
 *         fn_outfiles_text(&o, "model.json", json, &err) ||        // json + "\n"
 *         fn_outfiles_bytes(&o, "anchors.f32", data, size, &err) || // exactly these bytes
 *         !(h5 = fn_outfiles_path(&o, "model.h5", &err)) ||         // written by keras_h5w
 *         write_h5(h5, &err) ||
 *         fn_outfiles_commit(&o, &err))
 *         ...report err.msg...
 *     fn_outfiles_close(&o);
 */
#ifndef FN_OUTFILES_H
#define FN_OUTFILES_H

#include <stddef.h>

#include "core/error.h"

#define FN_OUTFILES_MAX 8

typedef struct {
    char *dir;
    int created;    /* the folder did not exist before fn_outfiles_open */
    int n;
    char *final[FN_OUTFILES_MAX], *tmp[FN_OUTFILES_MAX];
    int committed;
} fn_outfiles;

/* Start writing into dir, a directory created (one level) when missing.  o is ready
 * for fn_outfiles_close even when this fails. */
int fn_outfiles_open(fn_outfiles *o, const char *dir, fn_err *err);

/* Stage dir/base with exactly len bytes of data. */
int fn_outfiles_bytes(fn_outfiles *o, const char *base, const void *data, size_t len, fn_err *err);

/* Stage dir/base with text and a final newline. */
int fn_outfiles_text(fn_outfiles *o, const char *base, const char *text, fn_err *err);

/* Reserve dir/base for a writer that creates the file itself (keras_h5w renames its own
 * temporary file onto the path returned).  NULL (err set) on failure; the path belongs
 * to o. */
const char *fn_outfiles_path(fn_outfiles *o, const char *base, fn_err *err);

/* Rename every staged file into place. */
int fn_outfiles_commit(fn_outfiles *o, fn_err *err);

/* Remove what was not committed (and the folder when it was created here), free o. */
void fn_outfiles_close(fn_outfiles *o);

#endif
