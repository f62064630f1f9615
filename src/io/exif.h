/* exif.h - a photo's Exif orientation, and turning its pixels upright by it.
 *
 * Cameras and phones store a photo as the sensor saw it and say in the Exif
 * Orientation tag (0x0112) how to turn it for display: 1 upright, 2 mirrored, 3 upside
 * down, 4 mirrored upside down, 5 transposed, 6 turned 90 degrees clockwise for
 * display, 7 transversed, 8 turned 90 degrees counter-clockwise.  Viewers, browsers
 * (and so face-api in a page) and OpenCV's imread show the turned photo; the JPEG
 * decoder (io/image.c) does the same, so a face sideways in the file is upright for
 * the detector and boxes are in the photo as people see it.  (Pillow's Image.open,
 * and Keras' load_img with it, do not turn.) */
#ifndef FN_EXIF_H
#define FN_EXIF_H

#include <stddef.h>

#include "core/error.h"
#include "io/image.h"

/* The Orientation of an APP1 segment's payload ("Exif\0\0" + a TIFF header + IFD0):
 * 1..8, or 1 when the payload is not Exif, has no such tag, or says anything the
 * standard does not allow.  Reads only inside [app1, app1 + len). */
int fn_exif_orientation(const unsigned char *app1, size_t len);

/* Turn img upright for orientation o (1..8; 1 and others: nothing to do).  5..8
 * swap width and height.  On failure (memory for 5..8) img is unchanged. */
int fn_image_orient(fn_image *img, int o, fn_err *err);

#endif
