/* test_exif.c - photos turned upright by their Exif orientation (io/exif.c, used by the
 * JPEG decoder):
 *  - every orientation 1..8, in both TIFF byte orders: the decoded photo is the plain
 *    decode turned as the tag says, pixel for pixel (the expected pixel computed here
 *    from the output side, the library maps from the input side);
 *  - the tag reader on hostile payloads: wrong magic, byte order, offsets past the end,
 *    entry counts past the end, wrong type or count, values 0 and 9, every truncation
 *    of a valid payload - never a read outside it, orientation 1 unless the whole
 *    entry is there;
 *  - end to end: a course photo stored sideways (turned 90 degrees counter-clockwise,
 *    re-encoded) with Orientation 6 is found by `facenet detect` where the upright
 *    photo's face is, and its box is in the upright photo's coordinates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "io/exif.h"
#include "io/image.h"
#include "lib/testutil.h"

/* An Exif APP1 payload whose IFD0 holds `extra` other entries, then Orientation o
 * (type 3, count 1), in byte order big (1: "MM").  Returns its length. */
static size_t exif_payload(unsigned char *p, int big, unsigned o, int extra)
{
    size_t n = 0;
    memcpy(p, "Exif\0\0", 6), n = 6;
    unsigned char *t = p + n;
#define PUT16(q, v) ((big) ? ((q)[0] = (unsigned char)((v) >> 8), (q)[1] = (unsigned char)(v)) \
                           : ((q)[1] = (unsigned char)((v) >> 8), (q)[0] = (unsigned char)(v)))
#define PUT32(q, v) ((big) ? (PUT16((q), (v) >> 16), PUT16((q) + 2, (v) & 0xffff)) \
                           : (PUT16((q) + 2, (v) >> 16), PUT16((q), (v) & 0xffff)))
    memcpy(t, big ? "MM" : "II", 2);
    PUT16(t + 2, 42);
    PUT32(t + 4, 8u);
    PUT16(t + 8, (unsigned)(extra + 1));
    unsigned char *e = t + 10;
    for (int i = 0; i < extra; i++, e += 12) { /* ImageWidth, a LONG */
        PUT16(e, 0x0100);
        PUT16(e + 2, 4);
        PUT32(e + 4, 1u);
        PUT32(e + 8, 640u);
    }
    PUT16(e, 0x0112);
    PUT16(e + 2, 3);
    PUT32(e + 4, 1u);
    PUT16(e + 8, o);
    PUT16(e + 10, 0);
    e += 12;
    PUT32(e, 0u); /* no next IFD */
    e += 4;
#undef PUT16
#undef PUT32
    return (size_t)(e - p);
}

/* jpeg with an APP1 segment (payload p, n bytes) right after SOI (malloc'd). */
static unsigned char *with_app1(const unsigned char *jpeg, size_t len, const unsigned char *p, size_t n,
                                size_t *out_len)
{
    unsigned char *b = malloc(len + n + 4);
    assert_non_null(b);
    memcpy(b, jpeg, 2);
    b[2] = 0xff, b[3] = 0xe1, b[4] = (unsigned char)((n + 2) >> 8), b[5] = (unsigned char)(n + 2);
    memcpy(b + 6, p, n);
    memcpy(b + 6 + n, jpeg + 2, len - 2);
    *out_len = len + n + 4;
    return b;
}

/* Input pixel shown at output (X, Y) for orientation o of a w x h photo. */
static void source_of(int o, int w, int h, int X, int Y, int *x, int *y)
{
    switch (o) {
    case 2: *x = w - 1 - X, *y = Y; break;
    case 3: *x = w - 1 - X, *y = h - 1 - Y; break;
    case 4: *x = X, *y = h - 1 - Y; break;
    case 5: *x = Y, *y = X; break;
    case 6: *x = Y, *y = h - 1 - X; break; /* turned clockwise: output's top-left was bottom-left */
    case 7: *x = w - 1 - Y, *y = h - 1 - X; break;
    case 8: *x = w - 1 - Y, *y = X; break; /* counter-clockwise: top-left was top-right */
    default: *x = X, *y = Y; break;
    }
}

static void test_every_orientation_both_byte_orders(void **state)
{
    (void)state;
    size_t len;
    unsigned char *jpeg = tu_read_must(tu_shared("images/happy-house/kian.jpg"), &len);
    fn_image plain = {0}, img = {0};
    fn_err err = {0};
    assert_int_equal(fn_image_load_mem(jpeg, len, "kian", 0, &plain, &err), 0);
    for (int big = 0; big < 2; big++)
        for (int o = 1; o <= 8; o++) {
            unsigned char p[256];
            size_t n = exif_payload(p, big, (unsigned)o, o % 3), blen;
            assert_int_equal(fn_exif_orientation(p, n), o);
            unsigned char *b = with_app1(jpeg, len, p, n, &blen);
            if (fn_image_load_mem(b, blen, "kian+exif", 0, &img, &err))
                fail_msg("orientation %d: %s", o, err.msg);
            assert_int_equal(img.w, o >= 5 ? plain.h : plain.w);
            assert_int_equal(img.h, o >= 5 ? plain.w : plain.h);
            long wrong = 0;
            for (int Y = 0; Y < img.h; Y++)
                for (int X = 0; X < img.w; X++) {
                    int x, y;
                    source_of(o, plain.w, plain.h, X, Y, &x, &y);
                    wrong += memcmp(img.rgb + ((size_t)Y * img.w + X) * 3, plain.rgb + ((size_t)y * plain.w + x) * 3, 3) != 0;
                }
            if (wrong)
                fail_msg("orientation %d (%s): %ld pixels not where the tag puts them", o, big ? "MM" : "II", wrong);
            fn_image_free(&img);
            free(b);
        }
    fn_image_free(&plain);
    free(jpeg);
}

