/* prefetch.h - decoding the next photos while the nets work on this one.
 *
 * A thread of its own decodes a list of image files in order, at most `ahead` images
 * ahead of the caller, who takes them one by one in the same order, so that decoding
 * (16 ms for a 3-megapixel JPEG here, growing with the pixels, while the detector
 * always sees 512x512) overlaps the nets' work instead of adding to it.  Memory stays bounded:
 * `ahead` decoded images at most (each within the pixel limit).  When the thread
 * cannot be started, fn_prefetch_take decodes on the caller's thread: the same
 * results either way, in the same order. */
#ifndef FN_CLI_PREFETCH_H
#define FN_CLI_PREFETCH_H

#include <stddef.h>

#include "core/error.h"
#include "io/image.h"

typedef struct fn_prefetch fn_prefetch;

/* Decode paths[0..n) in order (the array must outlive the prefetcher).  NULL only when
 * out of memory. */
fn_prefetch *fn_prefetch_start(const char *const *paths, int n, size_t max_pixels, int ahead);
/* The next image in order: 0 and *img (the caller frees it), or -1 and the decoding
 * error in *err (the file's own problem: unreadable, not an image, over the limit). */
int fn_prefetch_take(fn_prefetch *p, fn_image *img, fn_err *err);
/* Stops the thread (an image being decoded is finished first) and frees what was not
 * taken.  NULL is allowed. */
void fn_prefetch_stop(fn_prefetch *p);

#endif
