/* landmarks.c - parse 5-point landmark files into a sorted lookup table
 * (see landmarks.h). */
#include "io/landmarks.h"

#include "core/file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Far above any real landmark file (LFW's is 150 KB). */

void fn_landmarks_free(fn_landmarks *lm)
{
    if (!lm)
        return;
    for (size_t i = 0; i < lm->n; i++)
        free(lm->items[i].path);
    free(lm->items);
    lm->items = NULL;
    lm->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const fn_landmark_entry *)a)->path, ((const fn_landmark_entry *)b)->path);
}

/* Parse one numeric field [s, s+n) completely, or fail. */
static int parse_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strpbrk(buf, "xXpP")) /* strtod would read hex floats ("0x1p3") */
        return -1;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Why five points (left eye, right eye, nose, left and right mouth corner; pixels)
 * cannot be a face, or NULL: a coordinate beyond FN_LANDMARK_MAX_COORD, the eyes at
 * one point, or the mouth on the line through the eyes (collinear points give a
 * singular alignment). */
static const char *degenerate(const double *pt, char *why, size_t whylen)
{
    for (int i = 0; i < 10; i++)
        if (fabs(pt[i]) > FN_LANDMARK_MAX_COORD) {
            snprintf(why, whylen, "coordinate %g is beyond +-%g pixels", pt[i], FN_LANDMARK_MAX_COORD);
            return why;
        }
    double dx = pt[2] - pt[0], dy = pt[3] - pt[1], d2 = dx * dx + dy * dy;
    if (d2 < 1e-6) {
        snprintf(why, whylen, "the two eyes are at the same point");
        return why;
    }
    double mx = (pt[6] + pt[8]) / 2 - pt[0], my = (pt[7] + pt[9]) / 2 - pt[1];
    if (fabs(dx * my - dy * mx) < 0.05 * d2) {
        snprintf(why, whylen, "the points are (nearly) collinear: the mouth lies on the line through the eyes");
        return why;
    }
    return NULL;
}

/* Parse the line [s, e) (no newline) into *ent; on error write why into why. */
static int parse_line(const char *s, const char *e, double scale, fn_landmark_entry *ent,
                      char *why, size_t whylen)
{
    const char *tab = memchr(s, '\t', (size_t)(e - s));
    if (!tab || tab == s) {
        snprintf(why, whylen, "expected a path and 10 tab-separated numbers");
        return -1;
    }
    const char *p = tab + 1;
    for (int i = 0; i < 10; i++) {
        const char *q = memchr(p, '\t', (size_t)(e - p));
        const char *fe = q ? q : e;
        double v;
        if (parse_number(p, (size_t)(fe - p), &v)) {
            static const char *const point[5] = {"left eye", "right eye", "nose tip",
                                                 "left mouth corner", "right mouth corner"};
            snprintf(why, whylen, "field %d (%s %s) is not a number: \"%.*s\"", i + 2,
                     point[i / 2], i % 2 ? "y" : "x", (int)(fe - p > 40 ? 40 : fe - p), p);
            return -1;
        }
        ent->pt[i] = v * scale;
        if (i < 9 && !q) {
            snprintf(why, whylen, "has %d numbers, expected 10", i + 1);
            return -1;
        }
        if (i == 9 && q) {
            snprintf(why, whylen, "has more than 10 numbers");
            return -1;
        }
        p = q ? q + 1 : e;
    }
    if (degenerate(ent->pt, why, whylen))
        return -1;
    size_t plen = (size_t)(tab - s);
    ent->path = malloc(plen + 1);
    if (!ent->path) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    memcpy(ent->path, s, plen);
    ent->path[plen] = '\0';
    return 0;
}

/* Lines that hold an entry (not empty, not a comment): counted before allocating. */
static size_t count_entries(const char *p, const char *end)
{
    size_t n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        n += e > p && *p != '#' && !(e - p == 1 && *p == '\r');
        p = nl ? nl + 1 : end;
    }
    return n;
}

