/* fuzz_model_h5.c - model.h5 (model.save layout: the config and the weights in one
 * file) -> graph -> weights read by name, shapes checked -> folded net.
 *
 * No sandbox: libhdf5's own crashes on corrupted files show up as crashes here (they
 * are what the CLI's sandbox is for) and are recorded separately from ours.  HDF5 is
 * slow; seeds are the small files from keras-real. */
#include <stddef.h>
#include <stdint.h>

#include "facenet.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    fuzz_write("model.h5", data, size, path, sizeof path);
    fn_load_opts o = {.weights = path};
    fn_net *net;
    fn_err err;
    if (fn_net_load(&o, &net, &err))
        return 0;
    (void)fn_net_param_count(net);
    fn_net_free(net);
    return 0;
}
