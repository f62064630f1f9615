/* testdata.c - see testdata.h. */
#include "testdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fn_test_shared(void)
{
    const char *s = getenv("FACENET_SHARED");
    return s && *s ? s : "../shared";
}

char *fn_test_path(const char *rel)
{
    const char *base = fn_test_shared();
    size_t n = strlen(base) + 1 + strlen(rel) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", base, rel);
    return p;
}
