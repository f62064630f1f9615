/* options.c - the option table of every command, and the one parser and help printer
 * that read them: `facenet CMD --help`, the man page and the bash completion all list
 * what these tables hold (tests/test_cli_conventions.c checks the last two against
 * `--help`), so parsing and documentation cannot drift apart.
 *
 * Parsing is getopt_long's: `--opt=value` and `--opt value`, unique prefixes of long
 * names, short aliases, options anywhere among the operands, `--` ends options.
 * Values are checked here, by kind, before a command sees them. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/image.h"
#include "io/pairs.h"

#define IMAGES "IMG|DIR|@LIST"
#define LANDMARKS                                                                                          \
    {"landmarks", 0, FN_OPT_STR, "FILE", 0, 0, "align each image from 5 landmarks listed in FILE (by path)"}, \
    {"landmark-scale", 0, FN_OPT_POSITIVE, "S", 0, 0, "multiply the landmark coordinates by S (default 1)"}
#define JSON {"json", 0, FN_OPT_FLAG, NULL, 0, 0, "print one JSON object per line"}
#define DB {"db", 0, FN_OPT_STR, "FILE", 0, 0, "the gallery (an SQLite file)"}
#define THRESHOLD                                                                                          \
    {"threshold", 0, FN_OPT_POSITIVE, "T", 0, 0, "distance below which two faces are the same person "       \
                                                 "(default: the model profile's)"}
#define INPUT_SHAPE                                                                                        \
    {"input-shape", 0, FN_OPT_SHAPE, "HxWxC", 0, 0, "input size for a model that accepts any (e.g. 160x160x3)"}
#define NO_FUSE {"no-fuse", 0, FN_OPT_FLAG, NULL, 0, 0, "run every Keras layer as is (no BatchNorm folding)"}
#define DETECTION                                                                                          \
    {"detector", 0, FN_OPT_STR, "ssd|tiny", 0, 0, "face detector: face-api's SSD MobileNet v1 (default) or tiny one"}, \
    {"min-score", 0, FN_OPT_POSITIVE, "S", 0, 0, "keep faces the detector scores at least S (default 0.5)"},   \
    {"chip", 0, FN_OPT_STR, "align|faceapi", 0, 0, "cut a face by 5-point alignment (default) or face-api's crop"}, \
    {"save-chips", 0, FN_OPT_STR, "DIR", 0, 0, "write each face as the network sees it into DIR (PNG)"}
#define DETECT                                                                                             \
    {"no-detect", 0, FN_OPT_FLAG, NULL, 0, 0, "take each image as one face crop (no face detection)"}, DETECTION
#define LARGEST {"largest", 0, FN_OPT_FLAG, NULL, 0, 0, "with several faces in a photo, take the largest"}
#define END {NULL, 0, 0, NULL, 0, 0, NULL}

static const fn_cli_opt info_opts[] = {
    {"layers", 0, FN_OPT_FLAG, NULL, 0, 0, "also print the per-layer plan (folding, buffers, MACs)"},
    INPUT_SHAPE,
    {"batch", 0, FN_OPT_INT, "N", 1, 65536, "plan the activation memory for batches of N (default 1)"},
    NO_FUSE,
    END,
};
static const fn_cli_opt embed_opts[] = {
    {"raw", 0, FN_OPT_STR, "FILE", 0, 0, "a raw float32 input file in the model's layout (repeatable)"},
    INPUT_SHAPE,
    {"reference", 0, FN_OPT_FLAG, NULL, 0, 0, "run the naive reference kernels instead of the fast ones"},
    NO_FUSE,
    JSON,
    END,
};
static const fn_cli_opt encode_opts[] = {
    {"output", 'o', FN_OPT_STR, "FILE", 0, 0, "write the embeddings to FILE.npy, .csv or .h5 (up to 8 times)"},
    {"batch", 0, FN_OPT_INT, "N", 1, 4096, "images per forward pass (default 16)"},
    {"shard", 0, FN_OPT_SHARD, "K/N", 0, 0, "encode every N-th image of the sorted list, from the K-th"},
    {"resume", 0, FN_OPT_FLAG, NULL, 0, 0, "skip images already in the (first) output and add the rest to it"},
    {"checkpoint", 0, FN_OPT_POSITIVE, "S", 0, 0, "rewrite the outputs with the rows so far every S seconds (default 60)"},
    DETECT,
    LARGEST,
    LANDMARKS,
    JSON,
    END,
};
static const fn_cli_opt detect_opts[] = {
    DETECTION,
    {"draw", 0, FN_OPT_STR, "DIR", 0, 0, "write a copy of each photo with its boxes and landmarks into DIR (PNG)"},
    JSON,
    END,
};
static const fn_cli_opt enroll_opts[] = {DB, DETECT, LARGEST, LANDMARKS, JSON, END};
static const fn_cli_opt verify_opts[] = {DB, THRESHOLD, DETECT, LARGEST, LANDMARKS, JSON, END};
static const fn_cli_opt distance_opts[] = {
    {"plot", 0, FN_OPT_STR, "FILE", 0, 0, "also draw the matrix as a heat map (.png or .svg), threshold marked"},
    THRESHOLD,
    DETECT,
    LARGEST,
    LANDMARKS,
    JSON,
    END,
};
static const fn_cli_opt merge_opts[] = {
    {"output", 'o', FN_OPT_STR, "FILE", 0, 0, "the merged file: FILE.npy, .csv or .h5"},
    END,
};
static const fn_cli_opt evaluate_opts[] = {
    {"pairs", 0, FN_OPT_STR, "FILE", 0, 0, "the labelled pairs to evaluate (LFW pairs.txt format)"},
    {"images", 0, FN_OPT_STR, "DIR", 0, 0, "the folder the pair files name images in (Name/Name_0001.jpg)"},
    {"train-pairs", 0, FN_OPT_STR, "FILE", 0, 0, "choose the threshold on these pairs instead of by folds"},
    {"folds", 0, FN_OPT_INT, "N", 2, 1000, "cross-validation folds (default 10)"},
    {"batch", 0, FN_OPT_INT, "N", 1, 4096, "images per forward pass (default 16)"},
    DETECT,
    {"plot", 0, FN_OPT_STR, "FILE", 0, 0, "draw the ROC curve and distance histograms (.png or .svg)"},
    {"log-far", 0, FN_OPT_FLAG, NULL, 0, 0, "--plot: a logarithmic FAR axis (the low-FAR end of the ROC)"},
    {"scores", 0, FN_OPT_STR, "FILE.csv", 0, 0, "write every pair: images, label, distance, fold, answered"},
    LANDMARKS,
    JSON,
    END,
};
static const fn_cli_opt db_opts[] = {
    DB,
    {"skip-missing", 0, FN_OPT_FLAG, NULL, 0, 0, "reenroll: drop photos that cannot be read instead of failing"},
    DETECT,
    LARGEST,
    LANDMARKS,
    JSON,
    END,
};
static const fn_cli_opt trace_opts[] = {
    {"raw", 0, FN_OPT_STR, "FILE", 0, 0, "trace a raw float32 input (one, in the model's layout) instead of an image"},
    {"dump", 0, FN_OPT_STR, "DIR", 0, 0, "write every layer's output to DIR/LAYER.npy, with DIR/index.json"},
    {"maps", 0, FN_OPT_STR, "LAYER", 0, 0, "draw LAYER's feature maps (a grid, one grey picture per channel) to -o"},
    {"output", 'o', FN_OPT_STR, "FILE", 0, 0, "the picture of --maps: FILE.png or FILE.svg"},
    LANDMARKS,
    INPUT_SHAPE,
    {"reference", 0, FN_OPT_FLAG, NULL, 0, 0, "run the naive reference kernels instead of the fast ones"},
    NO_FUSE,
    {"json", 0, FN_OPT_FLAG, NULL, 0, 0, "print one JSON object per layer, one a line"},
    END,
};
static const fn_cli_opt graph_opts[] = {
    {"output", 'o', FN_OPT_STR, "FILE", 0, 0, "write the graph to FILE.svg (drawn by Graphviz) or FILE.dot"},
    INPUT_SHAPE,
    NO_FUSE,
    END,
};

static const fn_cli_opt model_opts[] = {
    {"model", 0, FN_OPT_STR, "DIR", 0, 0, "the model folder: DIR/model.json, DIR/model.h5, DIR/facenet.json"},
    {"model-json", 0, FN_OPT_STR, "FILE", 0, 0, "the architecture file (Keras model.json)"},
    {"weights", 0, FN_OPT_STR, "FILE", 0, 0, "the weights file (Keras .h5)"},
    {"threads", 0, FN_OPT_INT, "N", 1, 1024, "threads of the forward pass (default: all cores)"},
    END,
};
static const fn_cli_opt limit_opt[] = {
    {"limit", 0, FN_OPT_LIMIT, "NAME=N", 0, 0, "raise (or lower) one of the limits below (repeatable)"},
    END,
};
const fn_cli_limit fn_cli_limits[] = {
    {"json-bytes", offsetof(fn_limits, json_bytes), FN_DEFAULT_MAX_JSON_BYTES,
     "bytes of model.json, or of the .h5's model_config"},
    {"json-values", offsetof(fn_limits, json_values), FN_DEFAULT_MAX_JSON_VALUES,
     "values in that JSON (about 80 bytes each once parsed)"},
    {"layers", offsetof(fn_limits, layers), FN_DEFAULT_MAX_LAYERS, "layers of a model"},
    {"arena", offsetof(fn_limits, arena), FN_DEFAULT_MAX_ARENA_BYTES,
     "bytes of activation memory for one batch"},
    {"pixels", offsetof(fn_limits, pixels), FN_IMAGE_DEFAULT_MAX_PIXELS,
     "pixels of an image, decoded and padded to a square"},
    {"pairs", offsetof(fn_limits, pairs), FN_PAIRS_DEFAULT_MAX, "pairs a pairs file announces"},
    {"landmarks", offsetof(fn_limits, landmarks), FN_LANDMARKS_DEFAULT_MAX, "entries of a landmarks file"},
    {"raw-bytes", offsetof(fn_limits, raw_bytes), FN_CLI_DEFAULT_MAX_RAW_BYTES, "bytes of an embed --raw file"},
    {NULL, 0, 0, NULL},
};
static const fn_cli_opt help_opt[] = {
    {"help", 'h', FN_OPT_FLAG, NULL, 0, 0, "show this help and exit"},
    END,
};

const fn_cli_command fn_cli_commands[] = {
    {"info", fn_cmd_info, "[options]", "layers, parameters, MACs per image and the planned activation memory",
     info_opts},
    {"embed", fn_cmd_embed, "[options] [--raw] FILE.f32...",
     "run preprocessed raw float32 inputs (several per file = a batch)", embed_opts},
    {"detect", fn_cmd_detect, "[options] " IMAGES "...", "find the faces in photos: score, box and 68 landmarks",
     detect_opts},
    {"encode", fn_cmd_encode, "[options] " IMAGES "...", "embeddings of many images, to stdout or files",
     encode_opts},
    {"merge", fn_cmd_merge, "-o FILE [options] SHARD...",
     "join the outputs of encode --shard K/N into one file (same model, no overlap, no gap)", merge_opts},
    {"enroll", fn_cmd_enroll, "--db FILE [options] NAME " IMAGES "... | DIR",
     "add photos of a person to the gallery (all of them or none); DIR/Name/*.jpg: everyone in DIR", enroll_opts},
    {"verify", fn_cmd_verify, "--db FILE [options] NAME IMG",
     "is this NAME? exit status 0 yes, 1 no", verify_opts},
    {"identify", fn_cmd_identify, "--db FILE [options] " IMAGES "...",
     "per image the closest enrolled person, or unknown", verify_opts},
    {"distance", fn_cmd_distance, "[options] " IMAGES "...", "pairwise distance matrix", distance_opts},
    {"evaluate", fn_cmd_evaluate, "--pairs FILE --images DIR [options]",
     "LFW protocol: accuracy, threshold, ROC AUC, TAR at FAR=1e-3, triplet loss", evaluate_opts},
    {"db", fn_cmd_db, "list|info|check|remove NAME|reenroll --db FILE [options]",
     "list, inspect, check, remove gallery entries; re-encode a gallery with another model", db_opts},
    {"trace", fn_cmd_trace, "[options] IMG | --raw FILE.f32",
     "one image through the network layer by layer: shapes, MACs, time, activation statistics", trace_opts},
    {"graph", fn_cmd_graph, "-o FILE.svg|FILE.dot [options]",
     "the layer graph (Graphviz): blocks as clusters, shapes on the edges, folded layers merged", graph_opts},
    {NULL, NULL, NULL, NULL, NULL},
};

const fn_cli_command *fn_cli_find_command(const char *name)
{
    for (const fn_cli_command *c = fn_cli_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

static void print_opts(FILE *f, const fn_cli_opt *o)
{
    for (; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
                 o->short_name ? ',' : ' ', o->name, o->meta ? " " : "", o->meta ? o->meta : "");
        fprintf(f, "  %-28s %s\n", left, o->help);
    }
}

void fn_cli_print_help(const fn_cli_command *c, FILE *f)
{
    fprintf(f, "usage: facenet %s %s\n\n%s\n\noptions:\n", c->name, c->synopsis, c->summary);
    print_opts(f, c->opts);
    fprintf(f, "\nmodel options (default: $FACENET_MODEL, then the installed or built default model):\n");
    print_opts(f, model_opts);
    print_opts(f, limit_opt);
    print_opts(f, help_opt);
    fprintf(f, "\nlimits (--limit NAME=N; N may end in k, M or G for 1024, 1024^2, 1024^3):\n");
    for (const fn_cli_limit *l = fn_cli_limits; l->name; l++)
        fprintf(f, "  %-12s %12zu  %s\n", l->name, l->dflt, l->what);
    if (strstr(c->synopsis, "IMG"))
        fprintf(f, "\nimages: files, folders (recursive, sorted; .jpg .jpeg .png) and @LIST files (one path a line)");
    fprintf(f, "\nexit status: 0 success (verify: same person), 1 verify: different person,\n"
               "             2 error, or some image could not be read (the others are answered)\n");
}

/* Checks a value of kind k; 0 or -1 after a message. */
static int check_value(const char *cmd, const fn_cli_opt *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case FN_OPT_INT: {
        long x = strtol(v, &end, 10);
        if (!errno && end != v && !*end && x >= o->lo && x <= o->hi)
            return 0;
        fprintf(stderr, "facenet %s: --%s: '%s' is not an integer from %d to %d\n", cmd, o->name, v, o->lo, o->hi);
        return -1;
    }
    case FN_OPT_POSITIVE: {
        double x = strtod(v, &end);
        if (!errno && end != v && !*end && isfinite(x) && x > 0)
            return 0;
        fprintf(stderr, "facenet %s: --%s: '%s' is not a finite number > 0\n", cmd, o->name, v);
        return -1;
    }
    case FN_OPT_SHARD: {
        int k, n;
        if (!fn_cli_parse_shard(v, &k, &n))
            return 0;
        fprintf(stderr, "facenet %s: --%s: '%s' is not K/N with 0 <= K < N <= 1000000\n", cmd, o->name, v);
        return -1;
    }
    case FN_OPT_SHAPE: {
        fn_shape s;
        if (!fn_cli_parse_shape(v, &s))
            return 0;
        fprintf(stderr, "facenet %s: --%s: '%s' is not of the form HxWxC\n", cmd, o->name, v);
        return -1;
    }
    case FN_OPT_LIMIT: {
        fn_limits lim;
        if (!fn_cli_parse_limit(v, &lim))
            return 0;
        fprintf(stderr, "facenet %s: --%s: '%.60s' is not NAME=N with N > 0 and NAME one of", cmd, o->name, v);
        for (const fn_cli_limit *l = fn_cli_limits; l->name; l++)
            fprintf(stderr, " %s", l->name);
        fprintf(stderr, "\n");
        return -1;
    }
    default:
        return 0;
    }
}

