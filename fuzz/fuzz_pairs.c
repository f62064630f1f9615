/* fuzz_pairs.c - an LFW pairs file.  The entry point is the one pairs loader of the
 * day (fn_lfw_pairs_load in app/eval.h, which takes a path); repoint this one call
 * when pairs parsing moves to io/pairs.c. */
#include <stddef.h>
#include <stdint.h>

#include "app/eval.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    fuzz_write("pairs.txt", data, size, path, sizeof path);
    fn_lfw_pairs p;
    fn_err err;
    if (fn_lfw_pairs_load(path, &p, &err) == 0)
        fn_lfw_pairs_free(&p);
    return 0;
}
