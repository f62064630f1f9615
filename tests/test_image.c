/* test_image.c - image decoding, resizing and padding: pixel-exact against
 * the Keras (Pillow) and face-api references, every PNG/JPEG kind converted
 * like Pillow's convert('RGB'), and clean errors for bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <jpeglib.h>
#include <png.h>

#include "io/image.h"
#include "lib/testutil.h"

static char tmpdir[64];

/* ------------------------------------------------------------ helpers */

static void load_ok(const char *path, fn_image *img)
{
    fn_err err;
    fn_err_clear(&err);
    if (fn_image_load(path, 0, img, &err) != 0)
        fail_msg("%s", err.msg);
}

/* Loading must fail with a message that names the file. */
static void load_fails(const char *path, size_t max_pixels, fn_errkind kind, const char *what)
{
    fn_image img = {7, 7, (unsigned char *)"x"};
    fn_err err;
    fn_err_clear(&err);
    assert_int_equal(fn_image_load(path, max_pixels, &img, &err), -1);
    assert_null(img.rgb);
    assert_int_equal(img.w, 0);
    if (!strstr(err.msg, path))
        fail_msg("error for %s does not name it: %s", path, err.msg);
    if (what && !strstr(err.msg, what))
        fail_msg("error for %s lacks \"%s\": %s", path, what, err.msg);
    if (kind != FN_E_NONE)
        assert_int_equal(err.kind, kind);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static size_t put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* Append a PNG chunk with a correct CRC. */
static size_t put_chunk(unsigned char *p, const char *type, const unsigned char *data, uint32_t n)
{
    size_t o = put_be32(p, n);
    memcpy(p + o, type, 4);
    if (n)
        memcpy(p + o + 4, data, n);
    o += 4 + n;
    o += put_be32(p + o, crc32_of(p + 4, 4 + n));
    return o;
}

typedef struct {
    int depth, ctype, interlace;
    const png_color *palette;
    int npalette;
    const unsigned char *trns; /* palette alpha or NULL */
    int ntrns;
    const png_color_16 *trns_colour;
} png_spec;

/* Write w x h samples (packed rows as libpng wants them) as a PNG. */
static void write_png(const char *path, int w, int h, const png_spec *s, const unsigned char *data,
                      size_t rowbytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, s->depth, s->ctype,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->npalette);
    if (s->trns || s->trns_colour)
        png_set_tRNS(png, info, s->trns, s->ntrns, s->trns_colour);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++)
            png_write_row(png, data + rowbytes * (size_t)y);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    assert_int_equal(fclose(f), 0);
}

static void write_jpeg(const char *path, int w, int h, int comps, J_COLOR_SPACE cs,
                       const unsigned char *data)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(data + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    assert_int_equal(fclose(f), 0);
}

static const char *const happy[18] = {
    "andrew", "arnaud", "benoit", "bertrand", "camera_0", "camera_1", "camera_2", "camera_3",
    "camera_4", "camera_5", "dan", "danielle", "felix", "kevin", "kian", "sebastiano", "tian",
    "younes"};

static char *happy_path(int i)
{
    char rel[128];
    snprintf(rel, sizeof rel, "images/happy-house/%s.%s", happy[i],
             strcmp(happy[i], "danielle") == 0 ? "png" : "jpg");
    return tu_shared_dup(rel);
}

/* ------------------------------------------------- reference parity */

/* Keras load_img(target_size=(160,160)) = Pillow NEAREST, then float32 /255:
 * every value of all 18 golden inputs must be bit-identical. */
