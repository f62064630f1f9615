/* test_limits.c - every size a file can ask for is checked against a limit before the
 * memory is allocated, the error names the limit, and the caller (the CLI's
 * --limit NAME=N) can move it (issue 14, docs/robustness.md "Limits"):
 *  - fn_json_count_values counts exactly the nodes cJSON builds (keys are not nodes;
 *    quotes, colons and brackets inside strings are not structure);
 *  - fn_net_load: json-bytes (model.json and the .h5's model_config), json-values,
 *    layers; fn_net_plan: arena - each FN_E_LIMIT naming "the limit NAME=N", and the
 *    same model loading with the defaults;
 *  - the pairs reader: a header over the limit refused before allocating, each distinct
 *    image path stored once (pairs share it), a line over 1023 bytes, a NUL byte;
 *  - the landmarks reader: more entries than its limit;
 *  - the CLI: every limit reachable by --limit, the one error line saying how to
 *    raise it, a bad --limit refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "facenet.h"
#include "io/json_limit.h"
#include "io/keras_model.h"
#include "io/landmarks.h"
#include "io/pairs.h"
#include "lib/testutil.h"

static char *tmpdir;

static size_t cjson_nodes(const cJSON *j)
{
    size_t n = 1;
    for (const cJSON *c = j->child; c; c = c->next)
        n += cjson_nodes(c);
    return n;
}

static void expect_count(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("not JSON: %s", text);
    size_t want = cjson_nodes(j), got = fn_json_count_values(text, strlen(text));
    cJSON_Delete(j);
    if (got != want)
        fail_msg("%zu values counted, cJSON built %zu, in: %.200s", got, want, text);
}

static void test_json_count(void **state)
{
    (void)state;
    expect_count("0");
    expect_count("\"just a string\"");
    expect_count("[]");
    expect_count("{}");
    expect_count("{\"a\": \"x:y\", \"b\": [\"\\\"q\\\":\", 1, -2.5e3, true, null, false, {}],"
                 " \"c\": {\"d\": [[], [[1]]]}, \"e\" \t\n: \"}]{[,\"}");
    expect_count("[\"\\\\\", \"a\\\\\\\"b\", {\"k\\\"\":1}]");
    const char *files[] = {"models/keras-facenet/model.json", "golden/keras-facenet-mini/model.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *t = tu_read(tu_shared(files[i]), NULL);
        assert_non_null(t);
        expect_count(t);
        free(t);
    }
    /* refused before parsing, with the count and the limit's name */
    fn_err err = {0};
    const char *t = "[1, 2, 3, [4, 5]]";
    assert_null(fn_json_parse_limited(t, strlen(t), 5, "json-values", "t.json", &err));
    assert_int_equal(err.kind, FN_E_LIMIT);
    assert_non_null(strstr(err.msg, "t.json: 7 JSON values, more than the limit json-values=5"));
    cJSON *j = fn_json_parse_limited(t, strlen(t), 7, "json-values", "t.json", &err);
    assert_non_null(j);
    cJSON_Delete(j);
    assert_null(fn_json_parse_limited("[1, 2", 5, 7, "json-values", "bad.json", &err));
    assert_int_equal(err.kind, FN_E_FORMAT);
}

static void expect_limit(const fn_load_opts *o, const char *needle)
{
    fn_net *net = NULL;
    fn_err err = {0};
    int rc = fn_net_load(o, &net, &err);
    if (rc != -1 || err.kind != FN_E_LIMIT || !strstr(err.msg, needle))
        fail_msg("expected FN_E_LIMIT with '%s', got rc %d kind %d: %s", needle, rc, err.kind, err.msg);
    assert_null(net);
}

