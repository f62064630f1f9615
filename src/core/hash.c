/* hash.c - see hash.h. */
#include "core/hash.h"

#include <stdio.h>
#include <string.h>

void fn_hash_init(fn_hash *h)
{
    h->a = 0xcbf29ce484222325ull;
    h->b = 0x84222325cbf29ce4ull;
    h->len = 0;
}

void fn_hash_update(fn_hash *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t a = h->a, b = h->b;
    for (size_t i = 0; i < n; i++) {
        a = (a ^ p[i]) * 0x100000001b3ull;
        b = (b ^ p[i] ^ 0x5a) * 0x00000100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
    h->a = a, h->b = b;
    h->len += n;
}

void fn_hash_floats(fn_hash *h, const float *v, size_t n)
{
    uint64_t a = h->a, b = h->b;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint32_t lo, hi;
        memcpy(&lo, v + i, 4);
        memcpy(&hi, v + i + 1, 4);
        const uint64_t w = (uint64_t)lo | ((uint64_t)hi << 32);
        a = (a ^ w) * 0x100000001b3ull;
        a ^= a >> 29;
        b = (b + w) * 0x9e3779b97f4a7c15ull;
        b ^= b >> 31;
    }
    if (i < n) {
        uint32_t lo;
        memcpy(&lo, v + i, 4);
        a = (a ^ lo) * 0x100000001b3ull;
        b = (b + lo) * 0x9e3779b97f4a7c15ull;
    }
    h->a = a, h->b = b;
    h->len += 4 * (uint64_t)n;
}

static uint64_t fmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

void fn_hash_hex(const fn_hash *h, char out[33])
{
    uint64_t x = fmix(h->a ^ fmix(h->len)), y = fmix(h->b + x);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)x, (unsigned long long)y);
}

int fn_hash_file(fn_hash *h, const char *path, fn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot open file", path);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fn_hash_update(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    return bad ? fn_fail(err, FN_E_IO, "%s: read error", path) : 0;
}
