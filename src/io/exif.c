/* exif.c - see exif.h.  The TIFF structure read here: "II" (little-endian) or "MM"
 * (big-endian), 42, the offset of IFD0; IFD0 is a 16-bit entry count and 12-byte
 * entries (tag, type, count, value or offset).  Orientation is one SHORT (type 3),
 * its value in the entry's first two value bytes.  Every offset is checked against
 * the payload's length before it is read. */
#include "io/exif.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned rd16(const unsigned char *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int fn_exif_orientation(const unsigned char *app1, size_t len)
{
    if (!app1 || len < 6 + 8 || memcmp(app1, "Exif\0\0", 6))
        return 1;
    const unsigned char *t = app1 + 6; /* offsets count from the TIFF header */
    const size_t n = len - 6;
    int big;
    if (!memcmp(t, "II", 2))
        big = 0;
    else if (!memcmp(t, "MM", 2))
        big = 1;
    else
        return 1;
    if (rd16(t + 2, big) != 42)
        return 1;
    const uint32_t ifd = rd32(t + 4, big);
    if (ifd < 8 || ifd > n - 2)
        return 1;
    const unsigned entries = rd16(t + ifd, big);
    for (unsigned i = 0; i < entries; i++) {
        const size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n)
            return 1;
        if (rd16(t + e, big) != 0x0112)
            continue;
        if (rd16(t + e + 2, big) != 3 || rd32(t + e + 4, big) != 1)
            return 1;
        const unsigned o = rd16(t + e + 8, big);
        return o >= 1 && o <= 8 ? (int)o : 1;
    }
    return 1;
}

/* Where input pixel (x, y) of a w x h image goes for orientation o. */
static void place(int o, int w, int h, int x, int y, int *ox, int *oy)
{
    switch (o) {
    case 2: *ox = w - 1 - x, *oy = y; break;         /* mirrored */
    case 3: *ox = w - 1 - x, *oy = h - 1 - y; break; /* upside down */
    case 4: *ox = x, *oy = h - 1 - y; break;         /* mirrored upside down */
    case 5: *ox = y, *oy = x; break;                 /* transposed */
    case 6: *ox = h - 1 - y, *oy = x; break;         /* turn 90 degrees clockwise */
    case 7: *ox = h - 1 - y, *oy = w - 1 - x; break; /* transversed */
    case 8: *ox = y, *oy = w - 1 - x; break;         /* turn 90 degrees counter-clockwise */
    default: *ox = x, *oy = y; break;
    }
}

int fn_image_orient(fn_image *img, int o, fn_err *err)
{
    if (o < 2 || o > 8 || !img->rgb)
        return 0;
    const int w = img->w, h = img->h, ow = o >= 5 ? h : w;
    fn_image out = {0};
    if (fn_image_alloc(&out, ow, o >= 5 ? w : h, err))
        return -1;
    for (int y = 0; y < h; y++) {
        const unsigned char *src = img->rgb + (size_t)y * w * 3;
        for (int x = 0; x < w; x++, src += 3) {
            int ox, oy;
            place(o, w, h, x, y, &ox, &oy);
            memcpy(out.rgb + ((size_t)oy * ow + ox) * 3, src, 3);
        }
    }
    fn_image_free(img);
    *img = out;
    return 0;
}
