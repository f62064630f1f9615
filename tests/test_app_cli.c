/* test_app_cli.c - the application from the command line, with the golden
 * keras-facenet-mini weights (the trained course weights are not available):
 *  - the office scenario: enroll 12 people, verify, identify, distance; every printed
 *    distance equals the one computed from `encode` output, decisions follow the
 *    threshold, exit statuses are 0 / 1 / 2 as documented;
 *  - encode: .npy/.csv/.h5 written by one run hold identical numbers; --shard over 3
 *    processes gives the same embeddings as one run (all 4992 LFW images; under the
 *    sanitizer build FACENET_TEST_LFW_LIMIT limits the count, printed below);
 *  - bad input: missing, empty, truncated and non-image files, a 100000x100000 PNG
 *    header, a corrupt gallery, an unknown name, a model/gallery mismatch: one line
 *    on stderr, status 2, gallery unchanged;
 *  - evaluate on a small pairs file (with a missing image counted as skipped). */
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/testutil.h"

static char *tmp, model[8192], db[4300], hh[4200];
static const char *people[] = {"andrew", "arnaud", "benoit", "bertrand", "dan", "danielle",
                               "felix", "kevin", "kian", "sebastiano", "tian", "younes"};

static const char *img(const char *name)
{
    static char buf[8][4400];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s.%s", hh, name, strcmp(name, "danielle") ? "jpg" : "png");
    return b;
}

