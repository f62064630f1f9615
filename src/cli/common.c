/* common.c - helpers shared by the subcommands (see cli.h). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/encoder.h"
#include "cli/cli.h"
#include "core/file.h"

#define FN_DEFAULT_NAME "dlib-resnet"

int fn_cli_fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one line, and nothing that drives the terminal */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "facenet: %s\n", msg);
    return FN_EXIT_ERROR;
}

/* An FN_E_LIMIT message names the limit ("... the limit NAME=N"): say how to raise it. */
int fn_cli_fail_err(const fn_err *err)
{
    const char *msg = err->msg[0] ? err->msg : "unknown error", *at = strstr(msg, "the limit ");
    if (err->kind == FN_E_LIMIT && at) {
        at += strlen("the limit ");
        int n = (int)strcspn(at, "=");
        return fn_cli_fail("%s; --limit %.*s=N raises it", msg, n, at);
    }
    return fn_cli_fail("%s", msg);
}

static int has_model(const char *dir)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/model.h5", dir);
    return access(p, F_OK) == 0;
}

/* The default model, searched for where it may be: installed (FN_DATADIR, set by
 * `make install`), the source tree from the current directory, and the source tree
 * beside the executable (build/facenet -> ../weights/dlib-resnet), so `facenet` works
 * from any directory.  NULL (and the places in `looked`) when it is nowhere. */
static const char *model_dir_named(const char *name, char *buf, size_t cap, char *looked, size_t lcap)
{
    const char *cand[3];
    int n = 0;
#ifdef FN_DATADIR
    char inst[PATH_MAX];
    snprintf(inst, sizeof inst, "%s/models/%s", FN_DATADIR, name);
    cand[n++] = inst;
#endif
    char here[PATH_MAX];
    snprintf(here, sizeof here, "weights/%s", name);
    cand[n++] = here;
    char exe[PATH_MAX], beside[2 * PATH_MAX + 64] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        for (int up = 0; up < 2; up++) { /* drop the file name, then its folder (build/) */
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
        }
        snprintf(beside, sizeof beside, "%s/weights/%s", exe[0] ? exe : "", name);
        cand[n++] = beside;
    }
    looked[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (has_model(cand[i])) {
            snprintf(buf, cap, "%s", cand[i]);
            return buf;
        }
        size_t l = strlen(looked);
        snprintf(looked + l, lcap - l, "%s%s", i ? ", " : "", cand[i]);
    }
    return NULL;
}

static const char *default_model_dir(char *buf, size_t cap, char *looked, size_t lcap)
{
    return model_dir_named(FN_DEFAULT_NAME, buf, cap, looked, lcap);
}

int fn_cli_find_model(const char *name, char *buf, size_t cap, fn_err *err)
{
    char looked[4 * PATH_MAX];
    if (model_dir_named(name, buf, cap, looked, sizeof looked))
        return 0;
    return fn_fail(err, FN_E_IO, "model %s not found in %s (run `make weights`, or give --no-detect to take "
                   "each image as a face crop)", name, looked);
}

