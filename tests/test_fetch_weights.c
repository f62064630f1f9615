/* test_fetch_weights.c - scripts/fetch_weights.sh against a stub npm that serves a
 * package made from the synthetic face-api model (tests/lib/faceapi_fixture.h):
 * success and the quick re-run, checksum mismatch, failing and missing npm, a failing
 * conversion - never a partial weights/dlib-resnet/.
 * Run from the repository root (as `make test` does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "lib/faceapi_fixture.h"
#include "lib/testutil.h"

/* ---- scripts/fetch_weights.sh against a stub npm ---------------------------------------- */

#define SCRIPT "scripts/fetch_weights.sh"
#define TGZ "vladmandic-face-api-1.7.15.tgz"

/* A fake npm package at dir/pkg-<tag>.tgz (synthetic model made from v) and the
 * sha256sum lines of its two model files in *sums. */
static void make_package(const char *dir, const char *tag, const variant *v, char **sums)
{
    char pkg[4400], cmd[50000]; /* the mkdir line names pkg eleven times */
    snprintf(pkg, sizeof pkg, "%s/src-%s/package", dir, tag);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/model' '%s/src/faceRecognitionNet' '%s/src/ops' '%s/src/common' "
             "'%s/dist' && echo '{}' >'%s/package.json' && echo MIT >'%s/LICENSE' && "
             "echo x >'%s/src/faceRecognitionNet/a.ts' && echo x >'%s/src/ops/a.ts' && "
             "echo x >'%s/src/common/a.ts' && echo x >'%s/dist/tfjs.esm.js'",
             pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg, pkg);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    char model[4500];
    snprintf(model, sizeof model, "%s/model", pkg);
    fx_write_model(model, v);
    snprintf(cmd, sizeof cmd, "tar -czf '%s/pkg-%s.tgz' -C '%s/src-%s' package", dir, tag, dir,
             tag);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum model/" MANIFEST_NAME " model/" BIN_NAME,
             pkg);
    assert_int_equal(tu_run(cmd, sums, NULL), 0);
}

/* A stub npm that "downloads" tarball tgz (or fails when tgz is NULL). */
static void make_npm(const char *path, const char *tgz)
{
    char body[5000];
    if (tgz)
        snprintf(body, sizeof body, "#!/bin/sh\n[ \"$1\" = pack ] || exit 9\n"
                 "cp '%s' ./" TGZ " && echo " TGZ "\n", tgz);
    else
        snprintf(body, sizeof body, "#!/bin/sh\necho 'npm error code ECONNREFUSED' >&2\n"
                 "echo 'npm error network request failed' >&2\nexit 1\n");
    assert_int_equal(tu_write(path, body, strlen(body)), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static int run_script(const char *weights, const char *npm, char **so, char **se)
{
    char cmd[9000];
    const char *b = getenv("FACENET_BUILD");
    snprintf(cmd, sizeof cmd, "BUILD='%s' WEIGHTS_DIR='%s' NPM='%s' bash " SCRIPT,
             b && *b ? b : "build", weights, npm);
    return tu_run(cmd, so, se);
}

/* Only SHA256SUMS, .cache and (when expected) dlib-resnet may be in weights/:
 * no temporary directories left behind. */
static void check_clean(const char *weights, int with_out)
{
    DIR *d = opendir(weights);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "SHA256SUMS") ||
            !strcmp(n, ".cache") || (with_out && !strcmp(n, "dlib-resnet")))
            continue;
        fail_msg("%s: unexpected entry %s", weights, n);
    }
    closedir(d);
    char cache[4400];
    snprintf(cache, sizeof cache, "%s/.cache", weights);
    if ((d = opendir(cache))) {
        while ((e = readdir(d)))
            if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                fail_msg("%s: temporary entry %s left", cache, e->d_name);
        closedir(d);
    }
}

static const char *weights_dir(const char *name, const char *sums)
{
    const char *w = fx_subdir(name);
    char p[4400];
    snprintf(p, sizeof p, "%s/SHA256SUMS", w);
    assert_int_equal(tu_write(p, sums, strlen(sums)), 0);
    return w;
}

static const char *last_line(const char *s)
{
    static char buf[2048];
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    size_t start = n;
    while (start && s[start - 1] != '\n')
        start--;
    snprintf(buf, sizeof buf, "%.*s", (int)(n - start), s + start);
    return buf;
}