static int run(const char *args, char **out, char **err)
{
    static char cmd[65536];
    snprintf(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    return tu_run(cmd, out, err);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    snprintf(model, sizeof model, "--model-json %s --weights %s", tu_shared("golden/keras-facenet-mini/model.json"),
             tu_shared("golden/keras-facenet-mini/seed11/model.h5"));
    snprintf(db, sizeof db, "%s/office.db", tmp);
    snprintf(hh, sizeof hh, "%s", tu_shared("images/happy-house"));
    return tmp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = tu_rmtree(tmp);
    free(tmp);
    return rc;
}

/* embeddings of the 18 photos via `encode --json`, by base name */
static float E[18][128];
static const char *enames[18];

static int eidx(const char *name)
{
    for (int i = 0; i < 18; i++)
        if (enames[i] && !strcmp(enames[i], name))
            return i;
    fail_msg("no embedding for %s", name);
    return -1;
}

static float dist(const char *a, const char *b)
{
    double s = 0;
    for (int i = 0; i < 128; i++) {
        double d = (double)E[eidx(a)][i] - E[eidx(b)][i];
        s += d * d;
    }
    return (float)sqrt(s);
}

static void test_office_scenario(void **state)
{
    (void)state;
    char args[60000], *out, *err;
    /* encode everything once */
    snprintf(args, sizeof args, "encode %s --json %s", model, hh);
    assert_int_equal(run(args, &out, &err), 0);
    char *line = out;
    for (int k = 0; k < 18; k++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        const char *p = cJSON_GetObjectItem(j, "image")->valuestring;
        const char *base = strrchr(p, '/') + 1;
        enames[k] = strndup(base, strcspn(base, "."));
        size_t n;
        float *v = tu_json_floats(cJSON_GetObjectItem(j, "embedding"), &n);
        assert_int_equal(n, 128);
        memcpy(E[k], v, sizeof E[k]);
        double norm = 0;
        for (int i = 0; i < 128; i++)
            norm += (double)v[i] * v[i];
        assert_true(fabs(norm - 1) < 1e-5); /* L2-normalised (course default) */
        free(v);
        cJSON_Delete(j);
        line = nl + 1;
    }
    free(out), free(err);
    /* enroll the 12 */
    for (int i = 0; i < 12; i++) {
        snprintf(args, sizeof args, "enroll %s --db %s %s %s", model, db, people[i], img(people[i]));
        assert_int_equal(run(args, &out, &err), 0);
        free(out), free(err);
    }
    snprintf(args, sizeof args, "db list --db %s --json", db);
    assert_int_equal(run(args, &out, &err), 0);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 12);
    free(out), free(err);
    /* verify: distance from encode output, decision by threshold, status 0/1 */
    const char *cases[2][2] = {{"younes", "camera_0"}, {"kian", "camera_2"}};
    for (int c = 0; c < 2; c++) {
        float d = dist(cases[c][0], cases[c][1]);
        double thrs[3] = {0.7, d * 0.99, d * 1.01};
        for (int t = 0; t < 3; t++) {
            snprintf(args, sizeof args, "verify %s --db %s %s %s/%s.jpg --threshold %.9g --json", model, db, cases[c][0],
                     hh, cases[c][1], thrs[t]);
            int st = run(args, &out, &err);
            cJSON *j = cJSON_Parse(out);
            assert_non_null(j);
            double got = cJSON_GetObjectItem(j, "distance")->valuedouble;
            assert_true(fabs(got - d) < 1e-5);
            int match = cJSON_IsTrue(cJSON_GetObjectItem(j, "match"));
            assert_int_equal(match, d < thrs[t]);
            assert_int_equal(st, d < thrs[t] ? 0 : 1);
            printf("  verify %s as %s: distance %.4f, threshold %.4f -> status %d\n", cases[c][1], cases[c][0], got, thrs[t], st);
            cJSON_Delete(j);
            free(out), free(err);
        }
    }
    /* identify: nearest identity and its distance; unknown above the threshold */
    double thrs[2] = {0.7, 10.0};
    for (int t = 0; t < 2; t++) {
        snprintf(args, sizeof args, "identify %s --db %s --json --threshold %g %s/camera_0.jpg %s/camera_1.jpg "
                 "%s/camera_2.jpg %s/camera_3.jpg %s/camera_4.jpg %s/camera_5.jpg", model, db, thrs[t], hh, hh, hh, hh, hh, hh);
        assert_int_equal(run(args, &out, &err), 0);
        char *l = out;
        for (int k = 0; k < 6; k++) {
            char *nl = strchr(l, '\n'), cam[16];
            assert_non_null(nl);
            *nl = '\0';
            snprintf(cam, sizeof cam, "camera_%d", k);
            cJSON *j = cJSON_Parse(l);
            int best = 0;
            for (int i = 1; i < 12; i++)
                if (dist(cam, people[i]) < dist(cam, people[best]))
                    best = i;
            assert_string_equal(cJSON_GetObjectItem(j, "closest")->valuestring, people[best]);
            double d = cJSON_GetObjectItem(j, "distance")->valuedouble;
            assert_true(fabs(d - dist(cam, people[best])) < 1e-5);
            const cJSON *id = cJSON_GetObjectItem(j, "identity");
            if (d < thrs[t])
                assert_string_equal(id->valuestring, people[best]);
            else
                assert_true(cJSON_IsNull(id));
            cJSON_Delete(j);
            l = nl + 1;
        }
        free(out), free(err);
    }
    /* distance matrix */
    snprintf(args, sizeof args, "distance %s --json %s %s %s", model, img("younes"), img("kian"), img("danielle"));
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    const char *nm[3] = {"younes", "kian", "danielle"};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double d = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "distances"), a), b)->valuedouble;
            assert_true(fabs(d - dist(nm[a], nm[b])) < 1e-5);
        }
    cJSON_Delete(j);
    free(out), free(err);
    snprintf(args, sizeof args, "db check --db %s", db);
    assert_int_equal(run(args, &out, &err), 0);
    free(out), free(err);
}

