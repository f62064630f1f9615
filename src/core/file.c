/* file.c - see file.h. */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fn_open_regular(const char *path, fn_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int flags;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: not a regular file", path);
    }
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    return fd;
}

int fn_check_regular(const char *path, fn_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: not a regular file", path);
    int fd = fn_open_regular(path, err); /* replaced by a FIFO meanwhile: still no block */
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int fn_read_file(const char *path, size_t max_bytes, char **data, size_t *len, fn_err *err)
{
    return fn_read_file_limit(path, max_bytes, NULL, data, len, err);
}

int fn_read_file_limit(const char *path, size_t max_bytes, const char *limit_name, char **data, size_t *len,
                       fn_err *err)
{
    *data = NULL;
    *len = 0;
    int fd = fn_open_regular(path, err);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max_bytes) {
        fclose(f);
        if (limit_name)
            return fn_fail(err, FN_E_LIMIT, "%s: file is %lld bytes, more than the limit %s=%zu", path,
                           (long long)st.st_size, limit_name, max_bytes);
        return fn_fail(err, FN_E_FORMAT, "%s: file is %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n + 1);
    if (!p) {
        fclose(f);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(p, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(p);
        return fn_fail(err, FN_E_IO, "%s: read error (%zu of %zu bytes)", path, got, n);
    }
    p[n] = '\0';
    *data = p;
    *len = n;
    return 0;
}
