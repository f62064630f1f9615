/* bench_pairs.c - the LFW pairs reader alone, for memory measurements
 * (bench/mem_inputs.sh runs it under /usr/bin/time -v):
 *   bench_pairs FILE [MAX_PAIRS]
 * prints the pairs and distinct image paths read, or the error. */
#include <stdio.h>
#include <stdlib.h>

#include "io/pairs.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_pairs FILE [MAX_PAIRS]\n");
        return 2;
    }
    fn_lfw_pairs p;
    fn_err err;
#ifdef FN_PAIRS_DEFAULT_MAX
    int rc = fn_lfw_pairs_load_max(argv[1], argc > 2 ? strtoull(argv[2], NULL, 10) : 0, &p, &err);
#else /* the reader before limits (for a before/after comparison) */
    int rc = fn_lfw_pairs_load(argv[1], &p, &err);
#endif
    if (rc) {
        fprintf(stderr, "bench_pairs: %s\n", err.msg);
        return 2;
    }
#ifdef FN_PAIRS_DEFAULT_MAX
    printf("%d pairs, %d distinct image paths\n", p.n, p.n_paths);
#else
    printf("%d pairs\n", p.n);
#endif
    fn_lfw_pairs_free(&p);
    return 0;
}
