/* embeddings.c - see embeddings.h. */
#include "io/embeddings.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* npy's sidecars: FILE.txt (the paths) and, with faces, FILE.faces.csv */
static int write_npy_sidecar(const char *npy, const char *suffix, const char *const *paths,
                             const fn_emb_faces *faces, int n, fn_err *err)
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
    if (faces)
        fputs("row,face,x,y,width,height,score\n", f);
    for (int i = 0; i < n; i++)
        if (faces)
            fprintf(f, "%d,%d,%.9g,%.9g,%.9g,%.9g,%.9g\n", i, faces->face[i], (double)faces->box[4 * i],
                    (double)faces->box[4 * i + 1], (double)faces->box[4 * i + 2], (double)faces->box[4 * i + 3],
                    (double)faces->score[i]);
        else
            fprintf(f, "%s\n", paths[i]);
    return finish(f, tmp, txt, err);
}

static void csv_field(FILE *f, const char *s)
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

static int write_csv(const char *path, const char *const *paths, const fn_emb_faces *faces, int n, int dim,
                     const float *emb, fn_err *err)
{
    char tmp[4200];
    if (tmp_name(path, tmp, sizeof tmp, err))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot create", tmp);
    fputs(faces ? "path,face,x,y,width,height,score" : "path", f);
    for (int j = 0; j < dim; j++)
        fprintf(f, ",e%d", j);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        csv_field(f, paths[i]);
        if (faces)
            fprintf(f, ",%d,%.9g,%.9g,%.9g,%.9g,%.9g", faces->face[i], (double)faces->box[4 * i],
                    (double)faces->box[4 * i + 1], (double)faces->box[4 * i + 2], (double)faces->box[4 * i + 3],
                    (double)faces->score[i]);
        for (int j = 0; j < dim; j++)
            fprintf(f, ",%.9g", (double)emb[(size_t)i * dim + j]);
        fputc('\n', f);
    }
    return finish(f, tmp, path, err);
}

/* The per-face datasets of an .h5 output: "face" (int32 N), "box" (float32 N x 4),
 * "score" (float32 N); 1 when one failed. */
static int write_h5_faces(hid_t f, const fn_emb_faces *faces, int n)
{
    hsize_t d1[1] = {(hsize_t)n}, d2[2] = {(hsize_t)n, 4};
    hid_t s1 = H5Screate_simple(1, d1, NULL), s2 = H5Screate_simple(2, d2, NULL);
    hid_t df = H5Dcreate2(f, "face", H5T_STD_I32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t db = H5Dcreate2(f, "box", H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = H5Dcreate2(f, "score", H5T_IEEE_F32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int bad = df < 0 || db < 0 || ds < 0 ||
              (n && (H5Dwrite(df, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, faces->face) < 0 ||
                     H5Dwrite(db, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, faces->box) < 0 ||
                     H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, faces->score) < 0));
    hid_t ids[3] = {df, db, ds};
    for (int i = 0; i < 3; i++)
        if (ids[i] >= 0)
            H5Dclose(ids[i]);
    H5Sclose(s1);
    H5Sclose(s2);
    return bad;
}

static int write_h5(const char *path, const char *const *paths, const fn_emb_faces *faces, int n, int dim,
                    const float *emb, fn_err *err)
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
              (n && H5Dwrite(dp, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, paths) < 0) || (faces && write_h5_faces(f, faces, n));
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

int fn_write_embeddings(const char *path, const char *const *paths, int n, int dim, const float *emb, fn_err *err)
{
    return fn_write_embeddings_faces(path, paths, NULL, n, dim, emb, err);
}

int fn_write_embeddings_faces(const char *path, const char *const *paths, const fn_emb_faces *faces, int n,
                              int dim, const float *emb, fn_err *err)
{
    const char *ext = ext_of(path);
    if (!strcmp(ext, ".npy"))
        return write_npy(path, n, dim, emb, err) || write_npy_sidecar(path, ".txt", paths, NULL, n, err) ||
                       (faces && write_npy_sidecar(path, ".faces.csv", paths, faces, n, err))
                   ? -1
                   : 0;
    if (!strcmp(ext, ".csv"))
        return write_csv(path, paths, faces, n, dim, emb, err);
    if (!strcmp(ext, ".h5") || !strcmp(ext, ".hdf5"))
        return write_h5(path, paths, faces, n, dim, emb, err);
    return fn_fail(err, FN_E_ARG, "%s: unknown output format (use .npy, .csv or .h5)", path);
}
