/* cli.h - shared pieces of the `facenet` command line: model options, output helpers,
 * exit statuses.
 *
 * Exit statuses (documented in README, docs/facenet.1 and `facenet --help`):
 *   0  success (verify: same person)
 *   1  negative answer (verify: not the same person)
 *   2  error: bad arguments, unreadable or malformed input, model or gallery problem;
 *      also when some image could not be read (the others are answered)
 */
#ifndef FN_CLI_H
#define FN_CLI_H

#include <cJSON.h>
#include <stdio.h>

#include "app/encoder.h"
#include "io/json_out.h"
#include "core/error.h"
#include "io/landmarks.h"
#include "facenet.h"

enum { FN_EXIT_OK = 0, FN_EXIT_NO = 1, FN_EXIT_ERROR = 2 };

#define FN_CLI_DEFAULT_MAX_RAW_BYTES ((size_t)4 << 30) /* embed --raw */

/* --limit NAME=N: what the input files may ask for (0 = the engine's default). */
typedef struct {
    size_t json_bytes, json_values, layers, arena, pixels, pairs, landmarks, raw_bytes;
} fn_limits;

typedef struct {
    const char *dir;        /* --model DIR */
    const char *json;       /* --model-json FILE */
    const char *weights;    /* --weights FILE */
    int no_fuse;            /* --no-fuse: run every Keras layer as is */
    int arch_only;          /* --model-json without a weights file next to it: load the
                               architecture alone (info) instead of failing */
    int threads;          /* engine threads (encode --threads); 0 = all cores */
    fn_limits lim;          /* --limit NAME=N */
} fn_model_args;

/* Load the model the options name; without one: $FACENET_MODEL, then
 * FN_DATADIR/models/dlib-resnet (when built with it), then weights/dlib-resnet in the
 * current directory and beside the executable (../weights/dlib-resnet). */
int fn_cli_load_model(const fn_model_args *m, fn_net **net, fn_err *err);
/* The folder of the model called name (e.g. "ssd-mobilenetv1"), searched where the
 * default model is; 0, or -1 naming the places searched. */
int fn_cli_find_model(const char *name, char *buf, size_t cap, fn_err *err);
/* Seconds on the monotonic clock (for rates and checkpoints). */
double fn_cli_now(void);
/* A folder the command writes into (--save-chips, --draw): made when missing, and
 * writable; 0, or FN_EXIT_ERROR after printing why. */
int fn_cli_out_dir(const char *dir);
/* The sandbox setting for models shipped with facenet (on only with FACENET_SANDBOX). */
int fn_cli_sandbox_default(void);
/* Directory holding the model's side files (facenet.json); never NULL. */
const char *fn_cli_model_dir(const fn_model_args *m, char *buf, size_t cap);

/* Option tables (options.c): one per command, read by the parser and by --help. */
typedef enum {
    FN_OPT_FLAG, FN_OPT_STR, FN_OPT_INT, FN_OPT_POSITIVE, FN_OPT_SHARD, FN_OPT_SHAPE, FN_OPT_LIMIT
} fn_opt_kind;
typedef struct {
    const char *name;   /* long name, without "--" */
    char short_name;    /* 'o', 'h', or 0 */
    fn_opt_kind kind;   /* FN_OPT_POSITIVE: a finite number > 0 */
    const char *meta;   /* the value's placeholder in help ("N", "FILE"); NULL for flags */
    int lo, hi;         /* FN_OPT_INT bounds */
    const char *help;   /* one line */
} fn_cli_opt;

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* after "facenet NAME " */
    const char *summary;
    const fn_cli_opt *opts; /* ends with a NULL name; the model options and --help are added */
} fn_cli_command;

extern const fn_cli_command fn_cli_commands[]; /* ends with a NULL name */
const fn_cli_command *fn_cli_find_command(const char *name);
void fn_cli_print_help(const fn_cli_command *c, FILE *f);

/* A parsed command line: the options in order (values checked by kind) and the
 * operands in order (also those after "--"). */
typedef struct {
    const fn_cli_command *cmd;
    struct {
        const fn_cli_opt *opt;
        const char *val;
    } *ev;
    int n_ev;
    char **pos;
    int n_pos;
    fn_model_args model;
} fn_cli_args;

/* 0: parsed; 1: --help was printed (exit 0); -1: an error was printed (exit 2).
 * Free *a in every case. */
int fn_cli_parse(const char *cmd, int argc, char **argv, fn_cli_args *a);
void fn_cli_args_free(fn_cli_args *a);
int fn_cli_flag(const fn_cli_args *a, const char *name);
const char *fn_cli_str(const fn_cli_args *a, const char *name); /* last value or NULL */
int fn_cli_get_int(const fn_cli_args *a, const char *name, int dflt);
double fn_cli_get_double(const fn_cli_args *a, const char *name, double dflt);
/* Every value of a repeatable option (up to cap into out); returns the count. */
int fn_cli_values(const fn_cli_args *a, const char *name, const char **out, int cap);
int fn_cli_parse_shard(const char *s, int *k, int *n);
int fn_cli_parse_shape(const char *s, fn_shape *out);
/* "NAME=N" (N with an optional k, M or G: times 1024, 1024^2, 1024^3) into lim. */
int fn_cli_parse_limit(const char *s, fn_limits *lim);
/* The limits --limit can set: name, default, what it bounds (ends with a NULL name). */
typedef struct {
    const char *name;
    size_t offset; /* in fn_limits */
    size_t dflt;
    const char *what;
} fn_cli_limit;
extern const fn_cli_limit fn_cli_limits[];
/* Landmarks (--landmarks FILE) read under the --limit landmarks. */
int fn_cli_load_landmarks(const fn_model_args *m, const char *path, double scale, fn_landmarks *lm, fn_err *err);

