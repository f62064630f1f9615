/* image.c - JPEG/PNG decoding to RGB, resize, pad, PNG writing (see image.h).
 *
 * Both decoders report errors by longjmp: libjpeg through our error_exit,
 * libpng through png_jmpbuf.  Everything that must survive the longjmp lives
 * in a state struct owned by the caller of the function that calls setjmp,
 * so no local of that function is modified between setjmp and longjmp.
 */
#include "io/image.h"

#include "core/file.h"
#include "io/exif.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Files larger than this are refused before reading: even an uncompressed
 * PNG at the default 50 Mpx limit is far smaller. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

int fn_image_alloc(fn_image *img, int w, int h, fn_err *err)
{
    size_t n;
    img->w = img->h = 0;
    img->rgb = NULL;
    if (w <= 0 || h <= 0 || fn_mul_size((size_t)w, (size_t)h, &n) || fn_mul_size(n, 3, &n))
        return fn_fail(err, FN_E_ARG, "invalid image size %dx%d", w, h);
    img->rgb = calloc(n, 1);
    if (!img->rgb)
        return fn_fail(err, FN_E_NOMEM, "out of memory for a %dx%d image", w, h);
    img->w = w;
    img->h = h;
    return 0;
}

void fn_image_free(fn_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

/* Shared header check: both sides positive, the product within the limit and
 * small enough that w * 3 and w * h * 3 fit the types used below. */
static int check_dims(unsigned long w, unsigned long h, size_t max_pixels, const char *name,
                      fn_err *err)
{
    if (max_pixels == 0)
        max_pixels = FN_IMAGE_DEFAULT_MAX_PIXELS;
    if (w == 0 || h == 0)
        return fn_fail(err, FN_E_FORMAT, "%s: image has zero size (%lux%lu)", name, w, h);
    if (w > INT_MAX / 3 || h > INT_MAX / 3)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: image is %lux%lu pixels, wider or taller than %d", name, w, h,
                       INT_MAX / 3);
    if ((unsigned long long)w * h > max_pixels)
        return fn_fail(err, FN_E_LIMIT, "%s: image is %lux%lu pixels, more than the limit pixels=%zu", name, w, h,
                       max_pixels);
    return 0;
}

/* ---------------------------------------------------------------- JPEG */

typedef struct {
    struct jpeg_error_mgr pub; /* must be first: libjpeg casts cinfo->err */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jpeg_errctx;

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jpeg_errctx jerr;
    fn_image img;
    int created;
    int orientation; /* the first Exif segment's (exif.h), 1 without one */
} jpeg_state;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_errctx *e = (jpeg_errctx *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings are ignored (as Pillow does), except running out of data: libjpeg
 * would pad a truncated file with grey, where Pillow raises "image file is
 * truncated".  That includes a file missing only its final EOI marker: the
 * Huffman decoder reads ahead past the last data byte, so the two cases look
 * the same here; Pillow (whose decoder suspends at the same read-ahead)
 * reports both as truncated as well.  Nothing is ever printed. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jpeg_on_error(cinfo);
}

static int jpeg_run(jpeg_state *st, const unsigned char *buf, size_t len, const char *name,
                    size_t max_pixels, fn_err *err)
{
    st->cinfo.err = jpeg_std_error(&st->jerr.pub);
    st->jerr.pub.error_exit = jpeg_on_error;
    st->jerr.pub.emit_message = jpeg_on_message;
    if (setjmp(st->jerr.jb))
        return fn_fail(err, FN_E_FORMAT, "%s: invalid JPEG: %s", name, st->jerr.msg);
    jpeg_create_decompress(&st->cinfo);
    st->created = 1;
    jpeg_mem_src(&st->cinfo, buf, (unsigned long)len);
    jpeg_save_markers(&st->cinfo, JPEG_APP0 + 1, 0xFFFF); /* Exif (and XMP) segments */
    jpeg_read_header(&st->cinfo, TRUE);
    st->orientation = 1;
    for (jpeg_saved_marker_ptr m = st->cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6)) {
            st->orientation = fn_exif_orientation(m->data, m->data_length);
            break;
        }

    if (check_dims(st->cinfo.image_width, st->cinfo.image_height, max_pixels, name, err))
        return -1;
    switch (st->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: case JCS_YCbCr: case JCS_RGB:
        break;
    case JCS_CMYK: case JCS_YCCK:
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: CMYK JPEG images are not supported", name);
    default:
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: JPEG colour space %d is not supported", name,
                       (int)st->cinfo.jpeg_color_space);
    }
    st->cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&st->cinfo);
    if (st->cinfo.output_components != 3)
        return fn_fail(err, FN_E_FORMAT, "%s: JPEG decoder produced %d components, expected 3",
                       name, st->cinfo.output_components);
    if (fn_image_alloc(&st->img, (int)st->cinfo.output_width, (int)st->cinfo.output_height, err))
        return fn_wrap(err, "%s: ", name);
    size_t stride = (size_t)st->img.w * 3;
    while (st->cinfo.output_scanline < st->cinfo.output_height) {
        JSAMPROW row = st->img.rgb + stride * st->cinfo.output_scanline;
        jpeg_read_scanlines(&st->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&st->cinfo);
    return fn_image_orient(&st->img, st->orientation, err) ? fn_wrap(err, "%s: ", name) : 0; /* upright, as displayed */
}

