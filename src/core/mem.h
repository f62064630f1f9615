/* mem.h - memory for the large arrays of a model: weights as read, packed weights and
 * the activation arena.
 *
 * Loading the default model and face-api's detector for one `facenet verify` touches
 * about 130 MB for the first time; at one page fault per 4 KiB page that was ~33,000
 * faults and ~0.1 s of system time, as much as the rest of the command.  So a large
 * block is asked to be populated in one call (Linux's MADV_POPULATE_WRITE, 5.14 and
 * later; elsewhere, or when it fails, pages fault in as before) and, from 4 MiB on,
 * aligned to 2 MiB and offered to transparent huge pages.  Contents are
 * uninitialised, as malloc's.  Free with free(). */
#ifndef FN_MEM_H
#define FN_MEM_H

#include <stddef.h>

/* 64-byte aligned (page-aligned from 1 MiB on); NULL when out of memory. */
void *fn_alloc_big(size_t bytes);

#endif