/* one line on stderr, status 2, containing needle */
static void expect_fail(const char *args, const char *needle)
{
    char *out, *err;
    int st = run(args, &out, &err);
    if (st != 2)
        fail_msg("status %d (want 2): %s\nstderr: %s", st, args, err);
    char *nl = strchr(err, '\n');
    assert_non_null(nl);
    if (nl[1])
        fail_msg("more than one stderr line: %s", err);
    if (needle && !strstr(err, needle))
        fail_msg("stderr '%s' lacks '%s'", err, needle);
    free(out), free(err);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static char *gallery_snapshot(void)
{
    char args[8000], *out, *err;
    snprintf(args, sizeof args, "db list --db %s --json", db);
    assert_int_equal(run(args, &out, &err), 0);
    free(err);
    return out;
}

static void test_bad_input_keeps_gallery(void **state)
{
    (void)state;
    char args[60000], p[4400];
    char *before = gallery_snapshot();
    /* missing / empty / truncated / text / huge */
    snprintf(p, sizeof p, "%s/missing.jpg", tmp);
    snprintf(args, sizeof args, "enroll %s --db %s ghost %s", model, db, p);
    expect_fail(args, "missing.jpg");
    snprintf(p, sizeof p, "%s/empty.jpg", tmp);
    tu_write(p, "", 0);
    snprintf(args, sizeof args, "enroll %s --db %s ghost %s", model, db, p);
    expect_fail(args, "empty.jpg");
    size_t len;
    char *jpg = tu_read(img("younes"), &len);
    snprintf(p, sizeof p, "%s/trunc.jpg", tmp);
    tu_write(p, jpg, len / 2);
    free(jpg);
    snprintf(args, sizeof args, "enroll %s --db %s ghost %s %s", model, db, img("kian"), p);
    expect_fail(args, "trunc.jpg");
    snprintf(p, sizeof p, "%s/notes.png", tmp);
    tu_write(p, "hello, world\n", 13);
    snprintf(args, sizeof args, "identify %s --db %s %s", model, db, p);
    expect_fail(args, "notes.png");
    unsigned char png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                             0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0};
    uint32_t crc = crc32_of(png + 12, 17);
    png[29] = crc >> 24, png[30] = crc >> 16, png[31] = crc >> 8, png[32] = crc;
    snprintf(p, sizeof p, "%s/huge.png", tmp);
    tu_write(p, png, sizeof png);
    snprintf(args, sizeof args, "enroll %s --db %s ghost %s", model, db, p);
    expect_fail(args, "huge.png");
    /* unknown name */
    snprintf(args, sizeof args, "verify %s --db %s nobody %s", model, db, img("kian"));
    expect_fail(args, "nobody");
    /* a different model for this gallery (seed12 weights) */
    snprintf(args, sizeof args, "enroll --weights %s --db %s ghost %s", tu_shared("golden/keras-facenet-mini/seed12/model.h5"),
             db, img("kian"));
    expect_fail(args, "model");
    snprintf(args, sizeof args, "verify --weights %s --db %s kian %s", tu_shared("golden/keras-facenet-mini/seed12/model.h5"),
             db, img("kian"));
    expect_fail(args, "model");
    /* bad name */
    snprintf(args, sizeof args, "enroll %s --db %s 'bad\tname' %s", model, db, img("kian"));
    expect_fail(args, NULL);
    char *after = gallery_snapshot();
    assert_string_equal(before, after);
    free(before), free(after);
    snprintf(args, sizeof args, "db check --db %s", db);
    char *out, *err;
    assert_int_equal(run(args, &out, &err), 0);
    free(out), free(err);
    /* corrupt gallery file: refused, untouched */
    snprintf(p, sizeof p, "%s/corrupt.db", tmp);
    unsigned char junk[3000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 7919 + 13);
    tu_write(p, junk, sizeof junk);
    snprintf(args, sizeof args, "enroll %s --db %s kian %s", model, p, img("kian"));
    expect_fail(args, "corrupt.db");
    snprintf(args, sizeof args, "identify %s --db %s %s", model, p, img("kian"));
    expect_fail(args, "corrupt.db");
    char *now = tu_read(p, &len);
    assert_int_equal(len, sizeof junk);
    assert_memory_equal(now, junk, sizeof junk);
    free(now);
    /* usage errors */
    expect_fail("verify --db x.db", NULL);
    expect_fail("frobnicate", "frobnicate");
    /* remove then unknown */
    snprintf(args, sizeof args, "db remove --db %s tian --json", db);
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *rj = cJSON_Parse(out);
    assert_non_null(rj);
    assert_string_equal(cJSON_GetObjectItem(rj, "removed")->valuestring, "tian");
    assert_int_equal(cJSON_GetObjectItem(rj, "embeddings")->valueint, 1);
    cJSON_Delete(rj);
    free(out), free(err);
    snprintf(args, sizeof args, "db remove --db %s tian", db);
    expect_fail(args, "tian");
}

/* read back the three formats */
static float *read_npy(const char *path, int *n, int *d)
{
    size_t len;
    unsigned char *b = (unsigned char *)tu_read(path, &len);
    assert_non_null(b);
    assert_memory_equal(b, "\x93NUMPY", 6);
    int hl = b[8] | b[9] << 8;
    assert_int_equal((10 + hl) % 64, 0);
    char *shape = strstr((char *)b + 10, "'shape': (");
    assert_non_null(shape);
    assert_int_equal(sscanf(shape, "'shape': (%d, %d)", n, d), 2);
    assert_int_equal(len, 10 + hl + (size_t)*n * *d * 4);
    float *v = malloc(len - 10 - hl);
    memcpy(v, b + 10 + hl, len - 10 - hl);
    free(b);
    return v;
}