static void test_keras_nearest_golden(void **state)
{
    (void)state;
    char *mpath = tu_shared_dup("golden/keras-facenet-mini/inputs/manifest.json");
    size_t mlen;
    char *mtext = (char *)tu_read_must(mpath, &mlen);
    mtext[mlen] = '\0';
    cJSON *m = cJSON_Parse(mtext);
    assert_non_null(m);
    const cJSON *inputs = cJSON_GetObjectItem(m, "inputs"), *e;
    assert_int_equal(cJSON_GetArraySize(inputs), 18);
    int checked = 0;
    cJSON_ArrayForEach(e, inputs) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
        const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(e, "file"));
        assert_non_null(name);
        assert_non_null(file);
        char rel[256];
        snprintf(rel, sizeof rel, "images/happy-house/%s", name);
        char *ipath = tu_shared_dup(rel);
        snprintf(rel, sizeof rel, "golden/keras-facenet-mini/inputs/%s", file);
        char *gpath = tu_shared_dup(rel);
        fn_image img, r;
        fn_err err;
        load_ok(ipath, &img);
        assert_int_equal(fn_image_resize(&img, 160, 160, FN_RESIZE_NEAREST, &r, &err), 0);
        size_t glen;
        unsigned char *g = tu_read_must(gpath, &glen);
        assert_int_equal(glen, (size_t)160 * 160 * 3 * 4);
        int mismatches = 0;
        for (size_t k = 0; k < (size_t)160 * 160 * 3; k++) {
            float v = (float)r.rgb[k] / 255.0f, ref;
            memcpy(&ref, g + 4 * k, 4); /* little-endian host, like the file */
            mismatches += memcmp(&v, &ref, 4) != 0;
        }
        if (mismatches)
            fail_msg("%s: %d of %d values differ from %s", ipath, mismatches, 160 * 160 * 3,
                     gpath);
        checked++;
        free(g);
        fn_image_free(&img);
        fn_image_free(&r);
        free(ipath);
        free(gpath);
    }
    assert_int_equal(checked, 18);
    cJSON_Delete(m);
    free(mtext);
    free(mpath);
}

/* Half-pixel bilinear 96 -> 150 must reproduce face-api's golden PNGs. */
static void test_faceapi_bilinear_golden(void **state)
{
    (void)state;
    int worst = 0;
    for (int i = 0; i < 18; i++) {
        char *ipath = happy_path(i), rel[128];
        snprintf(rel, sizeof rel, "golden/faceapi-resnet/inputs/happy-house/%s.png", happy[i]);
        char *gpath = tu_shared_dup(rel);
        fn_image img, r, g;
        fn_err err;
        load_ok(ipath, &img);
        load_ok(gpath, &g);
        assert_int_equal(fn_image_resize(&img, 150, 150, FN_RESIZE_BILINEAR, &r, &err), 0);
        assert_int_equal(g.w, 150);
        assert_int_equal(g.h, 150);
        for (size_t k = 0; k < (size_t)150 * 150 * 3; k++) {
            int d = abs((int)r.rgb[k] - (int)g.rgb[k]);
            worst = d > worst ? d : worst;
        }
        fn_image_free(&img);
        fn_image_free(&r);
        fn_image_free(&g);
        free(ipath);
        free(gpath);
    }
    printf("bilinear 96->150 vs face-api PNGs: max abs pixel difference %d\n", worst);
    assert_int_equal(worst, 0);
}

/* danielle.png is RGBA with real transparency: RGB must be the stored colour
 * channels untouched (no compositing), compared with libpng's own decode. */
static void test_rgba_drops_alpha(void **state)
{
    (void)state;
    char *path = tu_shared_dup("images/happy-house/danielle.png");
    fn_image img;
    load_ok(path, &img);
    assert_int_equal(img.w, 96);
    assert_int_equal(img.h, 96);

    png_image ref;
    memset(&ref, 0, sizeof ref);
    ref.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&ref, path));
    assert_true(ref.format & PNG_FORMAT_FLAG_ALPHA);
    ref.format = PNG_FORMAT_RGBA;
    unsigned char *rgba = malloc(PNG_IMAGE_SIZE(ref));
    assert_non_null(rgba);
    assert_true(png_image_finish_read(&ref, NULL, rgba, 0, NULL));
    for (size_t i = 0; i < (size_t)96 * 96; i++)
        assert_memory_equal(img.rgb + 3 * i, rgba + 4 * i, 3);
    free(rgba);
    fn_image_free(&img);
    free(path);

    /* danielle.png is fully opaque, so also check translucent pixels: the
     * colour channels come back as stored, not blended with any background. */
    unsigned char px[6 * 2 * 4];
    for (int i = 0; i < 12; i++) {
        px[4 * i] = (unsigned char)(20 * i);
        px[4 * i + 1] = (unsigned char)(255 - 20 * i);
        px[4 * i + 2] = (unsigned char)(7 * i);
        px[4 * i + 3] = (unsigned char)(i * 23); /* 0 (transparent) .. 253 */
    }
    png_spec s = {8, PNG_COLOR_TYPE_RGB_ALPHA, 0, NULL, 0, NULL, 0, NULL};
    write_png(tu_path_in(tmpdir, "rgba8.png"), 6, 2, &s, px, 24);
    load_ok(tu_path_in(tmpdir, "rgba8.png"), &img);
    for (int i = 0; i < 12; i++)
        assert_memory_equal(img.rgb + 3 * i, px + 4 * i, 3);
    fn_image_free(&img);
}