static int decode_jpeg(const unsigned char *buf, size_t len, const char *name, size_t max_pixels,
                       fn_image *img, fn_err *err)
{
    jpeg_state *st = calloc(1, sizeof *st);
    if (!st)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    int rc = jpeg_run(st, buf, len, name, max_pixels, err);
    if (st->created)
        jpeg_destroy_decompress(&st->cinfo);
    if (rc == 0)
        *img = st->img;
    else
        fn_image_free(&st->img);
    free(st);
    return rc;
}

/* ----------------------------------------------------------------- PNG */

typedef struct {
    png_structp png;
    png_infop info;
    const unsigned char *buf;
    size_t len, pos;
    char msg[256];
    fn_image img;
    unsigned char *tmp;     /* 16-bit grey samples before clipping */
    png_bytep *rows;
} png_state;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_state *st = png_get_error_ptr(png);
    snprintf(st->msg, sizeof st->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* benign; Pillow ignores these too */
}

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    png_state *st = png_get_io_ptr(png);
    if (n > st->len - st->pos)
        png_error(png, "file is truncated");
    memcpy(out, st->buf + st->pos, n);
    st->pos += n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int png_run(png_state *st, const char *name, size_t max_pixels, fn_err *err)
{
    /* Check the size in IHDR (always the first chunk) before libpng reads the
     * chunks up to IDAT, so a huge image is refused from its first 24 bytes. */
    if (st->len >= 24 && memcmp(st->buf + 12, "IHDR", 4) == 0 &&
        check_dims(be32(st->buf + 16), be32(st->buf + 20), max_pixels, name, err))
        return -1;

    st->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, png_on_error, png_on_warning);
    if (!st->png || !(st->info = png_create_info_struct(st->png)))
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    if (setjmp(png_jmpbuf(st->png)))
        return fn_fail(err, FN_E_FORMAT, "%s: invalid PNG: %s", name, st->msg);
    png_set_read_fn(st->png, st, png_read_mem);
    png_read_info(st->png, st->info);

    png_uint_32 w = png_get_image_width(st->png, st->info);
    png_uint_32 h = png_get_image_height(st->png, st->info);
    int depth = png_get_bit_depth(st->png, st->info);
    int type = png_get_color_type(st->png, st->info);
    if (check_dims(w, h, max_pixels, name, err))
        return -1;

    /* Pillow's convert('RGB') for each PNG kind (see image.h).  tRNS is never
     * expanded, so transparency is ignored like Pillow does. */
    int grey16 = type == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(st->png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(st->png);
    if (depth == 16 && !grey16)
        png_set_strip_16(st->png); /* keeps the high byte, like Pillow's ;16B unpackers */
    /* palette_to_rgb also turns tRNS into alpha; drop it like a real alpha. */
    if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(st->png, st->info, PNG_INFO_tRNS))
        png_set_strip_alpha(st->png);
    if ((type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) && !grey16)
        png_set_gray_to_rgb(st->png);
    png_set_interlace_handling(st->png);
    png_read_update_info(st->png, st->info);

    size_t want = grey16 ? (size_t)w * 2 : (size_t)w * 3;
    size_t rowbytes = png_get_rowbytes(st->png, st->info);
    if (rowbytes != want)
        return fn_fail(err, FN_E_FORMAT, "%s: PNG rows are %zu bytes after conversion, expected %zu",
                       name, rowbytes, want);
    if (fn_image_alloc(&st->img, (int)w, (int)h, err))
        return fn_wrap(err, "%s: ", name);
    unsigned char *dst = st->img.rgb;
    if (grey16) {
        size_t n;
        if (fn_mul_size(rowbytes, h, &n) || !(st->tmp = malloc(n)))
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
        dst = st->tmp;
    }
    st->rows = malloc(sizeof *st->rows * h);
    if (!st->rows)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    for (png_uint_32 y = 0; y < h; y++)
        st->rows[y] = dst + rowbytes * y;
    png_read_image(st->png, st->rows);

    if (grey16) {
        /* Pillow's I;16 -> RGB clips instead of scaling. */
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned)st->tmp[2 * i] << 8 | st->tmp[2 * i + 1];
            unsigned char c = v > 255 ? 255 : (unsigned char)v;
            st->img.rgb[3 * i] = st->img.rgb[3 * i + 1] = st->img.rgb[3 * i + 2] = c;
        }
    }
    return 0;
}

