/* test_long_jobs.c - work is never lost and models are known by what they compute:
 *  - converting the model again (other file bytes) keeps the fingerprint, so galleries
 *    keep working; a profile change that alters embeddings changes it, the threshold not;
 *  - a gallery with an old-style fingerprint is refused with a message naming
 *    `db reenroll`, which moves it (all photos or none; --skip-missing drops the
 *    unreadable); `db info` shows the model;
 *  - encode to an unwritable output fails before decoding any image;
 *  - encode killed mid-run then --resume equals one uninterrupted run (every format),
 *    re-encoding only the missing images; outputs carry provenance;
 *  - merge of shards equals one encode and refuses gaps, repeats, overlaps, other models;
 *    the GNU parallel recipe (examples/parallel.sh) gives the same file;
 *  - enroll DIR/Name/photo.jpg: one transaction per person, repeats and photos already
 *    enrolled (same path or same bytes) skipped. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "io/embeddings.h"
#include "lib/testutil.h"

static char *tmp, fn[PATH_MAX], model[PATH_MAX], hh[PATH_MAX], lfw[PATH_MAX], list300[PATH_MAX + 16];

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        fail_msg("command line too long");
}

/* facenet with the default model and the given arguments, run in tmp */
__attribute__((format(printf, 3, 4))) static int fnrun(char **out, char **err, const char *f, ...)
{
    static char args[32768], cmd[40000];
    va_list ap;
    va_start(ap, f);
    vsnprintf(args, sizeof args, f, ap);
    va_end(ap);
    fmt(cmd, sizeof cmd, "cd '%s' && '%s' %s", tmp, fn, args);
    char *o = NULL, *e = NULL;
    int st = tu_run(cmd, &o, &e);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return st;
}

static int sh(const char *cmd)
{
    char *o, *e;
    int st = tu_run(cmd, &o, &e);
    if (st)
        print_message("command failed (%d): %s\n%s%s", st, cmd, o, e);
    free(o), free(e);
    return st;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = tu_read(tu_path_in(tmp, a), &la), *y = tu_read(tu_path_in(tmp, b), &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x), free(y);
    return same;
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    if (!tmp || !realpath(tu_build("facenet"), fn) || !realpath("weights/dlib-resnet", model) ||
        !realpath(tu_shared("images/happy-house"), hh) || !realpath(tu_shared("lfw/deepfunneled"), lfw))
        return -1;
    /* 300 LFW photos: long enough (a few seconds) to kill an encode in the middle */
    char cmd[8192];
    fmt(list300, sizeof list300, "%s/list300.txt", tmp);
    fmt(cmd, sizeof cmd, "find '%s' -name '*.jpg' | LC_ALL=C sort | head -300 > '%s'", lfw, list300);
    if (sh(cmd))
        return -1;
    setenv("FACENET_MODEL", model, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* "fingerprint:  X ..." of facenet info for a model folder */
static void info_fp(const char *dir, char out[64])
{
    char *o;
    assert_int_equal(fnrun(&o, NULL, "info --model '%s'", dir), 0);
    const char *p = strstr(o, "fingerprint:");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "fingerprint: %63s", out), 1);
    free(o);
}

