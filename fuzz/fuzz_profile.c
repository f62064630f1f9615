/* fuzz_profile.c - facenet.json (fn_profile_parse) against an unknown model size and
 * a 160x160 one, then the template the profile gives for alignment. */
#include <stddef.h>
#include <stdint.h>

#include "app/profile.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    fn_profile p;
    fn_err err;
    double tmpl[10];
    if (fn_profile_parse(text, "facenet.json", -1, -1, &p, &err) == 0)
        fn_profile_template(&p, tmpl);
    if (fn_profile_parse(text, "facenet.json", 160, 160, &p, &err) == 0)
        fn_profile_template(&p, tmpl);
    free(text);
    return 0;
}
