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

#include "app/encoder.h"
#include "core/error.h"
#include "io/landmarks.h"
#include "facenet.h"

enum { FN_EXIT_OK = 0, FN_EXIT_NO = 1, FN_EXIT_ERROR = 2 };

typedef struct {
    const char *dir;        /* --model DIR */
    const char *json;       /* --model-json FILE */
    const char *weights;    /* --weights FILE */
    int no_fuse;            /* --no-fuse: run every Keras layer as is */
    int threads;          /* engine threads (encode --threads); 0 = all cores */
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

/* Open the model as an encoder (model + DIR/facenet.json profile + fingerprint). */
int fn_cli_open_encoder(const fn_model_args *m, fn_encoder *enc, fn_err *err);

/* Expand arguments into image paths: files as given, directories recursively
 * (.jpg/.jpeg/.png, sorted), @LIST files one path per line.  Each path also gets
 * the key used to look up landmarks (path relative to its directory argument). */
typedef struct {
    char **path, **key;
    int n, cap;
} fn_image_list;
int fn_image_list_add(fn_image_list *l, const char *arg, fn_err *err);
void fn_image_list_free(fn_image_list *l);

/* Encode n images in batches of `batch`, skipping (and reporting on stderr) those that
 * cannot be read or have no landmarks (when lms is given): ok[i] says which worked,
 * failed rows of emb are NaN.  A progress bar is drawn when stderr is a terminal. */
int fn_cli_encode_paths(fn_encoder *enc, const char *const *paths, const char *const *keys, int n,
                        const fn_landmarks *lms, const char *lm_name, int batch, float *emb, int *ok,
                        int *n_ok, fn_err *err);
const double *fn_cli_find_landmarks(const fn_landmarks *lm, const char *key);

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
