/* test_robust_inputs.c - inputs that used to hang, blow up or break the output:
 *  - a FIFO, a character device and a directory given as model, image, pairs or
 *    landmarks file: exit 2 with one clear line, at once (no blocking open) - every
 *    command and every kind of input: test_special_files.c;
 *  - a thin JPEG (58384x12, a few hundred bytes) whose padded square would need
 *    10 GB, a model.json declaring a 1e6x1e6 input, and a 32 MB model.json of 16
 *    million numbers (1.3 GB once parsed): exit 2 before allocating, and each run's
 *    peak RSS stays under 100 MB (wait4 of a process that runs just that command);
 *  - every --json line of encode, identify, verify, distance and db is valid JSON
 *    whatever the bytes of the image paths (not UTF-8, quotes, backslashes, control
 *    characters, DEL);
 *  - error messages carry no raw control bytes from names. */
#define _DEFAULT_SOURCE /* wait4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>

#include "lib/testutil.h"

static char *tmpdir;

/* "'...'" for the shell, whatever the bytes */
static void shell_quote(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    out[k++] = '\'';
    for (; *s && k + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(out + k, "'\\''", 4);
            k += 4;
        } else {
            out[k++] = *s;
        }
    }
    out[k++] = '\'';
    out[k] = '\0';
}

static int one_line(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl && nl[1] == '\0';
}

static void test_special_files(void **state)
{
    (void)state;
    char fifo[4096]; /* tu_path_in's buffer is reused by later calls */
    snprintf(fifo, sizeof fifo, "%s", tu_path_in(tmpdir, "fifo"));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char img[4096]; /* tu_shared's buffer is reused by the tu_build calls below */
    snprintf(img, sizeof img, "%s", tu_shared("images/happy-house/camera_0.jpg"));
    const char *special[] = {fifo, "/dev/zero", tmpdir};
    for (size_t k = 0; k < sizeof special / sizeof *special; k++) {
        const char *s = special[k];
        char cmds[5][8192];
        /* a blocked open would hang: `timeout` turns that into status 124 */
        snprintf(cmds[0], sizeof cmds[0], "timeout 10 %s info --model-json %s", tu_build("facenet"), s);
        snprintf(cmds[1], sizeof cmds[1], "timeout 10 %s info --weights %s", tu_build("facenet"), s);
        snprintf(cmds[2], sizeof cmds[2], "timeout 10 %s distance %s %s", tu_build("facenet"), img, s);
        snprintf(cmds[3], sizeof cmds[3], "timeout 10 %s evaluate --pairs %s --images %s", tu_build("facenet"), s,
                 tmpdir);
        snprintf(cmds[4], sizeof cmds[4], "timeout 10 %s encode --landmarks %s --landmark-scale 1 %s",
                 tu_build("facenet"), s, img);
        for (int c = 0; c < 5; c++) {
            if (k == 2 && c == 2)
                continue; /* a directory is a valid image argument for some commands */
            char *out, *err;
            int st = tu_run(cmds[c], &out, &err);
            if (st != 2 || !one_line(err) || !strstr(err, s))
                fail_msg("%s: status %d, stderr: %s", cmds[c], st, err);
            free(out), free(err);
        }
    }
    unlink(fifo);
}

/* A valid grey JPEG of w x h, written with libjpeg. */
static void write_jpeg(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = calloc((size_t)w, 1);
    assert_non_null(row);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    free(row);
}

/* A valid model.json whose "junk" array holds chunks x 100,000 zeros + 1. */
static void write_numbers_model(const char *path, int chunks)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"Dense\", \"config\": {\"name\": "
          "\"d\", \"units\": 2, \"batch_input_shape\": [null, 4]}}], \"junk\": [",
          f);
    static char chunk[2 * 100000];
    for (size_t i = 0; i < sizeof chunk; i += 2)
        chunk[i] = '0', chunk[i + 1] = ',';
    for (int i = 0; i < chunks; i++)
        fwrite(chunk, 1, sizeof chunk, f);
    fputs("0]}", f);
    fclose(f);
}

/* Peak RSS in KB of cmd alone: run from a forked copy of this (small) process, whose
 * rusage from wait4 covers the processes it waited for.  Under `make asan` the
 * program's own memory is measured: AddressSanitizer keeps freed blocks resident in
 * its quarantine (256 MB by default; the 22 MB of kernels freed after packing, for
 * one), so the quarantine is turned off for the measured run. */