/* --------------------------------------------------- generated files */

static void test_grey_png_kinds(void **state)
{
    (void)state;
    const int w = 7, h = 3;
    fn_image img;
    /* 8-bit grey: replicated into r = g = b. */
    unsigned char g8[21];
    for (int i = 0; i < 21; i++)
        g8[i] = (unsigned char)(i * 12);
    png_spec s = {8, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, NULL, 0, NULL};
    write_png(tu_path_in(tmpdir, "g8.png"), w, h, &s, g8, 7);
    load_ok(tu_path_in(tmpdir, "g8.png"), &img);
    assert_int_equal(img.w, 7);
    assert_int_equal(img.h, 3);
    for (int i = 0; i < 21; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[3 * i + c], g8[i]);
    fn_image_free(&img);

    /* 1-bit grey: 0 -> 0, 1 -> 255 (Pillow "1" -> RGB). */
    unsigned char g1[3] = {0xA0, 0x5E, 0xFE}; /* rows of 7 bits, MSB first */
    s.depth = 1;
    write_png(tu_path_in(tmpdir, "g1.png"), w, h, &s, g1, 1);
    load_ok(tu_path_in(tmpdir, "g1.png"), &img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int bit = (g1[y] >> (7 - x)) & 1;
            assert_int_equal(img.rgb[3 * (y * w + x)], bit ? 255 : 0);
            assert_int_equal(img.rgb[3 * (y * w + x) + 2], bit ? 255 : 0);
        }
    fn_image_free(&img);

    /* 4-bit grey: v * 17 (Pillow L;4). */
    unsigned char g4[12];
    for (int y = 0; y < h; y++)
        for (int b = 0; b < 4; b++)
            g4[y * 4 + b] = (unsigned char)(((y * 7 + 2 * b) & 15) << 4 | ((y * 7 + 2 * b + 1) & 15));
    s.depth = 4;
    write_png(tu_path_in(tmpdir, "g4.png"), w, h, &s, g4, 4);
    load_ok(tu_path_in(tmpdir, "g4.png"), &img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = (g4[y * 4 + x / 2] >> (x % 2 ? 0 : 4)) & 15;
            assert_int_equal(img.rgb[3 * (y * w + x) + 1], v * 17);
        }
    fn_image_free(&img);

    /* 16-bit grey: Pillow's I;16 -> RGB clips at 255 (it does not scale). */
    unsigned short v16[7] = {0, 1, 200, 255, 256, 4000, 65535};
    unsigned char g16[42];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            g16[y * 14 + 2 * x] = (unsigned char)(v16[x] >> 8);
            g16[y * 14 + 2 * x + 1] = (unsigned char)(v16[x] & 255);
        }
    s.depth = 16;
    write_png(tu_path_in(tmpdir, "g16.png"), w, h, &s, g16, 14);
    load_ok(tu_path_in(tmpdir, "g16.png"), &img);
    static const unsigned char want16[7] = {0, 1, 200, 255, 255, 255, 255};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(img.rgb[3 * (y * w + x) + c], want16[x]);
    fn_image_free(&img);

    /* grey + alpha: alpha dropped, grey replicated. */
    unsigned char ga[42];
    for (int i = 0; i < 21; i++) {
        ga[2 * i] = (unsigned char)(250 - i * 7);
        ga[2 * i + 1] = (unsigned char)(i * 10);
    }
    s.depth = 8;
    s.ctype = PNG_COLOR_TYPE_GRAY_ALPHA;
    write_png(tu_path_in(tmpdir, "ga.png"), w, h, &s, ga, 14);
    load_ok(tu_path_in(tmpdir, "ga.png"), &img);
    for (int i = 0; i < 21; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[3 * i + c], ga[2 * i]);
    fn_image_free(&img);
}

