/* common.c - helpers shared by the subcommands (see cli.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/encoder.h"
#include "cli/cli.h"

#define FN_DEFAULT_MODEL "weights/dlib-resnet"

int fn_cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("facenet: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return FN_EXIT_ERROR;
}

int fn_cli_fail_err(const fn_err *err)
{
    return fn_cli_fail("%s", err->msg[0] ? err->msg : "unknown error");
}

const char *fn_cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fn_cli_fail("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int fn_cli_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fn_cli_fail("%s: '%s' is not an integer in [%d, %d]", opt, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int fn_cli_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v)) {
        fn_cli_fail("%s: '%s' is not a number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int fn_cli_model_opt(fn_model_args *m, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--no-fuse")) {
        m->no_fuse = 1;
        return 1;
    }
    const char **slot = !strcmp(a, "--model") ? &m->dir : !strcmp(a, "--model-json") ? &m->json
                      : !strcmp(a, "--weights") ? &m->weights : NULL;
    if (!slot)
        return 0;
    const char *v = fn_cli_value(argc, argv, i);
    *slot = v;
    return v ? 1 : -1;
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
    return env && *env ? env : FN_DEFAULT_MODEL;
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

int fn_cli_load_model(const fn_model_args *m, fn_net **net, fn_err *err)
{
    char json[PATH_MAX + 16], h5[PATH_MAX + 16], prof[PATH_MAX + 16];
    const char *j, *w;
    model_files(m, json, h5, prof, sizeof json, &j, &w);
    if (!m->dir && !m->json && !m->weights) {
        struct stat st;
        if (stat(w, &st))
            return fn_fail(err, FN_E_IO, "%s: no model here (run `make weights` for the default model, or pass --model DIR)",
                           w);
    }
    fn_load_opts o = {.model_json = j, .weights = w, .no_fuse = m->no_fuse, .threads = m->threads};
    sandbox_policy(m, &o);
    return fn_net_load(&o, net, err);
}

void fn_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void fn_json_floats(FILE *f, const float *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i]))
            fprintf(f, "%s%.9g", i ? ", " : "", (double)v[i]);
        else
            fprintf(f, "%snull", i ? ", " : ""); /* JSON has no NaN/inf */
    }
    fputc(']', f);
}

int fn_cli_open_encoder(const fn_model_args *m, fn_encoder *enc, fn_err *err)
{
    char json[PATH_MAX + 16], h5[PATH_MAX + 16], prof[PATH_MAX + 16];
    const char *j, *w;
    model_files(m, json, h5, prof, sizeof json, &j, &w);
    if (!m->dir && !m->json && !m->weights && access(w, F_OK))
        return fn_fail(err, FN_E_IO, "%s: no model here (run `make weights` for the default model, or pass --model DIR)",
                       w);
    fn_load_opts o = {.model_json = j, .weights = w, .threads = m->threads};
    sandbox_policy(m, &o);
    return fn_encoder_open_opts(enc, &o, prof, err);
}
