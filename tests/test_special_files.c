/* test_special_files.c - a FIFO, a character device (/dev/null) and a folder given where
 * a command reads a file: every command, every kind of input it reads (images, @LIST
 * files, folders, --landmarks, --pairs, --train-pairs, --images, --raw, --db, the model's
 * files, merge's shards and their sidecars, encode --resume's output, the photos a
 * gallery stores).  Each run must end with status 2 and a stderr line naming the path
 * and saying what it is not ("not a regular file", "not a directory", ...).
 *
 * Every file is checked before any net is loaded (cli/inputs.c), so none of these runs
 * loads one; a blocking open of a FIFO would hang, so each run is under `timeout 60`
 * (status 124: the test fails).  No time is asserted: docs/robustness.md has the
 * measured times. */
#define _DEFAULT_SOURCE /* realpath */
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

#include "lib/testutil.h"

static char *tmpdir;

/* What a line about the bad path says (one of these). */
static const char *const phrases[] = {"not a regular file", "not a directory", "no JPEG or PNG image",
                                      "is a directory", "no person folders", NULL};

/* The template with {S} (the special file), {K} (its kind), {T} (the temporary folder),
 * {F} (the facenet binary), {IMG}, {DB}, {RAW}, {SHARD}, {PAIRS}, {LFW} replaced. */
static void expand(const char *tpl, const char *const *keys, const char *const *vals, char *out, size_t cap)
{
    size_t k = 0;
    while (*tpl && k + 1 < cap) {
        int hit = 0;
        for (int i = 0; keys[i] && !hit; i++) {
            size_t n = strlen(keys[i]);
            if (!strncmp(tpl, keys[i], n)) {
                k += (size_t)snprintf(out + k, cap - k, "%s", vals[i]);
                tpl += n;
                hit = 1;
            }
        }
        if (!hit)
            out[k++] = *tpl++;
        if (k >= cap)
            k = cap - 1;
    }
    out[k] = '\0';
}

