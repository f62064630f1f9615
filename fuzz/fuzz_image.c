/* fuzz_image.c - image bytes -> decoded RGB -> the profile's preprocessing paths:
 * optional square padding, resize (nearest or bilinear) and normalisation
 * (fn_preprocess), and 5-point alignment (fn_preprocess_aligned -> fn_align_face)
 * with landmarks derived from the input.
 *
 * The whole input is the image file (so seeds are real JPEG/PNG files); the last 16
 * bytes, which the decoders mostly ignore, also choose the network input size
 * (1..64 per side), resize and pad modes, channel order, alignment mode and the ten
 * landmark coordinates (within half an image beyond each border).
 *
 * Harness caps: images over 4 megapixels are refused at the header (the engine's
 * default is 50 MP), and padding is skipped when the padded square would pass 4 MP:
 * a 58384x12 image pads to 58384^2 pixels, a known issue fixed separately
 * (fn_image_pad_square). */
#include <stddef.h>
#include <stdint.h>

#include "app/profile.h"
#include "fuzz_util.h"
#include "io/image.h"

#define MAX_PIXELS ((size_t)1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fn_image img;
    fn_err err;
    if (fn_image_load_mem(data, size, "fuzz", MAX_PIXELS, &img, &err))
        return 0;
    uint8_t k[16] = {0};
    memcpy(k, data + (size > 16 ? size - 16 : 0), size < 16 ? size : 16);

    fn_profile p;
    fn_profile_default(&p, 1 + k[0] % 64, 1 + k[1] % 64);
    p.resize = (k[2] & 1) ? FN_RESIZE_BILINEAR : FN_RESIZE_NEAREST;
    p.pad_to_square = (fn_pad_mode)((k[2] >> 1) % 3);
    p.bgr = (k[2] >> 3) & 1;
    p.align_mode = (k[2] >> 4) & 1 ? FN_ALIGN_DLIB : FN_ALIGN_SIMILARITY;
    size_t side = (size_t)(img.w > img.h ? img.w : img.h);
    if (side * side > MAX_PIXELS)
        p.pad_to_square = FN_PAD_NONE;

    float *in = malloc((size_t)p.in_h * (size_t)p.in_w * 3 * sizeof(float));
    if (!in)
        abort();
    (void)fn_preprocess(&p, &img, in, &err);

    double lm[10];
    for (int i = 0; i < 10; i++) {
        double extent = (i % 2 == 0) ? img.w : img.h;
        lm[i] = (k[3 + i] / 255.0) * 2 * extent - extent / 2;
    }
    (void)fn_preprocess_aligned(&p, &img, lm, in, &err);
    free(in);
    fn_image_free(&img);
    return 0;
}
