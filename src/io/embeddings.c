/* embeddings.c - see embeddings.h. */
#include "io/embeddings.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/json_out.h"

void fn_emb_meta_init(fn_emb_meta *m)
{
    memset(m, 0, sizeof *m);
    m->l2_normalize = -1;
}

static const char *ext_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot : "";
}

static int tmp_name(const char *path, char *out, size_t cap, fn_err *err)
{
    if ((size_t)snprintf(out, cap, "%s.tmp%ld", path, (long)getpid()) >= cap)
        return fn_fail(err, FN_E_ARG, "%s: path too long", path);
    return 0;
}

static int finish(FILE *f, const char *tmp, const char *path, fn_err *err)
{
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return fn_fail(err, FN_E_IO, "%s: write failed", path);
    }
    return 0;
}

static int write_npy(const char *path, int n, int dim, const float *emb, fn_err *err)
{
    char tmp[4200], header[256];
    if (tmp_name(path, tmp, sizeof tmp, err))
        return -1;
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, dim);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64; /* header block is a multiple of 64 */
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    unsigned short hl = (unsigned short)(len + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    fwrite(pre, 1, sizeof pre, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(emb, sizeof(float), (size_t)n * dim, f); /* x86/ARM are little-endian: '<f4' */
    return finish(f, tmp, path, err);
}

/* The six per-face values of row i, as text after a comma. */
static void face_cols(FILE *f, const float *faces6, int i)
{
    const float *r = faces6 + 6 * (size_t)i;
    fprintf(f, ",%d,%.9g,%.9g,%.9g,%.9g,%.9g", (int)r[0], (double)r[1], (double)r[2], (double)r[3], (double)r[4],
            (double)r[5]);
}

/* npy's sidecars: FILE.txt (the paths), and for face rows FILE.faces.csv */
static int write_npy_text(const char *npy, const char *suffix, const char *const *paths, const float *faces6, int n,
                          fn_err *err)
{
    char txt[4200], tmp[4300];
    size_t base = strlen(npy) - strlen(ext_of(npy));
    if (base + strlen(suffix) + 1 > sizeof txt)
        return fn_fail(err, FN_E_ARG, "%s: path too long", npy);
    memcpy(txt, npy, base);
    strcpy(txt + base, suffix);
    if (tmp_name(txt, tmp, sizeof tmp, err))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    if (faces6)
        fputs("row,face,x,y,width,height,score\n", f);
    for (int i = 0; i < n; i++) {
        if (faces6) {
            fprintf(f, "%d", i);
            face_cols(f, faces6, i);
            fputc('\n', f);
        } else {
            fprintf(f, "%s\n", paths[i]);
        }
    }
    return finish(f, tmp, txt, err);
}

void fn_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_csv(const char *path, const char *const *paths, const float *faces6, int n, int dim,
                     const float *emb, fn_err *err)
{
    char tmp[4200];
    if (tmp_name(path, tmp, sizeof tmp, err))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    fputs(faces6 ? "path,face,x,y,width,height,score" : "path", f);
    for (int j = 0; j < dim; j++)
        fprintf(f, ",e%d", j);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        fn_csv_field(f, paths[i]);
        if (faces6)
            face_cols(f, faces6, i);
        for (int j = 0; j < dim; j++)
            fprintf(f, ",%.9g", (double)emb[(size_t)i * dim + j]);
        fputc('\n', f);
    }
    return finish(f, tmp, path, err);
}

static int attr_str(hid_t loc, const char *name, const char *val)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(val) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, t, val) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return bad;
}

static int attr_num(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, const void *val)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, file_type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int bad = a < 0 || H5Awrite(a, mem_type, val) < 0;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return bad;
}

/* The provenance as attributes of the root group. */
static int h5_meta(hid_t f, int n, int dim, const fn_emb_meta *m)
{
    long long rows = n;
    int bad = attr_num(f, "rows", H5T_STD_I64LE, H5T_NATIVE_LLONG, &rows) |
              attr_num(f, "dim", H5T_STD_I32LE, H5T_NATIVE_INT, &dim);
    if (!m)
        return bad;
    bad |= attr_str(f, "facenet_model", m->model) | attr_str(f, "facenet_profile", m->profile) |
           attr_str(f, "facenet_version", m->version) |
           attr_num(f, "facenet_threshold", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &m->threshold) |
           attr_num(f, "facenet_l2_normalize", H5T_STD_I32LE, H5T_NATIVE_INT, &m->l2_normalize);
    if (m->shard_n > 0) {
        char sh[32];
        snprintf(sh, sizeof sh, "%d/%d", m->shard_k, m->shard_n);
        bad |= attr_str(f, "shard", sh);
    }
    if (m->total > 0)
        bad |= attr_num(f, "total", H5T_STD_I64LE, H5T_NATIVE_LLONG, &m->total);
    return bad;
}

