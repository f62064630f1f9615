/* json_limit.c - count JSON values before parsing (see json_limit.h). */
#include "io/json_limit.h"

#include <string.h>

/* cJSON takes every byte up to 32 for white space */
static int is_space(char c)
{
    return (unsigned char)c <= 32;
}

static int is_delim(char c)
{
    return is_space(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

size_t fn_json_count_values(const char *text, size_t len)
{
    size_t n = 0, i = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark, skipped by cJSON */
        i = 3;
    while (i < len) {
        char c = text[i];
        if (c == '"') { /* a string: a value, or a key when a ':' follows */
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
            i++;
            size_t j = i;
            while (j < len && is_space(text[j]))
                j++;
            if (j >= len || text[j] != ':')
                n++;
        } else if (c == '{' || c == '[') {
            n++, i++;
        } else if (is_delim(c)) {
            i++;
        } else { /* a number or a literal: one value up to the next delimiter */
            n++;
            while (i < len && !is_delim(text[i]))
                i++;
        }
    }
    return n;
}

cJSON *fn_json_parse_limited(const char *text, size_t len, size_t max_values, const char *limit_name,
                             const char *src, fn_err *err)
{
    size_t n = fn_json_count_values(text, len);
    if (n > max_values) {
        fn_fail(err, FN_E_LIMIT,
                "%s: %zu JSON values, more than the limit %s=%zu (parsed, they would take about %zu MB)", src,
                n, limit_name, max_values, (n / 1000) * FN_JSON_NODE_BYTES / 1000 + 1);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        fn_fail(err, FN_E_FORMAT, "%s: not valid JSON (error near byte %ld)", src, off);
    }
    return doc;
}