static void test_colour_png_kinds(void **state)
{
    (void)state;
    const int w = 5, h = 4;
    fn_image img;
    /* palette with transparency: the palette colours, transparency ignored. */
    const png_color pal[3] = {{10, 20, 30}, {200, 100, 50}, {0, 255, 7}};
    const unsigned char trns[3] = {0, 128, 255};
    unsigned char idx[20];
    for (int i = 0; i < 20; i++)
        idx[i] = (unsigned char)(i % 3);
    png_spec s = {8, PNG_COLOR_TYPE_PALETTE, 0, pal, 3, trns, 3, NULL};
    write_png(tu_path_in(tmpdir, "p8.png"), w, h, &s, idx, 5);
    load_ok(tu_path_in(tmpdir, "p8.png"), &img);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(img.rgb[3 * i], pal[idx[i]].red);
        assert_int_equal(img.rgb[3 * i + 1], pal[idx[i]].green);
        assert_int_equal(img.rgb[3 * i + 2], pal[idx[i]].blue);
    }
    fn_image_free(&img);

    /* 16-bit RGBA: high byte of each sample, alpha dropped. */
    unsigned char rgba16[5 * 4 * 8];
    for (int i = 0; i < 5 * 4 * 8; i++)
        rgba16[i] = (unsigned char)(i * 37 + 11);
    png_spec s16 = {16, PNG_COLOR_TYPE_RGB_ALPHA, 0, NULL, 0, NULL, 0, NULL};
    write_png(tu_path_in(tmpdir, "rgba16.png"), w, h, &s16, rgba16, 40);
    load_ok(tu_path_in(tmpdir, "rgba16.png"), &img);
    for (int i = 0; i < 20; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[3 * i + c], rgba16[8 * i + 2 * c]);
    fn_image_free(&img);

    /* 16-bit RGB, Adam7-interlaced, with a tRNS colour: high bytes. */
    unsigned char rgb16[5 * 4 * 6];
    for (int i = 0; i < 5 * 4 * 6; i++)
        rgb16[i] = (unsigned char)(i * 53 + 3);
    png_color_16 key = {0, 0x0300, 0x3800, 0x6d00, 0};
    png_spec si = {16, PNG_COLOR_TYPE_RGB, 1, NULL, 0, NULL, 0, &key};
    write_png(tu_path_in(tmpdir, "rgb16i.png"), w, h, &si, rgb16, 30);
    load_ok(tu_path_in(tmpdir, "rgb16i.png"), &img);
    for (int i = 0; i < 20; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[3 * i + c], rgb16[6 * i + 2 * c]);
    fn_image_free(&img);

    /* 8-bit RGB interlaced. */
    unsigned char rgb8[60];
    for (int i = 0; i < 60; i++)
        rgb8[i] = (unsigned char)(i * 29 + 1);
    png_spec s8 = {8, PNG_COLOR_TYPE_RGB, 1, NULL, 0, NULL, 0, NULL};
    write_png(tu_path_in(tmpdir, "rgb8i.png"), w, h, &s8, rgb8, 15);
    load_ok(tu_path_in(tmpdir, "rgb8i.png"), &img);
    assert_memory_equal(img.rgb, rgb8, 60);
    fn_image_free(&img);
}