int fn_cli_parse_shard(const char *v, int *k, int *n)
{
    char *end;
    errno = 0;
    long kk = strtol(v, &end, 10), nn = -1;
    if (end != v && *end == '/') {
        const char *s = end + 1;
        nn = strtol(s, &end, 10);
        if (end == s)
            nn = -1;
    }
    if (errno || *end || nn < 1 || nn > 1000000 || kk < 0 || kk >= nn)
        return -1;
    *k = (int)kk, *n = (int)nn;
    return 0;
}

int fn_cli_parse_limit(const char *s, fn_limits *lim)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq[1] < '0' || eq[1] > '9')
        return -1;
    for (const fn_cli_limit *l = fn_cli_limits; l->name; l++) {
        if (strlen(l->name) != (size_t)(eq - s) || strncmp(s, l->name, (size_t)(eq - s)))
            continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        int shift = *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
        if (shift)
            end++;
        if (errno || *end || v == 0 || v > (SIZE_MAX >> shift))
            return -1;
        *(size_t *)((char *)lim + l->offset) = (size_t)v << shift;
        return 0;
    }
    return -1;
}

int fn_cli_parse_shape(const char *s, fn_shape *out)
{
    out->rank = 0;
    while (*s && out->rank < FN_MAX_RANK) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v <= 0 || v > 1000000)
            return -1;
        out->d[out->rank++] = (int)v;
        s = end;
        if (*s == 'x' || *s == 'X')
            s++;
        else if (*s)
            return -1;
    }
    return *s || out->rank == 0 ? -1 : 0;
}

