/* blas.c - the engine's few words with OpenBLAS: it runs the GEMMs of its own threads'
 * tiles, so OpenBLAS itself stays on one thread (its workers would otherwise compete
 * with ours, and spin between layers); and what it is, for info and benchmarks. */
#include <cblas.h>
#include <stdio.h>

#include "layers/kernels.h"

void fn_blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

void fn_blas_info(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s (core %s)", openblas_get_config(), openblas_get_corename());
}
