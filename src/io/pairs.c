/* pairs.c - parse LFW pairs files (see pairs.h).
 *
 * Memory is what the result keeps: the file is read a line at a time into a fixed
 * buffer, the pair array is sized from the header (checked against the file's size
 * and the caller's limit first), and each distinct image path is stored once, in
 * 64 KiB blocks, found again through an open-addressing hash table (12 bytes a slot,
 * at most 3/4 full, dropped once the file is read). */
#include "io/pairs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

#define PAIRS_MAX_SETS 1000
#define PAIRS_MAX_PER_SET 0x3fffffffL
#define IMAGE_MAX 9999 /* name_%04d.jpg */
#define LINE_MAX_BYTES 1024
#define BLOCK_BYTES ((size_t)64 << 10)

typedef struct block {
    struct block *next;
    size_t used;
    char data[BLOCK_BYTES];
} block;

typedef struct {
    block *blocks;
    const char **slot; /* cap entries, NULL = empty */
    uint32_t *hash;    /* the slot's string's hash (rehashing and probing touch no string) */
    size_t cap, n;
} path_store;

static void store_free(path_store *s)
{
    if (!s)
        return;
    for (block *b = s->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(s->slot);
    free(s->hash);
    free(s);
}

void fn_lfw_pairs_free(fn_lfw_pairs *p)
{
    if (!p)
        return;
    free(p->pairs);
    store_free(p->store);
    memset(p, 0, sizeof *p);
}

static uint32_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h ^= h >> 33; /* FNV's low bits see only the inputs' low bits: mix before masking */
    h *= 0xff51afd7ed558ccdull;
    return (uint32_t)(h ^ (h >> 33));
}

static int store_grow(path_store *s)
{
    size_t cap = s->cap ? 2 * s->cap : 1024;
    const char **slot = calloc(cap, sizeof *slot);
    uint32_t *hash = malloc(cap * sizeof *hash);
    if (!slot || !hash) {
        free(slot);
        free(hash);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->slot[i]) {
            size_t j = s->hash[i] & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = s->slot[i];
            hash[j] = s->hash[i];
        }
    free(s->slot);
    free(s->hash);
    s->slot = slot;
    s->hash = hash;
    s->cap = cap;
    return 0;
}

/* The stored copy of path (len bytes, < BLOCK_BYTES), stored now if new; NULL when out
 * of memory. */
static const char *store_intern(path_store *s, const char *path, size_t len)
{
    if (4 * (s->n + 1) > 3 * s->cap && store_grow(s)) /* at most 3/4 full */
        return NULL;
    const uint32_t h = hash_str(path);
    size_t j = h & (s->cap - 1);
    for (; s->slot[j]; j = (j + 1) & (s->cap - 1))
        if (s->hash[j] == h && !strcmp(s->slot[j], path))
            return s->slot[j];
    block *b = s->blocks;
    if (!b || BLOCK_BYTES - b->used < len + 1) {
        if (!(b = malloc(sizeof *b)))
            return NULL;
        b->next = s->blocks;
        b->used = 0;
        s->blocks = b;
    }
    char *copy = memcpy(b->data + b->used, path, len + 1);
    b->used += len + 1;
    s->n++;
    s->hash[j] = h;
    return s->slot[j] = copy;
}

/* Split a line (NUL-terminated, modified in place) on spaces and tabs.
 * Returns the number of fields; stores at most max of them. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return n;
        if (n < max)
            f[n] = p;
        n++;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

/* Strict positive decimal integer in [1, max]; -1 otherwise. */
static long parse_count(const char *s, long max)
{
    if (!*s)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
    }
    return v >= 1 ? v : -1;
}

static int check_pair_name(const char *file, int line, const char *name, fn_err *err)
{
    if (name[0] == '.')
        return fn_fail(err, FN_E_FORMAT, "%s:%d: name '%s' starts with '.'", file, line, name);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return fn_fail(err, FN_E_FORMAT,
                           "%s:%d: name '%s' contains a path separator or control character",
                           file, line, name);
    return 0;
}

/* Next line of f into buf (without \r\n, NUL-terminated): 1, 0 at the end, -1 after
 * an error (a NUL byte, a line too long, a read error). */
static int next_line(FILE *f, char *buf, const char *path, int lineno, fn_err *err)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (c == '\0')
            return fn_fail(err, FN_E_FORMAT, "%s:%d: contains NUL bytes, not a pairs file", path, lineno);
        if (n + 1 >= LINE_MAX_BYTES)
            return fn_fail(err, FN_E_FORMAT, "%s:%d: line longer than %d bytes", path, lineno, LINE_MAX_BYTES - 1);
        buf[n++] = (char)c;
    }
    if (ferror(f))
        return fn_fail(err, FN_E_IO, "%s:%d: read error", path, lineno);
    if (c == EOF && n == 0)
        return 0;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return 1;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

/* Store "name/name_%04d.jpg" once; its address in *out. */
static int image_path(path_store *s, const char *name, long idx, char **out)
{
    char buf[2 * LINE_MAX_BYTES + 16];
    int len = snprintf(buf, sizeof buf, "%s/%s_%04ld.jpg", name, name, idx);
    return len > 0 && (size_t)len < sizeof buf && (*out = (char *)store_intern(s, buf, (size_t)len)) ? 0 : -1;
}

