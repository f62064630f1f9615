/* embeddings_read.c - an embeddings output read back (fn_read_embeddings, see
 * embeddings.h): what `encode --resume` extends and `facenet merge` joins.  Every
 * count is checked against the file's size before anything is allocated. */
#include "io/embeddings.h"

#include <cJSON.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

#define MAX_ROWS (1 << 30)
#define MAX_DIM 65536
#define MAX_BYTES ((size_t)1 << 36)

void fn_emb_set_free(fn_emb_set *s)
{
    if (!s)
        return;
    for (int i = 0; s->paths && i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    free(s->emb);
    free(s->index);
    free(s->faces6);
    memset(s, 0, sizeof *s);
}

static const char *ext_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot : "";
}

/* Room for n rows of dim floats (paths set to NULL). */
static int alloc_set(fn_emb_set *s, long long n, long long dim, const char *path, fn_err *err)
{
    if (n < 0 || n > MAX_ROWS || dim < 1 || dim > MAX_DIM)
        return fn_fail(err, FN_E_FORMAT, "%s: implausible size %lld x %lld", path, n, dim);
    s->n = (int)n, s->dim = (int)dim;
    s->paths = calloc((size_t)(n ? n : 1), sizeof *s->paths);
    s->emb = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)dim);
    if (!s->paths || !s->emb)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory for %lld rows", path, n);
    return 0;
}

/* Keep the first n rows (n <= s->n). */
static void truncate_set(fn_emb_set *s, int n)
{
    for (int i = n; i < s->n; i++) {
        free(s->paths[i]);
        s->paths[i] = NULL;
    }
    s->n = n;
}

/* ---- provenance ---- */

static void copy_str(char *dst, size_t cap, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, cap, "%s", v->valuestring);
}

/* The sidecar FILE.json, when there is one: meta and the index; *rows gets its row
 * count (-1 when there is no sidecar). */
static int read_sidecar(const char *path, fn_emb_set *s, long long *rows, fn_err *err)
{
    char side[4200];
    *rows = -1;
    if (fn_embeddings_sidecar(path, side, sizeof side, err))
        return -1;
    struct stat st;
    if (stat(side, &st) != 0) /* none (a FIFO or folder of that name is refused below) */
        return 0;
    char *text;
    size_t len;
    if (fn_read_file(side, (size_t)1 << 30, &text, &len, err))
        return -1;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "facenet-embeddings") || !cJSON_IsNumber(r)) {
        cJSON_Delete(j);
        return fn_fail(err, FN_E_FORMAT, "%s: not a facenet-embeddings sidecar", side);
    }
    fn_emb_meta *m = &s->meta;
    s->has_meta = 1;
    *rows = (long long)r->valuedouble;
    copy_str(m->model, sizeof m->model, cJSON_GetObjectItemCaseSensitive(j, "model"));
    copy_str(m->profile, sizeof m->profile, cJSON_GetObjectItemCaseSensitive(j, "profile"));
    copy_str(m->version, sizeof m->version, cJSON_GetObjectItemCaseSensitive(j, "version"));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "threshold");
    if (cJSON_IsNumber(v))
        m->threshold = v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(j, "l2_normalize");
    if (cJSON_IsBool(v))
        m->l2_normalize = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(j, "shard");
    if (cJSON_IsString(v) && sscanf(v->valuestring, "%d/%d", &m->shard_k, &m->shard_n) != 2)
        m->shard_k = m->shard_n = 0;
    v = cJSON_GetObjectItemCaseSensitive(j, "total");
    if (cJSON_IsNumber(v))
        m->total = (long long)v->valuedouble;
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(j, "index");
    if (cJSON_IsArray(idx)) {
        int k = cJSON_GetArraySize(idx);
        s->index = malloc(sizeof *s->index * (size_t)(k ? k : 1));
        if (!s->index) {
            cJSON_Delete(j);
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", side);
        }
        int i = 0;
        for (const cJSON *c = idx->child; c; c = c->next)
            s->index[i++] = cJSON_IsNumber(c) ? (long long)c->valuedouble : -1;
        if (k != *rows) {
            cJSON_Delete(j);
            return fn_fail(err, FN_E_FORMAT, "%s: index has %d entries for %lld rows", side, k, *rows);
        }
    }
    cJSON_Delete(j);
    return 0;
}

