/* fuzz_tfjs.c - a TensorFlow.js weights manifest and one shard, as the converter
 * (tools/faceapi2keras) reads them.  The input is the manifest text, a NUL byte, then
 * the bytes of the shard file "w.bin" (seeds name that file in "paths"). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "../tools/lib/tfjs_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *shard = nul ? nul + 1 : data + size;
    char mpath[600], spath[600];
    fuzz_write("w.bin", shard, (size_t)(data + size - shard), spath, sizeof spath);
    fuzz_write("manifest.json", data, mlen, mpath, sizeof mpath);
    fn_tfjs_weights w;
    fn_err err;
    if (fn_tfjs_load(mpath, &w, &err))
        return 0;
    char dims[128];
    for (int i = 0; i < w.n; i++) {
        fn_tfjs_dims_str(w.t[i].rank, w.t[i].dims, dims, sizeof dims);
        (void)fn_tfjs_find(&w, w.t[i].name);
    }
    fn_tfjs_free(&w);
    return 0;
}