static char **read_lines(const char *path, int *n)
{
    char *t = tu_read(path, NULL);
    assert_non_null(t);
    int cap = 64;
    char **l = malloc(sizeof *l * cap);
    *n = 0;
    for (char *s = strtok(t, "\n"); s; s = strtok(NULL, "\n")) {
        if (*n == cap)
            l = realloc(l, sizeof *l * (cap *= 2));
        l[(*n)++] = strdup(s);
    }
    free(t);
    return l;
}

static void test_encode_formats_and_shards(void **state)
{
    (void)state;
    const char *lim = getenv("FACENET_TEST_LFW_LIMIT");
    char list[4400], args[60000], *out, *err;
    /* the image list: all of deepfunneled (or the first LIMIT, sorted) */
    snprintf(list, sizeof list, "%s/list.txt", tmp);
    snprintf(args, sizeof args, "find %s -name '*.jpg' | LC_ALL=C sort %s%s > %s", tu_shared("lfw/deepfunneled"),
             lim ? "| head -n " : "", lim ? lim : "", list);
    assert_int_equal(system(args), 0);
    int n_list;
    char **paths = read_lines(list, &n_list);
    printf("  encoding %d LFW images%s\n", n_list, lim ? " (FACENET_TEST_LFW_LIMIT)" : "");
    if (!lim)
        assert_int_equal(n_list, 4992);
    snprintf(args, sizeof args, "encode --no-detect %s --batch 32 @%s -o %s/all.npy -o %s/all.csv -o %s/all.h5", model, list, tmp, tmp, tmp);
    assert_int_equal(run(args, &out, &err), 0);
    assert_non_null(strstr(err, "0 skipped"));
    free(out), free(err);
    int n, d;
    char p[4400];
    snprintf(p, sizeof p, "%s/all.npy", tmp);
    float *npy = read_npy(p, &n, &d);
    assert_int_equal(n, n_list);
    assert_int_equal(d, 128);
    int nt;
    snprintf(p, sizeof p, "%s/all.txt", tmp);
    char **txt = read_lines(p, &nt);
    assert_int_equal(nt, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(txt[i], paths[i]);
    /* csv */
    snprintf(p, sizeof p, "%s/all.csv", tmp);
    int nc;
    char **csv = read_lines(p, &nc);
    assert_int_equal(nc, n + 1);
    for (int i = 0; i < n; i++) {
        char *s = csv[i + 1], *comma = strchr(s, ',');
        assert_int_equal((int)(comma - s), (int)strlen(paths[i]));
        for (int j = 0; j < d; j++) {
            float v = strtof(comma + 1, &comma);
            assert_true(v == npy[(size_t)i * d + j]); /* %.9g round-trips float32 exactly */
        }
    }
    /* h5 */
    snprintf(p, sizeof p, "%s/all.h5", tmp);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    float *h5 = malloc(sizeof(float) * (size_t)n * d);
    hid_t ds = H5Dopen2(f, "embeddings", H5P_DEFAULT);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, h5) >= 0);
    assert_memory_equal(h5, npy, sizeof(float) * (size_t)n * d);
    H5Dclose(ds);
    hid_t dp = H5Dopen2(f, "paths", H5P_DEFAULT), st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    char **hp = malloc(sizeof(char *) * (size_t)n);
    assert_true(H5Dread(dp, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, hp) >= 0);
    for (int i = 0; i < n; i++) {
        assert_string_equal(hp[i], paths[i]);
        free(hp[i]);
    }
    free(hp);
    H5Tclose(st);
    H5Dclose(dp);
    H5Fclose(f);
    free(h5);
    /* three shards in parallel, then compare by path */
    snprintf(args, sizeof args, "for k in 0 1 2; do %s encode --no-detect %s @%s --shard $k/3 -o %s/shard$k.npy 2>/dev/null & done; wait",
             tu_build("facenet"), model, list, tmp);
    assert_int_equal(system(args), 0);
    int seen = 0;
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        int sn, sd, sl;
        snprintf(p, sizeof p, "%s/shard%d.npy", tmp, k);
        float *sv = read_npy(p, &sn, &sd);
        snprintf(p, sizeof p, "%s/shard%d.txt", tmp, k);
        char **sp = read_lines(p, &sl);
        assert_int_equal(sl, sn);
        for (int i = 0; i < sn; i++) {
            int g = k + 3 * i; /* every 3rd image starting at k */
            assert_string_equal(sp[i], paths[g]);
            worst = fmax(worst, tu_maxdiff(sv + (size_t)i * sd, npy + (size_t)g * d, (size_t)d));
            free(sp[i]);
        }
        seen += sn;
        free(sp);
        free(sv);
    }
    assert_int_equal(seen, n);
    printf("  3 shards vs one run: %d images, max diff %.2e\n", seen, worst);
    assert_true(worst <= 1e-5); /* batch composition differs; same bound as batch vs single */
    for (int i = 0; i < n_list; i++)
        free(paths[i]);
    for (int i = 0; i < nt; i++)
        free(txt[i]);
    for (int i = 0; i < nc; i++)
        free(csv[i]);
    free(paths), free(txt), free(csv), free(npy);
}