static long peak_kb(const char *cmd)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char opts[1024], *out = NULL, *err = NULL;
        const char *asan = getenv("ASAN_OPTIONS");
        snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        tu_run(cmd, &out, &err);
        _exit(0);
    }
    int status;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    return ru.ru_maxrss;
}

static void expect_small_peak(const char *cmd)
{
    long kb = peak_kb(cmd);
    if (kb >= 100 * 1024)
        fail_msg("%s: peak RSS %ld KB", cmd, kb);
}

static void test_huge_after_padding(void **state)
{
    (void)state;
    char thin[4096];
    snprintf(thin, sizeof thin, "%s", tu_path_in(tmpdir, "thin.jpg"));
    write_jpeg(thin, 58384, 12);
    struct stat st;
    assert_int_equal(stat(thin, &st), 0);
    assert_true(st.st_size < 20000); /* a small file ... */
    char cmd[16384], *out, *err;
    /* ... that must not ask for 10 GB: not as a face crop (padded to a square for the
     * recognition net), nor through the detector (padded for the SSD's 512 input) */
    snprintf(cmd, sizeof cmd, "%s distance --no-detect %s %s", tu_build("facenet"), thin, thin);
    int rc = tu_run(cmd, &out, &err);
    if (rc != 2 || !one_line(err) || !strstr(err, "would pad to a 58384x58384 square") || !strstr(err, thin))
        fail_msg("status %d, stderr: %s", rc, err);
    free(out), free(err);
    expect_small_peak(cmd);
    snprintf(cmd, sizeof cmd, "%s distance %s %s", tu_build("facenet"), thin, thin);
    rc = tu_run(cmd, &out, &err);
    if (rc != 2 || !one_line(err) || !strstr(err, "58384x12 image is too thin") || !strstr(err, thin))
        fail_msg("status %d, stderr: %s", rc, err);
    free(out), free(err);
    /* with detection three nets are loaded first (~140 MB whatever the images): the thin
     * image may add no more than a small photo does */
    long thin_kb = peak_kb(cmd);
    snprintf(cmd, sizeof cmd, "%s distance %s %s", tu_build("facenet"), tu_shared("images/happy-house/kian.jpg"),
             tu_shared("images/happy-house/tian.jpg"));
    long base_kb = peak_kb(cmd);
    print_message("  thin JPEG through the detector: peak RSS %ld KB (two course photos: %ld KB)\n", thin_kb, base_kb);
    if (thin_kb > base_kb + 16 * 1024)
        fail_msg("the thin JPEG through the detector peaked at %ld KB, two photos at %ld KB", thin_kb, base_kb);

    char json[4096];
    snprintf(json, sizeof json, "%s", tu_path_in(tmpdir, "huge.json"));
    tu_write_text(json, "{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"Conv2D\", \"config\": "
                        "{\"name\": \"c\", \"filters\": 4, \"kernel_size\": [3, 3], \"batch_input_shape\": "
                        "[null, 1000000, 1000000, 3]}}]}");
    snprintf(cmd, sizeof cmd, "%s info --model-json %s", tu_build("facenet"), json);
    rc = tu_run(cmd, &out, &err);
    if (rc != 2 || !one_line(err) || !strstr(err, "too large"))
        fail_msg("status %d, stderr: %s", rc, err);
    free(out), free(err);
    expect_small_peak(cmd);

    /* 16 million numbers in a valid model: counted, refused before cJSON parses them */
    snprintf(json, sizeof json, "%s", tu_path_in(tmpdir, "numbers.json"));
    write_numbers_model(json, 160);
    snprintf(cmd, sizeof cmd, "%s info --model-json %s", tu_build("facenet"), json);
    rc = tu_run(cmd, &out, &err);
    if (rc != 2 || !one_line(err) || !strstr(err, "16000013 JSON values, more than the limit json-values=") ||
        !strstr(err, "--limit json-values=N raises it"))
        fail_msg("status %d, stderr: %s", rc, err);
    free(out), free(err);
    expect_small_peak(cmd);
    /* the measurement does see a parser's memory: 2 M values, limit raised, ~160 MB */
    write_numbers_model(json, 20);
    snprintf(cmd, sizeof cmd, "%s info --model-json %s --limit json-values=3000000", tu_build("facenet"), json);
    long kb = peak_kb(cmd);
    if (kb < 120 * 1024)
        fail_msg("parsing 2 M JSON values peaked at only %ld KB", kb);
    unlink(json);
}