static void test_fingerprint_survives_reconversion(void **state)
{
    (void)state;
    char cmd[8192], a[PATH_MAX + 8], b[PATH_MAX + 8], fa[64], fb[64], fm[64];
    const char *conv = tu_build("tools/faceapi2keras");
    fmt(a, sizeof a, "%s/conv-a", tmp);
    fmt(b, sizeof b, "%s/conv-b", tmp);
    /* the same package converted twice: HDF5 writes times, so the bytes differ */
    fmt(cmd, sizeof cmd,
        "m=weights/.cache/face-api-1.7.15/model/face_recognition_model-weights_manifest.json; "
        "'%s' $m '%s' >/dev/null && sleep 1.1 && '%s' $m '%s' >/dev/null && ! cmp -s '%s/model.h5' '%s/model.h5'",
        conv, a, conv, b, a, b);
    assert_int_equal(sh(cmd), 0);
    info_fp(a, fa);
    info_fp(b, fb);
    info_fp(model, fm);
    assert_string_equal(fa, fb);
    assert_string_equal(fa, fm);
    /* a gallery enrolled with one conversion verifies with the other */
    assert_int_equal(fnrun(NULL, NULL, "enroll --no-detect --model '%s' --db fp.db andrew '%s/andrew.jpg'", a, hh), 0);
    char *o, *e;
    int st = fnrun(&o, &e, "verify --no-detect --model '%s' --db fp.db andrew '%s/camera_0.jpg'", b, hh);
    if (st != 0)
        fail_msg("verify with the reconverted model: status %d, %s%s", st, o, e);
    free(o), free(e);
    /* the threshold does not change embeddings (same gallery), l2_normalize does */
    fmt(cmd, sizeof cmd,
        "cd '%s' && sed 's/\"threshold\":[[:space:]]*[0-9.]*/\"threshold\": 0.5/' conv-a/facenet.json > t.json && "
        "! cmp -s t.json conv-a/facenet.json && mv t.json conv-a/facenet.json && "
        "sed 's/\"l2_normalize\":[[:space:]]*false/\"l2_normalize\": true/' conv-b/facenet.json > t.json && "
        "! cmp -s t.json conv-b/facenet.json && mv t.json conv-b/facenet.json",
        tmp);
    assert_int_equal(sh(cmd), 0);
    /* same gallery, stricter decision: distance 0.507 is no match at 0.5 (exit 1, not 2) */
    assert_int_equal(fnrun(NULL, NULL, "verify --no-detect --model '%s' --db fp.db andrew '%s/camera_0.jpg'", a, hh), 1);
    st = fnrun(&o, &e, "verify --no-detect --model '%s' --db fp.db andrew '%s/camera_0.jpg'", b, hh);
    assert_int_equal(st, 2);
    assert_non_null(strstr(e, "db reenroll"));
    free(o), free(e);
}

static void set_model_fp(const char *db, const char *fp)
{
    sqlite3 *s;
    char sql[256];
    assert_int_equal(sqlite3_open(tu_path_in(tmp, db), &s), SQLITE_OK);
    fmt(sql, sizeof sql, "UPDATE meta SET value = '%s' WHERE key = 'model_fp'", fp);
    assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(s);
}

