/* hash.h - a 128-bit content fingerprint (not cryptographic): two independent 64-bit
 * FNV-1a lanes finished with a strong mixer.  Used to tell which model produced a
 * gallery's embeddings, where an accidental collision is what matters. */
#ifndef FN_HASH_H
#define FN_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct {
    uint64_t a, b;
    uint64_t len;
} fn_hash;

void fn_hash_init(fn_hash *h);
void fn_hash_update(fn_hash *h, const void *data, size_t n);
/* n float32 values by value (bit patterns), 8 bytes a step: the weights of a model
 * (tens of MB) hash in a few milliseconds.  Independent of the host's byte order. */
void fn_hash_floats(fn_hash *h, const float *v, size_t n);
/* 32 hex digits + NUL */
void fn_hash_hex(const fn_hash *h, char out[33]);
/* Hash a whole file into h (its length and bytes). */
int fn_hash_file(fn_hash *h, const char *path, fn_err *err);

#endif