static const char *const odd_names[] = {
    "\xff\xfe.jpg", "lone\xc3.jpg", "surrogate\xed\xa0\x80.jpg", "quo\"te.jpg", "back\\slash.jpg",
    "new\nline.jpg", "t\tab.jpg", "ctl\x01.jpg", "del\x7f.jpg", "caf\xc3\xa9.jpg",
};
#define N_ODD (sizeof odd_names / sizeof *odd_names)

/* Every line of out parses as JSON; returns the number of lines. */
static int all_json(const char *what, const char *out)
{
    int lines = 0;
    const char *p = out;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, n);
        cJSON *j = cJSON_Parse(line);
        if (!j)
            fail_msg("%s: not JSON: %s", what, line);
        cJSON_Delete(j);
        free(line);
        lines++;
        p += n + (nl ? 1 : 0);
    }
    return lines;
}

static void test_json_any_path_bytes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    size_t len;
    unsigned char *jpg = tu_read_must(tu_shared("images/happy-house/camera_0.jpg"), &len);
    char args[16384] = "";
    for (size_t i = 0; i < N_ODD; i++) {
        const char *p = tu_path_in(dir, odd_names[i]);
        tu_write_must(p, jpg, len);
        char q[1024];
        shell_quote(p, q, sizeof q);
        strncat(args, " ", sizeof args - strlen(args) - 1);
        strncat(args, q, sizeof args - strlen(args) - 1);
    }
    free(jpg);
    char db[4096];
    snprintf(db, sizeof db, "%s", tu_path_in(tmpdir, "odd.db"));
    char dbq[1024], cmd[20000], *out, *err;
    shell_quote(db, dbq, sizeof dbq);
    snprintf(cmd, sizeof cmd, "%s enroll --db %s somebody %s", tu_build("facenet"), dbq, args);
    int rc = tu_run(cmd, &out, &err);
    if (rc != 0)
        fail_msg("enroll: status %d: %s", rc, err);
    free(out), free(err);

    const char *const cmds[] = {"encode --json", "identify --json --db", "distance --json", "verify --json --db",
                                "db list --json --db", "db check --json --db"};
    for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
        char q0[1024];
        shell_quote(tu_path_in(dir, odd_names[0]), q0, sizeof q0);
        if (c == 0)
            snprintf(cmd, sizeof cmd, "%s %s %s", tu_build("facenet"), cmds[c], dir);
        else if (c == 1)
            snprintf(cmd, sizeof cmd, "%s %s %s %s", tu_build("facenet"), cmds[c], dbq, args);
        else if (c == 2)
            snprintf(cmd, sizeof cmd, "%s %s %s", tu_build("facenet"), cmds[c], args);
        else if (c == 3)
            snprintf(cmd, sizeof cmd, "%s %s %s somebody %s", tu_build("facenet"), cmds[c], dbq, q0);
        else
            snprintf(cmd, sizeof cmd, "%s %s %s", tu_build("facenet"), cmds[c], dbq);
        rc = tu_run(cmd, &out, &err);
        if (rc != 0)
            fail_msg("%s: status %d: %s", cmds[c], rc, err);
        int lines = all_json(cmds[c], out);
        assert_true(lines >= 1);
        free(out), free(err);
    }
    /* an error naming such a file carries no raw control bytes */
    char missing[1024];
    shell_quote(tu_path_in(dir, "gone\x01\x1b[31m.jpg"), missing, sizeof missing);
    snprintf(cmd, sizeof cmd, "%s distance %s %s", tu_build("facenet"), missing, missing);
    rc = tu_run(cmd, &out, &err);
    assert_int_equal(rc, 2);
    assert_true(one_line(err));
    for (const char *p = err; *p && p[1]; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            fail_msg("control byte 0x%02x in: %s", (unsigned char)*p, err);
    free(out), free(err);
    tu_rmtree(dir);
    free(dir);
}

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_tmpdir();
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(tmpdir);
    free(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_files),
        cmocka_unit_test(test_huge_after_padding),
        cmocka_unit_test(test_json_any_path_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
