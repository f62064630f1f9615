/* test_install.c - facenet-c as a user gets it from `make install PREFIX=TMP`:
 *  - the installed tree: CLI, libfacenet.a, libfacenet.so.VERSION with soname
 *    libfacenet.so.0 and the dev symlinks, the public headers, facenet.pc, the default
 *    model; the shared library exports exactly what the headers declare;
 *  - examples/embed.c built with `pkg-config --cflags --libs facenet` (shared, run with
 *    LD_LIBRARY_PATH=TMP/lib) and against libfacenet.a (`--static`), run from `/` on a
 *    course photo with the installed model: the same numbers as `build/facenet encode
 *    --json`; the installed `facenet info` works from `/`;
 *  - examples/python/embed.py through ctypes with Debian's python3 (numpy when it is
 *    importable): the same numbers;
 *  - the embedder API in process: errors name the directory/file, RGB pixels give the
 *    file's embedding bit for bit, 5-point alignment gives `encode --landmarks`' numbers;
 *  - `make uninstall` leaves no file behind.
 * The nested make only copies files (install never compiles). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "facenet_app.h"
#include "io/image.h"
#include "lib/testutil.h"

/* the sanitizer build links the example with its -fsanitize flags (Makefile) */
#ifndef FN_TEST_LDFLAGS
#define FN_TEST_LDFLAGS ""
#endif

