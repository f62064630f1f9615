/* h5.c - HDF5 reading helpers for Keras files (see h5.h). */
#include "io/h5.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

#define FN_H5_MAX_NAMES 1000000 /* a sane upper bound for one name list */
#define FN_H5_MAX_STRLEN (64u << 20)

int fn_h5_open(const char *path, hid_t *file, fn_err *err)
{
    /* HDF5 prints its error stack to stderr by default; we report our own.  This
     * first call also initialises libhdf5: if that fails (out of memory) every later
     * call would fail and print its stack, so stop here. */
    if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0)
        return fn_fail(err, FN_E_NOMEM, "%s: libhdf5 could not initialise (out of memory?)",
                       path);
    int fd = fn_open_regular(path, err); /* a FIFO would block libhdf5's open */
    if (fd < 0)
        return -1;
    close(fd);
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0)
        return fn_fail(err, FN_E_FORMAT, "%s: not an HDF5 file", path);
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0)
        return fn_fail(err, FN_E_FORMAT, "%s: HDF5 file cannot be opened (truncated or corrupt?)", path);
    *file = fid;
    return 0;
}

int fn_h5_has_attr(hid_t obj, const char *name)
{
    return H5Aexists(obj, name) > 0;
}

/* Read all strings of an open attribute: fixed or variable length, any rank. */
static int read_string_attr(hid_t attr, const char *name, char ***out, int *n, fn_err *err)
{
    int rc = -1;
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr), mtype = -1;
    char **list = NULL;
    char *fixed = NULL;
    char **vlen = NULL;
    hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (type < 0 || count < 0) {
        fn_fail(err, FN_E_FORMAT, "attribute %s: unreadable", name);
        goto done;
    }
    if (count > FN_H5_MAX_NAMES) {
        fn_fail(err, FN_E_FORMAT, "attribute %s: %lld strings is implausible", name, (long long)count);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_STRING) {
        /* Keras writes an empty float64 array for "no weights". */
        if (count == 0) {
            *out = NULL;
            *n = 0;
            rc = 0;
        } else {
            fn_fail(err, FN_E_FORMAT, "attribute %s: expected strings, found a non-string array of %lld",
                    name, (long long)count);
        }
        goto done;
    }
    list = calloc(count ? (size_t)count : 1, sizeof *list);
    if (!list) {
        fn_fail(err, FN_E_NOMEM, "attribute %s: out of memory", name);
        goto done;
    }
    if (H5Tis_variable_str(type) > 0) {
        mtype = H5Tcopy(H5T_C_S1);
        H5Tset_size(mtype, H5T_VARIABLE);
        H5Tset_cset(mtype, H5Tget_cset(type));
        vlen = calloc(count ? (size_t)count : 1, sizeof *vlen);
        if (!vlen || H5Aread(attr, mtype, vlen) < 0) {
            fn_fail(err, FN_E_FORMAT, "attribute %s: cannot read variable-length strings", name);
            goto done;
        }
        for (hssize_t i = 0; i < count; i++) {
            list[i] = strdup(vlen[i] ? vlen[i] : "");
            if (!list[i]) {
                fn_fail(err, FN_E_NOMEM, "attribute %s: out of memory", name);
                goto done;
            }
        }
    } else {
        size_t len = H5Tget_size(type);
        size_t total;
        if (len == 0 || len > FN_H5_MAX_STRLEN || fn_mul_size(len, (size_t)count, &total)) {
            fn_fail(err, FN_E_FORMAT, "attribute %s: implausible string size", name);
            goto done;
        }
        mtype = H5Tcopy(type);
        fixed = malloc(total + 1);
        if (!fixed || H5Aread(attr, mtype, fixed) < 0) {
            fn_fail(err, FN_E_FORMAT, "attribute %s: cannot read fixed-length strings", name);
            goto done;
        }
        for (hssize_t i = 0; i < count; i++) {
            const char *s = fixed + (size_t)i * len;
            size_t k = 0;
            while (k < len && s[k]) /* NUL-padded (or NUL-terminated) */
                k++;
            while (k > 0 && s[k - 1] == ' ') /* space-padded variant */
                k--;
            list[i] = strndup(s, k);
            if (!list[i]) {
                fn_fail(err, FN_E_NOMEM, "attribute %s: out of memory", name);
                goto done;
            }
        }
    }
    *out = list;
    *n = (int)count;
    list = NULL;
    rc = 0;
done:
    if (vlen) {
        if (mtype >= 0 && space >= 0)
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, vlen);
        free(vlen);
    }
    if (list)
        fn_h5_strings_free(list, (int)(count > 0 ? count : 0));
    free(fixed);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