/* ---- .npy + .txt ---- */

static int read_npy(const char *path, fn_emb_set *s, fn_err *err)
{
    char *data;
    size_t len;
    if (fn_read_file(path, MAX_BYTES, &data, &len, err))
        return -1;
    long long n = -1, d = -1;
    size_t hl = len >= 10 ? (size_t)(unsigned char)data[8] | (size_t)(unsigned char)data[9] << 8 : 0;
    if (len < 10 || memcmp(data, "\x93NUMPY\x01\x00", 8) || 10 + hl > len) {
        free(data);
        return fn_fail(err, FN_E_FORMAT, "%s: not a NumPy 1.0 file", path);
    }
    char header[512];
    snprintf(header, sizeof header, "%.*s", (int)(hl < sizeof header ? hl : sizeof header - 1), data + 10);
    const char *shape = strstr(header, "'shape': (");
    if (!strstr(header, "'descr': '<f4'") || !strstr(header, "'fortran_order': False") || !shape ||
        sscanf(shape, "'shape': (%lld, %lld)", &n, &d) != 2 || n < 0 || d < 1 || d > MAX_DIM ||
        (size_t)n * (size_t)d * 4 != len - 10 - hl) {
        free(data);
        return fn_fail(err, FN_E_FORMAT, "%s: not an N x D float32 array as facenet writes them", path);
    }
    if (alloc_set(s, n, d, path, err)) {
        free(data);
        return -1;
    }
    memcpy(s->emb, data + 10 + hl, (size_t)n * (size_t)d * 4);
    free(data);
    /* the paths, one a line, in the .txt beside it */
    char txt[4200];
    size_t base = strlen(path) - strlen(ext_of(path));
    if (base + 5 > sizeof txt)
        return fn_fail(err, FN_E_ARG, "%s: path too long", path);
    memcpy(txt, path, base);
    strcpy(txt + base, ".txt");
    char *t;
    if (fn_read_file(txt, MAX_BYTES, &t, &len, err))
        return -1;
    int k = 0;
    for (char *p = t, *end = t + len; p < end && k < s->n;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        *nl = '\0';
        if (!(s->paths[k++] = strdup(p))) {
            free(t);
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", txt);
        }
        p = nl + 1;
    }
    free(t);
    if (k < s->n) {
        truncate_set(s, k);
        return fn_fail(err, FN_E_FORMAT, "%s: lists %d paths for %lld rows in %s", txt, k, n, path);
    }
    /* face rows: FILE.faces.csv, "row,face,x,y,width,height,score" */
    strcpy(txt + base, ".faces.csv");
    if (access(txt, F_OK) != 0)
        return 0;
    if (fn_read_file(txt, MAX_BYTES, &t, &len, err))
        return -1;
    s->faces6 = malloc(sizeof(float) * 6 * (size_t)(s->n ? s->n : 1));
    char *p = t, *end = t + len, *nl = memchr(p, '\n', len);
    int rows = 0, bad = !s->faces6 || !nl || strncmp(p, "row,face,x,y,width,height,score", 31);
    for (p = nl ? nl + 1 : end; !bad && p < end && rows < s->n; rows++) {
        float *r = s->faces6 + 6 * (size_t)rows;
        int row, used = 0;
        bad = sscanf(p, "%d,%f,%f,%f,%f,%f,%f%n", &row, &r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &used) != 7 ||
              row != rows;
        char *q = memchr(p, '\n', (size_t)(end - p));
        p = q ? q + 1 : end;
    }
    free(t);
    if (bad || rows != s->n)
        return fn_fail(err, FN_E_FORMAT, "%s: not %d face rows as facenet writes them", txt, s->n);
    return 0;
}

/* ---- .csv ---- */

