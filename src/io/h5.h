/* h5.h - the few HDF5 reads a Keras file needs, with every failure as an error value.
 *
 * Keras stores name lists as attributes whose string type changed over the years
 * (fixed-length NUL-padded up to 2.4, variable-length from 2.14), writes an empty
 * float64 array for "no names", and splits lists over 64 KiB into name0, name1, ...
 * These helpers hide all of that: callers get plain C strings.
 */
#ifndef FN_H5_H
#define FN_H5_H

#include <hdf5.h>
#include <stddef.h>

#include "core/error.h"

/* Open read-only; a missing file or a non-HDF5 file is a clear error. */
int fn_h5_open(const char *path, hid_t *file, fn_err *err);

/* 1 if obj has attribute name, 0 if not. */
int fn_h5_has_attr(hid_t obj, const char *name);

/* Scalar (or 1-element) string attribute -> malloc'd string. */
int fn_h5_attr_string(hid_t obj, const char *name, char **out, fn_err *err);

/* String-list attribute (fixed/variable length, or empty float array, or split into
 * name0, name1, ... chunks) -> malloc'd array of malloc'd strings. */
int fn_h5_attr_strings(hid_t obj, const char *name, char ***out, int *n, fn_err *err);
void fn_h5_strings_free(char **s, int n);

/* Dataset at path (relative to loc): its dims (up to maxrank). */
int fn_h5_dataset_dims(hid_t loc, const char *path, int *rank, long long *dims, int maxrank,
                       fn_err *err);
/* Read a whole numeric dataset converted to float32 into buf of count floats
 * (count must equal the dataset's element count). */
int fn_h5_read_floats(hid_t loc, const char *path, float *buf, size_t count, fn_err *err);

#endif