static void test_hostile_payloads(void **state)
{
    (void)state;
    unsigned char p[256], q[256];
    const size_t n = exif_payload(p, 0, 6, 2);
    assert_int_equal(fn_exif_orientation(p, n), 6);
    assert_int_equal(fn_exif_orientation(NULL, 100), 1);
    /* every truncation: 6 only when the whole Orientation entry is inside */
    const size_t entry_end = 6 + 10 + 3 * 12;
    for (size_t k = 0; k <= n; k++) {
        unsigned char *c = malloc(k ? k : 1); /* exactly k bytes: ASan sees any read past them */
        memcpy(c, p, k);
        assert_int_equal(fn_exif_orientation(c, k), k >= entry_end ? 6 : 1);
        free(c);
    }
    struct {
        size_t at;
        unsigned char v;
        const char *what;
    } bad[] = {
        {0, 'e', "not Exif"}, {6, 'X', "no byte order"}, {8, 43, "not 42"},
        {10, 200, "IFD0 past the end"}, {10, 3, "IFD0 inside the header"},
        {6 + 10 + 24 + 2, 4, "Orientation not a SHORT"},
        {6 + 10 + 24 + 4, 2, "Orientation count 2"}, {6 + 10 + 24 + 8, 0, "Orientation 0"},
        {6 + 10 + 24 + 8, 9, "Orientation 9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(q, p, n);
        q[bad[i].at] = bad[i].v;
        if (fn_exif_orientation(q, n) != 1)
            fail_msg("%s: orientation %d, want 1", bad[i].what, fn_exif_orientation(q, n));
    }
    /* an IFD0 with 0xffff entries in a short payload: stops at the end */
    memcpy(q, p, n);
    q[14] = 0xff, q[15] = 0xff;
    assert_int_equal(fn_exif_orientation(q, n), 6); /* found before the end */
    q[6 + 10 + 24] = 0x13;                          /* no longer the tag: reads on to the end */
    assert_int_equal(fn_exif_orientation(q, n), 1);
}

/* img as a JPEG (quality 95) in memory (malloc'd). */
static unsigned char *encode_jpeg(const fn_image *img, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)img->w, c.image_height = (JDIMENSION)img->h;
    c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->rgb + (size_t)c.next_scanline * img->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return buf;
}

/* The one face `facenet detect --json` finds in path: box x, y, w, h. */
static void detect_one(const char *path, double box[4])
{
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' detect --json '%s'", tu_build("facenet"), path);
    int rc = tu_run(cmd, &out, &err);
    if (rc)
        fail_msg("detect %s: exit %d: %s", path, rc, err ? err : "");
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "image")->valuestring, path);
    const cJSON *b = cJSON_GetObjectItem(j, "box");
    assert_int_equal(cJSON_GetArraySize(b), 4);
    for (int i = 0; i < 4; i++)
        box[i] = cJSON_GetArrayItem(b, i)->valuedouble;
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_null(strchr(nl + 1, '{')); /* one face */
    cJSON_Delete(j);
    free(out), free(err);
}

static void test_sideways_photo_is_detected_upright(void **state)
{
    (void)state;
    fn_image up = {0}, side = {0};
    fn_err err = {0};
    assert_int_equal(fn_image_load(tu_shared("images/happy-house/kian.jpg"), 0, &up, &err), 0);
    /* stored sideways: turned counter-clockwise (orientation 8 does that), so that
     * the tag to show it upright is 6 */
    assert_int_equal(fn_image_load(tu_shared("images/happy-house/kian.jpg"), 0, &side, &err), 0);
    assert_int_equal(fn_image_orient(&side, 8, &err), 0);
    char *dir = tu_tmpdir();
    size_t n_up, n_side, n_tag;
    unsigned char *j_up = encode_jpeg(&up, &n_up), *j_side = encode_jpeg(&side, &n_side);
    unsigned char p[128];
    size_t n = exif_payload(p, 1, 6, 0);
    unsigned char *j_tag = with_app1(j_side, n_side, p, n, &n_tag);
    char up_path[4096], tag_path[4096];
    snprintf(up_path, sizeof up_path, "%s/upright.jpg", dir);
    snprintf(tag_path, sizeof tag_path, "%s/sideways-tagged.jpg", dir);
    tu_write_must(up_path, j_up, n_up);
    tu_write_must(tag_path, j_tag, n_tag);
    fn_image dec = {0};
    assert_int_equal(fn_image_load(tag_path, 0, &dec, &err), 0);
    assert_int_equal(dec.w, up.w);
    assert_int_equal(dec.h, up.h);
    double a[4], b[4];
    detect_one(up_path, a);
    detect_one(tag_path, b);
    /* the same face in the same place, up to the two encodings' differences */
    double ix = fmin(a[0] + a[2], b[0] + b[2]) - fmax(a[0], b[0]);
    double iy = fmin(a[1] + a[3], b[1] + b[3]) - fmax(a[1], b[1]);
    double inter = ix > 0 && iy > 0 ? ix * iy : 0, iou = inter / (a[2] * a[3] + b[2] * b[3] - inter);
    print_message("upright box %.1f %.1f %.1f %.1f, sideways+Orientation 6 %.1f %.1f %.1f %.1f: IoU %.3f\n", a[0],
                  a[1], a[2], a[3], b[0], b[1], b[2], b[3], iou);
    assert_true(iou > 0.9);
    fn_image_free(&dec);
    fn_image_free(&up);
    fn_image_free(&side);
    free(j_up), free(j_side), free(j_tag);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_orientation_both_byte_orders),
        cmocka_unit_test(test_hostile_payloads),
        cmocka_unit_test(test_sideways_photo_is_detected_upright),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
