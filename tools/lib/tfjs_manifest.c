/* tfjs_manifest.c - see tfjs_manifest.h.  Every count read from the manifest is
 * checked before use; shards are read whole and their sizes must match exactly. */
#include "tfjs_manifest.h"

#include "core/file.h"
#include "facenet.h"
#include "io/json_limit.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int read_whole(const char *path, size_t max, const char *limit, unsigned char **buf, size_t *len,
                      fn_err *err)
{
    char *p;
    if (fn_read_file_limit(path, max, limit, &p, len, err))
        return -1;
    *buf = (unsigned char *)p;
    return 0;
}

#define OR_DEFAULT(v, d) ((v) ? (v) : (d))

int fn_tfjs_parse_limit(const char *s, fn_tfjs_limits *lim, fn_err *err)
{
    static const struct {
        const char *name;
        size_t offset;
    } names[] = {{"json-bytes", offsetof(fn_tfjs_limits, max_json_bytes)},
                 {"json-values", offsetof(fn_tfjs_limits, max_json_values)},
                 {"weight-bytes", offsetof(fn_tfjs_limits, max_weight_bytes)}};
    const char *eq = strchr(s, '=');
    for (size_t i = 0; eq && i < sizeof names / sizeof *names; i++) {
        if (strlen(names[i].name) != (size_t)(eq - s) || strncmp(s, names[i].name, (size_t)(eq - s)))
            continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(eq + 1, &end, 10);
        int shift = *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
        if (shift)
            end++;
        if (eq[1] < '0' || eq[1] > '9' || *end || errno || v == 0 || v > (SIZE_MAX >> shift))
            return fn_fail(err, FN_E_ARG, "--limit %s: not a whole number > 0 (k, M, G allowed)", s);
        *(size_t *)((char *)lim + names[i].offset) = (size_t)v << shift;
        return 0;
    }
    return fn_fail(err, FN_E_ARG, "--limit %s: not NAME=N with NAME json-bytes, json-values or weight-bytes", s);
}

int fn_tfjs_limit_args(int argc, char **argv, fn_tfjs_limits *lim, fn_err *err)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *v = NULL;
        if (!strncmp(argv[i], "--limit=", 8))
            v = argv[i] + 8;
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            v = argv[++i];
        else
            break;
        if (fn_tfjs_parse_limit(v, lim, err))
            return -1;
    }
    return i;
}