const char *fn_cli_model_dir(const fn_model_args *m, char *buf, size_t cap)
{
    if (m->dir)
        return m->dir;
    const char *file = m->json ? m->json : m->weights;
    if (file) {
        snprintf(buf, cap, "%s", file);
        char *slash = strrchr(buf, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(buf, cap, ".");
        return buf;
    }
    const char *env = getenv("FACENET_MODEL");
    if (env && *env)
        return env;
    char looked[4 * PATH_MAX];
    const char *d = default_model_dir(buf, cap, looked, sizeof looked);
    return d ? d : "weights/" FN_DEFAULT_NAME;
}

/* 0, or -1 with the places searched when no model is named and none was found. */
static int find_default(const fn_model_args *m, fn_err *err)
{
    const char *env = getenv("FACENET_MODEL");
    if (m->dir || m->json || m->weights || (env && *env))
        return 0;
    char buf[PATH_MAX], looked[4 * PATH_MAX];
    if (default_model_dir(buf, sizeof buf, looked, sizeof looked))
        return 0;
    return fn_fail(err, FN_E_IO, "no model found: no --model DIR, $FACENET_MODEL unset, nothing in %s "
                   "(run `make weights` for the default model, or pass --model DIR)", looked);
}

/* The model files the options name: --model-json / --weights win, else DIR/model.json
 * (when it exists; a full-model .h5 carries its own config) and DIR/model.h5. */
static void model_files(const fn_model_args *m, char *json, char *h5, char *prof, size_t cap, const char **j,
                        const char **w)
{
    char dirbuf[PATH_MAX];
    const char *dir = fn_cli_model_dir(m, dirbuf, sizeof dirbuf);
    snprintf(json, cap, "%s/model.json", dir);
    snprintf(h5, cap, "%s/model.h5", dir);
    snprintf(prof, cap, "%s/facenet.json", dir);
    *j = m->json ? m->json : (!m->weights || m->dir) && access(json, F_OK) == 0 ? json : NULL;
    *w = m->weights ? m->weights : h5;
}

/* libhdf5 can crash or spin on some corrupted files, so a model file from outside is
 * read in a sandboxed child (fn_load_opts.sandbox): any model the user names (--model,
 * --model-json, --weights, $FACENET_MODEL).  The default model, converted here from a
 * checksummed package, is read directly.  FACENET_NO_SANDBOX=1 turns the sandbox off,
 * FACENET_SANDBOX=1 on for every model; FACENET_LOAD_TIMEOUT=S sets its time limit. */
static void sandbox_policy(const fn_model_args *m, fn_load_opts *o)
{
    const char *off = getenv("FACENET_NO_SANDBOX"), *on = getenv("FACENET_SANDBOX");
    const char *t = getenv("FACENET_LOAD_TIMEOUT"), *env = getenv("FACENET_MODEL");
    int named = m->dir || m->json || m->weights || (env && *env);
    o->sandbox = named || (on && *on && strcmp(on, "0"));
    if (off && *off && strcmp(off, "0"))
        o->sandbox = 0;
    o->sandbox_timeout_s = t && atoi(t) > 0 ? atoi(t) : 0;
}

double fn_cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int fn_cli_out_dir(const char *dir)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return fn_cli_fail("%s: cannot create the folder: %s", dir, strerror(errno));
    if (access(dir, W_OK | X_OK))
        return fn_cli_fail("%s: cannot write into the folder: %s", dir, strerror(errno));
    return 0;
}

/* Landmarks of an image: by its key, else by its last two path components
 * ("Name/Name_0001.jpg", as LFW lists them). */
const double *fn_cli_find_landmarks(const fn_landmarks *lm, const char *key)
{
    const double *p = fn_landmarks_find(lm, key);
    if (p)
        return p;
    const char *s = key + strlen(key);
    int slashes = 0;
    while (s > key && slashes < 2)
        if (*--s == '/' && ++slashes == 2)
            s++;
    return s != key ? fn_landmarks_find(lm, s) : NULL;
}

int fn_cli_sandbox_default(void)
{
    const char *off = getenv("FACENET_NO_SANDBOX"), *on = getenv("FACENET_SANDBOX");
    return on && *on && strcmp(on, "0") && !(off && *off && strcmp(off, "0"));
}

static void apply_limits(const fn_model_args *m, fn_load_opts *o)
{
    o->max_json_bytes = m->lim.json_bytes;
    o->max_json_values = m->lim.json_values;
    o->max_layers = m->lim.layers;
    o->max_arena_bytes = m->lim.arena;
}

int fn_cli_load_model(const fn_model_args *m, fn_net **net, fn_err *err)
{
    char json[PATH_MAX + 16], h5[PATH_MAX + 16], prof[PATH_MAX + 16];
    const char *j, *w;
    model_files(m, json, h5, prof, sizeof json, &j, &w);
    if (find_default(m, err))
        return -1;
    if (m->arch_only && m->json && !m->weights && access(w, F_OK) != 0)
        w = NULL;
    fn_load_opts o = {.model_json = j, .weights = w, .no_fuse = m->no_fuse, .threads = m->threads};
    sandbox_policy(m, &o);
    apply_limits(m, &o);
    return fn_net_load(&o, net, err);
}

