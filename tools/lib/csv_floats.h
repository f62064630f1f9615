/* csv_floats.h - read a CSV file of float32 weights, as OpenFace's Torch export writes
 * them for the course's nn4.small2 (one line of comma-separated numbers each, e.g.
 * "0.44082018733025,-0.0634535998106,...\n").
 *
 *     float *w;
 *     fn_err err;
 *     if (fn_csv_read_floats("weights/conv1_w.csv", 64 * 3 * 7 * 7, &w, &err)) ...report err.msg...
 *     ...use w (9408 values)...
 *     free(w);
 *
 * What is accepted: numbers as strtod reads them (decimal or exponent form, no hex,
 * nan or inf), each converted to float32 the way NumPy's genfromtxt + Keras'
 * set_weights do (parse as double, round once to float32), separated by ',' and by
 * line ends.  Lines may end in "\n" or "\r\n" (both occur in published copies of the
 * folder), but one file must not mix the two, and a '\r' elsewhere is refused.
 * Spaces and tabs around a value are ignored; an empty field (",,", a trailing comma)
 * is not.  Every error names the file and says what was wrong: missing or unreadable
 * file, wrong value count (expected vs found), a non-number (its position and text),
 * a value outside float32's range, a mixed line-end style. */
#ifndef FN_CSV_FLOATS_H
#define FN_CSV_FLOATS_H

#include <stddef.h>

#include "core/error.h"

/* Read exactly `expect` values (expect >= 1) from path into a malloc'd array *out
 * (owned by the caller).  On failure *out is NULL and err says why. */
int fn_csv_read_floats(const char *path, size_t expect, float **out, fn_err *err);

#endif
