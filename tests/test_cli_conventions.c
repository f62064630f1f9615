/* test_cli_conventions.c - the command line behaves like the tools people know
 * (issue 11), with the golden keras-facenet-mini weights:
 *  - `--version`; `CMD --help`, `CMD -h` and `help CMD` print the same help on stdout
 *    (exit 0) listing every option of the command, including the rarely used ones;
 *    every option of every command appears in the man page (in the command's section)
 *    and in the bash completion (in the command's list);
 *  - getopt_long syntax: --opt=value, --opt value, unique prefixes, `--` ends options,
 *    unknown options and bad values (threshold -1, 0, nan; batch 0; folds 1;
 *    shard 3/3) refused with one line and exit 2;
 *  - folders as image arguments (recursive, sorted, .JPG/.png in any case; other
 *    files skipped and named on one line) for identify and distance;
 *  - an unreadable image among good ones: the good ones answered, one stderr line
 *    naming the bad one, exit 2 (identify, distance, encode, verify); enroll enrolls
 *    nothing and names the photo;
 *  - the default model found from another directory (run from / without
 *    FACENET_MODEL: weights/ beside the executable's build/), and an error listing
 *    the places looked when there is none;
 *  - every --json line parses; `embedding` is the compared (normalised) vector and
 *    `raw` the network output in encode and embed. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "facenet.h"
#include "lib/testutil.h"

static char *tmp, model[8192], fn[PATH_MAX], hh[PATH_MAX], db[4300];

static const char *const commands[] = {"info", "embed", "detect", "encode", "enroll", "verify",
                                       "identify", "distance", "evaluate", "db", "trace", "graph", "merge"};
#define N_CMDS (sizeof commands / sizeof *commands)

/* Options each command must list (the ones once hidden among them). */
static const char *const must_list[N_CMDS] = {
    "--layers --input-shape --batch --no-fuse --model --model-json --weights --help",
    "--raw --input-shape --reference --no-fuse --json --model",
    "--detector --min-score --chip --save-chips --draw --json --model",
    "--output --batch --threads --shard --resume --checkpoint --no-detect --detector --min-score --chip --save-chips "
    "--largest --landmarks --landmark-scale --json --model",
    "--db --no-detect --detector --min-score --chip --save-chips --largest --landmarks --landmark-scale --json --model",
    "--db --threshold --no-detect --detector --min-score --chip --save-chips --largest --landmarks --landmark-scale "
    "--json --model",
    "--db --threshold --no-detect --detector --min-score --chip --save-chips --largest --landmarks --landmark-scale "
    "--json --model",
    "--no-detect --detector --min-score --chip --save-chips --largest --landmarks --landmark-scale --json --model",
    "--pairs --images --train-pairs --folds --batch --no-detect --detector --min-score --chip --save-chips "
    "--landmarks --landmark-scale --json --model",
    "--db --skip-missing --landmarks --landmark-scale --json --model",
    "--raw --dump --maps --output --landmarks --landmark-scale --input-shape --reference --no-fuse --json --model",
    "--output --input-shape --no-fuse --model --help",
    "--output --model",
};

/* snprintf for command lines (truncation would fail the command, not go unnoticed) */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, cap, f, ap);
    va_end(ap);
}