void fn_h5_strings_free(char **s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

int fn_h5_attr_string(hid_t obj, const char *name, char **out, fn_err *err)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return fn_fail(err, FN_E_FORMAT, "attribute %s is missing", name);
    char **list = NULL;
    int n = 0;
    int rc = read_string_attr(a, name, &list, &n, err);
    H5Aclose(a);
    if (rc)
        return -1;
    if (n != 1) {
        fn_h5_strings_free(list, n);
        return fn_fail(err, FN_E_FORMAT, "attribute %s: expected one string, found %d", name, n);
    }
    *out = list[0];
    free(list);
    return 0;
}

static int append_strings(char ***all, int *nall, char **more, int nmore, fn_err *err)
{
    if (nmore == 0) {
        free(more);
        return 0;
    }
    char **grown = realloc(*all, (size_t)(*nall + nmore) * sizeof *grown);
    if (!grown) {
        fn_h5_strings_free(more, nmore);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    memcpy(grown + *nall, more, (size_t)nmore * sizeof *more);
    free(more);
    *all = grown;
    *nall += nmore;
    return 0;
}

int fn_h5_attr_strings(hid_t obj, const char *name, char ***out, int *n, fn_err *err)
{
    *out = NULL;
    *n = 0;
    if (fn_h5_has_attr(obj, name)) {
        hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
        if (a < 0)
            return fn_fail(err, FN_E_FORMAT, "attribute %s: cannot open", name);
        int rc = read_string_attr(a, name, out, n, err);
        H5Aclose(a);
        return rc;
    }
    /* Lists over HDF5's 64 KiB attribute limit are split into name0, name1, ... */
    char chunk[256];
    int found = 0;
    for (int i = 0;; i++) {
        snprintf(chunk, sizeof chunk, "%s%d", name, i);
        if (!fn_h5_has_attr(obj, chunk))
            break;
        hid_t a = H5Aopen(obj, chunk, H5P_DEFAULT);
        char **part = NULL;
        int np = 0;
        int rc = a < 0 ? fn_fail(err, FN_E_FORMAT, "attribute %s: cannot open", chunk)
                       : read_string_attr(a, chunk, &part, &np, err);
        if (a >= 0)
            H5Aclose(a);
        if (rc || append_strings(out, n, part, np, err)) {
            fn_h5_strings_free(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
        found = 1;
    }
    if (!found)
        return fn_fail(err, FN_E_FORMAT, "attribute %s is missing", name);
    return 0;
}

int fn_h5_dataset_dims(hid_t loc, const char *path, int *rank, long long *dims, int maxrank,
                       fn_err *err)
{
    if (H5Lexists(loc, path, H5P_DEFAULT) <= 0)
        return fn_fail(err, FN_E_FORMAT, "dataset %s is missing", path);
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0)
        return fn_fail(err, FN_E_FORMAT, "%s is not a dataset", path);
    hid_t s = H5Dget_space(d);
    int r = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    int rc = 0;
    if (r < 0 || r > maxrank) {
        rc = fn_fail(err, FN_E_FORMAT, "dataset %s: rank %d not supported", path, r);
    } else {
        hsize_t hd[H5S_MAX_RANK];
        H5Sget_simple_extent_dims(s, hd, NULL);
        for (int i = 0; i < r; i++)
            dims[i] = (long long)hd[i];
        *rank = r;
    }
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int fn_h5_read_floats(hid_t loc, const char *path, float *buf, size_t count, fn_err *err)
{
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0)
        return fn_fail(err, FN_E_FORMAT, "dataset %s is missing", path);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d), cp = H5Dget_create_plist(d);
    int rc = 0;
    /* Weights live in this file: external raw-data files and virtual datasets would make
     * a model file read other files of the machine. */
    if (cp < 0 || H5Pget_external_count(cp) != 0 || H5Pget_layout(cp) == H5D_VIRTUAL)
        rc = fn_fail(err, FN_E_UNSUPPORTED, "dataset %s: stored outside the file (external or virtual): refused", path);
    if (cp >= 0)
        H5Pclose(cp);
    hssize_t np = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (rc)
        ;
    else if (np < 0 || (size_t)np != count)
        rc = fn_fail(err, FN_E_SHAPE, "dataset %s: %lld values, expected %zu", path, (long long)np, count);
    else if (t < 0 || (H5Tget_class(t) != H5T_FLOAT && H5Tget_class(t) != H5T_INTEGER))
        rc = fn_fail(err, FN_E_FORMAT, "dataset %s: not a numeric dataset", path);
    else if (count && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = fn_fail(err, FN_E_FORMAT, "dataset %s: read failed (truncated file?)", path);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return rc;
}