/* One field at *p (quoted or not), into out; *p moves past the separator. */
static int csv_field(char **p, char *end, char **out)
{
    char *s = *p, *w;
    if (s < end && *s == '"') {
        w = ++s;
        char *start = s;
        while (s < end) {
            if (*s == '"' && s + 1 < end && s[1] == '"') {
                *w++ = '"';
                s += 2;
            } else if (*s == '"') {
                s++;
                break;
            } else {
                *w++ = *s++;
            }
        }
        *w = '\0';
        *out = start;
    } else {
        *out = s;
        while (s < end && *s != ',' && *s != '\n')
            s++;
    }
    char sep = s < end ? *s : '\n';
    if (s < end)
        *s++ = '\0';
    *p = s;
    return sep;
}

static int read_csv(const char *path, int lenient, fn_emb_set *s, fn_err *err)
{
    char *t;
    size_t len;
    if (fn_read_file(path, MAX_BYTES, &t, &len, err))
        return -1;
    char *p = t, *end = t + len, *f;
    long long dim = 0, lines = 0;
    int sep = csv_field(&p, end, &f);
    if (strcmp(f, "path")) {
        free(t);
        return fn_fail(err, FN_E_FORMAT, "%s: not a facenet CSV (first column is not 'path')", path);
    }
    static const char *const face_cols[6] = {"face", "x", "y", "width", "height", "score"};
    int faces = 0;
    while (sep == ',') {
        sep = csv_field(&p, end, &f);
        if (dim == 0 && faces < 6 && !strcmp(f, face_cols[faces])) { /* face rows */
            faces++;
            continue;
        }
        if (faces != 0 && faces != 6) {
            free(t);
            return fn_fail(err, FN_E_FORMAT, "%s: a face column is missing before '%.40s'", path, f);
        }
        char want[24];
        snprintf(want, sizeof want, "e%lld", dim);
        if (strcmp(f, want)) {
            free(t);
            return fn_fail(err, FN_E_FORMAT, "%s: column %lld is '%.40s', expected %s", path, dim + 2, f, want);
        }
        dim++;
    }
    for (char *q = p; q < end; q++)
        lines += *q == '\n';
    lines += p < end && end[-1] != '\n'; /* a last row without its newline */
    if (alloc_set(s, lines, dim, path, err)) {
        free(t);
        return -1;
    }
    if (faces && !(s->faces6 = malloc(sizeof(float) * 6 * (size_t)(lines ? lines : 1)))) {
        free(t);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    }
    int n = 0;
    while (p < end && n < s->n) {
        const int cut = memchr(p, '\n', (size_t)(end - p)) == NULL;
        sep = csv_field(&p, end, &f);
        if (!(s->paths[n] = strdup(f))) {
            free(t);
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
        }
        n++;
        int j = 0, c = 0;
        for (; c < faces && sep == ','; c++) {
            sep = csv_field(&p, end, &f);
            char *e;
            s->faces6[6 * (size_t)(n - 1) + c] = strtof(f, &e);
            if (e == f || *e)
                break;
        }
        for (; c == faces && j < dim && sep == ','; j++) {
            sep = csv_field(&p, end, &f);
            char *e;
            s->emb[(size_t)(n - 1) * dim + j] = strtof(f, &e);
            if (e == f || *e)
                break;
        }
        if (j != dim || sep != '\n' || cut) {
            truncate_set(s, n - 1);
            if (lenient && cut) /* the last line, cut by a kill: the rows before it stand */
                break;
            free(t);
            return fn_fail(err, FN_E_FORMAT, "%s: row %d is not a path and %lld numbers", path, n, dim);
        }
    }
    truncate_set(s, n);
    free(t);
    return 0;
}

/* ---- .h5 ---- */

static void h5_attr_str(hid_t f, const char *name, char *out, size_t cap)
{
    if (H5Aexists(f, name) <= 0)
        return;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
        size_t sz = H5Tget_size(t);
        char *buf = sz > 0 && sz < 65536 ? calloc(1, sz + 1) : NULL;
        if (buf && H5Aread(a, t, buf) >= 0)
            snprintf(out, cap, "%s", buf);
        free(buf);
    }
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
}

