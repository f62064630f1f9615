/* pairs.c - parse LFW pairs files (see pairs.h). */
#include "io/pairs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

/* Files of 64 MiB or more are refused (LFW's pairs files are under 200 KB). */
#define PAIRS_MAX_BYTES ((size_t)64 << 20)
#define PAIRS_MAX_PER_SET 1000000
#define PAIRS_MAX_SETS 1000
#define IMAGE_MAX 9999 /* name_%04d.jpg */

void fn_lfw_pairs_free(fn_lfw_pairs *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->pairs[i].path_a);
        free(p->pairs[i].path_b);
    }
    free(p->pairs);
    memset(p, 0, sizeof *p);
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

static char *image_path(const char *name, long idx)
{
    size_t len = 2 * strlen(name) + 16;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%s_%04ld.jpg", name, name, idx);
    return s;
}

/* Next line from *pos: returns it NUL-terminated (without \r\n), NULL at end. */
static char *next_line(char *buf, size_t len, size_t *pos)
{
    if (*pos >= len)
        return NULL;
    char *start = buf + *pos;
    char *nl = memchr(start, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - start) : len - *pos;
    *pos += l + (nl ? 1 : 0);
    start[l] = '\0';
    if (l > 0 && start[l - 1] == '\r')
        start[l - 1] = '\0';
    return start;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

int fn_lfw_pairs_load(const char *path, fn_lfw_pairs *out, fn_err *err)
{
    if (!out || !path)
        return fn_fail(err, FN_E_ARG, "pairs file: bad arguments");
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0, pos = 0;
    if (fn_read_file(path, PAIRS_MAX_BYTES - 1, &buf, &len, err))
        return -1;
    if (memchr(buf, '\0', len)) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s: contains NUL bytes, not a pairs file", path);
    }
    int lineno = 1;
    char *line = next_line(buf, len, &pos);
    char *f[5];
    int nf = line ? split_fields(line, f, 5) : 0;
    long sets = 1, per = -1;
    if (nf == 1) {
        per = parse_count(f[0], PAIRS_MAX_PER_SET);
    } else if (nf == 2) {
        sets = parse_count(f[0], PAIRS_MAX_SETS);
        per = parse_count(f[1], PAIRS_MAX_PER_SET);
    }
    if (nf < 1 || nf > 2 || sets < 1 || per < 1) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT,
                       "%s:1: expected a header 'N' or 'sets N' (positive numbers)", path);
    }
    const long total = sets * per * 2; /* <= 2e9 by the limits above */
    if (total > 0x7fffffffL) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s:1: %ld pairs are too many", path, total);
    }
    /* Each pair needs a line of at least "a 1 2\n": refuse a header that
     * promises more than the file can hold before allocating for it. */
    if ((size_t)total > len / 6) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s:1: header announces %ld pairs but the file has "
                       "only %zu bytes", path, total, len);
    }
    out->pairs = calloc((size_t)total, sizeof *out->pairs);
    if (!out->pairs) {
        free(buf);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory for %ld pairs", path, total);
    }
    out->n_sets = (int)sets;
    out->per_set = (int)per;
    while (out->n < total) {
        line = next_line(buf, len, &pos);
        lineno++;
        if (!line) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: file ends after %d of the %ld pairs its header "
                    "announces", path, lineno, out->n, total);
            goto fail;
        }
        if (is_blank(line))
            continue;
        const int same = out->n % (2 * per) < per;
        nf = split_fields(line, f, 5);
        if (nf != (same ? 3 : 4)) {
            fn_fail(err, FN_E_FORMAT,
                    "%s:%d: pair %d should be a %s pair '%s', got %d fields", path, lineno,
                    out->n + 1, same ? "same-person" : "different-person",
                    same ? "name i j" : "name1 i name2 j", nf);
            goto fail;
        }
        const char *na = f[0], *nb = same ? f[0] : f[2];
        long ia = parse_count(f[1], IMAGE_MAX), ib = parse_count(f[same ? 2 : 3], IMAGE_MAX);
        if (ia < 0 || ib < 0) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: image numbers must be integers 1..%d", path,
                    lineno, IMAGE_MAX);
            goto fail;
        }
        if (check_pair_name(path, lineno, na, err) || check_pair_name(path, lineno, nb, err))
            goto fail;
        if (same && ia == ib) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: same-person pair uses image %ld twice", path,
                    lineno, ia);
            goto fail;
        }
        if (!same && strcmp(na, nb) == 0) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: different-person pair names '%s' twice", path,
                    lineno, na);
            goto fail;
        }
        fn_lfw_pair *p = &out->pairs[out->n];
        p->same = same;
        p->path_a = image_path(na, ia);
        p->path_b = image_path(nb, ib);
        out->n++; /* counted now so that free releases the paths */
        if (!p->path_a || !p->path_b) {
            fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    while ((line = next_line(buf, len, &pos)) != NULL) {
        lineno++;
        if (!is_blank(line)) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: extra line after the %ld pairs the header "
                    "announces", path, lineno, total);
            goto fail;
        }
    }
    free(buf);
    return 0;
fail:
    free(buf);
    fn_lfw_pairs_free(out);
    return -1;
}