/* The table entry for long option number i over the command's, model and help tables. */
static const fn_cli_opt *nth_opt(const fn_cli_command *c, int i)
{
    const fn_cli_opt *tables[4] = {c->opts, model_opts, limit_opt, help_opt};
    for (int t = 0; t < 4; t++)
        for (const fn_cli_opt *o = tables[t]; o->name; o++)
            if (i-- == 0)
                return o;
    return NULL;
}

int fn_cli_parse(const char *name, int argc, char **argv, fn_cli_args *a)
{
    memset(a, 0, sizeof *a);
    const fn_cli_command *c = a->cmd = fn_cli_find_command(name);
    if (!c)
        return fn_cli_fail("internal: no option table for %s", name);
    struct option lo[64];
    char shorts[64] = "-:"; /* '-': operands come back in order; ':': we report errors */
    int n = 0, ns = 2;
    for (const fn_cli_opt *o; (o = nth_opt(c, n)) && n < 63; n++) {
        lo[n] = (struct option){o->name, o->kind == FN_OPT_FLAG ? no_argument : required_argument, NULL, 256 + n};
        if (o->short_name && ns < 60) {
            shorts[ns++] = o->short_name;
            if (o->kind != FN_OPT_FLAG)
                shorts[ns++] = ':';
        }
    }
    lo[n] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    a->ev = calloc((size_t)argc + 1, sizeof *a->ev);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->ev || !a->pos)
        return fn_cli_fail("out of memory");
    opterr = 0;
    optind = 0; /* a full reset (glibc) */
    int ch, idx;
    while ((ch = getopt_long(argc, argv, shorts, lo, &idx)) != -1) {
        const fn_cli_opt *o = NULL;
        if (ch == 1) {
            a->pos[a->n_pos++] = optarg;
            continue;
        }
        if (ch == '?' || ch == ':') {
            char opt[80];
            if (optopt >= 256 && (o = nth_opt(c, optopt - 256)))
                snprintf(opt, sizeof opt, "--%s", o->name);
            else if (optopt > 0 && optopt < 256)
                snprintf(opt, sizeof opt, "-%c", optopt);
            else
                snprintf(opt, sizeof opt, "%.*s", (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
            for (char *p = opt; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
            const char *why = ch == ':' ? "needs a value" : o ? "takes no value" : "unknown option";
            if (ch == ':' || o)
                fprintf(stderr, "facenet %s: option %s %s (see facenet %s --help)\n", name, opt, why, name);
            else
                fprintf(stderr, "facenet %s: unknown option %s (see facenet %s --help)\n", name, opt, name);
            return -1;
        }
        if (ch >= 256)
            o = nth_opt(c, ch - 256);
        else
            for (int i = 0; !o && i < n; i++)
                if (nth_opt(c, i)->short_name == ch)
                    o = nth_opt(c, i);
        if (!o)
            return fn_cli_fail("internal: option %d has no table entry", ch);
        if (!strcmp(o->name, "help")) {
            fn_cli_print_help(c, stdout);
            return 1;
        }
        if (optarg && check_value(name, o, optarg))
            return -1;
        if (!strcmp(o->name, "model"))
            a->model.dir = optarg;
        else if (!strcmp(o->name, "model-json"))
            a->model.json = optarg;
        else if (!strcmp(o->name, "weights"))
            a->model.weights = optarg;
        else if (!strcmp(o->name, "no-fuse"))
            a->model.no_fuse = 1;
        else if (!strcmp(o->name, "threads"))
            a->model.threads = atoi(optarg); /* range-checked above */
        else if (!strcmp(o->name, "limit"))
            fn_cli_parse_limit(optarg, &a->model.lim); /* checked above */
        a->ev[a->n_ev].opt = o;
        a->ev[a->n_ev++].val = optarg;
    }
    while (optind < argc) /* after "--" */
        a->pos[a->n_pos++] = argv[optind++];
    return 0;
}

void fn_cli_args_free(fn_cli_args *a)
{
    free(a->ev);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

/* The option must be in the command's table: asking for another is a programming
 * error, caught by the first test that runs the command. */
static void known(const fn_cli_args *a, const char *name)
{
    for (const fn_cli_opt *o = a->cmd->opts; o->name; o++)
        if (!strcmp(o->name, name))
            return;
    fprintf(stderr, "facenet %s: internal: --%s is not in its option table\n", a->cmd->name, name);
    abort();
}

int fn_cli_values(const fn_cli_args *a, const char *name, const char **out, int cap)
{
    known(a, name);
    int k = 0;
    for (int i = 0; i < a->n_ev; i++)
        if (!strcmp(a->ev[i].opt->name, name)) {
            if (k < cap && out)
                out[k] = a->ev[i].val;
            k++;
        }
    return k;
}

int fn_cli_flag(const fn_cli_args *a, const char *name)
{
    return fn_cli_values(a, name, NULL, 0) > 0;
}

const char *fn_cli_str(const fn_cli_args *a, const char *name)
{
    known(a, name);
    for (int i = a->n_ev - 1; i >= 0; i--)
        if (!strcmp(a->ev[i].opt->name, name))
            return a->ev[i].val;
    return NULL;
}

int fn_cli_get_int(const fn_cli_args *a, const char *name, int dflt)
{
    const char *v = fn_cli_str(a, name);
    return v ? (int)strtol(v, NULL, 10) : dflt; /* checked by the parser */
}

double fn_cli_get_double(const fn_cli_args *a, const char *name, double dflt)
{
    const char *v = fn_cli_str(a, name);
    return v ? strtod(v, NULL) : dflt;
}
