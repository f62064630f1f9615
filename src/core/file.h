/* file.h - read a whole regular file, with the checks every input file needs
 * (exists, is a regular file, not larger than the caller allows, fully read). */
#ifndef FN_FILE_H
#define FN_FILE_H

#include <stddef.h>

#include "core/error.h"

/* *data receives a malloc'd copy of the file plus a terminating NUL (not counted in
 * *len).  A missing or unreadable file is FN_E_IO, a file over max_bytes FN_E_FORMAT;
 * every message starts with the path. */
int fn_read_file(const char *path, size_t max_bytes, char **data, size_t *len, fn_err *err);
/* The same, but a file over max_bytes is FN_E_LIMIT "... more than the limit
 * LIMIT_NAME=MAX_BYTES": a limit the caller lets the user raise. */
int fn_read_file_limit(const char *path, size_t max_bytes, const char *limit_name, char **data, size_t *len,
                       fn_err *err);

/* Open path for reading only if it is a regular file: a FIFO, device, socket or
 * directory is FN_E_IO "not a regular file" at once (the open does not block on a
 * FIFO).  Returns a blocking descriptor, or -1. */
int fn_open_regular(const char *path, fn_err *err);
/* The same check without keeping anything open, for a command that checks all its
 * inputs before it starts on the slow work: stat first (no open of a FIFO or device,
 * so no side effect on it), then an open and close of the regular file (so a file it
 * may not read is caught too).  0, or FN_E_IO with the same messages as
 * fn_open_regular ("PATH: not a regular file", "PATH: cannot open: REASON"). */
int fn_check_regular(const char *path, fn_err *err);

#endif
