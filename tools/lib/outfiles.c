/* outfiles.c - a converter's output folder, all files or none (see outfiles.h). */
#include "outfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *join(const char *dir, const char *base)
{
    size_t len = strlen(dir) + strlen(base) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, base);
    return p;
}

int fn_outfiles_open(fn_outfiles *o, const char *dir, fn_err *err)
{
    memset(o, 0, sizeof *o);
    size_t len = strlen(dir) + 1;
    if (!(o->dir = malloc(len)))
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    memcpy(o->dir, dir, len);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (mkdir(dir, 0777) != 0)
            return fn_fail(err, FN_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
        o->created = 1;
    } else if (!S_ISDIR(st.st_mode)) {
        return fn_fail(err, FN_E_ARG, "%s: not a directory", dir);
    }
    return 0;
}

/* A new empty file dir/.base.XXXXXX with the mode a plain create would give (mkstemp
 * makes it 0600); its descriptor, or -1.  The names go into the next slot of o. */
static int reserve(fn_outfiles *o, const char *base, fn_err *err)
{
    if (!o->dir)
        return fn_fail(err, FN_E_ARG, "internal: output folder not open");
    if (o->n == FN_OUTFILES_MAX)
        return fn_fail(err, FN_E_ARG, "internal: too many output files");
    size_t len = strlen(o->dir) + strlen(base) + 10;
    char *final = join(o->dir, base), *tmp = malloc(len);
    if (!final || !tmp) {
        free(final);
        free(tmp);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    snprintf(tmp, len, "%s/.%s.XXXXXX", o->dir, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fn_fail(err, FN_E_IO, "%s: cannot create a temporary file: %s", final, strerror(errno));
        free(final);
        free(tmp);
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    o->final[o->n] = final;
    o->tmp[o->n++] = tmp; /* from here on close() removes it */
    if (fchmod(fd, 0666 & ~mask) != 0) {
        fn_fail(err, FN_E_IO, "%s: cannot set the mode of %s: %s", final, tmp, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* data, then a newline when nl. */
static int stage(fn_outfiles *o, const char *base, const void *data, size_t len, int nl, fn_err *err)
{
    int fd = reserve(o, base, err);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: cannot write %s", o->final[o->n - 1], o->tmp[o->n - 1]);
    }
    int bad = fwrite(data, 1, len, f) != len || (nl && fputc('\n', f) == EOF);
    if (fclose(f) != 0 || bad)
        return fn_fail(err, FN_E_IO, "%s: cannot write %s", o->final[o->n - 1], o->tmp[o->n - 1]);
    return 0;
}

int fn_outfiles_bytes(fn_outfiles *o, const char *base, const void *data, size_t len, fn_err *err)
{
    return stage(o, base, data, len, 0, err);
}

int fn_outfiles_text(fn_outfiles *o, const char *base, const char *text, fn_err *err)
{
    return stage(o, base, text, strlen(text), 1, err);
}

const char *fn_outfiles_path(fn_outfiles *o, const char *base, fn_err *err)
{
    int fd = reserve(o, base, err);
    if (fd < 0)
        return NULL;
    close(fd);
    return o->tmp[o->n - 1];
}

int fn_outfiles_commit(fn_outfiles *o, fn_err *err)
{
    for (int k = 0; k < o->n; k++)
        if (rename(o->tmp[k], o->final[k]) != 0) {
            fn_fail(err, FN_E_IO, "%s: cannot rename into place: %s", o->final[k], strerror(errno));
            for (int j = 0; j < k; j++)
                unlink(o->final[j]);
            return -1;
        }
    o->committed = 1;
    return 0;
}

void fn_outfiles_close(fn_outfiles *o)
{
    for (int k = 0; k < o->n; k++) {
        if (!o->committed)
            unlink(o->tmp[k]); /* harmless when a failed commit renamed it away */
        free(o->final[k]);
        free(o->tmp[k]);
    }
    if (!o->committed && o->created)
        rmdir(o->dir);
    free(o->dir);
    memset(o, 0, sizeof *o);
}