void fn_tfjs_print_err(const char *prog, const fn_err *err)
{
    const char *at = strstr(err->msg, "the limit ");
    if (err->kind == FN_E_LIMIT && at) {
        at += strlen("the limit ");
        fprintf(stderr, "%s: %s; --limit %.*s=N raises it\n", prog, err->msg, (int)strcspn(at, "="), at);
    } else {
        fprintf(stderr, "%s: %s\n", prog, err->msg);
    }
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal half: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float le_float(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One manifest entry, parsed but not yet decoded. */
typedef struct {
    int qbytes;          /* bytes per stored element */
    int kind;            /* 0 raw float32, 1 uint8, 2 uint16, 3 float16 */
    int is_int32;        /* dtype int32: raw int32, or Math.round(q * scale + min) */
    double scale, min;
} entry_fmt;

static const char *const KIND_NAME[] = {"none", "uint8", "uint16", "float16"};

static int parse_entry(const char *mpath, const cJSON *e, int gi, int wi, fn_tfjs_tensor *t,
                       entry_fmt *fmt, fn_err *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    if (!cJSON_IsObject(e) || !cJSON_IsString(name) || !name->valuestring[0])
        return fn_fail(err, FN_E_FORMAT, "%s: group %d weight %d: no \"name\" string", mpath, gi,
                       wi);
    const char *nm = name->valuestring;
    t->name = strdup(nm);
    if (!t->name)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", mpath);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape))
        return fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': no \"shape\" array", mpath, nm);
    int rank = cJSON_GetArraySize(shape);
    if (rank > FN_TFJS_MAX_RANK)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: tensor '%s': rank %d (at most %d)", mpath, nm,
                       rank, FN_TFJS_MAX_RANK);
    t->rank = rank;
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        double v = cJSON_IsNumber(d) ? d->valuedouble : -1;
        if (!(v >= 0 && v <= 2147483647.0 && v == floor(v)))
            return fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': shape[%d] is not a dimension",
                           mpath, nm, i);
        t->dims[i] = (long long)v;
        if (fn_mul_size(count, (size_t)v, &count))
            return fn_fail(err, FN_E_NOMEM, "%s: tensor '%s': element count overflows", mpath, nm);
    }
    t->count = count;

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dtype))
        return fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': no \"dtype\" string", mpath, nm);
    fmt->is_int32 = strcmp(dtype->valuestring, "int32") == 0;
    if (strcmp(dtype->valuestring, "float32") != 0 && !fmt->is_int32)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: tensor '%s': dtype '%s' (only float32 and int32)",
                       mpath, nm, dtype->valuestring);
    t->dtype = fmt->is_int32 ? "int32" : "float32";

    const cJSON *q = cJSON_GetObjectItemCaseSensitive(e, "quantization");
    fmt->kind = 0;
    fmt->qbytes = 4;
    if (q) {
        const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "dtype");
        if (!cJSON_IsObject(q) || !cJSON_IsString(qd))
            return fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': quantization without \"dtype\"",
                           mpath, nm);
        if (strcmp(qd->valuestring, "uint8") == 0) {
            fmt->kind = 1;
            fmt->qbytes = 1;
        } else if (strcmp(qd->valuestring, "uint16") == 0) {
            fmt->kind = 2;
            fmt->qbytes = 2;
        } else if (strcmp(qd->valuestring, "float16") == 0) {
            fmt->kind = 3;
            fmt->qbytes = 2;
        } else {
            return fn_fail(err, FN_E_UNSUPPORTED, "%s: tensor '%s': quantization dtype '%s'",
                           mpath, nm, qd->valuestring);
        }
        if (fmt->kind == 1 || fmt->kind == 2) {
            const cJSON *sc = cJSON_GetObjectItemCaseSensitive(q, "scale");
            const cJSON *mn = cJSON_GetObjectItemCaseSensitive(q, "min");
            if (!cJSON_IsNumber(sc) || !cJSON_IsNumber(mn) || !isfinite(sc->valuedouble) ||
                !isfinite(mn->valuedouble))
                return fn_fail(err, FN_E_FORMAT,
                               "%s: tensor '%s': %s quantization needs numeric scale and min",
                               mpath, nm, qd->valuestring);
            fmt->scale = sc->valuedouble;
            fmt->min = mn->valuedouble;
        }
    }
    if (fmt->is_int32 && fmt->kind == 3)
        return fn_fail(err, FN_E_UNSUPPORTED, "%s: tensor '%s': float16 quantization of int32 values",
                       mpath, nm);
    t->quant = KIND_NAME[fmt->kind];
    return 0;
}

/* int32 tensors (shapes, axes: small integers) become floats; exact below 2^24. */
static void decode_int32(const unsigned char *src, const entry_fmt *fmt, float *dst, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fmt->kind == 0) {
            uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                         (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
            int32_t v;
            memcpy(&v, &u, sizeof v);
            dst[i] = (float)v;
        } else {
            double qv = fmt->kind == 1 ? src[i] : (double)(src[2 * i] | src[2 * i + 1] << 8);
            double prod = qv * fmt->scale;
            double sum = prod + fmt->min;
            dst[i] = (float)floor(sum + 0.5); /* Math.round: halves up */
        }
    }
}

