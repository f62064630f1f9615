/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "app/match.h"

static const char *join(const char *base, const char *rel)
{
    static char bufs[8][4096];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", base, rel);
    return b;
}

const char *tu_shared(const char *rel)
{
    const char *s = getenv("FACENET_SHARED");
    return join(s && *s ? s : "../shared", rel);
}

char *tu_shared_dup(const char *rel)
{
    char *p = strdup(tu_shared(rel));
    if (!p)
        fail_msg("out of memory");
    return p;
}

const char *tu_path_in(const char *dir, const char *name)
{
    return join(dir, name);
}

const char *tu_build(const char *rel)
{
    const char *s = getenv("FACENET_BUILD");
    return join(s && *s ? s : "build", rel);
}

char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

cJSON *tu_read_json(const char *path)
{
    char *t = tu_read(path, NULL);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

double tu_maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) /* also catches NaN */
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

float *tu_json_floats(const cJSON *arr, size_t *n)
{
    int k = cJSON_GetArraySize(arr);
    float *v = malloc(sizeof(float) * (size_t)(k ? k : 1));
    for (int i = 0; v && i < k; i++) {
        const cJSON *x = cJSON_GetArrayItem(arr, i);
        v[i] = cJSON_IsNumber(x) ? (float)x->valuedouble : NAN;
    }
    *n = (size_t)k;
    return v;
}

char *tu_tmpdir(void)
{
    char tmpl[] = "/tmp/facenet-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

int tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) || w != len ? -1 : 0;
}

int tu_run(const char *cmd, char **out, char **err)
{
    char *d = tu_tmpdir();
    if (!d)
        return -1;
    char o[4200], e[4200], full[16384];
    snprintf(o, sizeof o, "%s/out", d);
    snprintf(e, sizeof e, "%s/err", d);
    snprintf(full, sizeof full, "(%s) >%s 2>%s </dev/null", cmd, o, e);
    int st = system(full);
    if (out)
        *out = tu_read(o, NULL);
    if (err)
        *err = tu_read(e, NULL);
    remove(o);
    remove(e);
    remove(d);
    free(d);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

unsigned char *tu_read_must(const char *path, size_t *len)
{
    size_t n = 0;
    char *b = tu_read(path, &n);
    if (!b)
        fail_msg("cannot read %s (is FACENET_SHARED set?)", path);
    if (len)
        *len = n;
    return (unsigned char *)b;
}

void tu_write_must(const char *path, const void *data, size_t len)
{
    if (tu_write(path, data, len))
        fail_msg("cannot write %s", path);
}

void tu_write_text(const char *path, const char *text)
{
    tu_write_must(path, text, strlen(text));
}

int tu_rmtree(const char *dir)
{
    char cmd[4200];
    if (!dir || !*dir || strchr(dir, '\''))
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* xorshift64, one sequence per test program */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
double tu_urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

float *tu_random_unit(int n, int d)
{
    float *v = malloc(sizeof(float) * (size_t)n * (size_t)d);
    assert_non_null(v);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < d; k++)
            v[(size_t)i * d + k] = (float)(tu_urand() * 2 - 1);
        fn_l2_normalize(v + (size_t)i * d, d);
    }
    return v;
}

float tu_frand(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

float *tu_randv(unsigned *state, size_t n)
{
    float *v = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = tu_frand(state);
    return v;
}
