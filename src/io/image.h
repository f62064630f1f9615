/* image.h - decode JPEG/PNG files into 8-bit RGB, resize, pad, save PNG.
 *
 * Decoding uses libjpeg-turbo and libpng with their default settings (integer
 * slow DCT, fancy upsampling, no gamma correction), so the pixels equal what
 * Pillow and OpenCV produce for the same file.  Every image is converted the
 * way Pillow's convert('RGB') does:
 *   grey -> r=g=b; grey+alpha, RGBA -> alpha dropped (no compositing);
 *   palette -> palette colours (transparency ignored);
 *   16-bit RGB(A)/grey+alpha -> high byte of each sample;
 *   16-bit grey -> clipped to 255 (Pillow's I;16 -> RGB; OpenCV would take
 *   the high byte instead, Pillow parity wins because Keras loads with Pillow).
 * CMYK/YCCK JPEGs are rejected.  The type is found from the magic bytes.
 * EXIF orientation is not applied (neither does Keras's load_img).
 *
 *   fn_image img; fn_err err;
 *   if (fn_image_load("face.jpg", 0, &img, &err) != 0) puts(err.msg);
 *   ... img.rgb[(y * img.w + x) * 3 + c] ...
 *   fn_image_free(&img);
 */
#ifndef FN_IMAGE_H
#define FN_IMAGE_H

#include <stddef.h>

#include "core/error.h"

/* Pixel limit used when the caller passes max_pixels == 0. */
#define FN_IMAGE_DEFAULT_MAX_PIXELS ((size_t)50000000)

/* 8-bit RGB, row-major, 3 bytes per pixel, no row padding. */
typedef struct {
    int w, h;
    unsigned char *rgb;
} fn_image;

typedef enum { FN_RESIZE_NEAREST, FN_RESIZE_BILINEAR } fn_resize_method;

/* Load a JPEG or PNG file.  Images with more than max_pixels pixels
 * (0 = FN_IMAGE_DEFAULT_MAX_PIXELS) are rejected from their header, before
 * any pixel memory is allocated.  On failure *img is left empty and the
 * message names the file. */
int fn_image_load(const char *path, size_t max_pixels, fn_image *img, fn_err *err);

/* Same from memory; `name` is only used in error messages. */
int fn_image_load_mem(const void *buf, size_t len, const char *name, size_t max_pixels,
                      fn_image *img, fn_err *err);

/* Allocate a zero-filled w x h image. */
int fn_image_alloc(fn_image *img, int w, int h, fn_err *err);

/* Free the pixels and reset *img to empty; safe on an empty image. */
void fn_image_free(fn_image *img);

/* Write an 8-bit RGB PNG (for debugging and tests). */
int fn_image_save_png(const char *path, const fn_image *img, fn_err *err);

/* Resize src to w x h into a newly allocated dst.
 *  NEAREST:  Pillow's Image.resize(NEAREST) (what tf.keras load_img uses):
 *            source column floor(x0 + (x + 0.5) * in_w / w), accumulated
 *            in double exactly as Pillow does.
 *  BILINEAR: half-pixel-centre bilinear in double, edge-clamped, rounded
 *            half up (OpenCV INTER_LINEAR / TF half_pixel_centers). */
int fn_image_resize(const fn_image *src, int w, int h, fn_resize_method m, fn_image *dst,
                    fn_err *err);

/* Zero-pad src to a square (side = max(w, h)) into a newly allocated dst.
 * center == 0: all padding at the bottom/right.
 * center != 0: face-api's padToSquare(img, true): round(diff / 2) rows or
 *              columns appended at the bottom/right, the rest prepended. */
int fn_image_pad_square(const fn_image *src, int center, size_t max_pixels, fn_image *dst, fn_err *err);

#endif