static void decode(const unsigned char *src, const entry_fmt *fmt, float *dst, size_t count)
{
    if (fmt->is_int32) {
        decode_int32(src, fmt, dst, count);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        switch (fmt->kind) {
        case 0:
            dst[i] = le_float(src + 4 * i);
            break;
        case 1:
        case 2: {
            double qv = fmt->kind == 1 ? src[i] : (double)(src[2 * i] | src[2 * i + 1] << 8);
            /* Two statements so no compiler fuses them into an FMA: JavaScript rounds
             * the product and the sum separately, then Float32Array rounds once more. */
            double prod = qv * fmt->scale;
            double sum = prod + fmt->min;
            dst[i] = (float)sum;
            break;
        }
        default:
            dst[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
            break;
        }
    }
}

/* Resolve a shard path against the manifest's directory. */
static char *shard_path(const char *mpath, const char *rel, fn_err *err)
{
    if (!rel[0] || rel[0] == '/' || strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0 ||
        strstr(rel, "/../") || (strlen(rel) >= 3 && strcmp(rel + strlen(rel) - 3, "/..") == 0)) {
        fn_fail(err, FN_E_FORMAT, "%s: shard path '%s' is not a plain relative path", mpath, rel);
        return NULL;
    }
    if (strncmp(rel, "./", 2) == 0)
        rel += 2;
    const char *slash = strrchr(mpath, '/');
    size_t dlen = slash ? (size_t)(slash - mpath) + 1 : 0;
    size_t len = dlen + strlen(rel) + 1;
    char *p = malloc(len);
    if (!p) {
        fn_fail(err, FN_E_NOMEM, "%s: out of memory", mpath);
        return NULL;
    }
    memcpy(p, mpath, dlen);
    strcpy(p + dlen, rel);
    return p;
}

/* Read and concatenate one group's shards. */
static int load_group(const char *mpath, const cJSON *paths, int gi, size_t *budget, size_t max,
                      unsigned char **buf, size_t *len, char *first, size_t first_cap, fn_err *err)
{
    *buf = NULL;
    *len = 0;
    int np = cJSON_IsArray(paths) ? cJSON_GetArraySize(paths) : 0;
    if (np <= 0)
        return fn_fail(err, FN_E_FORMAT, "%s: group %d: no \"paths\" list", mpath, gi);
    unsigned char *all = NULL;
    size_t total = 0;
    for (int i = 0; i < np; i++) {
        const cJSON *pj = cJSON_GetArrayItem(paths, i);
        if (!cJSON_IsString(pj)) {
            free(all);
            return fn_fail(err, FN_E_FORMAT, "%s: group %d: paths[%d] is not a string", mpath,
                           gi, i);
        }
        char *sp = shard_path(mpath, pj->valuestring, err);
        if (!sp) {
            free(all);
            return -1;
        }
        if (i == 0)
            snprintf(first, first_cap, "%s", sp);
        unsigned char *part;
        size_t plen, nt;
        int rc = read_whole(sp, max, "weight-bytes", &part, &plen, err);
        free(sp);
        if (rc) {
            free(all);
            return -1;
        }
        if (plen > *budget) { /* the shards before it took the rest */
            free(part);
            free(all);
            return fn_fail(err, FN_E_LIMIT, "%s: its shards reach %zu bytes, more than the limit weight-bytes=%zu",
                           mpath, max - *budget + plen, max);
        }
        *budget -= plen;
        if (fn_add_size(total, plen, &nt)) {
            free(part);
            free(all);
            return fn_fail(err, FN_E_FORMAT, "%s: group %d: shards too large", mpath, gi);
        }
        if (!all) {
            all = part;
        } else {
            unsigned char *grown = realloc(all, nt + 1);
            if (!grown) {
                free(part);
                free(all);
                return fn_fail(err, FN_E_NOMEM, "%s: out of memory", mpath);
            }
            all = grown;
            memcpy(all + total, part, plen);
            free(part);
        }
        total = nt;
    }
    *buf = all;
    *len = total;
    return 0;
}

int fn_tfjs_load(const char *mpath, fn_tfjs_weights *out, fn_err *err)
{
    return fn_tfjs_load_limits(mpath, NULL, out, err);
}

int fn_tfjs_load_limits(const char *mpath, const fn_tfjs_limits *lim, fn_tfjs_weights *out, fn_err *err)
{
    out->t = NULL;
    out->n = 0;
    const fn_tfjs_limits none = {0, 0, 0};
    if (!lim)
        lim = &none;
    const size_t max_weights = OR_DEFAULT(lim->max_weight_bytes, FN_TFJS_DEFAULT_MAX_WEIGHT_BYTES);
    size_t budget = max_weights;
    unsigned char *text;
    size_t tlen;
    if (read_whole(mpath, OR_DEFAULT(lim->max_json_bytes, FN_DEFAULT_MAX_JSON_BYTES), "json-bytes", &text, &tlen,
                   err))
        return -1;
    cJSON *root = fn_json_parse_limited((const char *)text, tlen,
                                        OR_DEFAULT(lim->max_json_values, FN_DEFAULT_MAX_JSON_VALUES), "json-values",
                                        mpath, err);
    free(text);
    if (!root)
        return -1;
    if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) == 0) {
        cJSON_Delete(root);
        return fn_fail(err, FN_E_FORMAT, "%s: not a tfjs weights manifest (expected a JSON array "
                       "of {paths, weights} groups)", mpath);
    }

    int total = 0, ng = cJSON_GetArraySize(root);
    for (int g = 0; g < ng; g++) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(root, g), "weights");
        if (!cJSON_IsArray(w)) {
            cJSON_Delete(root);
            return fn_fail(err, FN_E_FORMAT, "%s: group %d: no \"weights\" list", mpath, g);
        }
        total += cJSON_GetArraySize(w);
    }
    fn_tfjs_weights res = {calloc(total ? (size_t)total : 1, sizeof(fn_tfjs_tensor)), 0};
    if (!res.t) {
        cJSON_Delete(root);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", mpath);
    }

    for (int g = 0; g < ng; g++) {
        const cJSON *grp = cJSON_GetArrayItem(root, g);
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(grp, "weights");
        unsigned char *bin;
        size_t blen, off = 0;
        char shard[512] = "";
        if (load_group(mpath, cJSON_GetObjectItemCaseSensitive(grp, "paths"), g, &budget, max_weights, &bin,
                       &blen, shard, sizeof shard, err))
            goto fail;
        int nw = cJSON_GetArraySize(ws);
        for (int i = 0; i < nw; i++) {
            fn_tfjs_tensor *t = &res.t[res.n++];
            entry_fmt fmt = {0};
            size_t nbytes, end;
            if (parse_entry(mpath, cJSON_GetArrayItem(ws, i), g, i, t, &fmt, err)) {
                free(bin);
                goto fail;
            }
            for (int k = 0; k < res.n - 1; k++) {
                if (strcmp(res.t[k].name, t->name) == 0) {
                    fn_fail(err, FN_E_FORMAT, "%s: tensor '%s' listed twice", mpath, t->name);
                    free(bin);
                    goto fail;
                }
            }
            if (fn_mul_size(t->count, (size_t)fmt.qbytes, &nbytes) ||
                fn_add_size(off, nbytes, &end)) {
                fn_fail(err, FN_E_FORMAT, "%s: tensor '%s': byte size overflows", mpath, t->name);
                free(bin);
                goto fail;
            }
            if (end > blen) {
                fn_fail(err, FN_E_FORMAT,
                        "%s: truncated: %zu bytes, but tensor '%s' (%s, %zu values) ends at "
                        "byte %zu (manifest %s)", shard, blen, t->name, t->quant, t->count, end,
                        mpath);
                free(bin);
                goto fail;
            }
            if (t->count) {
                t->data = malloc(t->count * sizeof(float));
                if (!t->data) {
                    fn_fail(err, FN_E_NOMEM, "%s: tensor '%s': out of memory", mpath, t->name);
                    free(bin);
                    goto fail;
                }
                decode(bin + off, &fmt, t->data, t->count);
            }
            off = end;
        }
        free(bin);
        if (off != blen) {
            fn_fail(err, FN_E_FORMAT,
                    "%s: %zu bytes, but the manifest's tensors use only %zu (%zu extra bytes; "
                    "manifest %s)", shard, blen, off, blen - off, mpath);
            goto fail;
        }
    }
    cJSON_Delete(root);
    *out = res;
    return 0;

fail:
    cJSON_Delete(root);
    fn_tfjs_free(&res);
    return -1;
}

const fn_tfjs_tensor *fn_tfjs_find(const fn_tfjs_weights *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return &w->t[i];
    return NULL;
}

void fn_tfjs_dims_str(int rank, const long long *dims, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? "," : "", dims[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

void fn_tfjs_free(fn_tfjs_weights *w)
{
    if (!w || !w->t)
        return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->t);
    w->t = NULL;
    w->n = 0;
}
