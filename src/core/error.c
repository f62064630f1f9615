/* error.c - see error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A message is one line of text: control bytes that came from a file (a name, a
 * path, a config string) would break the line or drive the terminal, so each
 * becomes '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int fn_fail(fn_err *err, fn_errkind kind, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    one_line(err->msg);
    err->kind = kind;
    return -1;
}

int fn_wrap(fn_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(prefix);
    if (np >= sizeof err->msg)
        np = sizeof err->msg - 1;
    memcpy(err->msg, prefix, np);
    size_t room = sizeof err->msg - 1 - np, no = strnlen(old, room);
    memcpy(err->msg + np, old, no);
    err->msg[np + no] = '\0';
    one_line(err->msg);
    if (err->kind == FN_E_NONE)
        err->kind = FN_E_FORMAT;
    return -1;
}

void fn_err_clear(fn_err *err)
{
    if (err) {
        err->kind = FN_E_NONE;
        err->msg[0] = '\0';
    }
}

int fn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int fn_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return -1;
    *out = a + b;
    return 0;
}
