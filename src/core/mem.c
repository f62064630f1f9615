/* mem.c - see mem.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* madvise's MADV_* on glibc */
#endif
#include "core/mem.h"

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define FN_POPULATE_FROM ((size_t)1 << 20)
#define FN_HUGE_FROM ((size_t)4 << 20)
#define FN_HUGE_ALIGN ((size_t)2 << 20)

void *fn_alloc_big(size_t bytes)
{
    void *p = NULL;
    size_t align = bytes >= FN_HUGE_FROM ? FN_HUGE_ALIGN : bytes >= FN_POPULATE_FROM ? 4096 : 64;
    if (posix_memalign(&p, align, bytes ? bytes : 1))
        return NULL;
#if defined(__linux__)
    if (bytes >= FN_POPULATE_FROM) {
        size_t len = bytes & ~(size_t)4095; /* whole pages of the block */
#ifdef MADV_HUGEPAGE
        if (bytes >= FN_HUGE_FROM)
            (void)madvise(p, len, MADV_HUGEPAGE);
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL, which is fine */
#endif
        (void)madvise(p, len, MADV_POPULATE_WRITE);
    }
#endif
    return p;
}