/* The pairs after the header line; out->pairs holds room for total. */
static int read_pairs(FILE *f, const char *path, long total, long per, char *line, fn_lfw_pairs *out, fn_err *err)
{
    int lineno = 1, r;
    char *fl[5];
    while (out->n < total) {
        lineno++;
        if ((r = next_line(f, line, path, lineno, err)) < 0)
            return -1;
        if (r == 0)
            return fn_fail(err, FN_E_FORMAT, "%s:%d: file ends after %d of the %ld pairs its header "
                           "announces", path, lineno, out->n, total);
        if (is_blank(line))
            continue;
        const int same = out->n % (2 * per) < per;
        int nf = split_fields(line, fl, 5);
        if (nf != (same ? 3 : 4))
            return fn_fail(err, FN_E_FORMAT, "%s:%d: pair %d should be a %s pair '%s', got %d fields", path,
                           lineno, out->n + 1, same ? "same-person" : "different-person",
                           same ? "name i j" : "name1 i name2 j", nf);
        const char *na = fl[0], *nb = same ? fl[0] : fl[2];
        long ia = parse_count(fl[1], IMAGE_MAX), ib = parse_count(fl[same ? 2 : 3], IMAGE_MAX);
        if (ia < 0 || ib < 0)
            return fn_fail(err, FN_E_FORMAT, "%s:%d: image numbers must be integers 1..%d", path, lineno,
                           IMAGE_MAX);
        if (check_pair_name(path, lineno, na, err) || check_pair_name(path, lineno, nb, err))
            return -1;
        if (same && ia == ib)
            return fn_fail(err, FN_E_FORMAT, "%s:%d: same-person pair uses image %ld twice", path, lineno, ia);
        if (!same && strcmp(na, nb) == 0)
            return fn_fail(err, FN_E_FORMAT, "%s:%d: different-person pair names '%s' twice", path, lineno, na);
        fn_lfw_pair *p = &out->pairs[out->n];
        p->same = same;
        if (image_path(out->store, na, ia, &p->path_a) || image_path(out->store, nb, ib, &p->path_b))
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
        out->n++;
    }
    while ((r = next_line(f, line, path, ++lineno, err)) > 0)
        if (!is_blank(line))
            return fn_fail(err, FN_E_FORMAT, "%s:%d: extra line after the %ld pairs the header announces", path,
                           lineno, total);
    return r;
}

int fn_lfw_pairs_load_max(const char *path, size_t max_pairs, fn_lfw_pairs *out, fn_err *err)
{
    if (!out || !path)
        return fn_fail(err, FN_E_ARG, "pairs file: bad arguments");
    memset(out, 0, sizeof *out);
    if (max_pairs == 0)
        max_pairs = FN_PAIRS_DEFAULT_MAX;
    int fd = fn_open_regular(path, err);
    if (fd < 0)
        return -1;
    struct stat st;
    FILE *f = fstat(fd, &st) == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: cannot read", path);
    }
    char line[LINE_MAX_BYTES], *fl[5];
    int r = next_line(f, line, path, 1, err), nf = r > 0 ? split_fields(line, fl, 5) : 0;
    long sets = 1, per = -1;
    if (nf == 1) {
        per = parse_count(fl[0], PAIRS_MAX_PER_SET);
    } else if (nf == 2) {
        sets = parse_count(fl[0], PAIRS_MAX_SETS);
        per = parse_count(fl[1], PAIRS_MAX_PER_SET);
    }
    int rc = -1;
    long long total = (long long)sets * per * 2;
    if (r < 0) {
        /* the message is written */
    } else if (nf < 1 || nf > 2 || sets < 1 || per < 1) {
        fn_fail(err, FN_E_FORMAT, "%s:1: expected a header 'N' or 'sets N' (positive numbers)", path);
    } else if ((unsigned long long)total > (unsigned long long)st.st_size / 6) {
        /* each pair needs a line of at least "a 1 2\n" */
        fn_fail(err, FN_E_FORMAT, "%s:1: header announces %lld pairs but the file has only %lld bytes", path,
                total, (long long)st.st_size);
    } else if ((unsigned long long)total > max_pairs || total > 0x7fffffffLL) {
        fn_fail(err, FN_E_LIMIT, "%s:1: header announces %lld pairs, more than the limit pairs=%zu", path, total,
                max_pairs);
    } else if (!(out->pairs = malloc((size_t)total * sizeof *out->pairs)) ||
               !(out->store = calloc(1, sizeof(path_store)))) {
        fn_fail(err, FN_E_NOMEM, "%s: out of memory for %lld pairs", path, total);
    } else {
        out->n_sets = (int)sets;
        out->per_set = (int)per;
        rc = read_pairs(f, path, (long)total, per, line, out, err);
        path_store *s = out->store;
        out->n_paths = (int)s->n;
        free(s->slot); /* the paths stay; finding them again is over */
        free(s->hash);
        s->slot = NULL;
        s->hash = NULL;
        s->cap = 0;
    }
    fclose(f);
    if (rc)
        fn_lfw_pairs_free(out);
    return rc;
}

int fn_lfw_pairs_load(const char *path, fn_lfw_pairs *out, fn_err *err)
{
    return fn_lfw_pairs_load_max(path, 0, out, err);
}