/* A greyscale JPEG decodes to r = g = b = libjpeg's own grey decode. */
static void test_grey_jpeg(void **state)
{
    (void)state;
    const int w = 19, h = 11;
    unsigned char grey[19 * 11];
    for (int i = 0; i < w * h; i++)
        grey[i] = (unsigned char)((i * 7) ^ (i / 19 * 31));
    const char *path = tu_path_in(tmpdir, "grey.jpg");
    write_jpeg(path, w, h, 1, JCS_GRAYSCALE, grey);

    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    assert_int_equal(d.jpeg_color_space, JCS_GRAYSCALE);
    jpeg_start_decompress(&d);
    unsigned char ref[19 * 11];
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = ref + (size_t)d.output_scanline * w;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    fclose(f);

    fn_image img;
    load_ok(path, &img);
    assert_int_equal(img.w, w);
    assert_int_equal(img.h, h);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[3 * i + c], ref[i]);
    fn_image_free(&img);
}

static void test_cmyk_jpeg_rejected(void **state)
{
    (void)state;
    unsigned char cmyk[8 * 8 * 4];
    for (int i = 0; i < (int)sizeof cmyk; i++)
        cmyk[i] = (unsigned char)(i * 5);
    const char *path = tu_path_in(tmpdir, "cmyk.jpg");
    write_jpeg(path, 8, 8, 4, JCS_CMYK, cmyk);
    load_fails(path, 0, FN_E_UNSUPPORTED, "CMYK");
}

/* ---------------------------------------------------------- bad files */

static void test_bad_files(void **state)
{
    (void)state;
    size_t len;
    char *src = tu_shared_dup("images/happy-house/arnaud.jpg"); /* baseline */
    unsigned char *jpg = tu_read_must(src, &len);
    tu_write_must(tu_path_in(tmpdir, "trunc_baseline.jpg"), jpg, len / 2);
    load_fails(tu_path_in(tmpdir, "trunc_baseline.jpg"), 0, FN_E_FORMAT, "Premature end");
    tu_write_must(tu_path_in(tmpdir, "trunc_header.jpg"), jpg, 40);
    load_fails(tu_path_in(tmpdir, "trunc_header.jpg"), 0, FN_E_FORMAT, NULL);
    /* Missing only the final EOI marker: rejected as truncated, like Pillow. */
    assert_true(jpg[len - 2] == 0xff && jpg[len - 1] == 0xd9);
    tu_write_must(tu_path_in(tmpdir, "no_eoi.jpg"), jpg, len - 2);
    load_fails(tu_path_in(tmpdir, "no_eoi.jpg"), 0, FN_E_FORMAT, "Premature end");
    free(jpg);
    free(src);

    src = tu_shared_dup("images/happy-house/andrew.jpg"); /* progressive */
    jpg = tu_read_must(src, &len);
    tu_write_must(tu_path_in(tmpdir, "trunc_progressive.jpg"), jpg, len * 3 / 4);
    load_fails(tu_path_in(tmpdir, "trunc_progressive.jpg"), 0, FN_E_FORMAT, "Premature end");
    free(jpg);
    free(src);

    src = tu_shared_dup("images/happy-house/danielle.png");
    unsigned char *png = tu_read_must(src, &len);
    tu_write_must(tu_path_in(tmpdir, "trunc.png"), png, len / 2);
    load_fails(tu_path_in(tmpdir, "trunc.png"), 0, FN_E_FORMAT, "truncated");
    tu_write_must(tu_path_in(tmpdir, "trunc_sig.png"), png, 8);
    load_fails(tu_path_in(tmpdir, "trunc_sig.png"), 0, FN_E_FORMAT, NULL);
    free(png);
    free(src);

    tu_write_must(tu_path_in(tmpdir, "empty.jpg"), "", 0);
    load_fails(tu_path_in(tmpdir, "empty.jpg"), 0, FN_E_FORMAT, "empty");
    const char *text = "name,x,y\nandrew,1,2\n";
    tu_write_must(tu_path_in(tmpdir, "notes.png"), text, strlen(text));
    load_fails(tu_path_in(tmpdir, "notes.png"), 0, FN_E_FORMAT, "not a JPEG or PNG");
    tu_write_must(tu_path_in(tmpdir, "anim.jpg"), "GIF89a\x01\x00\x01\x00", 10);
    load_fails(tu_path_in(tmpdir, "anim.jpg"), 0, FN_E_UNSUPPORTED, "GIF");
    load_fails(tu_path_in(tmpdir, "does-not-exist.jpg"), 0, FN_E_IO, "cannot open");
    load_fails(tmpdir, 0, FN_E_IO, "not a regular file");
}