static void test_load_limits(void **state)
{
    (void)state;
    char json[4096], h5[4096];
    snprintf(json, sizeof json, "%s", tu_shared("golden/keras-facenet-mini/model.json"));
    snprintf(h5, sizeof h5, "%s", tu_shared("keras-real/tiny-resnet8-k2.4.0/model.h5"));
    expect_limit(&(fn_load_opts){.model_json = json, .max_json_bytes = 1000}, "more than the limit json-bytes=1000");
    expect_limit(&(fn_load_opts){.model_json = json, .max_json_values = 100}, "more than the limit json-values=100");
    expect_limit(&(fn_load_opts){.model_json = json, .max_layers = 10}, "more than the limit layers=10");
    /* the config inside a full-model .h5, read directly and in the sandbox */
    expect_limit(&(fn_load_opts){.weights = h5, .max_json_bytes = 100}, "model_config");
    expect_limit(&(fn_load_opts){.weights = h5, .max_json_bytes = 100, .sandbox = 1}, "json-bytes=100");
    expect_limit(&(fn_load_opts){.weights = h5, .max_json_values = 50}, "json-values=50");

    /* the defaults load it; a plan over the arena limit is refused, not allocated */
    fn_net *net = NULL;
    fn_err err = {0};
    if (fn_net_load(&(fn_load_opts){.model_json = json, .max_arena_bytes = 1 << 20}, &net, &err))
        fail_msg("%s", err.msg);
    fn_shape in = {3, {160, 160, 3, 0}};
    assert_int_equal(fn_net_plan(net, 64, &in, &err), -1);
    assert_int_equal(err.kind, FN_E_LIMIT);
    assert_non_null(strstr(err.msg, "the limit arena=1048576"));
    fn_net_free(net);
    if (fn_net_load(&(fn_load_opts){.model_json = json}, &net, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(fn_net_plan(net, 64, &in, &err), 0);
    fn_net_free(net);
}

static void test_pairs_limits(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_path_in(tmpdir, "pairs.txt"));
    tu_write_text(path, "2\nAnn 1 2\nAnn 1 3\nAnn 1 Bob 1\nAnn 2 Cy 1\n");
    fn_lfw_pairs p;
    fn_err err = {0};
    assert_int_equal(fn_lfw_pairs_load_max(path, 3, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_LIMIT);
    assert_non_null(strstr(err.msg, "header announces 4 pairs, more than the limit pairs=3"));
    assert_null(p.pairs);
    assert_int_equal(fn_lfw_pairs_load_max(path, 4, &p, &err), 0);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.n_paths, 5); /* Ann 1, 2, 3, Bob 1, Cy 1 */
    assert_string_equal(p.pairs[0].path_a, "Ann/Ann_0001.jpg");
    assert_ptr_equal(p.pairs[0].path_a, p.pairs[1].path_a); /* stored once */
    assert_ptr_equal(p.pairs[0].path_a, p.pairs[2].path_a);
    assert_ptr_equal(p.pairs[0].path_b, p.pairs[3].path_a);
    assert_string_equal(p.pairs[3].path_b, "Cy/Cy_0001.jpg");
    fn_lfw_pairs_free(&p);

    /* a line too long for the reader's buffer, and a NUL byte inside a line */
    char *big = malloc(3000);
    assert_non_null(big);
    memset(big, 'a', 2999);
    big[2999] = '\0';
    memcpy(big, "1\nAnn 1 2 ", 10);
    tu_write_text(path, big);
    free(big);
    assert_int_equal(fn_lfw_pairs_load(path, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_FORMAT);
    assert_non_null(strstr(err.msg, ":2: line longer than 1023 bytes"));
    tu_write_must(path, "1\nAnn 1 2\nAnn 1 B\0b 2\n", 22);
    assert_int_equal(fn_lfw_pairs_load(path, &p, &err), -1);
    assert_int_equal(err.kind, FN_E_FORMAT);
    assert_non_null(strstr(err.msg, ":3: contains NUL bytes"));
}

static const char *const lm_lines = "a.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n"
                                    "# a comment\n\n"
                                    "b.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n"
                                    "c.jpg\t30\t40\t70\t40\t50\t60\t35\t80\t65\t80\n";

static void test_landmarks_limit(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_path_in(tmpdir, "lm.txt"));
    tu_write_text(path, lm_lines);
    fn_landmarks lm;
    fn_err err = {0};
    assert_int_equal(fn_landmarks_load_max(path, 1.0, 2, &lm, &err), -1);
    assert_int_equal(err.kind, FN_E_LIMIT);
    assert_non_null(strstr(err.msg, "3 entries, more than the limit landmarks=2"));
    assert_int_equal(fn_landmarks_load_max(path, 1.0, 3, &lm, &err), 0);
    assert_int_equal((int)lm.n, 3);
    fn_landmarks_free(&lm);
}

/* exit 2, one stderr line holding each needle */
static void expect_cli_error(const char *args, const char *n1, const char *n2)
{
    char cmd[40000], *out, *err;
    snprintf(cmd, sizeof cmd, "%s %s", tu_build("facenet"), args);
    int rc = tu_run(cmd, &out, &err);
    const char *nl = strchr(err, '\n');
    if (rc != 2 || !nl || nl[1] || !strstr(err, n1) || (n2 && !strstr(err, n2)))
        fail_msg("%s: status %d, stderr: %s", args, rc, err);
    free(out), free(err);
}

static void test_cli_limits(void **state)
{
    (void)state;
    char mj[4096], a[32768], img[4096], dir[4096], pairs[4096], lm[4096];
    snprintf(mj, sizeof mj, "%s", tu_shared("golden/keras-facenet-mini/model.json"));
    snprintf(img, sizeof img, "%s", tu_shared("images/happy-house/camera_0.jpg"));
    snprintf(dir, sizeof dir, "%s", tu_shared("golden/keras-facenet-mini"));
    snprintf(pairs, sizeof pairs, "%s", tu_path_in(tmpdir, "cli-pairs.txt"));
    snprintf(lm, sizeof lm, "%s", tu_path_in(tmpdir, "cli-lm.txt"));
    tu_write_text(pairs, "2\nAnn 1 2\nAnn 1 3\nAnn 1 Bob 1\nAnn 2 Cy 1\n");
    tu_write_text(lm, lm_lines);

    snprintf(a, sizeof a, "info --model-json %s --limit json-values=100", mj);
    expect_cli_error(a, "more than the limit json-values=100", "; --limit json-values=N raises it");
    snprintf(a, sizeof a, "info --model-json %s --limit json-bytes=1k", mj);
    expect_cli_error(a, "more than the limit json-bytes=1024", "--limit json-bytes=N raises it");
    snprintf(a, sizeof a, "info --model-json %s --limit layers=3", mj);
    expect_cli_error(a, "more than the limit layers=3", "--limit layers=N raises it");
    snprintf(a, sizeof a, "info --model-json %s --batch 64 --limit arena=1M", mj);
    expect_cli_error(a, "more than the limit arena=1048576", "--limit arena=N raises it");
    snprintf(a, sizeof a, "distance --model-json %s --weights %s/seed11/model.h5 %s %s --limit pixels=1000", mj, dir,
             img, img);
    /* an image over the limit is skipped like any unreadable image: its line names the limit */
    expect_cli_error(a, "image is 96x96 pixels, more than the limit pixels=1000", "(skipped)");
    snprintf(a, sizeof a, "evaluate --pairs %s --images %s --limit pairs=3", pairs, tmpdir);
    expect_cli_error(a, "more than the limit pairs=3", "--limit pairs=N raises it");
    snprintf(a, sizeof a, "encode --model-json %s --weights %s/seed11/model.h5 --landmarks %s %s --limit landmarks=2",
             mj, dir, lm, img);
    expect_cli_error(a, "more than the limit landmarks=2", "--limit landmarks=N raises it");
    snprintf(a, sizeof a, "embed --model-json %s --weights %s/seed11/model.h5 --raw %s --limit raw-bytes=16", mj, dir,
             lm);
    expect_cli_error(a, "more than the limit raw-bytes=16", "--limit raw-bytes=N raises it");
    expect_cli_error("info --limit pixels", "--limit: 'pixels' is not NAME=N", "json-values");
    expect_cli_error("info --limit colours=3", "--limit: 'colours=3' is not NAME=N", NULL);
    expect_cli_error("info --limit pairs=0", "is not NAME=N with N > 0", NULL);

    /* raised (or left at the default), the same inputs pass */
    char cmd[40000], *out, *err;
    snprintf(cmd, sizeof cmd, "%s info --model-json %s --limit json-values=1M --limit layers=5000", tu_build("facenet"),
             mj);
    int rc = tu_run(cmd, &out, &err);
    if (rc != 0)
        fail_msg("status %d: %s", rc, err);
    free(out), free(err);
    /* --help lists every limit with its default; the man page documents each */
    snprintf(cmd, sizeof cmd, "%s info --help", tu_build("facenet"));
    assert_int_equal(tu_run(cmd, &out, &err), 0);
    assert_non_null(strstr(out, "--limit NAME=N"));
    const char *p = strstr(out, "\nlimits (");
    assert_non_null(p);
    char *man = (char *)tu_read_must("docs/facenet.1", NULL);
    int n = 0;
    for (p = strchr(p + 1, '\n'); p && p[1] == ' '; p = strchr(p + 1, '\n')) {
        char name[64], want[128], esc[128] = "";
        unsigned long long dflt;
        if (sscanf(p + 1, " %63s %llu", name, &dflt) != 2)
            fail_msg("help line: %.80s", p + 1);
        for (const char *c = name; *c; c++) /* groff writes '-' as '\-' */
            strncat(esc, *c == '-' ? "\\-" : (char[]){*c, 0}, sizeof esc - strlen(esc) - 1);
        snprintf(want, sizeof want, ".B %s\n", esc);
        const char *at = strstr(man, want);
        char dtext[64];
        snprintf(dtext, sizeof dtext, "(default %llu", dflt);
        const char *d = at ? strstr(at, dtext) : NULL;
        if (!d || d - at > 200) /* in the entry's own text */
            fail_msg("docs/facenet.1 does not document limit %s with default %llu", name, dflt);
        n++;
    }
    assert_int_equal(n, 8);
    free(man);
    free(out), free(err);
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
        cmocka_unit_test(test_json_count),   cmocka_unit_test(test_load_limits),
        cmocka_unit_test(test_pairs_limits), cmocka_unit_test(test_landmarks_limit),
        cmocka_unit_test(test_cli_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