static int h5_attr_num(hid_t f, const char *name, hid_t mem, void *out)
{
    if (H5Aexists(f, name) <= 0)
        return -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    int bad = a < 0 || H5Aread(a, mem, out) < 0;
    if (a >= 0)
        H5Aclose(a);
    return bad ? -1 : 0;
}

/* One dataset of n x cols values (cols 1: a vector) as mem_type into out; 1 if it is
 * missing or of another shape. */
static int read_h5_rows(hid_t f, const char *name, hsize_t n, hsize_t cols, hid_t mem_type, void *out)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return 1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[2] = {0, 0};
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int bad = nd != (cols == 1 ? 1 : 2) || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || dims[0] != n ||
              (cols > 1 && dims[1] != cols) || (n && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return bad;
}

/* Face rows: datasets face, box and score into s->faces6. */
static int read_h5_faces(hid_t f, fn_emb_set *s)
{
    size_t n = (size_t)s->n;
    int *face = malloc(sizeof(int) * (n ? n : 1));
    float *box = malloc(sizeof(float) * 4 * (n ? n : 1)), *score = malloc(sizeof(float) * (n ? n : 1));
    s->faces6 = malloc(sizeof(float) * 6 * (n ? n : 1));
    int bad = !face || !box || !score || !s->faces6 || read_h5_rows(f, "face", n, 1, H5T_NATIVE_INT, face) ||
              read_h5_rows(f, "box", n, 4, H5T_NATIVE_FLOAT, box) ||
              read_h5_rows(f, "score", n, 1, H5T_NATIVE_FLOAT, score);
    for (size_t i = 0; !bad && i < n; i++) {
        float *r = s->faces6 + 6 * i;
        r[0] = (float)face[i];
        memcpy(r + 1, box + 4 * i, 4 * sizeof(float));
        r[5] = score[i];
    }
    free(face), free(box), free(score);
    return bad;
}