/* A PNG whose IHDR (valid CRC) claims 100000 x 100000 pixels: refused from
 * the header, both when the file goes on (IDAT, IEND) and when it stops. */
static void test_huge_png_header(void **state)
{
    (void)state;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char idat[9] = {0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x04, 0x00};
    unsigned char ihdr[13], buf[128];
    put_be32(ihdr, 100000);
    put_be32(ihdr + 4, 100000);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    size_t n = 0;
    memcpy(buf, sig, 8);
    n = 8;
    n += put_chunk(buf + n, "IHDR", ihdr, 13);
    size_t header_only = n;
    n += put_chunk(buf + n, "IDAT", idat, 9);
    n += put_chunk(buf + n, "IEND", NULL, 0);
    tu_write_must(tu_path_in(tmpdir, "huge.png"), buf, n);
    load_fails(tu_path_in(tmpdir, "huge.png"), 0, FN_E_LIMIT, "100000x100000");
    tu_write_must(tu_path_in(tmpdir, "huge_header_only.png"), buf, header_only);
    load_fails(tu_path_in(tmpdir, "huge_header_only.png"), 0, FN_E_LIMIT, "100000x100000");

    /* A sane 1x1 IHDR followed directly by IEND has no image data. */
    put_be32(ihdr, 1);
    put_be32(ihdr + 4, 1);
    n = 8 + put_chunk(buf + 8, "IHDR", ihdr, 13);
    n += put_chunk(buf + n, "IEND", NULL, 0);
    tu_write_must(tu_path_in(tmpdir, "no_idat.png"), buf, n);
    load_fails(tu_path_in(tmpdir, "no_idat.png"), 0, FN_E_FORMAT, NULL);
}

/* A real JPEG with its SOF dimensions patched to 60000 x 60000. */
static void test_huge_jpeg_header(void **state)
{
    (void)state;
    size_t len;
    char *src = tu_shared_dup("images/happy-house/arnaud.jpg");
    unsigned char *jpg = tu_read_must(src, &len);
    size_t i;
    for (i = 2; i + 9 < len; i++)
        if (jpg[i] == 0xff && (jpg[i + 1] == 0xc0 || jpg[i + 1] == 0xc2))
            break;
    assert_true(i + 9 < len);
    jpg[i + 5] = 0xea; /* height 0xea60 = 60000 */
    jpg[i + 6] = 0x60;
    jpg[i + 7] = 0xea; /* width */
    jpg[i + 8] = 0x60;
    tu_write_must(tu_path_in(tmpdir, "huge.jpg"), jpg, len);
    load_fails(tu_path_in(tmpdir, "huge.jpg"), 0, FN_E_LIMIT, "60000x60000");
    free(jpg);
    free(src);
}

static void test_pixel_limit(void **state)
{
    (void)state;
    char *path = tu_shared_dup("images/happy-house/andrew.jpg");
    load_fails(path, 96 * 96 - 1, FN_E_LIMIT, "the limit pixels=9215");
    fn_image img;
    fn_err err;
    assert_int_equal(fn_image_load(path, 96 * 96, &img, &err), 0);
    fn_image_free(&img);
    free(path);
    path = tu_shared_dup("images/happy-house/danielle.png");
    load_fails(path, 96 * 96 - 1, FN_E_LIMIT, "the limit pixels=9215");
    free(path);
}

/* Byte-mutated files must decode or fail cleanly, never crash (run under
 * ASan/UBSan by `make asan`). */