static char root[PATH_MAX], build[PATH_MAX], photo[PATH_MAX], *tmp;
static char prefix[PATH_MAX + 16], model[sizeof prefix + 64], pcpath[sizeof prefix + 64];
static int installed;

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (!tmp || !getcwd(root, sizeof root) || !realpath(tu_build(""), build) ||
        !realpath(tu_shared("images/happy-house/camera_0.jpg"), photo)) {
        fprintf(stderr, "test_install: cannot resolve the build directory or %s\n",
                tu_shared("images/happy-house/camera_0.jpg"));
        return -1;
    }
    snprintf(prefix, sizeof prefix, "%s/prefix", tmp);
    snprintf(model, sizeof model, "%s/share/facenet/models/dlib-resnet", prefix);
    snprintf(pcpath, sizeof pcpath, "export PKG_CONFIG_PATH=%s/lib/pkgconfig", prefix);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* Run a shell command; fails the test (with its stderr) unless it exits 0.  Returns its
 * stdout (malloc'd). */
static char *must_run(const char *fmt, ...)
{
    static char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = NULL, *err = NULL;
    int rc = tu_run(cmd, &out, &err);
    if (rc != 0)
        fail_msg("exit status %d: %s\nstderr: %s", rc, cmd, err ? err : "");
    free(err);
    return out ? out : strdup("");
}

/* Up to cap numbers from text (separators: anything strtof skips over), up to the end
 * of the first JSON array (']'); returns the count. */
static int parse_floats(const char *s, float *v, int cap)
{
    int n = 0;
    while (*s && *s != ']' && n < cap) {
        char *end;
        float x = strtof(s, &end);
        if (end == s) {
            s++;
            continue;
        }
        v[n++] = x;
        s = end;
    }
    return n;
}

/* The CLI's embedding of the photo taken as a face crop (examples/embed.c does not
 * detect), from `encode --no-detect --json` run in / (the reference). */
static int cli_embedding(float *v)
{
    char *out = must_run("cd / && %s/facenet encode --no-detect --json --model %s/weights/dlib-resnet %s", build, root, photo);
    const char *e = strstr(out, "\"embedding\":");
    assert_non_null(e);
    int n = parse_floats(strchr(e, '['), v, 1024);
    free(out);
    return n;
}

static void same_as_cli(const char *what, const char *out)
{
    static float ref[1024], got[1024];
    int nr = cli_embedding(ref), ng = parse_floats(out, got, 1024);
    assert_int_equal(nr, 128);
    if (ng != nr)
        fail_msg("%s printed %d numbers, the CLI %d", what, ng, nr);
    for (int i = 0; i < nr; i++)
        if (got[i] != ref[i])
            fail_msg("%s: value %d is %.9g, the CLI gives %.9g", what, i, (double)got[i], (double)ref[i]);
}

static int exists(const char *rel)
{
    struct stat st;
    return lstat(tu_path_in(prefix, rel), &st) == 0;
}

static void test_make_install(void **state)
{
    (void)state;
    /* a make of its own: not the jobserver of the make running the tests */
    free(must_run("cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory install PREFIX=%s BUILD=%s",
                  root, prefix, build));
    const char *files[] = {"bin/facenet", "lib/libfacenet.a", "lib/libfacenet.so." FACENET_VERSION,
                           "lib/libfacenet.so.0", "lib/libfacenet.so", "include/facenet.h", "include/facenet_app.h",
                           "lib/pkgconfig/facenet.pc", "share/facenet/models/dlib-resnet/model.json",
                           "share/facenet/models/dlib-resnet/model.h5",
                           "share/facenet/models/dlib-resnet/facenet.json", "share/doc/facenet/LICENSE"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!exists(files[i]))
            fail_msg("make install did not install %s/%s", prefix, files[i]);
    char link[PATH_MAX];
    ssize_t n = readlink(tu_path_in(prefix, "lib/libfacenet.so.0"), link, sizeof link - 1);
    assert_true(n > 0);
    link[n] = '\0';
    assert_string_equal(link, "libfacenet.so." FACENET_VERSION);
    n = readlink(tu_path_in(prefix, "lib/libfacenet.so"), link, sizeof link - 1);
    assert_true(n > 0);
    link[n] = '\0';
    assert_string_equal(link, "libfacenet.so.0");
    char *so = must_run("readelf -d %s/lib/libfacenet.so.%s", prefix, FACENET_VERSION);
    assert_non_null(strstr(so, "Library soname: [libfacenet.so.0]"));
    free(so);
    /* exported: exactly the functions the installed headers declare */
    char *exported = must_run("nm -D --defined-only %s/lib/libfacenet.so.0 | awk '$2 == \"T\" {print $3}' | sort", prefix);
    char *declared = must_run("sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\\(fn_[a-z0-9_]*\\)(.*/\\1/p' "
                              "%s/include/facenet.h %s/include/facenet_app.h | sort", prefix, prefix);
    assert_string_equal(exported, declared);
    assert_non_null(strstr(exported, "fn_embedder_embed_file\n"));
    free(exported);
    free(declared);
    char *ver = must_run("%s; pkg-config --modversion facenet", pcpath);
    assert_string_equal(ver, FACENET_VERSION "\n");
    free(ver);
    char *md = must_run("%s; pkg-config --variable=modeldir facenet", pcpath);
    md[strcspn(md, "\n")] = '\0';
    assert_string_equal(md, model);
    free(md);
    installed = 1;
}

static void need_install(void)
{
    if (!installed)
        fail_msg("make install failed (see the first test)");
}

static void test_example_shared(void **state)
{
    (void)state;
    need_install();
    free(must_run("%s; cc -std=c11 -Wall -Wextra -Werror %s/examples/embed.c $(pkg-config --cflags --libs facenet) %s -o %s/embed",
                  pcpath, root, FN_TEST_LDFLAGS, tmp));
    char *deps = must_run("LD_LIBRARY_PATH=%s/lib ldd %s/embed", prefix, tmp);
    if (!strstr(deps, tu_path_in(prefix, "lib/libfacenet.so.0")))
        fail_msg("the example does not load the installed shared library:\n%s", deps);
    free(deps);
    char *out = must_run("cd / && LD_LIBRARY_PATH=%s/lib %s/embed %s %s", prefix, tmp, photo, model);
    same_as_cli("examples/embed.c (shared)", out);
    free(out);
}

static void test_example_static(void **state)
{
    (void)state;
    need_install();
    free(must_run("%s; cc -std=c11 -Wall -Wextra -Werror %s/examples/embed.c $(pkg-config --cflags facenet) "
                  "%s/lib/libfacenet.a -Wl,--as-needed $(pkg-config --static --libs facenet) %s -o %s/embed-static",
                  pcpath, root, prefix, FN_TEST_LDFLAGS, tmp));
    char *deps = must_run("ldd %s/embed-static", tmp);
    assert_null(strstr(deps, "libfacenet"));
    free(deps);
    char *out = must_run("cd / && env -u LD_LIBRARY_PATH %s/embed-static %s %s", tmp, photo, model);
    same_as_cli("examples/embed.c (static)", out);
    free(out);
}

static void test_installed_cli(void **state)
{
    (void)state;
    need_install();
    char *out = must_run("cd / && %s/bin/facenet info --model %s", prefix, model);
    assert_non_null(strstr(out, "5650496"));
    free(out);
}

static void test_python(void **state)
{
    (void)state;
    need_install();
    if (access("/usr/bin/python3", X_OK)) {
        printf("test_python: skipped: Debian's python3 (/usr/bin/python3) is not installed\n");
        return;
    }
    if (strlen(FN_TEST_LDFLAGS)) {
        printf("test_python: skipped: python3 cannot load the sanitizer build's library\n");
        return;
    }
    int numpy = tu_run("/usr/bin/python3 -c 'import numpy'", NULL, NULL) == 0;
    printf("test_python: running with %s\n",
           numpy ? "numpy" : "plain ctypes (numpy is not importable: make deps installs python3-numpy)");
    char *out = must_run("cd / && LD_LIBRARY_PATH=%s/lib /usr/bin/python3 %s/examples/python/embed.py %s %s", prefix,
                         root, photo, model);
    same_as_cli("examples/python/embed.py", out);
    free(out);
}

static void test_embedder_api(void **state)
{
    (void)state;
    need_install();
    fn_err err = {0};
    assert_null(fn_embedder_open(tu_path_in(tmp, "nowhere"), &err));
    assert_non_null(strstr(err.msg, "nowhere: no model here"));
    fn_embedder *e = fn_embedder_open(model, &err);
    if (!e)
        fail_msg("%s", err.msg);
    assert_int_equal(fn_embedder_dim(e), 128);
    int h = 0, w = 0;
    fn_embedder_input_size(e, &h, &w);
    assert_int_equal(h, 150);
    assert_int_equal(w, 150);
    assert_true(fn_embedder_threshold(e) == 0.6f);
    assert_int_equal(fn_embedder_normalized(e), 0);
    assert_int_equal(strlen(fn_embedder_fingerprint(e)) > 0, 1);
    float a[FN_EMBEDDER_MAX_DIM], b[FN_EMBEDDER_MAX_DIM];
    assert_int_equal(fn_embedder_embed_file(e, tu_path_in(tmp, "missing.jpg"), a, &err), -1);
    assert_non_null(strstr(err.msg, "missing.jpg"));
    assert_int_equal(fn_embedder_embed_rgb(e, (const unsigned char *)"", 0, 5, a, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    /* decoded pixels in memory give the file's embedding exactly */
    assert_int_equal(fn_embedder_embed_file(e, photo, a, &err), 0);
    fn_image img = {0};
    assert_int_equal(fn_image_load(photo, 0, &img, &err), 0);
    assert_int_equal(fn_embedder_embed_rgb(e, img.rgb, img.w, img.h, b, &err), 0);
    fn_image_free(&img);
    assert_memory_equal(a, b, sizeof(float) * 128);
    assert_true(fn_distance(a, b, 128) == 0.0f);
    fn_embedder_close(e);
    fn_embedder_close(NULL);
}

/* 5-point alignment through the API equals `facenet encode --landmarks` (an LFW photo
 * and its landmarks, scaled from 250 px to the 150 px image as the README does). */
static void test_embedder_aligned(void **state)
{
    (void)state;
    need_install();
    const char *rel = "Aaron_Guiel/Aaron_Guiel_0001.jpg";
    const double pts[10] = {98, 110, 146, 116, 122, 138, 93, 158, 138, 163};
    char lmfile[PATH_MAX + 32], image[PATH_MAX];
    snprintf(lmfile, sizeof lmfile, "%s/lm.txt", tmp);
    if (!realpath(tu_shared("lfw/original-150/Aaron_Guiel/Aaron_Guiel_0001.jpg"), image))
        fail_msg("cannot find %s", tu_shared("lfw/original-150/Aaron_Guiel/Aaron_Guiel_0001.jpg"));
    char line[512];
    int n = snprintf(line, sizeof line, "%s", rel);
    for (int i = 0; i < 10; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "\t%g", pts[i]);
    snprintf(line + n, sizeof line - (size_t)n, "\n");
    tu_write_text(lmfile, line);
    char *out = must_run("%s/facenet encode --json --model %s/weights/dlib-resnet --landmarks %s --landmark-scale 0.6 %s",
                         build, root, lmfile, image);
    static float ref[1024];
    const char *e = strstr(out, "\"embedding\":");
    assert_non_null(e);
    assert_int_equal(parse_floats(strchr(e, '['), ref, 1024), 128);
    free(out);
    double lm[10];
    for (int i = 0; i < 10; i++)
        lm[i] = pts[i] * 0.6;
    fn_err err = {0};
    fn_embedder *emb = fn_embedder_open(model, &err);
    if (!emb)
        fail_msg("%s", err.msg);
    float v[FN_EMBEDDER_MAX_DIM], plain[FN_EMBEDDER_MAX_DIM];
    if (fn_embedder_embed_file_aligned(emb, image, lm, v, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < 128; i++)
        if (v[i] != ref[i])
            fail_msg("aligned value %d is %.9g, the CLI gives %.9g", i, (double)v[i], (double)ref[i]);
    assert_int_equal(fn_embedder_embed_file(emb, image, plain, &err), 0);
    assert_true(fn_distance(v, plain, 128) > 0.0f); /* the alignment did something */
    const double same[10] = {50, 50, 50, 50, 50, 50, 50, 50, 50, 50}; /* no face */
    assert_int_equal(fn_embedder_embed_file_aligned(emb, image, same, v, &err), -1);
    assert_non_null(strstr(err.msg, "Aaron_Guiel_0001.jpg"));
    assert_int_equal(fn_embedder_embed_file_aligned(emb, image, NULL, v, &err), -1);
    assert_int_equal(err.kind, FN_E_ARG);
    fn_embedder_close(emb);
}

static void test_make_uninstall(void **state)
{
    (void)state;
    need_install();
    free(must_run("cd %s && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory uninstall PREFIX=%s BUILD=%s",
                  root, prefix, build));
    char *left = must_run("find %s ! -type d", prefix);
    if (*left)
        fail_msg("make uninstall left files behind:\n%s", left);
    free(left);
    assert_false(exists("share/facenet"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_install),  cmocka_unit_test(test_example_shared),
        cmocka_unit_test(test_example_static), cmocka_unit_test(test_installed_cli),
        cmocka_unit_test(test_python),        cmocka_unit_test(test_embedder_api),
        cmocka_unit_test(test_embedder_aligned), cmocka_unit_test(test_make_uninstall),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