static int run(const char *args, char **out, char **err)
{
    static char cmd[65536];
    fmt(cmd, sizeof cmd, "%s %s", fn, args);
    return tu_run(cmd, out, err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* status 2 and exactly one stderr line containing needle */
static void expect_refused(const char *args, const char *needle)
{
    char *out, *err;
    int st = run(args, &out, &err);
    if (st != 2 || count_lines(err) != 1 || (needle && !strstr(err, needle)))
        fail_msg("%s: status %d, stderr: %s (want 2, one line with '%s')", args, st, err, needle ? needle : "");
    free(out), free(err);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (!tmp || !realpath(tu_build("facenet"), fn) || !realpath(tu_shared("images/happy-house"), hh))
        return -1;
    char j[PATH_MAX], w[PATH_MAX];
    if (!realpath(tu_shared("golden/keras-facenet-mini/model.json"), j) ||
        !realpath(tu_shared("golden/keras-facenet-mini/seed11/model.h5"), w))
        return -1;
    fmt(model, sizeof model, "--model-json %s --weights %s", j, w);
    fmt(db, sizeof db, "%s/conv.db", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

static void test_version(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run("--version", &out, &err), 0);
    assert_non_null(strstr(out, "facenet 0.2.0"));
    assert_non_null(strstr(out, FACENET_VERSION));
    free(out), free(err);
    assert_int_equal(run("--help", &out, &err), 0);
    for (size_t c = 0; c < N_CMDS; c++)
        assert_non_null(strstr(out, commands[c]));
    free(out), free(err);
}

/* The options a help text lists: every "--name" at the start of an option line. */
static int help_options(const char *help, char names[][64], int cap)
{
    int n = 0;
    for (const char *l = help; *l && n < cap;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        const char *dd = strstr(l, "--");
        if (len > 6 && l[0] == ' ' && l[1] == ' ' && dd && dd < l + 12) {
            size_t k = strcspn(dd, " \n=");
            fmt(names[n++], 64, "%.*s", (int)k, dd);
        }
        l += len + (nl ? 1 : 0);
    }
    return n;
}

/* The text with troff's "\-" as "-". */
static char *unescape_man(const char *s)
{
    char *t = strdup(s), *o = t;
    for (; *s; s++)
        if (!(s[0] == '\\' && s[1] == '-'))
            *o++ = *s;
    *o = '\0';
    return t;
}

/* Is word (an option) in s as a whole word? */
static int has_word(const char *s, const char *word, const char *end)
{
    size_t n = strlen(word);
    for (const char *p = strstr(s, word); p && (!end || p < end); p = strstr(p + 1, word))
        if ((p == s || !(p[-1] == '-' || (p[-1] >= 'a' && p[-1] <= 'z'))) &&
            !(p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')))
            return 1;
    return 0;
}

static void test_help_man_completion(void **state)
{
    (void)state;
    char *man_raw = (char *)tu_read_must("docs/facenet.1", NULL);
    char *man = unescape_man(man_raw);
    char *comp = (char *)tu_read_must("scripts/facenet.bash-completion", NULL);
    const char *common = strstr(man, ".SH COMMON OPTIONS");
    assert_non_null(common);
    for (size_t c = 0; c < N_CMDS; c++) {
        char args[256], *h1, *h2, *h3, *err;
        fmt(args, sizeof args, "%s --help", commands[c]);
        assert_int_equal(run(args, &h1, &err), 0);
        assert_string_equal(err, "");
        free(err);
        fmt(args, sizeof args, "%s -h", commands[c]);
        assert_int_equal(run(args, &h2, &err), 0);
        free(err);
        fmt(args, sizeof args, "help %s", commands[c]);
        assert_int_equal(run(args, &h3, &err), 0);
        free(err);
        assert_string_equal(h1, h2);
        assert_string_equal(h1, h3);
        /* the once hidden options are listed, each with a description */
        char want[512];
        fmt(want, sizeof want, "%s", must_list[c]);
        for (char *o = strtok(want, " "); o; o = strtok(NULL, " "))
            if (!has_word(h1, o, NULL))
                fail_msg("facenet %s --help does not list %s:\n%s", commands[c], o, h1);
        /* the command's section of the man page and its completion line */
        char sec[64], line[64];
        fmt(sec, sizeof sec, ".SS \"facenet %s ", commands[c]);
        const char *s = strstr(man, sec);
        if (!s)
            fail_msg("docs/facenet.1 has no section for %s", commands[c]);
        const char *s_end = strstr(s + 1, ".SS");
        if (!s_end || s_end > common)
            s_end = common;
        fmt(line, sizeof line, "\n        %s) opts=\"", commands[c]);
        const char *cl = strstr(comp, line);
        if (!cl)
            fail_msg("the completion has no option list for %s", commands[c]);
        const char *cl_end = strchr(cl + 1, '\n');
        char names[64][64];
        int n = help_options(h1, names, 64);
        const char *model_sec = strstr(h1, "model options");
        assert_non_null(model_sec);
        for (int i = 0; i < n; i++) {
            const char *at = strstr(h1, names[i]);
            int own = at < model_sec; /* the command's own, not a model option or --help */
            if (own && !has_word(s, names[i], s_end))
                fail_msg("docs/facenet.1: %s's section lacks %s", commands[c], names[i]);
            if (!own && !has_word(common, names[i], NULL))
                fail_msg("docs/facenet.1: COMMON OPTIONS lacks %s", names[i]);
            if (own && !has_word(cl, names[i], cl_end))
                fail_msg("scripts/facenet.bash-completion: %s lacks %s", commands[c], names[i]);
            if (!own && !strstr(comp, names[i]))
                fail_msg("scripts/facenet.bash-completion lacks %s", names[i]);
        }
        /* and nothing the tables do not have */
        char *p = (char *)cl + strlen(line);
        for (char *q = p; q < cl_end && *q != '"';) {
            size_t k = strcspn(q, " \"");
            char opt[64];
            fmt(opt, sizeof opt, "%.*s", (int)k, q);
            if (opt[0] == '-' && opt[1] == '-' && !has_word(h1, opt, NULL))
                fail_msg("the completion offers %s for %s, which --help does not list", opt, commands[c]);
            q += k + (q[k] == ' ');
        }
        free(h1), free(h2), free(h3);
    }
    free(man), free(man_raw), free(comp);
    expect_refused("help frobnicate", "frobnicate");
}

static void test_option_syntax(void **state)
{
    (void)state;
    char args[65536], *out, *err;
    fmt(args, sizeof args, "enroll %s --db=%s kian %s/kian.jpg", model, db, hh);
    assert_int_equal(run(args, &out, &err), 0);
    free(out), free(err);
    fmt(args, sizeof args, "enroll %s --db %s younes %s/younes.jpg", model, db, hh);
    assert_int_equal(run(args, &out, &err), 0);
    free(out), free(err);
    /* --threshold=0.5 and --threshold 0.5 and a prefix (--thr) are one option */
    const char *forms[] = {"--threshold=0.5", "--threshold 0.5", "--thres=0.5"}; /* a unique prefix (--thr is also --threads) */
    for (int f = 0; f < 3; f++) {
        fmt(args, sizeof args, "verify %s --db %s --json %s kian %s/kian.jpg", model, db, forms[f], hh);
        int st = run(args, &out, &err);
        cJSON *j = cJSON_Parse(out);
        if (!j || st != 0)
            fail_msg("%s: status %d, out %s, err %s", args, st, out, err);
        assert_true(fabs(cJSON_GetObjectItem(j, "threshold")->valuedouble - 0.5) < 1e-12);
        cJSON_Delete(j);
        free(out), free(err);
    }
    /* refused values and options: one line, exit 2 */
    const char *bad[][2] = {
        {"verify --db x.db --threshold -1 kian a.jpg", "--threshold"},
        {"verify --db x.db --threshold=0 kian a.jpg", "--threshold"},
        {"identify --db x.db --threshold nan a.jpg", "--threshold"},
        {"identify --db x.db --threshold inf a.jpg", "--threshold"},
        {"encode --batch 0 a.jpg", "--batch"},
        {"encode --threads=100000 a.jpg", "--threads"},
        {"encode --shard 3/3 a.jpg", "--shard"},
        {"encode --shard 1 a.jpg", "--shard"},
        {"evaluate --folds 1 --pairs p --images d", "--folds"},
        {"encode --landmark-scale -2 a.jpg", "--landmark-scale"},
        {"info --input-shape 160x0x3", "--input-shape"},
        {"encode --frobnicate a.jpg", "facenet encode: unknown option --frobnicate (see facenet encode --help)"},
        {"verify --bogus=1 --db x.db kian a.jpg", "unknown option --bogus (see facenet verify --help)"},
        {"encode -q a.jpg", "unknown option -q"},
        {"encode --json=1 a.jpg", "--json takes no value"},
        {"encode --batch", "--batch needs a value"},
        {"db list", "--db"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(bad[i][0], bad[i][1]);
    /* `--` ends the options: a file named -kian.jpg is an image after it, an unknown
     * option before it */
    char dash[PATH_MAX + 32];
    memset(dash, 0, sizeof dash);
    fmt(dash, sizeof dash, "%s/-kian.jpg", tmp);
    size_t len;
    unsigned char *jpg = tu_read_must(tu_path_in(hh, "kian.jpg"), &len);
    tu_write_must(dash, jpg, len);
    free(jpg);
    fmt(args, sizeof args, "cd %s && %s distance %s --json -- -kian.jpg %s/kian.jpg", tmp, fn, model, hh);
    int st = tu_run(args, &out, &err);
    if (st != 0)
        fail_msg("%s: status %d: %s", args, st, err);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    double d01 = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "distances"), 0), 1)->valuedouble;
    assert_true(d01 < 1e-5); /* the same photo (GEMM rounding aside) */
    cJSON_Delete(j);
    free(out), free(err);
    fmt(args, sizeof args, "cd %s && %s distance %s -kian.jpg %s/kian.jpg", tmp, fn, model, hh);
    st = tu_run(args, &out, &err);
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "unknown option -k"));
    free(out), free(err);
}

static void copy_photo(const char *name, const char *to)
{
    size_t len;
    unsigned char *b = tu_read_must(tu_path_in(hh, name), &len);
    tu_write_must(to, b, len);
    free(b);
}

static void test_folders_and_unreadable(void **state)
{
    (void)state;
    char dir[PATH_MAX], sub[PATH_MAX + 8], args[16384], *out, *err;
    fmt(dir, sizeof dir, "%s/cams", tmp);
    fmt(sub, sizeof sub, "%s/more", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy_photo("camera_0.jpg", tu_path_in(dir, "a.jpg"));
    copy_photo("camera_2.jpg", tu_path_in(dir, "B.JPG"));
    copy_photo("danielle.png", tu_path_in(sub, "c.Png"));
    tu_write_text(tu_path_in(dir, "x.bmp"), "BM not really");
    tu_write_text(tu_path_in(sub, "y.webp"), "RIFF not really");
    /* distance over the folder: 3 images in sorted order, the two others named */
    fmt(args, sizeof args, "distance %s --json %s", model, dir);
    int st = run(args, &out, &err);
    if (st != 0)
        fail_msg("%s: status %d: %s", args, st, err);
    assert_true(strstr(err, "skipped 2 files that are not JPEG or PNG (more/y.webp, x.bmp)") ||
                strstr(err, "skipped 2 files that are not JPEG or PNG (x.bmp, more/y.webp)"));
    assert_int_equal(count_lines(err), 1);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    cJSON *imgs = cJSON_GetObjectItem(j, "images");
    assert_int_equal(cJSON_GetArraySize(imgs), 3);
    assert_non_null(strstr(cJSON_GetArrayItem(imgs, 0)->valuestring, "B.JPG"));
    assert_non_null(strstr(cJSON_GetArrayItem(imgs, 1)->valuestring, "a.jpg"));
    assert_non_null(strstr(cJSON_GetArrayItem(imgs, 2)->valuestring, "more/c.Png"));
    cJSON_Delete(j);
    free(out), free(err);
    /* identify over the folder: one line per image */
    fmt(args, sizeof args, "enroll %s --db %s benoit %s/benoit.jpg", model, db, hh);
    assert_int_equal(run(args, &out, &err), 0);
    free(out), free(err);
    fmt(args, sizeof args, "identify %s --db %s --json %s", model, db, dir);
    assert_int_equal(run(args, &out, &err), 0);
    assert_int_equal(count_lines(out), 3);
    free(out), free(err);

    /* an unreadable image among good ones */
    char bad[PATH_MAX + 16];
    fmt(bad, sizeof bad, "%s/broken.jpg", tmp);
    tu_write(bad, "\xff\xd8\xff not a jpeg", 14);
    const char *cmds[] = {"identify --json --db", "distance --json", "encode --json"};
    for (int c = 0; c < 3; c++) {
        if (c == 0)
            fmt(args, sizeof args, "%s %s %s %s/camera_0.jpg %s %s/camera_1.jpg", cmds[c], db, model, hh, bad, hh);
        else
            fmt(args, sizeof args, "%s %s %s/camera_0.jpg %s %s/camera_1.jpg", cmds[c], model, hh, bad, hh);
        st = run(args, &out, &err);
        /* the image named once; encode and identify also print their count of failures */
        if (st != 2 || !strstr(err, "broken.jpg") || count_lines(err) != (c == 1 ? 1 : 2))
            fail_msg("%s: status %d, stderr: %s", args, st, err);
        if (c == 1) {
            j = cJSON_Parse(out);
            assert_non_null(j);
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "images")), 2);
            cJSON_Delete(j);
        } else { /* both good images answered, and the bad one named in the JSON */
            assert_int_equal(count_lines(out), 3);
            assert_non_null(strstr(out, "{\"image\":"));
            char *last = strstr(out, "broken.jpg\",\"error\":\"unreadable\"}");
            assert_non_null(last);
        }
        free(out), free(err);
    }
    /* verify: its one image unreadable */
    fmt(args, sizeof args, "verify %s --db %s kian %s", model, db, bad);
    expect_refused(args, "broken.jpg");
    /* enroll: nothing enrolled, the photo named */
    fmt(args, sizeof args, "enroll %s --db %s ghost %s/tian.jpg %s", model, db, hh, bad);
    expect_refused(args, "broken.jpg");
    fmt(args, sizeof args, "db list --db %s", db);
    assert_int_equal(run(args, &out, &err), 0);
    assert_null(strstr(out, "ghost"));
    free(out), free(err);
    /* enroll from a folder */
    fmt(args, sizeof args, "enroll %s --db %s --json cams %s", model, db, dir);
    assert_int_equal(run(args, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "photos")->valueint, 3);
    cJSON_Delete(j);
    free(out), free(err);
}

