/* json_out.h - JSON text whose numbers read back as the doubles that were written.
 *
 * cJSON (1.7.15, Debian 12) prints a number with "%1.15g" whenever that text reads back
 * within DBL_EPSILON of the value, so about one double in ten comes back one or two
 * units in the last place away (0.30000000000000004 is written 0.3, 1.1594295725226402
 * as 1.15942957252264).  A reader that recomputes a threshold or an accuracy from the
 * same inputs and compares would then see a difference that is only the printer's.
 * fn_json_print_exact first rewrites each such number as raw text with the fewest
 * digits (16 or 17) that read back exactly, then prints with cJSON. */
#ifndef FN_JSON_OUT_H
#define FN_JSON_OUT_H

#include <cJSON.h>

/* Rewrites, in place, every finite number in item (recursively) whose 15-digit text
 * would not read back exactly as a raw number holding one that does; the key and the
 * position stay.  0, or -1 when an allocation failed (the tree is then still valid,
 * some numbers unchanged). */
int fn_json_exact_numbers(cJSON *item);

/* fn_json_exact_numbers, then cJSON_PrintUnformatted (formatted != 0: cJSON_Print).
 * Free with cJSON_free; NULL when an allocation failed. */
char *fn_json_print_exact(cJSON *item, int formatted);

#endif
