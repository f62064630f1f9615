/* outfiles.c - see outfiles.h. */
#include "outfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fn_outfiles_join(const char *dir, const char *base)
{
    size_t len = strlen(dir) + strlen(base) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, base);
    return p;
}

int fn_outfiles_dir(const char *dir, int *created, fn_err *err)
{
    struct stat st;
    *created = 0;
    if (stat(dir, &st) != 0) {
        if (mkdir(dir, 0777) != 0)
            return fn_fail(err, FN_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
        *created = 1;
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_ARG, "%s: not a directory", dir);
    return 0;
}

void fn_outfiles_init(fn_outfiles *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    o->dir = dir;
}

int fn_outfiles_stage(fn_outfiles *o, const char *base, const char *text, fn_err *err)
{
    if (o->n == FN_OUTFILES_MAX)
        return fn_fail(err, FN_E_ARG, "internal: too many output files");
    char *final = fn_outfiles_join(o->dir, base), *tmp = malloc(strlen(o->dir) + strlen(base) + 40);
    if (!final || !tmp) {
        free(final);
        free(tmp);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    sprintf(tmp, "%s/.%s.%ld.tmp", o->dir, base, (long)getpid());
    FILE *f = fopen(tmp, "wx");
    if (!f) {
        fn_fail(err, FN_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(final);
        free(tmp);
        return -1;
    }
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF;
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        fn_fail(err, FN_E_IO, "%s: write error", tmp);
        free(final);
        free(tmp);
        return -1;
    }
    o->final[o->n] = final;
    o->tmp[o->n++] = tmp;
    return 0;
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

void fn_outfiles_free(fn_outfiles *o)
{
    for (int k = 0; k < o->n; k++) {
        if (!o->committed)
            unlink(o->tmp[k]); /* harmless when it was renamed away */
        free(o->final[k]);
        free(o->tmp[k]);
    }
    memset(o, 0, sizeof *o);
}