static void test_encode_skips_unreadable(void **state)
{
    (void)state;
    char args[60000], *out, *err, bad[4400];
    snprintf(bad, sizeof bad, "%s/broken.jpg", tmp);
    tu_write(bad, "\xff\xd8\xff garbage", 12);
    snprintf(args, sizeof args, "encode %s %s %s %s/nothere.png %s", model, img("kian"), bad, tmp, img("tian"));
    /* the two good ones are written; status 2 says some image failed (README) */
    assert_int_equal(run(args, &out, &err), 2);
    assert_non_null(strstr(err, "broken.jpg"));
    assert_non_null(strstr(err, "nothere.png"));
    assert_non_null(strstr(err, "encoded 2 faces from 2 of 4 images (0 without a face, 2 unreadable)"));
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(out), free(err);
}

static void test_evaluate_small_pairs(void **state)
{
    (void)state;
    /* 20 same + 20 different pairs from pairsDevTest, one pointing at a missing image */
    int np;
    char **l = read_lines(tu_shared("lfw/pairsDevTest.txt"), &np);
    char p[4400], args[60000], *out, *err;
    snprintf(p, sizeof p, "%s/pairs.txt", tmp);
    FILE *f = fopen(p, "w");
    fprintf(f, "20\n");
    for (int i = 1; i <= 20; i++)
        fprintf(f, "%s\n", i == 3 ? "Nobody_Here 1 2" : l[i]);
    for (int i = 501; i <= 520; i++)
        fprintf(f, "%s\n", l[i]);
    fclose(f);
    for (int i = 0; i < np; i++)
        free(l[i]);
    free(l);
    snprintf(args, sizeof args, "evaluate %s --pairs %s --images %s --json", model, p, tu_shared("lfw/deepfunneled"));
    assert_int_equal(run(args, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const char *keys[] = {"accuracy", "accuracy_std", "threshold", "auc", "tar_at_far_1e-3", "pairs", "skipped"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        assert_non_null(cJSON_GetObjectItem(j, keys[k]));
    assert_int_equal(cJSON_GetObjectItem(j, "pairs")->valueint, 40);
    assert_int_equal(cJSON_GetObjectItem(j, "skipped")->valueint, 1);
    double acc = cJSON_GetObjectItem(j, "accuracy")->valuedouble, auc = cJSON_GetObjectItem(j, "auc")->valuedouble;
    assert_true(acc >= 0 && acc <= 1 && auc >= 0 && auc <= 1);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "triplet_loss")));
    cJSON_Delete(j);
    free(out), free(err);
    /* with --train-pairs the same file: threshold chosen there */
    snprintf(args, sizeof args, "evaluate %s --pairs %s --train-pairs %s --images %s --json", model, p, p,
             tu_shared("lfw/deepfunneled"));
    assert_int_equal(run(args, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_true(cJSON_GetObjectItem(j, "accuracy")->valuedouble >= acc - 1e-9); /* best on itself */
    cJSON_Delete(j);
    free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_office_scenario),
        cmocka_unit_test(test_bad_input_keeps_gallery),
        cmocka_unit_test(test_encode_skips_unreadable),
        cmocka_unit_test(test_evaluate_small_pairs),
        cmocka_unit_test(test_encode_formats_and_shards),
    };
    return cmocka_run_group_tests_name("application CLI", tests, setup, teardown);
}
