/* fuzz_landmarks.c - a 5-point landmarks file (fn_landmarks_parse), then a lookup of
 * the first entry's path and of a missing one.  The scale comes from the first byte
 * (0.25 .. 2), the rest is the file text (the parser takes a length, no NUL). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "io/landmarks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    double scale = 0.25 + data[0] / 146.0;
    fn_landmarks lm;
    fn_err err;
    if (fn_landmarks_parse((const char *)data + 1, size - 1, "fuzz.txt", scale, &lm, &err))
        return 0;
    if (lm.n > 0)
        (void)fn_landmarks_find(&lm, lm.items[0].path);
    (void)fn_landmarks_find(&lm, "no/such.jpg");
    fn_landmarks_free(&lm);
    return 0;
}