/* inputs.c: the files a command reads, checked before it loads any net (stat, and an
 * open and close of a regular file: nothing is read), so a FIFO, a device or a folder
 * where a file belongs is one clear line at once, never seconds of loading or a hang.
 * fn_cli_check_inputs: the option files (--landmarks, --pairs, --train-pairs, every
 * --raw), --images (a folder), --db (a regular file when it exists), and with m the
 * model's files (profile: also DIR/facenet.json, for commands that read it).  0, or
 * FN_EXIT_ERROR after printing the error. */
int fn_cli_check_inputs(const fn_cli_args *a, const fn_model_args *m, int profile);
/* The n images of a command (all = 0: at least one must open, the others are reported
 * per image when their turn comes; all = 1: every one must, for the commands that take
 * all or nothing).  When that fails, each image that cannot be opened is reported once
 * ("facenet: PATH: not a regular file (note)"; with json also its status line on
 * stdout; all = 0 and several: a last line saying none can be opened) and their number
 * is returned: nothing is worth loading a model for.  0: go on. */
int fn_cli_check_images(const char *const *paths, int n, int all, const char *note, int json);
/* path must be a folder ("PATH: not a directory (WHAT names a folder)"). */
int fn_cli_check_dir(const char *path, const char *what, fn_err *err);
/* The model's files (common.c): --model a folder, model.json (when used) and the
 * weights regular files, DIR/facenet.json too when it exists and profile is set; no
 * model found at all is the same error fn_cli_load_model gives. */
int fn_cli_check_model(const fn_model_args *m, int profile, fn_err *err);

/* Print "facenet: <message>" on stderr; returns FN_EXIT_ERROR. */
int fn_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fn_cli_fail_err(const fn_err *err);
/* Open the model as an encoder (model + DIR/facenet.json profile + fingerprint). */
int fn_cli_open_encoder(const fn_model_args *m, fn_encoder *enc, fn_err *err);

/* Expand arguments into image paths: files as given, directories recursively
 * (.jpg/.jpeg/.png in any case, sorted; other files counted as skipped), @LIST files
 * one path per line.  Each path also gets the key used to look up landmarks (path
 * relative to its directory argument). */
typedef struct {
    char **path, **key;
    int n, cap;
    int n_skipped;          /* files in folders that are not JPEG or PNG */
    char skipped[5][256];   /* the first few of them (relative paths) */
} fn_image_list;
int fn_image_list_add(fn_image_list *l, const char *arg, fn_err *err);
void fn_image_list_free(fn_image_list *l);
/* All operands as images into l; reports the skipped files on stderr.  0, or
 * FN_EXIT_ERROR after printing the error. */
int fn_cli_expand_images(char *const *args, int n, fn_image_list *l);

/* The landmarks of an image: by its key, else by its last two path components
 * ("Name/Name_0001.jpg", as LFW lists them).  Images are encoded through
 * cli/faces_cli.h. */
const double *fn_cli_find_landmarks(const fn_landmarks *lm, const char *key);

/* JSON output (cJSON): strings for any bytes (bytes that are not UTF-8 become the
 * text \xHH, so the line stays valid JSON and the bytes can be recovered), float
 * arrays (NaN as null), and one object printed as one line (then deleted). */
cJSON *fn_json_str(const char *s);
cJSON *fn_json_floats(const float *v, size_t n);
double fn_json_float_value(float f);
int fn_json_print(cJSON *obj);

/* facenet's own version (the library's is FACENET_VERSION). */
#define FN_CLI_VERSION "0.2.0"

/* Galleries (cmd_db.c): the gallery must be empty or built with enc's model, else an
 * error naming `facenet db reenroll`; note the profile the embeddings were made with. */
struct fn_gallery;
int fn_cli_gallery_model_check(struct fn_gallery *g, const fn_encoder *enc, fn_err *err);
int fn_cli_gallery_note_profile(struct fn_gallery *g, const fn_encoder *enc, const char *model_dir, fn_err *err);

/* enroll_tree.c: `enroll --db FILE DIR` with DIR/Name/photo.jpg, one transaction per
 * person, photos already enrolled for that person skipped. */
int fn_cli_is_dir(const char *path);
int fn_cli_enroll_tree(const fn_cli_args *a, const char *db, const char *dir);

/* Subcommands. */
int fn_cmd_info(int argc, char **argv);
int fn_cmd_embed(int argc, char **argv);
int fn_cmd_detect(int argc, char **argv);
int fn_cmd_encode(int argc, char **argv);
int fn_cmd_enroll(int argc, char **argv);
int fn_cmd_verify(int argc, char **argv);
int fn_cmd_identify(int argc, char **argv);
int fn_cmd_distance(int argc, char **argv);
int fn_cmd_evaluate(int argc, char **argv);
int fn_cmd_db(int argc, char **argv);
int fn_cmd_trace(int argc, char **argv);
int fn_cmd_graph(int argc, char **argv);
int fn_cmd_merge(int argc, char **argv);

#endif