static int parse_max(const char *text, size_t len, const char *name, double scale, size_t max_entries,
                     fn_landmarks *lm, fn_err *err)
{
    lm->items = NULL;
    lm->n = 0;
    if (!(scale > 0) || !isfinite(scale))
        return fn_fail(err, FN_E_ARG, "%s: landmark scale must be positive, got %g", name, scale);
    size_t want = count_entries(text, text + len);
    if (want > max_entries)
        return fn_fail(err, FN_E_LIMIT, "%s: %zu entries, more than the limit landmarks=%zu", name, want,
                       max_entries);
    size_t cap = 0;
    const char *p = text, *end = text + len;
    long line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *le = e;
        if (le > p && le[-1] == '\r')
            le--;
        if (le > p && *p != '#') {
            if (lm->n == cap) {
                size_t ncap = cap ? cap * 2 : 256, bytes;
                if (ncap > want)
                    ncap = want;
                fn_landmark_entry *ni;
                if (fn_mul_size(ncap, sizeof *ni, &bytes) || !(ni = realloc(lm->items, bytes))) {
                    fn_landmarks_free(lm);
                    return fn_fail(err, FN_E_NOMEM, "%s: out of memory at line %ld", name, line);
                }
                lm->items = ni;
                cap = ncap;
            }
            char why[160];
            fn_landmark_entry *ent = &lm->items[lm->n];
            if (parse_line(p, le, scale, ent, why, sizeof why)) {
                fn_landmarks_free(lm);
                return fn_fail(err, FN_E_FORMAT, "%s:%ld: %s", name, line, why);
            }
            ent->line = line;
            lm->n++;
        }
        p = nl ? nl + 1 : end;
    }
    if (lm->n > 1)
        qsort(lm->items, lm->n, sizeof *lm->items, cmp_entry);
    for (size_t i = 1; i < lm->n; i++) {
        if (strcmp(lm->items[i - 1].path, lm->items[i].path) == 0) {
            const fn_landmark_entry *a = &lm->items[i - 1], *b = &lm->items[i];
            long first = a->line < b->line ? a->line : b->line;
            long second = a->line < b->line ? b->line : a->line;
            fn_fail(err, FN_E_FORMAT, "%s:%ld: duplicate entry for %s (first at line %ld)", name,
                    second, a->path, first);
            fn_landmarks_free(lm);
            return -1;
        }
    }
    return 0;
}

int fn_landmarks_parse(const char *text, size_t len, const char *name, double scale, fn_landmarks *lm,
                       fn_err *err)
{
    return parse_max(text, len, name, scale, FN_LANDMARKS_DEFAULT_MAX, lm, err);
}

int fn_landmarks_load_max(const char *path, double scale, size_t max_entries, fn_landmarks *lm, fn_err *err)
{
    lm->items = NULL;
    lm->n = 0;
    char *buf;
    size_t len;
    if (fn_read_file(path, FN_LANDMARKS_MAX_FILE_BYTES, &buf, &len, err))
        return -1;
    int rc = parse_max(buf, len, path, scale, max_entries ? max_entries : FN_LANDMARKS_DEFAULT_MAX, lm, err);
    free(buf);
    return rc;
}

int fn_landmarks_load(const char *path, double scale, fn_landmarks *lm, fn_err *err)
{
    return fn_landmarks_load_max(path, scale, 0, lm, err);
}

const double *fn_landmarks_find(const fn_landmarks *lm, const char *relpath)
{
    if (!lm || lm->n == 0 || !relpath)
        return NULL;
    fn_landmark_entry key = {0};
    key.path = (char *)relpath; /* bsearch only reads it */
    const fn_landmark_entry *hit = bsearch(&key, lm->items, lm->n, sizeof *lm->items, cmp_entry);
    return hit ? hit->pt : NULL;
}