static int read_h5(const char *path, fn_emb_set *s, fn_err *err)
{
    if (fn_check_regular(path, err)) /* a FIFO would block libhdf5's open */
        return -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return fn_fail(err, FN_E_FORMAT, "%s: cannot open as HDF5", path);
    int rc = -1;
    hid_t de = H5Dopen2(f, "embeddings", H5P_DEFAULT), dp = H5Dopen2(f, "paths", H5P_DEFAULT);
    hid_t se = de >= 0 ? H5Dget_space(de) : -1, sp = dp >= 0 ? H5Dget_space(dp) : -1;
    hsize_t d2[2] = {0, 0}, d1[1] = {0};
    if (se < 0 || sp < 0 || H5Sget_simple_extent_ndims(se) != 2 || H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_dims(se, d2, NULL) < 0 || H5Sget_simple_extent_dims(sp, d1, NULL) < 0 ||
        d1[0] != d2[0]) {
        fn_fail(err, FN_E_FORMAT, "%s: no N x D 'embeddings' with N 'paths' (not a facenet output)", path);
        goto out;
    }
    if (alloc_set(s, (long long)d2[0], (long long)d2[1], path, err))
        goto out;
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    if (s->n && (H5Dread(de, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->emb) < 0 ||
                 H5Dread(dp, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->paths) < 0)) {
        H5Tclose(st);
        memset(s->paths, 0, sizeof *s->paths * (size_t)s->n);
        fn_fail(err, FN_E_FORMAT, "%s: cannot read the embeddings or the paths", path);
        goto out;
    }
    /* HDF5 allocated the strings with its own allocator: copy them into ours */
    for (int i = 0; i < s->n; i++) {
        char *h = s->paths[i];
        s->paths[i] = strdup(h ? h : "");
        H5free_memory(h);
        if (!s->paths[i]) {
            for (int k = i + 1; k < s->n; k++)
                H5free_memory(s->paths[k]), s->paths[k] = NULL;
            H5Tclose(st);
            fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    H5Tclose(st);
    if (H5Lexists(f, "index", H5P_DEFAULT) > 0) {
        hid_t di = H5Dopen2(f, "index", H5P_DEFAULT), si = di >= 0 ? H5Dget_space(di) : -1;
        hsize_t di1[1] = {0};
        s->index = malloc(sizeof *s->index * (size_t)(s->n ? s->n : 1));
        int bad = si < 0 || H5Sget_simple_extent_ndims(si) != 1 || H5Sget_simple_extent_dims(si, di1, NULL) < 0 ||
                  di1[0] != d1[0] || !s->index ||
                  (s->n && H5Dread(di, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->index) < 0);
        if (si >= 0)
            H5Sclose(si);
        if (di >= 0)
            H5Dclose(di);
        if (bad) {
            fn_fail(err, FN_E_FORMAT, "%s: unreadable 'index' dataset", path);
            goto out;
        }
    }
    if (H5Lexists(f, "face", H5P_DEFAULT) > 0 && read_h5_faces(f, s)) {
        fn_fail(err, FN_E_FORMAT, "%s: unreadable 'face', 'box' or 'score' dataset", path);
        goto out;
    }
    fn_emb_meta *m = &s->meta;
    if (H5Aexists(f, "facenet_model") > 0) {
        s->has_meta = 1;
        h5_attr_str(f, "facenet_model", m->model, sizeof m->model);
        h5_attr_str(f, "facenet_profile", m->profile, sizeof m->profile);
        h5_attr_str(f, "facenet_version", m->version, sizeof m->version);
        h5_attr_num(f, "facenet_threshold", H5T_NATIVE_DOUBLE, &m->threshold);
        h5_attr_num(f, "facenet_l2_normalize", H5T_NATIVE_INT, &m->l2_normalize);
        h5_attr_num(f, "total", H5T_NATIVE_LLONG, &m->total);
        char sh[32] = "";
        h5_attr_str(f, "shard", sh, sizeof sh);
        if (sscanf(sh, "%d/%d", &m->shard_k, &m->shard_n) != 2)
            m->shard_k = m->shard_n = 0;
    }
    rc = 0;
out:
    if (se >= 0)
        H5Sclose(se);
    if (sp >= 0)
        H5Sclose(sp);
    if (de >= 0)
        H5Dclose(de);
    if (dp >= 0)
        H5Dclose(dp);
    H5Fclose(f);
    return rc;
}

int fn_read_embeddings(const char *path, int lenient, fn_emb_set *s, fn_err *err)
{
    memset(s, 0, sizeof *s);
    fn_emb_meta_init(&s->meta);
    const char *ext = ext_of(path);
    int h5 = !strcmp(ext, ".h5") || !strcmp(ext, ".hdf5");
    long long side_rows = -1;
    int rc = !strcmp(ext, ".npy") ? read_npy(path, s, err)
             : !strcmp(ext, ".csv") ? read_csv(path, lenient, s, err)
             : h5                   ? read_h5(path, s, err)
                                    : fn_fail(err, FN_E_ARG, "%s: unknown format (use .npy, .csv or .h5)", path);
    if (!rc && !h5) {
        fn_emb_set side = {0};
        fn_emb_meta_init(&side.meta);
        rc = read_sidecar(path, &side, &side_rows, err);
        if (!rc && side_rows >= 0) {
            s->has_meta = 1;
            s->meta = side.meta;
            s->index = side.index;
            side.index = NULL;
            if (side_rows < s->n && !lenient)
                rc = fn_fail(err, FN_E_FORMAT, "%s: its sidecar lists %lld rows, the file holds %d", path,
                             side_rows, s->n);
            else if (side_rows < s->n)
                truncate_set(s, (int)side_rows); /* data renamed before a sidecar? never: be safe */
            else if (side_rows > s->n && !lenient)
                rc = fn_fail(err, FN_E_FORMAT, "%s: its sidecar lists %lld rows, the file holds %d", path,
                             side_rows, s->n);
        }
        fn_emb_set_free(&side);
    }
    for (size_t i = 0; !rc && i < (size_t)s->n * (size_t)s->dim; i++)
        if (!isfinite(s->emb[i]))
            rc = fn_fail(err, FN_E_FORMAT, "%s: row %zu has a non-finite value", path, i / (size_t)s->dim + 1);
    if (rc)
        fn_emb_set_free(s);
    return rc;
}