static int decode_png(const unsigned char *buf, size_t len, const char *name, size_t max_pixels,
                      fn_image *img, fn_err *err)
{
    png_state *st = calloc(1, sizeof *st);
    if (!st)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    st->buf = buf;
    st->len = len;
    int rc = png_run(st, name, max_pixels, err);
    if (st->png)
        png_destroy_read_struct(&st->png, st->info ? &st->info : NULL, NULL);
    free(st->rows);
    free(st->tmp);
    if (rc == 0)
        *img = st->img;
    else
        fn_image_free(&st->img);
    free(st);
    return rc;
}

/* ------------------------------------------------------------- loading */

static const char *guess_other_format(const unsigned char *b, size_t n)
{
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "GIF";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return "BMP";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "WebP";
    if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        return "TIFF";
    return NULL;
}

int fn_image_load_mem(const void *buf, size_t len, const char *name, size_t max_pixels,
                      fn_image *img, fn_err *err)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const unsigned char *b = buf;
    img->w = img->h = 0;
    img->rgb = NULL;
    if (!name)
        name = "(memory)";
    if (len == 0)
        return fn_fail(err, FN_E_FORMAT, "%s: file is empty", name);
    if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return decode_jpeg(b, len, name, max_pixels, img, err);
    if (len >= 8 && memcmp(b, png_sig, 8) == 0)
        return decode_png(b, len, name, max_pixels, img, err);
    const char *other = guess_other_format(b, len);
    if (other)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: %s images are not supported (only JPEG and PNG)",
                       name, other);
    return fn_fail(err, FN_E_FORMAT, "%s: not a JPEG or PNG image", name);
}

int fn_image_load(const char *path, size_t max_pixels, fn_image *img, fn_err *err)
{
    img->w = img->h = 0;
    img->rgb = NULL;
    char *buf;
    size_t len;
    if (fn_read_file(path, MAX_FILE_BYTES, &buf, &len, err))
        return -1;
    int rc = fn_image_load_mem(buf, len, path, max_pixels, img, err);
    free(buf);
    return rc;
}

/* -------------------------------------------------------------- saving */

typedef struct {
    png_structp png;
    png_infop info;
    FILE *f;
    char msg[256];
    png_bytep *rows;
} png_wstate;

static int png_write_run(png_wstate *st, const char *path, const fn_image *img, fn_err *err)
{
    st->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st, png_on_error, png_on_warning);
    if (!st->png || !(st->info = png_create_info_struct(st->png)))
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    st->rows = malloc(sizeof *st->rows * (size_t)img->h);
    if (!st->rows)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    for (int y = 0; y < img->h; y++)
        st->rows[y] = img->rgb + (size_t)y * img->w * 3;
    if (setjmp(png_jmpbuf(st->png)))
        return fn_fail(err, FN_E_IO, "%s: cannot write PNG: %s", path, st->msg);
    png_init_io(st->png, st->f);
    png_set_IHDR(st->png, st->info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(st->png, st->info);
    png_write_image(st->png, st->rows);
    png_write_end(st->png, NULL);
    return 0;
}

int fn_image_save_png(const char *path, const fn_image *img, fn_err *err)
{
    if (!img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "%s: cannot save an empty image", path);
    png_wstate st;
    memset(&st, 0, sizeof st);
    st.f = fopen(path, "wb");
    if (!st.f)
        return fn_fail(err, FN_E_IO, "%s: cannot create: %s", path, strerror(errno));
    int rc = png_write_run(&st, path, img, err);
    if (st.png)
        png_destroy_write_struct(&st.png, st.info ? &st.info : NULL);
    free(st.rows);
    if (fclose(st.f) != 0 && rc == 0)
        rc = fn_fail(err, FN_E_IO, "%s: write error: %s", path, strerror(errno));
    return rc;
}

/* -------------------------------------------------------------- resize */

/* Pillow ImagingScaleAffine: the source coordinate starts at half a step and
 * is accumulated in double (the accumulation is part of the contract: it
 * decides ties exactly as Pillow does). */
static void nearest_table(int in, int out, int *tab)
{
    double step = (double)in / out;
    double pos = step * 0.5;
    for (int i = 0; i < out; i++) {
        int v = pos < 0.0 ? 0 : (int)pos;
        tab[i] = v < in ? v : in - 1;
        pos += step;
    }
}