static void test_default_model_lookup(void **state)
{
    (void)state;
    char args[65536], *out, *err;
    /* from /, no FACENET_MODEL: the source tree's weights/ beside build/ */
    fmt(args, sizeof args, "cd / && env -u FACENET_MODEL %s info", fn);
    int st = tu_run(args, &out, &err);
    if (st != 0)
        fail_msg("%s: status %d: %s", args, st, err);
    assert_non_null(strstr(out, "input:        150x150x3")); /* dlib's ResNet */
    free(out), free(err);
    /* an executable with no model anywhere near it: the places it looked */
    char bin[PATH_MAX + 16], copy[PATH_MAX + 64];
    fmt(bin, sizeof bin, "%s/bin", tmp);
    assert_int_equal(mkdir(bin, 0700), 0);
    fmt(copy, sizeof copy, "cp %s %s/facenet", fn, bin);
    assert_int_equal(system(copy), 0);
    fmt(args, sizeof args, "cd / && env -u FACENET_MODEL %s/facenet info", bin);
    st = tu_run(args, &out, &err);
    if (st != 2 || count_lines(err) != 1 || !strstr(err, "no model found") || !strstr(err, tmp) ||
        !strstr(err, "weights/dlib-resnet"))
        fail_msg("status %d, stderr: %s", st, err);
    free(out), free(err);
}