int fn_cli_check_model(const fn_model_args *m, int profile, fn_err *err)
{
    char json[PATH_MAX + 16], h5[PATH_MAX + 16], prof[PATH_MAX + 16];
    const char *j, *w;
    struct stat st;
    if (m->dir && fn_cli_check_dir(m->dir, "--model", err))
        return -1;
    model_files(m, json, h5, prof, sizeof json, &j, &w);
    if (find_default(m, err) || (j && fn_check_regular(j, err)))
        return -1;
    if (!(m->arch_only && m->json && !m->weights && access(w, F_OK) != 0) && fn_check_regular(w, err))
        return -1;
    if (profile && stat(prof, &st) == 0 && fn_check_regular(prof, err))
        return -1;
    return 0;
}

int fn_cli_load_landmarks(const fn_model_args *m, const char *path, double scale, fn_landmarks *lm, fn_err *err)
{
    return fn_landmarks_load_max(path, scale, m->lim.landmarks, lm, err);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0: no overlong forms, no UTF-16
 * surrogates (ED A0..BF), nothing above U+10FFFF. */
static int utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    if (n == 0 || p[1] < lo || p[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* A JSON string for any bytes: UTF-8 passes through (cJSON escapes quotes,
 * backslashes and control characters), and each byte that is not part of valid UTF-8
 * (file names are bytes on Linux) becomes the four characters \xHH first - cJSON
 * needs UTF-8 to write valid JSON, and the original bytes stay recoverable. */
cJSON *fn_json_str(const char *s)
{
    size_t n = strlen(s);
    char *t = malloc(4 * n + 1);
    if (!t)
        return NULL;
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = utf8_len(p);
        if (len == 0) {
            k += (size_t)sprintf(t + k, "\\x%02X", *p);
            p++;
        } else {
            memcpy(t + k, p, (size_t)len);
            k += (size_t)len, p += len;
        }
    }
    t[k] = '\0';
    cJSON *j = cJSON_CreateString(t);
    free(t);
    return j;
}

/* The double nearest the shortest decimal that reads back as f (0.7f -> 0.7, not
 * 0.699999988079071): the JSON printers here write doubles exactly (io/json_out.h), and
 * this keeps the text short while every float32 still reads back to itself. */
double fn_json_float_value(float f)
{
    if (!isfinite(f))
        return f;
    char buf[32];
    for (int prec = 6; prec < 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    snprintf(buf, sizeof buf, "%.9g", (double)f);
    return strtod(buf, NULL);
}

/* cJSON writes NaN and infinities as null (JSON has neither). */
cJSON *fn_json_floats(const float *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateNumber(fn_json_float_value(v[i]));
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* One object, one line on stdout; deletes obj.  A NULL obj (or any NULL item added to
 * it) means an allocation failed. */
int fn_json_print(cJSON *obj)
{
    char *s = obj ? fn_json_print_exact(obj, 0) : NULL;
    cJSON_Delete(obj);
    if (!s)
        return fn_cli_fail("out of memory writing JSON");
    puts(s);
    cJSON_free(s);
    return 0;
}

int fn_cli_open_encoder(const fn_model_args *m, fn_encoder *enc, fn_err *err)
{
    char json[PATH_MAX + 16], h5[PATH_MAX + 16], prof[PATH_MAX + 16];
    const char *j, *w;
    model_files(m, json, h5, prof, sizeof json, &j, &w);
    if (find_default(m, err))
        return -1;
    fn_load_opts o = {.model_json = j, .weights = w, .threads = m->threads};
    sandbox_policy(m, &o);
    apply_limits(m, &o);
    if (fn_encoder_open_opts(enc, &o, prof, err))
        return -1;
    fn_encoder_set_max_pixels(enc, m->lim.pixels);
    return 0;
}