static void t_script(void **state)
{
    (void)state;
    if (!fx_exists(SCRIPT))
        fail_msg("%s not found: run the tests from the repository root", SCRIPT);
    const char *dir = fx_subdir("script");
    char *sums = NULL, tgz[4400], npm_ok[4400], npm_fail[4400], npm_none[4400];
    variant good = {0};
    make_package(dir, "good", &good, &sums);
    snprintf(tgz, sizeof tgz, "%s/pkg-good.tgz", dir);
    snprintf(npm_ok, sizeof npm_ok, "%s/npm-ok", dir);
    snprintf(npm_fail, sizeof npm_fail, "%s/npm-fail", dir);
    snprintf(npm_none, sizeof npm_none, "%s/no-such-npm", dir);
    make_npm(npm_ok, tgz);
    make_npm(npm_fail, NULL);

    /* success, then a quick re-run that needs no npm at all */
    const char *w = weights_dir("w-good", sums);
    char *so = NULL, *se = NULL, p[4500];
    int st = run_script(w, npm_ok, &so, &se);
    if (st != 0)
        fail_msg("fetch_weights failed (%d): %s", st, se);
    free(so);
    free(se);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_int_equal(fx_count_entries(p), 3);
    check_clean(w, 1);
    struct stat before, after;
    snprintf(p, sizeof p, "%s/dlib-resnet/model.h5", w);
    assert_int_equal(stat(p, &before), 0);
    st = run_script(w, npm_none, &so, &se);
    if (st != 0 || !strstr(so, "up to date"))
        fail_msg("re-run: status %d, stdout %s, stderr %s", st, so, se);
    free(so);
    free(se);
    assert_int_equal(stat(p, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);

    /* checksum mismatch: flip one hex digit of the .bin's hash */
    char *bad = strdup(sums);
    char *line = strstr(bad, "model/" BIN_NAME);
    assert_non_null(line);
    while (line > bad && line[-1] != '\n')
        line--;
    line[0] = line[0] == '0' ? '1' : '0';
    w = weights_dir("w-mismatch", bad);
    free(bad);
    st = run_script(w, npm_ok, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(last_line(se), "checksum mismatch") || !strstr(last_line(se), BIN_NAME))
        fail_msg("mismatch: stderr %s", se);
    free(so);
    free(se);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_false(fx_exists(p));
    check_clean(w, 0);

    /* npm fails (registry unreachable) / npm missing */
    w = weights_dir("w-npm-fails", sums);
    st = run_script(w, npm_fail, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(last_line(se), "npm pack") || !strstr(last_line(se), "ECONNREFUSED"))
        fail_msg("npm failure: stderr %s", se);
    free(so);
    free(se);
    check_clean(w, 0);
    w = weights_dir("w-no-npm", sums);
    st = run_script(w, npm_none, &so, &se);
    assert_int_not_equal(st, 0);
    if (fx_count_lines(se) != 1 || !strstr(se, "npm not found"))
        fail_msg("npm missing: stderr %s", se);
    free(so);
    free(se);
    check_clean(w, 0);

    /* the package verifies but does not convert (truncated .bin): the previous
     * weights/dlib-resnet stays as it was */
    char *tsums = NULL, ttgz[4400], npm_t[4400];
    variant trunc = {.bin_delta = -2};
    make_package(dir, "trunc", &trunc, &tsums);
    snprintf(ttgz, sizeof ttgz, "%s/pkg-trunc.tgz", dir);
    snprintf(npm_t, sizeof npm_t, "%s/npm-trunc", dir);
    make_npm(npm_t, ttgz);
    w = weights_dir("w-trunc", tsums);
    snprintf(p, sizeof p, "%s/dlib-resnet", w);
    assert_int_equal(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/dlib-resnet/model.json", w);
    assert_int_equal(tu_write(p, "old", 3), 0);
    st = run_script(w, npm_t, &so, &se);
    assert_int_not_equal(st, 0);
    if (!strstr(se, "truncated"))
        fail_msg("conversion failure: stderr %s", se);
    free(so);
    free(se);
    char *old = tu_read(p, NULL);
    assert_non_null(old);
    assert_string_equal(old, "old");
    free(old);
    check_clean(w, 1);
    free(tsums);
    free(sums);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_script),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
