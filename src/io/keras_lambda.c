/* keras_lambda.c - Keras Lambda layers, recognised but never executed.
 *
 * Keras saves a Lambda as base64 of Python's marshalled bytecode.  Running it is out
 * of the question (and would need Python); instead we parse the marshal stream far
 * enough to read the code object's bytecode, constants and names, and compare them
 * with the two lambdas FaceNet models use (keras_lambda.h).  The engine then runs
 * them as ops of their own: src/layers/scale_sum.c and src/layers/l2_normalize.c.
 * The bytecode table covers CPython 3.6-3.10 (wordcode, pre-3.11 opcodes), which wrote
 * every Keras 2.x file. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/keras_lambda.h"

/* ---- a minimal, bounds-checked reader of Python's marshal format ---------------- */

enum { M_MAX_OBJ = 512, M_MAX_ITEMS = 64 };

typedef struct mobj {
    char type;                 /* 'N','T','F','i','s' (str or bytes), '(' tuple, 'c' code, '?' */
    long ival;
    const unsigned char *s;
    int slen;
    int n;
    struct mobj *items[M_MAX_ITEMS];
} mobj;

typedef struct {
    const unsigned char *p, *end;
    mobj pool[M_MAX_OBJ];
    int used;
    mobj *refs[M_MAX_OBJ];
    int nrefs;
    int depth;
} mreader;

