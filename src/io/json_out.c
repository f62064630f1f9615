/* json_out.c - cJSON output with numbers that read back exactly (see json_out.h). */
#include "io/json_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The text cJSON would write for d reads back as d. */
static int cjson_text_exact(double d)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%1.15g", d);
    return strtod(buf, NULL) == d;
}

/* item (a number) becomes a raw value with the same key: the raw node's text is
 * moved over, so that cJSON's own allocator made it and cJSON_Delete frees it. */
static int make_raw(cJSON *item)
{
    char buf[32];
    for (int prec = 16; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, item->valuedouble);
        if (strtod(buf, NULL) == item->valuedouble)
            break;
    }
    cJSON *raw = cJSON_CreateRaw(buf);
    if (!raw)
        return -1;
    item->valuestring = raw->valuestring;
    raw->valuestring = NULL;
    cJSON_Delete(raw);
    item->type = cJSON_Raw | (item->type & cJSON_StringIsConst);
    return 0;
}

/* A number whose cJSON text would not read back exactly (references are left alone:
 * their text belongs to another tree). */
static int inexact(const cJSON *item)
{
    return cJSON_IsNumber(item) && !(item->type & cJSON_IsReference) && isfinite(item->valuedouble) &&
           !cjson_text_exact(item->valuedouble);
}

int fn_json_exact_numbers(cJSON *item)
{
    if (!item)
        return 0;
    if (inexact(item))
        return make_raw(item);
    int rc = 0;
    for (cJSON *c = item->child; c; c = c->next)
        rc |= fn_json_exact_numbers(c);
    return rc ? -1 : 0;
}

char *fn_json_print_exact(cJSON *item, int formatted)
{
    if (!item || fn_json_exact_numbers(item))
        return NULL;
    return formatted ? cJSON_Print(item) : cJSON_PrintUnformatted(item);
}
