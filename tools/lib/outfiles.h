/* outfiles.h - a converter's output folder: several text files that appear together
 * or not at all.  Each text is first written to a hidden temporary name in the folder,
 * then all are renamed into place; a failure removes what was staged or renamed.
 *
 *     fn_outfiles o;
 *     fn_outfiles_init(&o, dir);
 *     if (fn_outfiles_dir(dir, &created, &err) ||
 *         fn_outfiles_stage(&o, "model.json", json, &err) ||
 *         fn_outfiles_stage(&o, "facenet.json", prof, &err) ||
 *         ...write model.h5 (keras_h5w renames it into place itself)... ||
 *         fn_outfiles_commit(&o, &err)) { ...; }
 *     fn_outfiles_free(&o);   // removes staged files that were not committed
 */
#ifndef FN_OUTFILES_H
#define FN_OUTFILES_H

#include "core/error.h"

#define FN_OUTFILES_MAX 4

typedef struct {
    const char *dir;
    int n;
    char *final[FN_OUTFILES_MAX], *tmp[FN_OUTFILES_MAX];
    int committed;
} fn_outfiles;

/* dir + "/" + base, malloc'd (NULL when out of memory). */
char *fn_outfiles_join(const char *dir, const char *base);

/* Make sure dir is a directory, creating it (one level) if missing; *created says so. */
int fn_outfiles_dir(const char *dir, int *created, fn_err *err);

void fn_outfiles_init(fn_outfiles *o, const char *dir);
/* Write text plus a final newline to a temporary name for dir/base. */
int fn_outfiles_stage(fn_outfiles *o, const char *base, const char *text, fn_err *err);
/* Rename every staged file into place; on failure the ones already renamed are removed. */
int fn_outfiles_commit(fn_outfiles *o, fn_err *err);
/* Remove staged files that were not committed and free o. */
void fn_outfiles_free(fn_outfiles *o);

#endif