static void test_mutations_do_not_crash(void **state)
{
    (void)state;
    const char *srcs[2] = {"images/happy-house/arnaud.jpg", "images/happy-house/danielle.png"};
    uint32_t rng = 12345;
    for (int s = 0; s < 2; s++) {
        size_t len;
        char *src = tu_shared_dup(srcs[s]);
        unsigned char *orig = tu_read_must(src, &len);
        unsigned char *buf = malloc(len);
        assert_non_null(buf);
        int ok = 0, failed = 0;
        for (int t = 0; t < 300; t++) {
            memcpy(buf, orig, len);
            int flips = 1 + t % 4;
            for (int k = 0; k < flips; k++) {
                rng = rng * 1664525u + 1013904223u;
                size_t pos = 2 + (rng >> 8) % (len - 2); /* keep the magic */
                rng = rng * 1664525u + 1013904223u;
                buf[pos] = (unsigned char)(rng >> 24);
            }
            size_t cut = t % 5 == 4 ? len - (rng % len) : len;
            fn_image img;
            fn_err err;
            fn_err_clear(&err);
            if (fn_image_load_mem(buf, cut, "mutant", 0, &img, &err) == 0) {
                assert_true(img.w > 0 && img.h > 0 && img.rgb);
                fn_image_free(&img);
                ok++;
            } else {
                assert_non_null(strstr(err.msg, "mutant"));
                failed++;
            }
        }
        printf("%s mutants: %d decoded, %d rejected\n", srcs[s], ok, failed);
        free(buf);
        free(orig);
        free(src);
    }
}

/* ------------------------------------------------ resize, pad, save */

static void test_resize_small_cases(void **state)
{
    (void)state;
    fn_err err;
    fn_image src, dst;
    /* 4x1 -> 2x1 nearest picks columns 1 and 3 (centres 1.0, 3.0). */
    assert_int_equal(fn_image_alloc(&src, 4, 1, &err), 0);
    for (int x = 0; x < 4; x++)
        src.rgb[3 * x] = src.rgb[3 * x + 1] = src.rgb[3 * x + 2] = (unsigned char)(10 * x);
    assert_int_equal(fn_image_resize(&src, 2, 1, FN_RESIZE_NEAREST, &dst, &err), 0);
    assert_int_equal(dst.rgb[0], 10);
    assert_int_equal(dst.rgb[3], 30);
    fn_image_free(&dst);
    fn_image_free(&src);
    /* 5x1 -> 7x1 nearest: floor((x + 0.5) * 5 / 7) = 0 1 1 2 3 3 4. */
    assert_int_equal(fn_image_alloc(&src, 5, 1, &err), 0);
    for (int x = 0; x < 5; x++)
        memset(src.rgb + 3 * x, 10 * x, 3);
    static const int want7[7] = {0, 1, 1, 2, 3, 3, 4};
    assert_int_equal(fn_image_resize(&src, 7, 1, FN_RESIZE_NEAREST, &dst, &err), 0);
    for (int x = 0; x < 7; x++)
        assert_int_equal(dst.rgb[3 * x + 1], 10 * want7[x]);
    fn_image_free(&dst);
    fn_image_free(&src);

    /* 2x1 [0, 100] -> 4x1 bilinear: sx = -0.25 (clamped), 0.25, 0.75, 1.25
     * (clamped) -> 0 25 75 100; and 2x2 -> 1x1 averages the four. */
    assert_int_equal(fn_image_alloc(&src, 2, 2, &err), 0);
    static const unsigned char px[4] = {0, 100, 51, 200};
    for (int i = 0; i < 4; i++)
        memset(src.rgb + 3 * i, px[i], 3);
    assert_int_equal(fn_image_resize(&src, 4, 1, FN_RESIZE_BILINEAR, &dst, &err), 0);
    /* one output row at sy = 0.5 mixes the rows half and half:
     * 25.5 -> 26, (25 + 88.25) / 2 = 56.625 -> 57, (75 + 162.75) / 2 -> 119, 150 */
    static const int want4[4] = {26, 57, 119, 150};
    for (int x = 0; x < 4; x++)
        assert_int_equal(dst.rgb[3 * x], want4[x]);
    fn_image_free(&dst);
    assert_int_equal(fn_image_resize(&src, 1, 1, FN_RESIZE_BILINEAR, &dst, &err), 0);
    assert_int_equal(dst.rgb[0], 88); /* (0 + 100 + 51 + 200) / 4 = 87.75 */
    fn_image_free(&dst);
    /* same size is the identity for both methods */
    assert_int_equal(fn_image_resize(&src, 2, 2, FN_RESIZE_BILINEAR, &dst, &err), 0);
    assert_memory_equal(dst.rgb, src.rgb, 12);
    fn_image_free(&dst);
    assert_int_equal(fn_image_resize(&src, 2, 2, FN_RESIZE_NEAREST, &dst, &err), 0);
    assert_memory_equal(dst.rgb, src.rgb, 12);
    fn_image_free(&dst);
    assert_int_equal(fn_image_resize(&src, 0, 5, FN_RESIZE_NEAREST, &dst, &err), -1);
    assert_null(dst.rgb);
    fn_image_free(&src);
}