static int rd_u32(mreader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

static mobj *rd_obj(mreader *r);

static mobj *new_obj(mreader *r, char type, int flag_ref)
{
    if (r->used >= M_MAX_OBJ)
        return NULL;
    mobj *o = &r->pool[r->used++];
    memset(o, 0, sizeof *o);
    o->type = type;
    if (flag_ref) {
        if (r->nrefs >= M_MAX_OBJ)
            return NULL;
        r->refs[r->nrefs++] = o;
    }
    return o;
}

static int rd_str(mreader *r, mobj *o, uint32_t len)
{
    if ((size_t)(r->end - r->p) < len)
        return -1;
    o->s = r->p;
    o->slen = (int)len;
    r->p += len;
    return 0;
}

static int rd_items(mreader *r, mobj *o, uint32_t n)
{
    if (n > M_MAX_ITEMS)
        return -1;
    o->n = (int)n;
    for (uint32_t i = 0; i < n; i++)
        if (!(o->items[i] = rd_obj(r)))
            return -1;
    return 0;
}

static mobj *rd_code(mreader *r, mobj *o)
{
    /* Header ints: 3.6/3.7 have 5 (argcount, kwonly, nlocals, stacksize, flags),
     * 3.8-3.10 add posonlyargcount.  The bytecode object follows. */
    int nints = 0;
    for (int cand = 5; cand <= 6 && !nints; cand++) {
        const unsigned char *q = r->p + 4 * cand;
        if (q < r->end && (*q & 0x7f) == 's')
            nints = cand;
    }
    if (!nints)
        return NULL;
    uint32_t argcount;
    if (rd_u32(r, &argcount))
        return NULL;
    r->p += 4 * (nints - 1);
    o->ival = argcount;
    /* co_code, consts, names, varnames, freevars, cellvars, filename, name */
    if (rd_items(r, o, 8))
        return NULL;
    uint32_t firstline;
    if (rd_u32(r, &firstline) || !rd_obj(r)) /* firstlineno, lnotab */
        return NULL;
    return o;
}

static mobj *rd_obj(mreader *r)
{
    if (r->p >= r->end || ++r->depth > 16)
        return NULL;
    unsigned char code = *r->p++;
    int flag = code & 0x80;
    char t = (char)(code & 0x7f);
    mobj *o = NULL;
    uint32_t n;
    switch (t) {
    case 'N': case 'T': case 'F':
        o = new_obj(r, t, flag);
        break;
    case 'i':
        if ((o = new_obj(r, 'i', flag)) && !rd_u32(r, &n))
            o->ival = (int32_t)n;
        else
            o = NULL;
        break;
    case 'z': case 'Z': /* short ascii */
        if (r->p >= r->end || !(o = new_obj(r, 's', flag)) || rd_str(r, o, *r->p++))
            o = NULL;
        break;
    case 'a': case 'A': case 'u': case 's': case 't':
        if (rd_u32(r, &n) || !(o = new_obj(r, 's', flag)) || rd_str(r, o, n))
            o = NULL;
        break;
    case ')':
        if (r->p >= r->end || !(o = new_obj(r, '(', flag)) || rd_items(r, o, *r->p++))
            o = NULL;
        break;
    case '(':
        if (rd_u32(r, &n) || !(o = new_obj(r, '(', flag)) || rd_items(r, o, n))
            o = NULL;
        break;
    case 'r':
        if (!rd_u32(r, &n) && n < (uint32_t)r->nrefs)
            o = r->refs[n];
        break;
    case 'c':
        if ((o = new_obj(r, 'c', flag)))
            o = rd_code(r, o);
        break;
    default:
        o = NULL; /* floats, sets, nested functions...: not a lambda we know */
    }
    r->depth--;
    return o;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64 (whitespace ignored) into a malloc'd buffer. */
static unsigned char *b64decode(const char *s, size_t *len)
{
    size_t cap = strlen(s) / 4 * 3 + 3, n = 0;
    unsigned char *out = malloc(cap);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0)
            continue;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *len = n;
    return out;
}

static int str_is(const mobj *o, const char *s)
{
    return o && o->type == 's' && o->slen == (int)strlen(s) && !memcmp(o->s, s, (size_t)o->slen);
}

/* inputs[0] + inputs[1] * scale  (CPython 3.6-3.10 wordcode) */
static const unsigned char SCALE_SUM_CODE[] = {
    124, 0, 100, 1, 25, 0,  /* LOAD_FAST inputs; LOAD_CONST 0; BINARY_SUBSCR */
    124, 0, 100, 2, 25, 0,  /* LOAD_FAST inputs; LOAD_CONST 1; BINARY_SUBSCR */
    124, 1, 20, 0,          /* LOAD_FAST scale; BINARY_MULTIPLY */
    23, 0, 83, 0            /* BINARY_ADD; RETURN_VALUE */
};

static int is_scale_sum(const mobj *code)
{
    const mobj *bc = code->items[0], *consts = code->items[1];
    if (code->ival != 2 || bc->type != 's' || bc->slen != (int)sizeof SCALE_SUM_CODE ||
        memcmp(bc->s, SCALE_SUM_CODE, sizeof SCALE_SUM_CODE))
        return 0;
    return consts->type == '(' && consts->n == 3 && consts->items[1]->type == 'i' &&
           consts->items[1]->ival == 0 && consts->items[2]->type == 'i' && consts->items[2]->ival == 1;
}

/* CPython 3.6-3.10 opcodes used by the l2_normalize lambda */
enum { OP_RETURN_VALUE = 83, OP_LOAD_CONST = 100, OP_LOAD_ATTR = 106, OP_LOAD_GLOBAL = 116,
       OP_LOAD_FAST = 124, OP_CALL_FUNCTION = 131, OP_CALL_FUNCTION_KW = 141, OP_LOAD_METHOD = 160,
       OP_CALL_METHOD = 161 };

static const mobj *item(const mobj *tuple, int i)
{
    return tuple->type == '(' && i >= 0 && i < tuple->n ? tuple->items[i] : NULL;
}

/* lambda x: K.l2_normalize(x, axis=A) (or A positional; K may be keras.backend, tf.math,
 * tf.nn, or the function imported bare).  The bytecode must be exactly: the function
 * looked up through a chain of module names, x, the integer constant A, the call, return. */
static int is_l2_normalize(const mobj *code, long *axis)
{
    const mobj *bc = code->items[0], *consts = code->items[1], *names = code->items[2];
    static const char *const modules[] = {"K", "backend", "tf", "keras", "math", "nn"};
    if (code->ival != 1 || bc->type != 's' || bc->slen % 2 || names->type != '(')
        return 0;
    const unsigned char *op = bc->s;
    int n = bc->slen / 2, i = 0, method = 0;
    const mobj *name = NULL;
    if (n < 5 || op[0] != OP_LOAD_GLOBAL)
        return 0;
    for (; i < n && (op[2 * i] == OP_LOAD_GLOBAL || op[2 * i] == OP_LOAD_ATTR || op[2 * i] == OP_LOAD_METHOD); i++) {
        if ((i == 0) != (op[2 * i] == OP_LOAD_GLOBAL) || method)
            return 0;
        if (name) { /* everything before the last name is a module path */
            int ok = 0;
            for (size_t k = 0; k < sizeof modules / sizeof *modules; k++)
                ok |= str_is(name, modules[k]);
            if (!ok)
                return 0;
        }
        name = item(names, op[2 * i + 1]);
        method = op[2 * i] == OP_LOAD_METHOD;
    }
    if (!str_is(name, "l2_normalize") || i + 3 > n || op[2 * i] != OP_LOAD_FAST || op[2 * i + 1] != 0 ||
        op[2 * i + 2] != OP_LOAD_CONST)
        return 0;
    const mobj *a = item(consts, op[2 * i + 3]);
    if (!a || a->type != 'i')
        return 0;
    *axis = a->ival;
    i += 2;
    if (i + 3 == n && op[2 * i] == OP_LOAD_CONST && op[2 * i + 2] == OP_CALL_FUNCTION_KW && op[2 * i + 3] == 2 && !method) {
        const mobj *kw = item(consts, op[2 * i + 1]);
        if (!kw || kw->type != '(' || kw->n != 1 || !str_is(kw->items[0], "axis"))
            return 0;
        i += 2;
    } else if (i + 2 == n && op[2 * i] == (method ? OP_CALL_METHOD : OP_CALL_FUNCTION) && op[2 * i + 1] == 2) {
        i += 1;
    } else {
        return 0;
    }
    return op[2 * i] == OP_RETURN_VALUE;
}

int fn_keras_lambda(const char *layer, const cJSON *cfg, fn_lambda_kind *kind, double *scale, long *axis,
                    fn_err *err)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(cfg, "function");
    const cJSON *b64 = cJSON_IsArray(fn) ? cJSON_GetArrayItem(fn, 0) : fn;
    const cJSON *ft = cJSON_GetObjectItemCaseSensitive(cfg, "function_type");
    const char *ftype = cJSON_IsString(ft) ? ft->valuestring : "lambda";
    *kind = 0;
    if (!cJSON_IsString(b64) || strcmp(ftype, "lambda"))
        return fn_fail(err, FN_E_UNSUPPORTED,
                       "layer %s: Lambda of type '%s' is not recognised (only FaceNet's scale-sum "
                       "and L2-normalisation lambdas are supported)", layer, ftype);
    size_t len = 0;
    unsigned char *buf = b64decode(b64->valuestring, &len);
    if (!buf)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    mreader *r = calloc(1, sizeof *r);
    if (!r) {
        free(buf);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    r->p = buf, r->end = buf + len;
    mobj *code = rd_obj(r);
    if (code && code->type == 'c' && is_scale_sum(code)) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(cfg, "arguments");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(args, "scale");
        if (cJSON_IsNumber(s) && isfinite(s->valuedouble))
            *kind = FN_LAMBDA_SCALE_SUM, *scale = s->valuedouble;
    } else if (code && code->type == 'c' && is_l2_normalize(code, axis)) {
        *kind = FN_LAMBDA_L2_NORMALIZE;
    }
    free(r);
    free(buf);
    if (!*kind)
        return fn_fail(err, FN_E_UNSUPPORTED,
                       "layer %s: Lambda is not recognised (only FaceNet's scale-sum "
                       "'inputs[0] + inputs[1] * scale' and 'K.l2_normalize' are supported; "
                       "Lambda code is never executed)", layer);
    return 0;
}