/* The per-face datasets of an .h5 output; 1 when one failed. */
static int write_h5_faces(hid_t f, const float *faces6, int n)
{
    int *face = malloc(sizeof(int) * (size_t)(n ? n : 1));
    float *box = malloc(sizeof(float) * 4 * (size_t)(n ? n : 1)), *score = malloc(sizeof(float) * (size_t)(n ? n : 1));
    int bad = !face || !box || !score;
    for (int i = 0; !bad && i < n; i++) {
        face[i] = (int)faces6[6 * (size_t)i];
        memcpy(box + 4 * (size_t)i, faces6 + 6 * (size_t)i + 1, 4 * sizeof(float));
        score[i] = faces6[6 * (size_t)i + 5];
    }
    hsize_t d1[1] = {(hsize_t)n}, d2[2] = {(hsize_t)n, 4};
    hid_t s1 = H5Screate_simple(1, d1, NULL), s2 = H5Screate_simple(2, d2, NULL);
    hid_t df = H5Dcreate2(f, "face", H5T_STD_I32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t db = H5Dcreate2(f, "box", H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = H5Dcreate2(f, "score", H5T_IEEE_F32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad = bad || df < 0 || db < 0 || ds < 0 ||
          (n && (H5Dwrite(df, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, face) < 0 ||
                 H5Dwrite(db, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, box) < 0 ||
                 H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, score) < 0));
    hid_t ids[3] = {df, db, ds};
    for (int i = 0; i < 3; i++)
        if (ids[i] >= 0)
            H5Dclose(ids[i]);
    H5Sclose(s1);
    H5Sclose(s2);
    free(face), free(box), free(score);
    return bad;
}

static int write_h5(const char *path, const char *const *paths, const long long *index, const float *faces6, int n,
                    int dim, const float *emb, const fn_emb_meta *meta, fn_err *err)
{
    char tmp[4200];
    if (tmp_name(path, tmp, sizeof tmp, err))
        return -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    hsize_t d2[2] = {(hsize_t)n, (hsize_t)dim}, d1[1] = {(hsize_t)n};
    hid_t s2 = H5Screate_simple(2, d2, NULL), s1 = H5Screate_simple(1, d1, NULL);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    hid_t de = H5Dcreate2(f, "embeddings", H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t dp = H5Dcreate2(f, "paths", st, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = de < 0 || dp < 0 || (n && H5Dwrite(de, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, emb) < 0) ||
              (n && H5Dwrite(dp, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, paths) < 0);
    if (index) {
        hid_t di = H5Dcreate2(f, "index", H5T_STD_I64LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        bad |= di < 0 || (n && H5Dwrite(di, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, index) < 0);
        if (di >= 0)
            H5Dclose(di);
    }
    if (faces6)
        bad |= write_h5_faces(f, faces6, n);
    bad |= h5_meta(f, n, dim, meta);
    if (de >= 0)
        H5Dclose(de);
    if (dp >= 0)
        H5Dclose(dp);
    H5Tclose(st);
    H5Sclose(s1);
    H5Sclose(s2);
    bad |= H5Fclose(f) < 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        return fn_fail(err, FN_E_IO, "%s: write failed", path);
    }
    return 0;
}

int fn_embeddings_sidecar(const char *path, char *out, size_t cap, fn_err *err)
{
    if ((size_t)snprintf(out, cap, "%s.json", path) >= cap)
        return fn_fail(err, FN_E_ARG, "%s: path too long", path);
    return 0;
}

/* FILE.json beside an .npy or .csv: the same provenance as the .h5 attributes. */
static int write_sidecar(const char *path, const long long *index, int n, int dim, const fn_emb_meta *m,
                         fn_err *err)
{
    char side[4200], tmp[4300];
    if (fn_embeddings_sidecar(path, side, sizeof side, err) || tmp_name(side, tmp, sizeof tmp, err))
        return -1;
    const char *base = strrchr(path, '/');
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "facenet-embeddings");
    cJSON_AddStringToObject(j, "file", base ? base + 1 : path);
    cJSON_AddNumberToObject(j, "rows", n);
    cJSON_AddNumberToObject(j, "dim", dim);
    if (m) {
        cJSON_AddStringToObject(j, "model", m->model);
        cJSON_AddStringToObject(j, "profile", m->profile);
        cJSON_AddNumberToObject(j, "threshold", m->threshold);
        if (m->l2_normalize >= 0)
            cJSON_AddBoolToObject(j, "l2_normalize", m->l2_normalize);
        cJSON_AddStringToObject(j, "version", m->version);
        if (m->shard_n > 0) {
            char sh[32];
            snprintf(sh, sizeof sh, "%d/%d", m->shard_k, m->shard_n);
            cJSON_AddStringToObject(j, "shard", sh);
        }
        if (m->total > 0)
            cJSON_AddNumberToObject(j, "total", (double)m->total);
    }
    if (index) {
        cJSON *a = cJSON_AddArrayToObject(j, "index");
        for (int i = 0; a && i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber((double)index[i]));
    }
    char *text = fn_json_print_exact(j, 0);
    cJSON_Delete(j);
    if (!text)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", side);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cJSON_free(text);
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    }
    fputs(text, f);
    fputc('\n', f);
    cJSON_free(text);
    return finish(f, tmp, side, err);
}

int fn_write_embeddings_ex(const char *path, const char *const *paths, const long long *index, const float *faces6,
                           int n, int dim, const float *emb, const fn_emb_meta *meta, fn_err *err)
{
    const char *ext = ext_of(path);
    /* .npy/.csv: the sidecar and the paths first, the data last: a kill between the
     * renames leaves parts that list more rows than the data holds, which a resume
     * reads as the prefix they agree on (fn_read_embeddings, lenient) */
    if (!strcmp(ext, ".npy"))
        return write_sidecar(path, index, n, dim, meta, err) || write_npy_text(path, ".txt", paths, NULL, n, err) ||
                       (faces6 && write_npy_text(path, ".faces.csv", paths, faces6, n, err)) ||
                       write_npy(path, n, dim, emb, err)
                   ? -1
                   : 0;
    if (!strcmp(ext, ".csv"))
        return write_sidecar(path, index, n, dim, meta, err) || write_csv(path, paths, faces6, n, dim, emb, err) ? -1
                                                                                                              : 0;
    if (!strcmp(ext, ".h5") || !strcmp(ext, ".hdf5"))
        return write_h5(path, paths, index, faces6, n, dim, emb, meta, err);
    return fn_fail(err, FN_E_ARG, "%s: unknown output format (use .npy, .csv or .h5)", path);
}

int fn_write_embeddings(const char *path, const char *const *paths, int n, int dim, const float *emb, fn_err *err)
{
    return fn_write_embeddings_ex(path, paths, NULL, NULL, n, dim, emb, NULL, err);
}

int fn_embeddings_check_writable(const char *path, fn_err *err)
{
    const char *ext = ext_of(path);
    if (strcmp(ext, ".npy") && strcmp(ext, ".csv") && strcmp(ext, ".h5") && strcmp(ext, ".hdf5"))
        return fn_fail(err, FN_E_ARG, "%s: unknown output format (use .npy, .csv or .h5)", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: is a directory", path);
    char dir[4200];
    const char *slash = strrchr(path, '/');
    if (slash && (size_t)(slash - path) + 1 >= sizeof dir)
        return fn_fail(err, FN_E_ARG, "%s: path too long", path);
    if (slash) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash == path ? 1 : slash - path] = '\0';
    } else {
        strcpy(dir, ".");
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: cannot write there: folder %s does not exist", path, dir);
    /* the real test: create (then remove) the temporary file the writer will use */
    char tmp[4300];
    if (tmp_name(path, tmp, sizeof tmp, err))
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot write there (%s)", path, strerror(errno));
    close(fd);
    unlink(tmp);
    if (stat(path, &st) == 0 && access(path, W_OK) != 0 && access(dir, W_OK) != 0)
        return fn_fail(err, FN_E_IO, "%s: cannot replace it (not writable)", path);
    return 0;
}