/* max |embedding - raw/|raw||; checks the keys' meaning */
static double normalised_gap(const cJSON *j)
{
    size_t ne, nr;
    float *e = tu_json_floats(cJSON_GetObjectItem(j, "embedding"), &ne);
    float *r = tu_json_floats(cJSON_GetObjectItem(j, "raw"), &nr);
    assert_non_null(e);
    assert_non_null(r);
    assert_int_equal(ne, nr);
    double norm = 0, gap = 0, enorm = 0;
    for (size_t i = 0; i < nr; i++)
        norm += (double)r[i] * r[i], enorm += (double)e[i] * e[i];
    for (size_t i = 0; i < nr; i++)
        gap = fmax(gap, fabs(e[i] - r[i] / sqrt(norm)));
    assert_true(fabs(enorm - 1) < 1e-5);
    free(e), free(r);
    return gap;
}

static void test_json_keys(void **state)
{
    (void)state;
    char args[65536], *out, *err;
    fmt(args, sizeof args, "encode %s --json %s/kian.jpg %s/danielle.png", model, hh, hh);
    assert_int_equal(run(args, &out, &err), 0);
    int lines = 0;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"), lines++) {
        cJSON *j = cJSON_Parse(l);
        assert_non_null(j);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "image")));
        assert_true(normalised_gap(j) < 1e-6);
        cJSON_Delete(j);
    }
    assert_int_equal(lines, 2);
    free(out), free(err);
    /* embed: raw (and its old name output) and the normalised embedding */
    const char *raw = tu_path_in(tmp, "in.f32");
    size_t n = 160 * 160 * 3;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 7919) % 255) / 127.5f - 1;
    tu_write_must(raw, x, n * sizeof *x);
    free(x);
    fmt(args, sizeof args, "embed %s --json --raw=%s", model, raw);
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(normalised_gap(j) < 1e-6);
    size_t a, b;
    float *r1 = tu_json_floats(cJSON_GetObjectItem(j, "raw"), &a), *r2 = tu_json_floats(cJSON_GetObjectItem(j, "output"), &b);
    assert_int_equal(a, b);
    assert_memory_equal(r1, r2, a * sizeof *r1);
    free(r1), free(r2);
    cJSON_Delete(j);
    free(out), free(err);
    /* the other commands' lines parse */
    const char *other[] = {"db list --json --db", "db check --json --db"};
    for (int i = 0; i < 2; i++) {
        fmt(args, sizeof args, "%s %s", other[i], db);
        assert_int_equal(run(args, &out, &err), 0);
        for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
            cJSON *k = cJSON_Parse(l);
            if (!k)
                fail_msg("%s: not JSON: %s", other[i], l);
            cJSON_Delete(k);
        }
        free(out), free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_help_man_completion),
        cmocka_unit_test(test_option_syntax),
        cmocka_unit_test(test_folders_and_unreadable),
        cmocka_unit_test(test_default_model_lookup),
        cmocka_unit_test(test_json_keys),
    };
    return cmocka_run_group_tests_name("CLI conventions", tests, setup, teardown);
}
