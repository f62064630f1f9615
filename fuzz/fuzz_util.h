/* fuzz_util.h - helpers shared by the fuzz targets (header-only: each target is one
 * program).  Parsers that take a path get the fuzzer's bytes through a file in a
 * private temporary directory, created once per process and rewritten per input. */
#ifndef FN_FUZZ_UTIL_H
#define FN_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The process's scratch directory ($TMPDIR or /tmp), created on first use. */
static inline const char *fuzz_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/fnfuzz.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
    }
    return dir;
}

/* Path of `name` inside the scratch directory (a static buffer per call site is
 * not needed: callers copy or use it at once). */
static inline const char *fuzz_path(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", fuzz_dir(), name);
    return buf;
}

/* Write data to dir/name, replacing it; aborts on a harness error (not a finding). */
static inline const char *fuzz_write(const char *name, const void *data, size_t len, char *buf,
                              size_t cap)
{
    fuzz_path(name, buf, cap);
    FILE *f = fopen(buf, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror("fuzz: write");
        abort();
    }
    return buf;
}

/* A NUL-terminated copy of the input (the parsers want C strings). */
static inline char *fuzz_cstr(const unsigned char *data, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* With FUZZ_VERBOSE set, print why an input was refused (for checking seeds:
 * `FUZZ_VERBOSE=1 build-fuzz/fuzz/fuzz_x seed`). */
static inline void fuzz_note(const char *what, const char *msg)
{
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", what, msg);
}

#endif
