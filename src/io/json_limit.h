/* json_limit.h - parse JSON text with cJSON only after a cheap pass has counted what
 * cJSON would build, so a small file cannot make the parser allocate gigabytes.
 *
 * cJSON keeps one node per value (object, array, string, number, true/false/null):
 * sizeof(cJSON) = 64 bytes, 80 with malloc's header, plus a copy of every string and
 * key.  Text of B bytes holding V values therefore costs at most about B + 80 V bytes
 * once parsed (a 32 MB file of 16 million numbers: 1.3 GB).  fn_json_count_values
 * counts V without allocating, in one pass over the text; fn_json_parse_limited
 * refuses text with more than max_values values before cJSON sees it. */
#ifndef FN_JSON_LIMIT_H
#define FN_JSON_LIMIT_H

#include <cJSON.h>
#include <stddef.h>

#include "core/error.h"

/* Bytes one parsed value costs (cJSON node with malloc's header), for messages. */
#define FN_JSON_NODE_BYTES 80

/* The values cJSON would create for text[0..len) (keys are not values: cJSON stores
 * them inside the member's node).  Exact for text cJSON accepts as one value (the
 * model_json fuzz target checks this); otherwise at least what cJSON builds before
 * it stops. */
size_t fn_json_count_values(const char *text, size_t len);

/* cJSON_ParseWithLength after the count: more than max_values values is FN_E_LIMIT
 * "SRC: N JSON values, more than the limit LIMIT_NAME=MAX (...)"; invalid JSON is
 * FN_E_FORMAT naming the byte offset.  NULL on failure. */
cJSON *fn_json_parse_limited(const char *text, size_t len, size_t max_values, const char *limit_name,
                             const char *src, fn_err *err);

#endif
