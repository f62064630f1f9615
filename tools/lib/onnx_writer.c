/* onnx_writer.c - the protobuf wire format for the ONNX messages listed in
 * onnx_writer.h, written by hand: a field is a key varint (field number << 3 | wire
 * type) followed by a varint (type 0), 4 bytes (type 5) or a length varint and that
 * many bytes (type 2: strings, bytes, nested messages).  Nested messages are encoded
 * into their own buffer first, since their length precedes them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/lib/onnx_writer.h"
#include "core/file.h"
#include "facenet.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };
enum { T_FLOAT = 1, T_INT32 = 6, T_INT64 = 7, T_DOUBLE = 11 };          /* TensorProto.DataType */
enum { A_FLOAT = 1, A_INT = 2, A_STRING = 3, A_INTS = 7 };              /* AttributeProto.AttributeType */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} pb;

struct fn_onnx {
    pb name, nodes, inits, inputs, outputs, node; /* node: the one being built */
    int node_open, oom;
    fn_onnx_counts counts;
};

/* ---- encoding ---- */

static void pb_free(pb *b)
{
    free(b->p);
    *b = (pb){0};
}

static void put(int *oom, pb *b, const void *data, size_t len)
{
    if (*oom)
        return;
    if (b->cap - b->n < len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < len) {
            if (cap > SIZE_MAX / 2) {
                *oom = 1;
                return;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            *oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void put_varint(int *oom, pb *b, unsigned long long v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(oom, b, tmp, (size_t)n);
}

static void put_key(int *oom, pb *b, int field, int wt)
{
    put_varint(oom, b, (unsigned long long)field << 3 | (unsigned)wt);
}

/* int64 fields are varints of the two's complement value (negative: 10 bytes) */
static void field_int(int *oom, pb *b, int field, long long v)
{
    put_key(oom, b, field, WT_VARINT);
    put_varint(oom, b, (unsigned long long)v);
}

static void field_bytes(int *oom, pb *b, int field, const void *data, size_t len)
{
    put_key(oom, b, field, WT_LEN);
    put_varint(oom, b, len);
    put(oom, b, data, len);
}

static void field_string(int *oom, pb *b, int field, const char *s)
{
    field_bytes(oom, b, field, s, strlen(s));
}

/* Append sub as a nested message and empty it. */
static void field_msg(int *oom, pb *b, int field, pb *sub)
{
    field_bytes(oom, b, field, sub->p, sub->n);
    pb_free(sub);
}

static void field_float(int *oom, pb *b, int field, float f)
{
    unsigned char le[4];
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        le[i] = (unsigned char)(u >> (8 * i));
    put_key(oom, b, field, WT_I32);
    put(oom, b, le, 4);
}

/* ---- building ---- */

fn_onnx *fn_onnx_create(const char *graph_name)
{
    fn_onnx *g = calloc(1, sizeof *g);
    if (g)
        field_string(&g->oom, &g->name, 2, graph_name);
    return g;
}

void fn_onnx_free(fn_onnx *g)
{
    if (!g)
        return;
    pb_free(&g->name), pb_free(&g->nodes), pb_free(&g->inits);
    pb_free(&g->inputs), pb_free(&g->outputs), pb_free(&g->node);
    free(g);
}

static void value_info(fn_onnx *g, pb *vi, const char *name, int rank, const long long *dims,
                       const char *const *sym)
{
    pb shape = {0}, tensor = {0}, type = {0};
    for (int d = 0; d < rank; d++) {
        pb dim = {0};
        if (dims[d] >= 0)
            field_int(&g->oom, &dim, 1, dims[d]);
        else
            field_string(&g->oom, &dim, 2, sym && sym[d] ? sym[d] : "?");
        field_msg(&g->oom, &shape, 1, &dim);
    }
    field_int(&g->oom, &tensor, 1, T_FLOAT);
    field_msg(&g->oom, &tensor, 2, &shape);
    field_msg(&g->oom, &type, 1, &tensor);
    field_string(&g->oom, vi, 1, name);
    field_msg(&g->oom, vi, 2, &type);
}

static void add_value_info(fn_onnx *g, pb *dst, int field, const char *name, int rank, const long long *dims,
                           const char *const *sym)
{
    pb vi = {0};
    value_info(g, &vi, name, rank, dims, sym);
    field_msg(&g->oom, dst, field, &vi);
}

void fn_onnx_input(fn_onnx *g, const char *name, int rank, const long long *dims, const char *const *sym)
{
    add_value_info(g, &g->inputs, 11, name, rank, dims, sym);
    g->counts.inputs++;
}

void fn_onnx_output(fn_onnx *g, const char *name, int rank, const long long *dims, const char *const *sym)
{
    add_value_info(g, &g->outputs, 12, name, rank, dims, sym);
    g->counts.outputs++;
}

static void initializer(fn_onnx *g, const char *name, int type, int rank, const long long *dims,
                        const void *le_data, size_t count, size_t esize)
{
    pb t = {0};
    for (int d = 0; d < rank; d++)
        field_int(&g->oom, &t, 1, dims[d]);
    field_int(&g->oom, &t, 2, type);
    field_string(&g->oom, &t, 8, name);
    if (count > SIZE_MAX / esize)
        g->oom = 1;
    else
        field_bytes(&g->oom, &t, 9, le_data, count * esize);
    field_msg(&g->oom, &g->inits, 5, &t);
    g->counts.initializers++;
    g->counts.values += count;
}

/* raw_data is little-endian; this writer assumes a little-endian host (x86, arm64) */
void fn_onnx_initializer(fn_onnx *g, const char *name, int rank, const long long *dims, const float *data)
{
    size_t count = 1;
    for (int d = 0; d < rank; d++)
        count *= (size_t)(dims[d] > 0 ? dims[d] : 0);
    initializer(g, name, T_FLOAT, rank, dims, data, count, sizeof(float));
}

void fn_onnx_initializer_i64(fn_onnx *g, const char *name, int n, const long long *values)
{
    long long dims[1] = {n};
    int64_t *v = malloc(sizeof *v * (size_t)(n > 0 ? n : 1));
    if (!v) {
        g->oom = 1;
        return;
    }
    for (int i = 0; i < n; i++)
        v[i] = values[i];
    initializer(g, name, T_INT64, 1, dims, v, (size_t)n, sizeof *v);
    free(v);
}

static void close_node(fn_onnx *g)
{
    if (g->node_open)
        field_msg(&g->oom, &g->nodes, 1, &g->node);
    g->node_open = 0;
}

void fn_onnx_node(fn_onnx *g, const char *op_type, const char *name, int n_in, const char *const *in,
                  int n_out, const char *const *out)
{
    close_node(g);
    for (int i = 0; i < n_in; i++)
        field_string(&g->oom, &g->node, 1, in[i]);
    for (int i = 0; i < n_out; i++)
        field_string(&g->oom, &g->node, 2, out[i]);
    field_string(&g->oom, &g->node, 3, name);
    field_string(&g->oom, &g->node, 4, op_type);
    g->node_open = 1;
    g->counts.nodes++;
}

static void attr_done(fn_onnx *g, pb *a, const char *name, int type)
{
    pb full = {0};
    field_string(&g->oom, &full, 1, name);
    put(&g->oom, &full, a->p, a->n);
    field_int(&g->oom, &full, 20, type);
    pb_free(a);
    field_msg(&g->oom, &g->node, 5, &full);
}

void fn_onnx_attr_int(fn_onnx *g, const char *name, long long v)
{
    pb a = {0};
    field_int(&g->oom, &a, 3, v);
    attr_done(g, &a, name, A_INT);
}

void fn_onnx_attr_ints(fn_onnx *g, const char *name, int n, const long long *v)
{
    pb a = {0};
    for (int i = 0; i < n; i++) /* proto2 repeated int64: unpacked */
        field_int(&g->oom, &a, 8, v[i]);
    attr_done(g, &a, name, A_INTS);
}

void fn_onnx_attr_float(fn_onnx *g, const char *name, float v)
{
    pb a = {0};
    field_float(&g->oom, &a, 2, v);
    attr_done(g, &a, name, A_FLOAT);
}

void fn_onnx_attr_string(fn_onnx *g, const char *name, const char *v)
{
    pb a = {0};
    field_string(&g->oom, &a, 4, v);
    attr_done(g, &a, name, A_STRING);
}

fn_onnx_counts fn_onnx_get_counts(const fn_onnx *g)
{
    return g->counts;
}

int fn_onnx_write(fn_onnx *g, const char *path, int opset, fn_err *err)
{
    close_node(g);
    pb head = {0}, ops = {0}, tail = {0};
    field_int(&g->oom, &head, 1, FN_ONNX_IR_VERSION);
    field_string(&g->oom, &head, 2, "facenet-c keras2onnx");
    field_string(&g->oom, &head, 3, FACENET_VERSION);
    const pb *parts[] = {&g->name, &g->inputs, &g->inits, &g->nodes, &g->outputs};
    size_t glen = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        glen += parts[i]->n;
    put_key(&g->oom, &head, 7, WT_LEN);
    put_varint(&g->oom, &head, glen);
    field_string(&g->oom, &ops, 1, "");
    field_int(&g->oom, &ops, 2, opset);
    field_msg(&g->oom, &tail, 8, &ops);
    if (g->oom) {
        pb_free(&head), pb_free(&tail);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory while building the ONNX graph", path);
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    FILE *f = NULL;
    int fd = -1;
    if (tmp) {
        snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
        fd = mkstemp(tmp);
        mode_t mask = umask(0); /* mkstemp makes 0600: give the file the usual mode */
        umask(mask);
        if (fd >= 0)
            fchmod(fd, 0666 & ~mask);
        f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    }
    int ok = f != NULL;
    ok = ok && fwrite(head.p, 1, head.n, f) == head.n;
    for (size_t i = 0; ok && i < sizeof parts / sizeof *parts; i++)
        ok = fwrite(parts[i]->p ? (const void *)parts[i]->p : "", 1, parts[i]->n, f) == parts[i]->n;
    ok = ok && fwrite(tail.p, 1, tail.n, f) == tail.n;
    if (f)
        ok = (fclose(f) == 0) && ok;
    else if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    if (!ok && tmp && fd >= 0)
        unlink(tmp);
    free(tmp);
    pb_free(&head), pb_free(&tail);
    return ok ? 0 : fn_fail(err, FN_E_IO, "%s: cannot write the ONNX file", path);
}

/* ---- reading back ---- */

typedef struct {
    const unsigned char *p, *end;
} rd;

typedef struct {
    const unsigned char *s;
    size_t n;
} str;

typedef struct {
    str *v;
    size_t n, cap;
} strset;

static int rd_varint(rd *r, unsigned long long *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        *v |= (unsigned long long)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* One field: its number and wire type; a varint's value in *v; a length-delimited
 * field's bytes in *sub.  Fixed-width fields are skipped. */
static int rd_field(rd *r, int *field, unsigned long long *v, rd *sub)
{
    unsigned long long key;
    if (rd_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    *field = (int)(key >> 3);
    *v = 0, sub->p = sub->end = NULL;
    switch ((int)(key & 7)) {
    case WT_VARINT:
        return rd_varint(r, v);
    case WT_I64:
    case WT_I32: {
        size_t w = (key & 7) == WT_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < w)
            return -1;
        r->p += w;
        return 0;
    }
    case WT_LEN:
        if (rd_varint(r, v) || *v > (unsigned long long)(r->end - r->p))
            return -1;
        sub->p = r->p, sub->end = r->p + *v;
        r->p += *v;
        *field |= 1 << 30; /* mark: length-delimited */
        return 0;
    default:
        return -1;
    }
}

#define LEN(f) ((f) | 1 << 30)

static int set_add(strset *s, str v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        str *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return -1;
        s->v = p, s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

static int set_has(const strset *s, str v)
{
    for (size_t i = s->n; i-- > 0;)
        if (s->v[i].n == v.n && !memcmp(s->v[i].s, v.s, v.n))
            return 1;
    return 0;
}

static void cstr(char *buf, size_t cap, str s)
{
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    memcpy(buf, s.s, n);
    buf[n] = 0;
}

/* The name (field `name_field`) of a message. */
static int msg_name(rd m, int name_field, str *out)
{
    int f;
    unsigned long long v;
    rd sub;
    *out = (str){(const unsigned char *)"", 0};
    while (m.p < m.end) {
        if (rd_field(&m, &f, &v, &sub))
            return -1;
        if (f == LEN(name_field))
            *out = (str){sub.p, (size_t)(sub.end - sub.p)};
    }
    return 0;
}

static int check_initializer(rd t, fn_onnx_summary *s, strset *defined, const char *path, fn_err *err)
{
    int f;
    unsigned long long v, count = 1, type = 0, raw = 0;
    rd sub;
    str name = {0};
    while (t.p < t.end) {
        if (rd_field(&t, &f, &v, &sub))
            return fn_fail(err, FN_E_FORMAT, "%s: malformed initializer", path);
        if (f == 1) {
            if (v && count > ~0ull / v)
                return fn_fail(err, FN_E_FORMAT, "%s: initializer dims overflow", path);
            count *= v;
        } else if (f == 2) {
            type = v;
        } else if (f == LEN(8)) {
            name = (str){sub.p, (size_t)(sub.end - sub.p)};
        } else if (f == LEN(9)) {
            raw = v;
        } else if (f == LEN(1)) {
            return fn_fail(err, FN_E_FORMAT, "%s: packed dims are not expected from this writer", path);
        }
    }
    unsigned esize = type == T_FLOAT || type == T_INT32 ? 4 : type == T_INT64 || type == T_DOUBLE ? 8 : 0;
    char nm[256];
    cstr(nm, sizeof nm, name);
    if (!esize || count > ~0ull / esize || raw != count * esize)
        return fn_fail(err, FN_E_FORMAT, "%s: initializer '%s': type %llu, %llu values, %llu raw bytes", path, nm,
                       type, count, raw);
    s->n.initializers++;
    s->n.values += (size_t)count;
    if (s->on_initializer)
        s->on_initializer(s->ctx, nm, (size_t)count);
    return set_add(defined, name) ? fn_fail(err, FN_E_NOMEM, "out of memory") : 0;
}

static int check_node(rd m, fn_onnx_summary *s, strset *defined, const char *path, fn_err *err)
{
    int f;
    unsigned long long v;
    rd sub;
    str op = {0}, name = {0};
    char nm[256], what[256];
    rd scan = m;
    while (scan.p < scan.end) { /* name and op first, for messages */
        if (rd_field(&scan, &f, &v, &sub))
            return fn_fail(err, FN_E_FORMAT, "%s: malformed node", path);
        if (f == LEN(3))
            name = (str){sub.p, (size_t)(sub.end - sub.p)};
        else if (f == LEN(4))
            op = (str){sub.p, (size_t)(sub.end - sub.p)};
    }
    cstr(nm, sizeof nm, name);
    while (m.p < m.end) {
        rd_field(&m, &f, &v, &sub);
        str val = {sub.p, (size_t)(sub.end - sub.p)};
        if (f == LEN(1) && val.n && !set_has(defined, val)) {
            cstr(what, sizeof what, val);
            return fn_fail(err, FN_E_FORMAT, "%s: node %s reads '%s' before anything defines it", path, nm, what);
        }
        if (f == LEN(2) && set_add(defined, val))
            return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    s->n.nodes++;
    if (s->on_node) {
        cstr(what, sizeof what, op);
        s->on_node(s->ctx, what, nm);
    }
    return 0;
}

static int check_graph(rd g, fn_onnx_summary *s, const char *path, fn_err *err)
{
    strset defined = {0};
    int f, rc = 0;
    unsigned long long v;
    rd sub;
    str name;
    /* pass 1: graph inputs and initializers; pass 2: nodes in order; pass 3: outputs */
    for (int pass = 1; pass <= 3 && !rc; pass++) {
        rd r = g;
        while (r.p < r.end && !rc) {
            if (rd_field(&r, &f, &v, &sub)) {
                rc = fn_fail(err, FN_E_FORMAT, "%s: malformed graph", path);
                break;
            }
            if (pass == 1 && f == LEN(11)) {
                s->n.inputs++;
                rc = msg_name(sub, 1, &name) || set_add(&defined, name)
                         ? fn_fail(err, FN_E_FORMAT, "%s: bad graph input", path) : 0;
            } else if (pass == 1 && f == LEN(5)) {
                rc = check_initializer(sub, s, &defined, path, err);
            } else if (pass == 2 && f == LEN(1)) {
                rc = check_node(sub, s, &defined, path, err);
            } else if (pass == 3 && f == LEN(12)) {
                s->n.outputs++;
                char nm[256];
                rc = msg_name(sub, 1, &name);
                cstr(nm, sizeof nm, name);
                if (rc || !set_has(&defined, name))
                    rc = fn_fail(err, FN_E_FORMAT, "%s: graph output '%s' is never produced", path, nm);
            }
        }
    }
    free(defined.v);
    return rc;
}

int fn_onnx_read(const char *path, fn_onnx_summary *s, fn_err *err)
{
    char *data;
    size_t len;
    if (fn_read_file(path, (size_t)2 << 30, &data, &len, err))
        return -1;
    s->ir_version = s->opset = 0;
    s->n = (fn_onnx_counts){0};
    rd r = {(const unsigned char *)data, (const unsigned char *)data + len}, sub, graph = {0};
    int f, rc = 0, have_graph = 0;
    unsigned long long v;
    while (r.p < r.end && !rc) {
        if (rd_field(&r, &f, &v, &sub)) {
            rc = fn_fail(err, FN_E_FORMAT, "%s: not a protobuf file", path);
        } else if (f == 1) {
            s->ir_version = (long long)v;
        } else if (f == LEN(7)) {
            graph = sub, have_graph = 1;
        } else if (f == LEN(8)) {
            int g;
            rd x;
            while (sub.p < sub.end && !rc)
                if (rd_field(&sub, &g, &v, &x))
                    rc = fn_fail(err, FN_E_FORMAT, "%s: malformed opset_import", path);
                else if (g == 2)
                    s->opset = (long long)v;
        }
    }
    if (!rc && !have_graph)
        rc = fn_fail(err, FN_E_FORMAT, "%s: no graph", path);
    if (!rc)
        rc = check_graph(graph, s, path, err);
    free(data);
    return rc;
}
