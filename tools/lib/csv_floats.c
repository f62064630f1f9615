/* csv_floats.c - see csv_floats.h. */
#include "csv_floats.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

/* "%.14g" of a float32 plus its comma is at most 22 bytes; 64 leaves room for other
 * writers and whitespace while refusing absurdly large files before reading them. */
#define BYTES_PER_VALUE_MAX 64

/* A line end at p ("\n" or "\r\n"): 1 for LF, 2 for CRLF, 0 if none, -1 for a bare CR. */
static int line_end(const char *p)
{
    if (p[0] == '\n')
        return 1;
    if (p[0] == '\r')
        return p[1] == '\n' ? 2 : -1;
    return 0;
}

/* The first few characters of a bad value, printable, for the message. */
static void excerpt(const char *p, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap && p[n] && p[n] != ',' && p[n] != '\n' && p[n] != '\r' && n < 24) {
        buf[n] = isprint((unsigned char)p[n]) ? p[n] : '?';
        n++;
    }
    buf[n] = '\0';
}

int fn_csv_read_floats(const char *path, size_t expect, float **out, fn_err *err)
{
    *out = NULL;
    size_t max_bytes;
    if (expect == 0 || fn_mul_size(expect, BYTES_PER_VALUE_MAX, &max_bytes))
        return fn_fail(err, FN_E_ARG, "%s: bad expected value count %zu", path, expect);
    char *text;
    size_t len;
    if (fn_read_file(path, max_bytes + 4096, &text, &len, err))
        return -1;
    if (strlen(text) != len) {
        free(text);
        return fn_fail(err, FN_E_FORMAT, "%s: contains a NUL byte (not a CSV text file)", path);
    }
    float *v = malloc(sizeof(float) * expect);
    if (!v) {
        free(text);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory for %zu values", path, expect);
    }
    size_t n = 0, line = 1;
    int style = 0; /* line-end style seen so far: 0 none, 1 LF, 2 CRLF */
    const char *p = text;
    int rc = -1;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        int le = line_end(p);
        if (!*p || le) { /* end of file or of a line: only allowed where a value ended */
            if (le < 0) {
                fn_fail(err, FN_E_FORMAT, "%s: line %zu: carriage return without a line feed", path, line);
                goto out;
            }
            if (le) {
                if (style && style != le) {
                    fn_fail(err, FN_E_FORMAT, "%s: line %zu: mixes CRLF and LF line ends (line 1 ends in %s)",
                            path, line, style == 2 ? "CRLF" : "LF");
                    goto out;
                }
                style = le;
                p += le;
                line++;
                continue;
            }
            break;
        }
        if (*p == ',') {
            fn_fail(err, FN_E_FORMAT, "%s: line %zu: empty value after value %zu", path, line, n);
            goto out;
        }
        char *end;
        errno = 0;
        double d = strtod(p, &end);
        char bad[32];
        excerpt(p, bad, sizeof bad);
        int hex_or_word = end != p && (strpbrk(bad, "xXnNiI") != NULL);
        if (end == p || hex_or_word) {
            fn_fail(err, FN_E_FORMAT, "%s: line %zu: value %zu is not a number: '%s'", path, line, n + 1, bad);
            goto out;
        }
        if (!isfinite(d) || fabs(d) > FLT_MAX) {
            fn_fail(err, FN_E_FORMAT, "%s: line %zu: value %zu (%s) is outside float32's range", path, line,
                    n + 1, bad);
            goto out;
        }
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',' && !line_end(p)) {
            excerpt(p, bad, sizeof bad);
            fn_fail(err, FN_E_FORMAT, "%s: line %zu: value %zu is followed by '%s' instead of ',' or a line end",
                    path, line, n + 1, bad);
            goto out;
        }
        if (n == expect) {
            size_t more = 1;
            for (const char *q = p; *q; q++)
                more += *q == ',';
            fn_fail(err, FN_E_SHAPE, "%s: has more than the expected %zu values (about %zu)", path, expect,
                    expect + more);
            goto out;
        }
        v[n++] = (float)d;
        if (*p == ',') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p || line_end(p)) {
                fn_fail(err, FN_E_FORMAT, "%s: line %zu: trailing comma after value %zu", path, line, n);
                goto out;
            }
        }
    }
    if (n != expect) {
        fn_fail(err, FN_E_SHAPE, "%s: has %zu values, expected %zu", path, n, expect);
        goto out;
    }
    rc = 0;
out:
    free(text);
    if (rc)
        free(v);
    else
        *out = v;
    return rc;
}
