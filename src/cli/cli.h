/* cli.h - shared pieces of the `facenet` command line: model options, output helpers,
 * exit statuses.
 *
 * Exit statuses (documented in README and `facenet --help`):
 *   0  success (verify: same person)
 *   1  negative answer (verify: not the same person)
 *   2  error: bad arguments, unreadable or malformed input, model or gallery problem
 */
#ifndef FN_CLI_H
#define FN_CLI_H

#include <stdio.h>

#include "core/error.h"
#include "net/net.h"

enum { FN_EXIT_OK = 0, FN_EXIT_NO = 1, FN_EXIT_ERROR = 2 };

typedef struct {
    const char *dir;        /* --model DIR */
    const char *json;       /* --model-json FILE */
    const char *weights;    /* --weights FILE */
    int no_fuse;            /* --no-fuse: run every Keras layer as is */
} fn_model_args;

/* If argv[*i] is a model option, consume it (and its value) and return 1. */
int fn_cli_model_opt(fn_model_args *m, int argc, char **argv, int *i);
/* Load the model the options name (default: $FACENET_MODEL or weights/dlib-resnet). */
int fn_cli_load_model(const fn_model_args *m, fn_net **net, fn_err *err);
/* Directory holding the model's side files (facenet.json); never NULL. */
const char *fn_cli_model_dir(const fn_model_args *m, char *buf, size_t cap);

/* Print "facenet: <message>" on stderr; returns FN_EXIT_ERROR. */
int fn_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fn_cli_fail_err(const fn_err *err);
/* Value of option argv[*i] (advances *i), or NULL after printing an error. */
const char *fn_cli_value(int argc, char **argv, int *i);
int fn_cli_int(const char *opt, const char *s, int lo, int hi, int *out);
int fn_cli_double(const char *opt, const char *s, double *out);

/* JSON output helpers: a string with escapes, and a float array printed so it reads
 * back to the same float32 value. */
void fn_json_string(FILE *f, const char *s);
void fn_json_floats(FILE *f, const float *v, size_t n);

/* Subcommands. */
int fn_cmd_info(int argc, char **argv);
int fn_cmd_embed(int argc, char **argv);
int fn_cmd_encode(int argc, char **argv);
int fn_cmd_enroll(int argc, char **argv);
int fn_cmd_verify(int argc, char **argv);
int fn_cmd_identify(int argc, char **argv);
int fn_cmd_distance(int argc, char **argv);
int fn_cmd_evaluate(int argc, char **argv);
int fn_cmd_db(int argc, char **argv);

#endif
