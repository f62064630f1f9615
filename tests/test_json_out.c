/* test_json_out.c - every number the JSON printers write reads back as the double that
 * was written (io/json_out.h).  cJSON alone writes 0.1 + 0.2 as 0.3 and about one double
 * in ten one or two units in the last place off; evaluate's threshold was one of them
 * on a fresh Debian 12 (test_plots compares it exactly with a recomputation). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/json_out.h"

/* {"x": d} printed and parsed back */
static double round_trip(double d, char *text, size_t cap)
{
    cJSON *o = cJSON_CreateObject();
    assert_non_null(cJSON_AddNumberToObject(o, "x", d));
    char *s = fn_json_print_exact(o, 0);
    assert_non_null(s);
    snprintf(text, cap, "%s", s);
    cJSON *back = cJSON_Parse(s);
    assert_non_null(back);
    cJSON *x = cJSON_GetObjectItemCaseSensitive(back, "x");
    assert_non_null(x);
    double r = cJSON_IsNull(x) ? NAN : x->valuedouble;
    assert_true(cJSON_IsNumber(x) || cJSON_IsNull(x));
    cJSON_free(s);
    cJSON_Delete(back);
    cJSON_Delete(o);
    return r;
}

static void test_texts(void **state)
{
    (void)state;
    char t[128];
    assert_true(round_trip(0.1 + 0.2, t, sizeof t) == 0.1 + 0.2);
    assert_string_equal(t, "{\"x\":0.30000000000000004}");
    assert_true(round_trip(1.1594295725226402, t, sizeof t) == 1.1594295725226402);
    assert_string_equal(t, "{\"x\":1.1594295725226402}");
    /* what cJSON writes exactly stays as cJSON writes it: short */
    round_trip(0.5, t, sizeof t);
    assert_string_equal(t, "{\"x\":0.5}");
    round_trip(48, t, sizeof t);
    assert_string_equal(t, "{\"x\":48}");
    round_trip(0.7, t, sizeof t);
    assert_string_equal(t, "{\"x\":0.7}");
    /* JSON has no NaN: null, as before */
    assert_true(isnan(round_trip(NAN, t, sizeof t)));
    assert_string_equal(t, "{\"x\":null}");
}

static void test_random_doubles_read_back(void **state)
{
    (void)state;
    uint64_t s = 11;
    int plain_off = 0;
    char t[128];
    for (int i = 0; i < 100000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double d = (double)(s >> 11) / 9007199254740992.0 * pow(10.0, (int)(s % 13) - 6);
        assert_true(round_trip(d, t, sizeof t) == d);
        cJSON *n = cJSON_CreateNumber(d); /* what cJSON alone would have written */
        char *p = cJSON_PrintUnformatted(n);
        assert_non_null(p);
        plain_off += strtod(p, NULL) != d;
        cJSON_free(p);
        cJSON_Delete(n);
    }
    print_message("100000 doubles read back exactly (cJSON alone: %d would not)\n", plain_off);
}

/* nested objects and arrays: every number fixed, keys and order kept */
static void test_nested(void **state)
{
    (void)state;
    const char *in = "{\"a\":[1,2,{\"b\":0}],\"c\":{\"d\":[0,0]},\"e\":\"text\",\"f\":true}";
    cJSON *j = cJSON_Parse(in);
    assert_non_null(j);
    double v = 0.1 + 0.2;
    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "a"), 2), "b")->valuedouble = v;
    cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "c"), "d"), 1), v);
    char *s = fn_json_print_exact(j, 0);
    assert_non_null(s);
    assert_string_equal(s, "{\"a\":[1,2,{\"b\":0.30000000000000004}],\"c\":{\"d\":[0,0.30000000000000004]},"
                           "\"e\":\"text\",\"f\":true}");
    cJSON_free(s);
    s = fn_json_print_exact(j, 1); /* formatted: the same numbers */
    assert_non_null(s);
    assert_non_null(strstr(s, "0.30000000000000004"));
    cJSON_free(s);
    cJSON_Delete(j);
    assert_null(fn_json_print_exact(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_random_doubles_read_back),
        cmocka_unit_test(test_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