static void test_legacy_gallery_and_reenroll(void **state)
{
    (void)state;
    char cmd[8192];
    fmt(cmd, sizeof cmd, "cd '%s' && mkdir -p re && cp '%s/andrew.jpg' '%s/arnaud.jpg' re/", tmp, hh, hh);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(NULL, NULL, "enroll --no-detect --db re.db andrew re/andrew.jpg"), 0);
    assert_int_equal(fnrun(NULL, NULL, "enroll --no-detect --db re.db arnaud re/arnaud.jpg"), 0);
    /* an old facenet's fingerprint: 32 hex digits of the files' bytes */
    set_model_fp("re.db", "0123456789abcdef0123456789abcdef");
    char *o, *e;
    assert_int_equal(fnrun(&o, &e, "verify --no-detect --db re.db andrew '%s/camera_0.jpg'", hh), 2);
    assert_non_null(strstr(e, "older facenet"));
    assert_non_null(strstr(e, "facenet db reenroll --db re.db"));
    free(o), free(e);
    assert_int_equal(fnrun(&o, NULL, "db info --db re.db --json"), 0);
    assert_non_null(strstr(o, "\"legacy_fingerprint\":true"));
    assert_non_null(strstr(o, "\"people\":2"));
    assert_non_null(strstr(o, "\"photos\":2"));
    free(o);
    /* a missing photo fails the whole reenroll, naming it; the gallery is unchanged */
    fmt(cmd, sizeof cmd, "cd '%s' && mv re/arnaud.jpg re/gone.jpg", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, &e, "db reenroll --no-detect --db re.db"), 2);
    assert_non_null(strstr(e, "re/arnaud.jpg"));
    assert_non_null(strstr(e, "unchanged"));
    free(o), free(e);
    assert_int_equal(fnrun(&o, NULL, "db info --db re.db --json"), 0);
    assert_non_null(strstr(o, "0123456789abcdef0123456789abcdef"));
    free(o);
    fmt(cmd, sizeof cmd, "cd '%s' && mv re/gone.jpg re/arnaud.jpg", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, NULL, "db reenroll --no-detect --db re.db --json"), 0);
    assert_non_null(strstr(o, "\"reenrolled\":2"));
    free(o);
    assert_int_equal(fnrun(NULL, NULL, "verify --no-detect --db re.db andrew '%s/camera_0.jpg'", hh), 0);
    assert_int_equal(fnrun(&o, NULL, "db info --db re.db --json"), 0);
    assert_non_null(strstr(o, "\"legacy_fingerprint\":false"));
    assert_non_null(strstr(o, "\"threshold\":0.6"));
    free(o);
    /* --skip-missing drops what cannot be read (and a person left without photos) */
    set_model_fp("re.db", "0123456789abcdef0123456789abcdef");
    fmt(cmd, sizeof cmd, "cd '%s' && rm re/arnaud.jpg", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, NULL, "db reenroll --no-detect --db re.db --skip-missing --json"), 0);
    assert_non_null(strstr(o, "\"dropped\":1"));
    free(o);
    assert_int_equal(fnrun(&o, NULL, "db list --db re.db"), 0);
    assert_non_null(strstr(o, "andrew"));
    assert_null(strstr(o, "arnaud"));
    free(o);
    assert_int_equal(fnrun(NULL, NULL, "db check --db re.db"), 0);
}

static void test_unwritable_output_fails_first(void **state)
{
    (void)state;
    char cmd[8192];
    /* an unreadable image first in the list: decoding it would be reported */
    fmt(cmd, sizeof cmd, "cd '%s' && printf 'not a jpeg' > bad.jpg && mkdir -p ro && chmod 555 ro", tmp);
    assert_int_equal(sh(cmd), 0);
    char *o, *e;
    assert_int_equal(fnrun(&o, &e, "encode --no-detect -o nodir/x.npy bad.jpg @%s", list300), 2);
    assert_non_null(strstr(e, "nodir/x.npy"));
    assert_null(strstr(e, "bad.jpg"));
    free(o), free(e);
    if (geteuid() != 0) { /* root writes anywhere */
        assert_int_equal(fnrun(&o, &e, "encode --no-detect -o ro/x.h5 bad.jpg @%s", list300), 2);
        assert_non_null(strstr(e, "ro/x.h5"));
        assert_null(strstr(e, "bad.jpg"));
        free(o), free(e);
    }
    assert_int_equal(fnrun(&o, &e, "encode --no-detect -o ok.csv -o nodir/y.h5 bad.jpg"), 2);
    assert_null(strstr(e, "bad.jpg"));
    assert_int_equal(access(tu_path_in(tmp, "ok.csv"), F_OK), -1);
    free(o), free(e);
}

