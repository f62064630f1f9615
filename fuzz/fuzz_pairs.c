/* fuzz_pairs.c - an LFW pairs file through the one pairs loader (io/pairs.c:
 * fn_lfw_pairs_load, which takes a path). */
#include <stddef.h>
#include <stdint.h>

#include "io/pairs.h"
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
