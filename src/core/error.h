/* error.h - errors are values.
 *
 * Library code never exits: a function that can fail takes an fn_err* and
 * returns 0 on success or -1 after writing one human-readable line into it
 * ("model.h5: layer conv1: kernel shape 3x3x3x8, config says 3x3x3x16").
 * The CLI prints that line and maps the kind to an exit status.
 */
#ifndef FN_ERROR_H
#define FN_ERROR_H

#include <stddef.h>

/* Also defined, identically, in include/facenet.h (the public header stands alone). */
#ifndef FN_ERR_DEFINED
#define FN_ERR_DEFINED
typedef enum {
    FN_E_NONE = 0,
    FN_E_IO,        /* missing/unreadable file, short read */
    FN_E_FORMAT,    /* malformed or hostile file contents */
    FN_E_UNSUPPORTED, /* valid input we deliberately do not handle */
    FN_E_SHAPE,     /* shapes disagree */
    FN_E_NOMEM,     /* allocation failed or size overflow */
    FN_E_ARG,       /* bad argument from the caller / user */
    FN_E_DB,        /* gallery database problem */
    FN_E_NOTFOUND,  /* a named thing (identity, layer) does not exist */
    FN_E_LIMIT      /* over a size limit the caller may raise (the message says "the limit NAME=N") */
} fn_errkind;

typedef struct {
    fn_errkind kind;
    char msg[1024];
} fn_err;
#endif

/* Record an error and return -1, so callers can write `return fn_fail(...)`.
 * A NULL err is allowed (the message is dropped).  Control bytes in the message
 * (from file names or contents) are replaced by '?': a message is one line. */
int fn_fail(fn_err *err, fn_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("model.h5: " + msg); returns -1. */
int fn_wrap(fn_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void fn_err_clear(fn_err *err);

/* Overflow-checked size arithmetic: return 0 and set *out, or -1 on overflow. */
int fn_mul_size(size_t a, size_t b, size_t *out);
int fn_add_size(size_t a, size_t b, size_t *out);

#endif