static void test_pad_square(void **state)
{
    (void)state;
    fn_err err;
    fn_image src, dst;
    /* 2 wide, 5 tall: diff 3.  end: columns 0-1 image, 2-4 zero.  center
     * (face-api): Math.round(1.5) = 2 appended, 1 prepended. */
    assert_int_equal(fn_image_alloc(&src, 2, 5, &err), 0);
    memset(src.rgb, 9, 2 * 5 * 3);
    assert_int_equal(fn_image_pad_square(&src, 0, 0, &dst, &err), 0);
    assert_int_equal(dst.w, 5);
    assert_int_equal(dst.h, 5);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            assert_int_equal(dst.rgb[3 * (y * 5 + x)], x < 2 ? 9 : 0);
    fn_image_free(&dst);
    assert_int_equal(fn_image_pad_square(&src, 1, 0, &dst, &err), 0);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            assert_int_equal(dst.rgb[3 * (y * 5 + x) + 2], x >= 1 && x < 3 ? 9 : 0);
    fn_image_free(&dst);
    fn_image_free(&src);
    /* 6 wide, 2 tall: diff 4 -> 2 rows before, 2 after when centred. */
    assert_int_equal(fn_image_alloc(&src, 6, 2, &err), 0);
    memset(src.rgb, 5, 6 * 2 * 3);
    assert_int_equal(fn_image_pad_square(&src, 1, 0, &dst, &err), 0);
    for (int y = 0; y < 6; y++)
        assert_int_equal(dst.rgb[3 * (y * 6 + 3)], y >= 2 && y < 4 ? 5 : 0);
    fn_image_free(&dst);
    fn_image_free(&src);
}

static void test_save_png_roundtrip(void **state)
{
    (void)state;
    char *path = tu_shared_dup("images/happy-house/kian.jpg");
    fn_image img, back;
    fn_err err;
    load_ok(path, &img);
    assert_int_equal(fn_image_save_png(tu_path_in(tmpdir, "kian.png"), &img, &err), 0);
    load_ok(tu_path_in(tmpdir, "kian.png"), &back);
    assert_int_equal(back.w, img.w);
    assert_int_equal(back.h, img.h);
    assert_memory_equal(back.rgb, img.rgb, (size_t)img.w * img.h * 3);
    fn_image_free(&back);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.png", tmpdir);
    assert_int_equal(fn_image_save_png(bad, &img, &err), -1);
    assert_non_null(strstr(err.msg, bad));
    fn_image_free(&img);
    free(path);
}

/* ------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fn_test_image_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlink(tu_path_in(tmpdir, e->d_name));
        }
        closedir(d);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keras_nearest_golden),
        cmocka_unit_test(test_faceapi_bilinear_golden),
        cmocka_unit_test(test_rgba_drops_alpha),
        cmocka_unit_test(test_grey_png_kinds),
        cmocka_unit_test(test_colour_png_kinds),
        cmocka_unit_test(test_grey_jpeg),
        cmocka_unit_test(test_cmyk_jpeg_rejected),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_huge_png_header),
        cmocka_unit_test(test_huge_jpeg_header),
        cmocka_unit_test(test_pixel_limit),
        cmocka_unit_test(test_mutations_do_not_crash),
        cmocka_unit_test(test_resize_small_cases),
        cmocka_unit_test(test_pad_square),
        cmocka_unit_test(test_save_png_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