/* A stderr line naming `name` and saying what the file is not. */
static int names_it(const char *err, const char *name)
{
    for (const char *line = err; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[8192];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (strstr(buf, name))
            for (int p = 0; phrases[p]; p++)
                if (strstr(buf, phrases[p]))
                    return 1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out, *err;
    int st = tu_run(cmd, &out, &err);
    if (st != 0)
        fail_msg("%s: status %d: %s", cmd, st, err);
    free(out), free(err);
}

/* The command (after {F}) and the path its error line must name.  skip_dir: with a
 * folder this input is a valid kind (a model folder, the images' folder). */
static const struct {
    const char *cmd, *name;
    int skip_dir;
} cases[] = {
    {"info --model-json {S}", "{S}", 0},
    {"info --weights {S}", "{S}", 0},
    {"info --model {S}", "{S}", 1},
    {"info --model {T}/mj_{K}", "mj_{K}/model.json", 0},
    {"info --model {T}/mh_{K}", "mh_{K}/model.h5", 0},
    {"graph -o {T}/g.svg --model-json {S}", "{S}", 0},
    {"graph -o {T}/g.svg --model {T}/mj_{K}", "mj_{K}/model.json", 0},
    {"embed --raw {S}", "{S}", 0},
    {"embed {S}", "{S}", 0},
    {"embed --json --model {T}/mdir_{K} {RAW}", "mdir_{K}/facenet.json", 0},
    {"detect {S}", "{S}", 0},
    {"detect @{S}", "{S}", 0},
    {"detect --save-chips {T}/chips --model {T}/mdir_{K} {IMG}", "mdir_{K}/facenet.json", 0},
    {"encode {S}", "{S}", 0},
    {"encode --no-detect {S}", "{S}", 0},
    {"encode {IMG} @{S}", "{S}", 0},
    {"encode --landmarks {S} --landmark-scale 1 {IMG}", "{S}", 0},
    {"encode --model {T}/mdir_{K} {IMG}", "mdir_{K}/facenet.json", 0},
    {"encode --model {T}/mj_{K} {IMG}", "mj_{K}/model.json", 0},
    {"encode --weights {S} {IMG}", "{S}", 0},
    {"encode --no-detect --resume -o {T}/rs_{K}.npy {IMG}", "rs_{K}.npy", 0},
    {"enroll --db {T}/new.db bob {S}", "{S}", 0},
    {"enroll --db {T}/new.db bob {IMG} {S}", "{S}", 1},
    {"enroll --db {T}/new.db {S}", "{S}", 0},
    {"enroll --db {S} bob {IMG}", "{S}", 0},
    {"enroll --db {T}/new.db --landmarks {S} bob {IMG}", "{S}", 0},
    {"enroll --db {T}/new.db --model {T}/mdir_{K} bob {IMG}", "mdir_{K}/facenet.json", 0},
    {"verify --db {DB} alice {S}", "{S}", 0},
    {"verify --json --db {DB} alice {S}", "{S}", 0},
    {"verify --db {S} alice {IMG}", "{S}", 0},
    {"verify --db {DB} --model {T}/mh_{K} alice {IMG}", "mh_{K}/model.h5", 0},
    {"identify --db {DB} {S}", "{S}", 0},
    {"identify --db {DB} {S} {S}", "{S}", 0},
    {"identify --db {DB} @{S}", "{S}", 0},
    {"identify --db {S} {IMG}", "{S}", 0},
    {"identify --db {DB} --landmarks {S} {IMG}", "{S}", 0},
    {"distance {S} {S}", "{S}", 0},
    {"distance --no-detect {S} {S}", "{S}", 0},
    {"distance --landmarks {S} {IMG} {IMG}", "{S}", 0},
    {"distance --model {T}/mdir_{K} {IMG} {IMG}", "mdir_{K}/facenet.json", 0},
    {"evaluate --pairs {S} --images {LFW}", "{S}", 0},
    {"evaluate --pairs {PAIRS} --train-pairs {S} --images {LFW}", "{S}", 0},
    {"evaluate --pairs {PAIRS} --images {S}", "{S}", 1},
    {"evaluate --pairs {PAIRS} --images {LFW} --landmarks {S}", "{S}", 0},
    {"evaluate --pairs {PAIRS} --images {LFW} --model {T}/mdir_{K}", "mdir_{K}/facenet.json", 0},
    {"trace {S}", "{S}", 0},
    {"trace --raw {S}", "{S}", 0},
    {"trace --landmarks {S} {IMG}", "{S}", 0},
    {"trace --model {T}/mdir_{K} {IMG}", "mdir_{K}/facenet.json", 0},
    {"trace --model {T}/mj_{K} {IMG}", "mj_{K}/model.json", 0},
    {"db list --db {S}", "{S}", 0},
    {"db check --db {S}", "{S}", 0},
    {"db reenroll --db {S}", "{S}", 0},
    {"db reenroll --db {T}/gp_{K}.db", "{T}/p_{K}.jpg", 0},
    {"db reenroll --db {DB} --model {T}/mdir_{K}", "mdir_{K}/facenet.json", 0},
    {"merge -o {T}/m.npy {S}", "{S}", 0},
    {"merge -o {T}/m.npy {SHARD} {S}", "{S}", 0},
    {"merge -o {T}/m.npy {T}/sh_{K}.h5", "sh_{K}.h5", 0},
    {"merge -o {T}/m.npy {T}/sd_{K}.npy", "sd_{K}.npy.json", 0},
};

static void test_special_files(void **state)
{
    (void)state;
    /* absolute paths: the commands run from the temporary folder */
    char img[PATH_MAX], pairs[PATH_MAX], lfw[PATH_MAX], model[PATH_MAX], fbin[PATH_MAX], fifo[4096], dir[4096];
    assert_non_null(realpath(tu_shared("images/happy-house/camera_0.jpg"), img));
    assert_non_null(realpath(tu_shared("lfw/pairsDevTest.txt"), pairs));
    assert_non_null(realpath(tu_shared("lfw/deepfunneled"), lfw));
    assert_non_null(realpath("weights/dlib-resnet", model)); /* make test runs from the top */
    assert_non_null(realpath(tu_build("facenet"), fbin));
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    snprintf(dir, sizeof dir, "%s/folder", tmpdir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    /* the valid inputs beside the bad one: a gallery, a raw input, a shard */
    sh("'%s' enroll --no-detect --db '%s/g.db' alice '%s'", fbin, tmpdir, img);
    sh("'%s' encode --no-detect -o '%s/shard.npy' '%s'", fbin, tmpdir, img);
    tu_write_text(tu_path_in(tmpdir, "in.f32"), "0000");
    const char *kinds[] = {"fifo", "dev", "dir"}, *specials[] = {fifo, "/dev/null", dir};
    for (int k = 0; k < 3; k++) {
        const char *K = kinds[k], *S = specials[k];
        /* model folders with one file replaced by S; a shard whose .h5 or sidecar is S;
         * encode --resume's output S; a gallery whose stored photo became S */
        sh("cd '%s' && mkdir mdir_%s mj_%s mh_%s && ln -s %s/model.json %s/model.h5 mdir_%s/ && ln -s '%s' "
           "mdir_%s/facenet.json && ln -s %s/model.h5 %s/facenet.json mj_%s/ && ln -s '%s' mj_%s/model.json && "
           "ln -s %s/model.json %s/facenet.json mh_%s/ && ln -s '%s' mh_%s/model.h5",
           tmpdir, K, K, K, model, model, K, S, K, model, model, K, S, K, model, model, K, S, K);
        sh("cd '%s' && ln -s '%s' sh_%s.h5 && cp shard.npy sd_%s.npy && cp shard.txt sd_%s.txt && ln -s '%s' "
           "sd_%s.npy.json && ln -s '%s' rs_%s.npy",
           tmpdir, S, K, K, K, S, K, S, K);
        sh("cd '%s' && cp '%s' p_%s.jpg && '%s' enroll --no-detect --db gp_%s.db bob p_%s.jpg && rm p_%s.jpg && "
           "ln -s '%s' p_%s.jpg",
           tmpdir, img, K, fbin, K, K, K, S, K);
        const char *keys[] = {"{S}", "{K}", "{T}", "{IMG}", "{DB}", "{RAW}", "{SHARD}", "{PAIRS}", "{LFW}", NULL};
        char db[4096], raw[4096], shard[4096];
        snprintf(db, sizeof db, "%s/g.db", tmpdir);
        snprintf(raw, sizeof raw, "%s/in.f32", tmpdir);
        snprintf(shard, sizeof shard, "%s/shard.npy", tmpdir);
        const char *vals[] = {S, K, tmpdir, img, db, raw, shard, pairs, lfw, NULL};
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            if (k == 2 && cases[c].skip_dir)
                continue;
            char body[8192], cmd[8192 + 2 * PATH_MAX + 64], name[4096];
            expand(cases[c].cmd, keys, vals, body, sizeof body);
            expand(cases[c].name, keys, vals, name, sizeof name);
            /* the photo stored in gp_K.db is p_K.jpg: relative to where enroll ran */
            if (strstr(cases[c].name, "p_{K}.jpg"))
                snprintf(name, sizeof name, "p_%s.jpg", K);
            snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' %s", tmpdir, fbin, body);
            char *out, *err;
            int st = tu_run(cmd, &out, &err);
            if (st != 2 || !names_it(err, name))
                fail_msg("%s: status %d (want 2 and a line naming %s), stderr: %s", body, st, name, err);
            free(out), free(err);
        }
    }
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