/* Half-pixel-centre source position of output index i, clamped to the image. */
static void bilinear_coord(int i, int in, int out, int *i0, int *i1, double *frac)
{
    double s = (i + 0.5) * in / out - 0.5;
    if (s < 0.0)
        s = 0.0;
    if (s > in - 1)
        s = in - 1;
    int f = (int)floor(s);
    *i0 = f;
    *i1 = f + 1 < in ? f + 1 : in - 1;
    *frac = s - f;
}

int fn_image_resize(const fn_image *src, int w, int h, fn_resize_method m, fn_image *dst,
                    fn_err *err)
{
    dst->w = dst->h = 0;
    dst->rgb = NULL;
    if (!src->rgb || src->w <= 0 || src->h <= 0)
        return fn_fail(err, FN_E_ARG, "resize: empty source image");
    if (w <= 0 || h <= 0 || w > INT_MAX / 3 || h > INT_MAX / 3)
        return fn_fail(err, FN_E_ARG, "resize: invalid target size %dx%d", w, h);
    if (m != FN_RESIZE_NEAREST && m != FN_RESIZE_BILINEAR)
        return fn_fail(err, FN_E_ARG, "resize: unknown method %d", (int)m);
    fn_image out;
    if (fn_image_alloc(&out, w, h, err))
        return -1;
    const unsigned char *in = src->rgb;
    size_t sstride = (size_t)src->w * 3;

    if (m == FN_RESIZE_NEAREST) {
        int *xt = malloc(sizeof *xt * (size_t)w), *yt = malloc(sizeof *yt * (size_t)h);
        if (!xt || !yt) {
            free(xt);
            free(yt);
            fn_image_free(&out);
            return fn_fail(err, FN_E_NOMEM, "resize: out of memory");
        }
        nearest_table(src->w, w, xt);
        nearest_table(src->h, h, yt);
        for (int y = 0; y < h; y++) {
            const unsigned char *row = in + sstride * yt[y];
            unsigned char *o = out.rgb + (size_t)y * w * 3;
            for (int x = 0; x < w; x++)
                memcpy(o + 3 * x, row + 3 * xt[x], 3);
        }
        free(xt);
        free(yt);
    } else {
        for (int y = 0; y < h; y++) {
            int y0, y1;
            double wy;
            bilinear_coord(y, src->h, h, &y0, &y1, &wy);
            const unsigned char *r0 = in + sstride * y0, *r1 = in + sstride * y1;
            unsigned char *o = out.rgb + (size_t)y * w * 3;
            for (int x = 0; x < w; x++) {
                int x0, x1;
                double wx;
                bilinear_coord(x, src->w, w, &x0, &x1, &wx);
                for (int c = 0; c < 3; c++) {
                    double top = (1 - wx) * r0[3 * x0 + c] + wx * r0[3 * x1 + c];
                    double bot = (1 - wx) * r1[3 * x0 + c] + wx * r1[3 * x1 + c];
                    double v = (1 - wy) * top + wy * bot;
                    o[3 * x + c] = (unsigned char)floor(v + 0.5);
                }
            }
        }
    }
    *dst = out;
    return 0;
}

int fn_image_pad_square(const fn_image *src, int center, size_t max_pixels, fn_image *dst, fn_err *err)
{
    dst->w = dst->h = 0;
    dst->rgb = NULL;
    if (!src->rgb || src->w <= 0 || src->h <= 0)
        return fn_fail(err, FN_E_ARG, "pad to square: empty source image");
    int side = src->w > src->h ? src->w : src->h;
    int diff = side - (src->w < src->h ? src->w : src->h);
    /* A thin image pads to a huge square (a 58384x12 JPEG of 143 bytes would ask for
     * 10 GB): the padded square is held to the same pixel limit as a decoded image. */
    if (max_pixels == 0)
        max_pixels = FN_IMAGE_DEFAULT_MAX_PIXELS;
    if ((size_t)side * (size_t)side > max_pixels)
        return fn_fail(err, FN_E_LIMIT, "image %dx%d would pad to a %dx%d square, more than the limit pixels=%zu",
                       src->w, src->h, side, side, max_pixels);
    /* face-api appends Math.round(diff * 0.5) and prepends the remainder. */
    int before = center ? diff - (diff + 1) / 2 : 0;
    int ox = src->w < side ? before : 0;
    int oy = src->h < side ? before : 0;
    fn_image out;
    if (fn_image_alloc(&out, side, side, err))
        return fn_wrap(err, "pad to square: ");
    for (int y = 0; y < src->h; y++)
        memcpy(out.rgb + ((size_t)(y + oy) * side + ox) * 3, src->rgb + (size_t)y * src->w * 3,
               (size_t)src->w * 3);
    *dst = out;
    return 0;
}