static int csv_rows(const char *name)
{
    char *t = tu_read(tu_path_in(tmp, name), NULL);
    int n = -1;
    for (char *p = t; p && *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

static void test_resume_after_kill(void **state)
{
    (void)state;
    char cmd[16384];
    /* the uninterrupted run */
    assert_int_equal(fnrun(NULL, NULL, "encode --no-detect --threads 1 -o full.csv -o full.npy -o full.h5 @%s", list300), 0);
    /* killed as soon as its first checkpoint is on disk */
    fmt(cmd, sizeof cmd,
        "cd '%s' && { '%s' encode --no-detect --threads 1 --checkpoint 0.01 -o part.csv -o part.npy -o part.h5 @%s 2>/dev/null & "
        "p=$!; for i in $(seq 3000); do [ -f part.h5 ] && break; sleep 0.01; done; kill -9 $p; wait $p; true; }",
        tmp, fn, list300);
    assert_int_equal(sh(cmd), 0);
    int done = csv_rows("part.csv");
    if (done <= 0 || done >= 300)
        fail_msg("the killed run left %d of 300 rows (want some, not all)", done);
    char *o, *e;
    assert_int_equal(fnrun(&o, &e, "encode --no-detect --threads 1 --resume -o part.csv -o part.npy -o part.h5 @%s", list300), 0);
    char want[64];
    fmt(want, sizeof want, "encoded %d images", 300 - done);
    if (!strstr(e, want))
        fail_msg("resume after %d rows: want '%s', got %s", done, want, e);
    free(o), free(e);
    assert_true(same_file("part.csv", "full.csv"));
    assert_true(same_file("part.npy", "full.npy"));
    assert_true(same_file("part.txt", "full.txt"));
    fn_emb_set a, b;
    fn_err err;
    assert_int_equal(fn_read_embeddings(tu_path_in(tmp, "part.h5"), 0, &a, &err), 0);
    assert_int_equal(fn_read_embeddings(tu_path_in(tmp, "full.h5"), 0, &b, &err), 0);
    assert_int_equal(a.n, 300);
    assert_int_equal(b.n, 300);
    assert_memory_equal(a.emb, b.emb, sizeof(float) * 300 * (size_t)a.dim);
    for (int i = 0; i < 300; i++) {
        assert_string_equal(a.paths[i], b.paths[i]);
        assert_int_equal(a.index[i], i);
    }
    /* provenance: the model's fingerprint, the profile, the version, the counts */
    assert_true(a.has_meta);
    assert_int_equal(strncmp(a.meta.model, "v2-", 3), 0);
    assert_string_equal(a.meta.model, b.meta.model);
    assert_non_null(strstr(a.meta.version, "facenet "));
    assert_true(a.meta.threshold > 0);
    assert_int_equal(a.meta.l2_normalize, 0); /* dlib's descriptor is not normalised */
    assert_int_equal(a.meta.total, 300);
    fn_emb_set_free(&a);
    fn_emb_set_free(&b);
    char *side = tu_read(tu_path_in(tmp, "full.npy.json"), NULL);
    assert_non_null(side);
    assert_non_null(strstr(side, "\"rows\":300"));
    assert_non_null(strstr(side, "\"dim\":128"));
    assert_non_null(strstr(side, "\"model\":\"v2-"));
    free(side);
    /* resuming a finished output encodes nothing and changes nothing */
    assert_int_equal(fnrun(&o, &e, "encode --no-detect --resume -o part.csv @%s", list300), 0);
    assert_non_null(strstr(e, "encoded 0 images"));
    assert_true(same_file("part.csv", "full.csv"));
    free(o), free(e);
}

static void test_merge(void **state)
{
    (void)state;
    char cmd[8192];
    assert_int_equal(fnrun(NULL, NULL, "encode --no-detect --batch 1 -o one.csv '%s'", hh), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(fnrun(NULL, NULL, "encode --no-detect --batch 1 --shard %d/3 -o sh%d.%s '%s'", k, k,
                               k == 1 ? "npy" : "h5", hh),
                         0);
    assert_int_equal(fnrun(NULL, NULL, "merge -o merged.csv sh2.h5 sh0.h5 sh1.npy"), 0);
    assert_true(same_file("merged.csv", "one.csv"));
    char *o, *e;
    assert_int_equal(fnrun(&o, &e, "merge -o m.csv sh0.h5 sh2.h5"), 2);
    assert_non_null(strstr(e, "1/3"));
    assert_non_null(strstr(e, "missing"));
    free(o), free(e);
    assert_int_equal(fnrun(&o, &e, "merge -o m.csv sh0.h5 sh1.npy sh1.npy sh2.h5"), 2);
    assert_non_null(strstr(e, "twice"));
    free(o), free(e);
    assert_int_equal(fnrun(&o, &e, "merge -o m.csv sh0.h5 one.csv"), 2);
    assert_non_null(strstr(e, "overlap"));
    free(o), free(e);
    /* a shard of another model */
    fmt(cmd, sizeof cmd, "cd '%s' && sed -i 's/\"model\":\"v2-/\"model\":\"v2-0/' sh1.npy.json", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, &e, "merge -o m.csv sh0.h5 sh1.npy sh2.h5"), 2);
    assert_non_null(strstr(e, "mix models"));
    free(o), free(e);
    assert_int_equal(access(tu_path_in(tmp, "m.csv"), F_OK), -1);
    /* a .csv whose last row lost its end (cut by a kill) is refused outside --resume */
    fmt(cmd, sizeof cmd, "cd '%s' && head -c -1 one.csv > cut.csv && cp one.csv.json cut.csv.json", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, &e, "merge -o m.h5 cut.csv"), 2);
    assert_non_null(strstr(e, "cut.csv: row"));
    free(o), free(e);
}

/* the same with face detection (rows are faces): the course photos, a checkpoint
 * after every few images (--batch 1) */
static void test_resume_faces_after_kill(void **state)
{
    (void)state;
    char cmd[16384];
    assert_int_equal(fnrun(NULL, NULL, "encode --threads 1 --batch 1 -o ffull.csv '%s'", hh), 0);
    fmt(cmd, sizeof cmd,
        "cd '%s' && { '%s' encode --threads 1 --batch 1 --checkpoint 0.01 -o fpart.csv '%s' 2>/dev/null & "
        "p=$!; for i in $(seq 3000); do [ -f fpart.csv ] && break; sleep 0.01; done; kill -9 $p; wait $p; true; }",
        tmp, fn, hh);
    assert_int_equal(sh(cmd), 0);
    int done = csv_rows("fpart.csv");
    if (done <= 0 || done >= csv_rows("ffull.csv"))
        fail_msg("the killed run left %d face rows (want some, not all)", done);
    assert_int_equal(fnrun(NULL, NULL, "encode --threads 1 --batch 1 --resume -o fpart.csv '%s'", hh), 0);
    assert_true(same_file("fpart.csv", "ffull.csv"));
    /* a file of face rows is not resumed by a run without detection */
    char *o, *e;
    assert_int_equal(fnrun(&o, &e, "encode --no-detect --resume -o fpart.csv '%s'", hh), 2);
    assert_non_null(strstr(e, "detected faces"));
    free(o), free(e);
}

static void test_parallel_recipe(void **state)
{
    (void)state;
    char cmd[8192];
    if (sh("command -v parallel >/dev/null"))
        fail_msg("GNU parallel is not installed (scripts/setup.sh installs it)");
    /* with face detection (the default): the rows are faces, with face, box and score */
    assert_int_equal(fnrun(NULL, NULL, "encode --batch 1 -o single.h5 '%s'", hh), 0);
    fmt(cmd, sizeof cmd,
        "cd '%s' && FACENET='%s' FACENET_OPTS='--batch 1' bash '%s/examples/parallel.sh' par.h5 4 '%s'", tmp, fn,
        getcwd((char[PATH_MAX]){0}, PATH_MAX), hh);
    assert_int_equal(sh(cmd), 0);
    fn_emb_set a, b;
    fn_err err;
    assert_int_equal(fn_read_embeddings(tu_path_in(tmp, "par.h5"), 0, &a, &err), 0);
    assert_int_equal(fn_read_embeddings(tu_path_in(tmp, "single.h5"), 0, &b, &err), 0);
    assert_int_equal(a.n, b.n);
    assert_true(a.n >= 18);
    assert_memory_equal(a.emb, b.emb, sizeof(float) * (size_t)a.n * (size_t)a.dim);
    for (int i = 0; i < a.n; i++)
        assert_string_equal(a.paths[i], b.paths[i]);
    assert_non_null(a.faces6);
    assert_non_null(b.faces6);
    assert_memory_equal(a.faces6, b.faces6, sizeof(float) * 6 * (size_t)a.n);
    assert_string_equal(a.meta.model, b.meta.model);
    assert_int_equal(a.meta.shard_n, 0);
    fn_emb_set_free(&a);
    fn_emb_set_free(&b);
    assert_int_equal(access(tu_path_in(tmp, "par.h5.shards"), F_OK), -1);
}

static void test_enroll_tree(void **state)
{
    (void)state;
    char cmd[8192];
    fmt(cmd, sizeof cmd,
        "cd '%s' && mkdir -p known/Andrew known/Arnaud known/Broken && cp '%s/andrew.jpg' known/Andrew/a1.jpg && "
        "cp '%s/andrew.jpg' known/Andrew/a2.jpg && cp '%s/arnaud.jpg' known/Arnaud/ && "
        "printf 'not a jpeg' > known/Broken/x.jpg && cp '%s/benoit.jpg' known/Broken/ && touch known/loose.jpg",
        tmp, hh, hh, hh, hh);
    assert_int_equal(sh(cmd), 0);
    char *o, *e;
    /* Broken has an unreadable photo: not enrolled, the others are; status 2 */
    assert_int_equal(fnrun(&o, &e, "enroll --no-detect --db tree.db known --json"), 2);
    assert_non_null(strstr(o, "{\"enrolled\":\"Andrew\",\"photos\":1,\"skipped\":1"));
    assert_non_null(strstr(o, "{\"enrolled\":\"Arnaud\",\"photos\":1,\"skipped\":0"));
    assert_null(strstr(o, "Broken"));
    assert_non_null(strstr(e, "a2.jpg: the same photo as"));
    assert_non_null(strstr(e, "loose.jpg: not in a person's folder"));
    assert_non_null(strstr(e, "known/Broken/x.jpg"));
    free(o), free(e);
    /* again, with Broken fixed and a copy of a known photo under a new name */
    fmt(cmd, sizeof cmd, "cd '%s' && rm known/Broken/x.jpg && cp known/Arnaud/arnaud.jpg known/Arnaud/copy.jpg", tmp);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(fnrun(&o, &e, "enroll --no-detect --db tree.db known --json"), 0);
    assert_non_null(strstr(o, "{\"enrolled\":\"Andrew\",\"photos\":0,\"skipped\":2"));
    assert_non_null(strstr(o, "{\"enrolled\":\"Arnaud\",\"photos\":0,\"skipped\":2"));
    assert_non_null(strstr(o, "{\"enrolled\":\"Broken\",\"photos\":1,\"skipped\":0"));
    assert_non_null(strstr(e, "copy.jpg: already enrolled for Arnaud as known/Arnaud/arnaud.jpg"));
    free(o), free(e);
    assert_int_equal(fnrun(&o, NULL, "db info --db tree.db --json"), 0);
    assert_non_null(strstr(o, "\"people\":3"));
    assert_non_null(strstr(o, "\"photos\":3"));
    free(o);
    assert_int_equal(fnrun(NULL, NULL, "db check --db tree.db"), 0);
    assert_int_equal(fnrun(NULL, NULL, "db remove --db tree.db Arnaud"), 0);
    assert_int_equal(fnrun(NULL, NULL, "db check --db tree.db"), 0);
    assert_int_equal(fnrun(&o, NULL, "identify --db tree.db '%s/camera_0.jpg'", hh), 0);
    assert_non_null(strstr(o, "Andrew"));
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_survives_reconversion),
        cmocka_unit_test(test_legacy_gallery_and_reenroll),
        cmocka_unit_test(test_unwritable_output_fails_first),
        cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_resume_faces_after_kill),
        cmocka_unit_test(test_parallel_recipe),
        cmocka_unit_test(test_enroll_tree),
    };
    return cmocka_run_group_tests_name("long jobs, model identity, merge", tests, setup, teardown);
}
