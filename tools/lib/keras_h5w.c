/* keras_h5w.c - see keras_h5w.h.  Mirrors Keras 2.4's hdf5_format.py
 * (save_weights_to_hdf5_group, save_attributes_to_hdf5_group) on h5py 2.10. */
#include "keras_h5w.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keras' HDF5_OBJECT_HEADER_LIMIT: the most bytes it puts in one attribute. */
#define HEADER_LIMIT 64512

struct fn_kh5w {
    char *path, *tmp;
    hid_t file;
    hid_t root;        /* where the layer groups go: the file, or group model_weights */
    char **names;      /* layer names in order */
    int n, cap;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Fixed-length NUL-padded string type of size len (h5py's numpy 'S<len>'). */
static hid_t str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf,
                      const char *what, fn_err *err)
{
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot create attribute %s", what, name);
    herr_t rc = buf ? H5Awrite(a, type, buf) : 0;
    H5Aclose(a);
    if (rc < 0)
        return fn_fail(err, FN_E_IO, "%s: cannot write attribute %s", what, name);
    return 0;
}

static int write_str_scalar(hid_t obj, const char *name, const char *s, const char *what,
                            fn_err *err)
{
    size_t len = strlen(s);
    hid_t t = str_type(len), sp = H5Screate(H5S_SCALAR);
    int rc = -1;
    if (t < 0 || sp < 0)
        fn_fail(err, FN_E_IO, "%s: cannot make string type for %s", what, name);
    else
        rc = write_attr(obj, name, t, sp, len ? s : "", what, err);
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

/* Keras' save_attributes_to_hdf5_group: an empty list becomes an empty float64
 * array (numpy's np.asarray([])); otherwise one 'S<maxlen>' array, split with
 * np.array_split into the fewest chunks whose byte size fits HEADER_LIMIT. */
static int write_str_list(hid_t obj, const char *name, char *const *s, int n, const char *what,
                          fn_err *err)
{
    if (n == 0) {
        hsize_t zero = 0;
        hid_t sp = H5Screate_simple(1, &zero, NULL);
        if (sp < 0)
            return fn_fail(err, FN_E_IO, "%s: cannot make empty dataspace", what);
        int rc = write_attr(obj, name, H5T_IEEE_F64LE, sp, NULL, what, err);
        H5Sclose(sp);
        return rc;
    }
    size_t item = 1;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(s[i]);
        if (len > HEADER_LIMIT)
            return fn_fail(err, FN_E_ARG, "%s: name '%.40s...' is %zu bytes, longer than the "
                           "%d-byte HDF5 attribute limit", what, s[i], len, HEADER_LIMIT);
        if (len > item)
            item = len;
    }
    size_t chunks = 1;
    while (((size_t)n / chunks + ((size_t)n % chunks != 0)) * item > HEADER_LIMIT)
        chunks++;
    char *buf = calloc((size_t)n, item);
    if (!buf)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory for attribute %s", what, name);
    for (int i = 0; i < n; i++)
        memcpy(buf + (size_t)i * item, s[i], strlen(s[i]));
    hid_t t = str_type(item);
    if (t < 0) {
        free(buf);
        return fn_fail(err, FN_E_IO, "%s: cannot make string type for %s", what, name);
    }
    int rc = 0;
    size_t start = 0;
    for (size_t c = 0; c < chunks && rc == 0; c++) {
        /* np.array_split: the first n % chunks pieces get one extra element. */
        hsize_t cnt = (hsize_t)((size_t)n / chunks + (c < (size_t)n % chunks));
        char aname[256];
        if (chunks == 1)
            snprintf(aname, sizeof aname, "%s", name);
        else
            snprintf(aname, sizeof aname, "%s%zu", name, c);
        hid_t sp = H5Screate_simple(1, &cnt, NULL);
        if (sp < 0) {
            rc = fn_fail(err, FN_E_IO, "%s: cannot make dataspace for %s", what, aname);
            break;
        }
        rc = write_attr(obj, aname, t, sp, buf + start * item, what, err);
        H5Sclose(sp);
        start += (size_t)cnt;
    }
    H5Tclose(t);
    free(buf);
    return rc;
}

fn_kh5w *fn_kh5w_create(const char *path, int full_model, const char *model_json, fn_err *err)
{
    if (!path || !path[0]) {
        fn_fail(err, FN_E_ARG, "keras_h5w: empty output path");
        return NULL;
    }
    if (full_model && !model_json) {
        fn_fail(err, FN_E_ARG, "%s: a full-model file needs the model JSON", path);
        return NULL;
    }
    /* Our messages say what failed; HDF5's own stack dumps would only add noise. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    fn_kh5w *w = calloc(1, sizeof *w);
    if (!w) {
        fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->file = w->root = -1;
    size_t plen = strlen(path);
    if (!(w->path = dup_str(path)) || !(w->tmp = malloc(plen + 12))) {
        fn_kh5w_abort(w);
        fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    snprintf(w->tmp, plen + 12, "%s.tmpXXXXXX", path);
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        fn_fail(err, FN_E_IO, "%s: cannot create a temporary file beside it: %s", path,
                strerror(errno));
        w->tmp[0] = '\0';
        fn_kh5w_abort(w);
        return NULL;
    }
    /* mkstemp makes the file 0600; give it the mode a plain create would. */
    mode_t mask = umask(0);
    umask(mask);
    int chmod_failed = fchmod(fd, 0666 & ~mask) != 0;
    close(fd);
    if (chmod_failed) {
        fn_fail(err, FN_E_IO, "%s: cannot set mode of %s: %s", path, w->tmp, strerror(errno));
        fn_kh5w_abort(w);
        return NULL;
    }

    /* An attribute larger than 64 KiB (a big model_config) needs the HDF5 1.8 object
     * header format; every other file keeps the most widely readable format. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && full_model && strlen(model_json) > HEADER_LIMIT)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    w->file = fapl < 0 ? -1 : H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (w->file < 0) {
        fn_fail(err, FN_E_IO, "%s: HDF5 cannot create %s", path, w->tmp);
        fn_kh5w_abort(w);
        return NULL;
    }
    if (!full_model) {
        w->root = w->file;
        return w;
    }
    if (write_str_scalar(w->file, "model_config", model_json, path, err) ||
        write_str_scalar(w->file, "keras_version", FN_KH5W_KERAS_VERSION, path, err) ||
        write_str_scalar(w->file, "backend", FN_KH5W_BACKEND, path, err)) {
        fn_kh5w_abort(w);
        return NULL;
    }
    w->root = H5Gcreate2(w->file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (w->root < 0) {
        fn_fail(err, FN_E_IO, "%s: cannot create group model_weights", path);
        fn_kh5w_abort(w);
        return NULL;
    }
    return w;
}

static int valid_layer_name(const char *s)
{
    return s && s[0] && !strchr(s, '/') && strcmp(s, ".") != 0;
}

static int valid_weight_name(const char *s)
{
    if (!s || !s[0] || s[0] == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//"))
        return 0;
    for (const char *p = s; p; p = strchr(p, '/')) {
        p += *p == '/';
        if ((p[0] == '.' && (p[1] == '/' || p[1] == '\0')) ||
            (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0')))
            return 0;
    }
    return 1;
}

static int write_dataset(hid_t g, const char *layer, const char *path, const fn_kh5w_tensor *t,
                         const char *file, fn_err *err)
{
    if (t->rank < 0 || t->rank > FN_KH5W_MAX_RANK)
        return fn_fail(err, FN_E_ARG, "%s: layer %s: weight %s: rank %d", file, layer, t->name,
                       t->rank);
    hsize_t dims[FN_KH5W_MAX_RANK];
    size_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0 || fn_mul_size(count, (size_t)t->dims[i], &count))
            return fn_fail(err, FN_E_ARG, "%s: layer %s: weight %s: bad dimension %lld", file,
                           layer, t->name, t->dims[i]);
        dims[i] = (hsize_t)t->dims[i];
    }
    if (count && !t->data)
        return fn_fail(err, FN_E_ARG, "%s: layer %s: weight %s: no data", file, layer, t->name);
    hid_t sp = t->rank ? H5Screate_simple(t->rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t d = -1;
    if (sp >= 0 && lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
        d = H5Dcreate2(g, path, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    int rc = 0;
    if (d < 0)
        rc = fn_fail(err, FN_E_IO, "%s: layer %s: cannot create dataset %s", file, layer, path);
    else if (count && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0)
        rc = fn_fail(err, FN_E_IO, "%s: layer %s: cannot write dataset %s", file, layer, path);
    if (d >= 0)
        H5Dclose(d);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

int fn_kh5w_layer(fn_kh5w *w, const char *layer, int n, const fn_kh5w_tensor *t, fn_err *err)
{
    if (!w || w->file < 0)
        return fn_fail(err, FN_E_ARG, "keras_h5w: writer is not open");
    if (!valid_layer_name(layer))
        return fn_fail(err, FN_E_ARG, "%s: bad layer name '%s' (empty or containing '/')",
                       w->path, layer ? layer : "(null)");
    if (n < 0 || (n > 0 && !t))
        return fn_fail(err, FN_E_ARG, "%s: layer %s: bad weight count %d", w->path, layer, n);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->names[i], layer) == 0)
            return fn_fail(err, FN_E_ARG, "%s: layer %s written twice", w->path, layer);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        char **grown = realloc(w->names, (size_t)cap * sizeof *grown);
        if (!grown)
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", w->path);
        w->names = grown;
        w->cap = cap;
    }
    char **wn = calloc(n ? (size_t)n : 1, sizeof *wn);
    if (!wn)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", w->path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!valid_weight_name(t[i].name)) {
            rc = fn_fail(err, FN_E_ARG, "%s: layer %s: bad weight name '%s'", w->path, layer,
                         t[i].name ? t[i].name : "(null)");
            break;
        }
        if (strchr(t[i].name, '/')) {
            wn[i] = dup_str(t[i].name);
        } else {
            size_t len = strlen(layer) + strlen(t[i].name) + 2;
            if ((wn[i] = malloc(len)))
                snprintf(wn[i], len, "%s/%s", layer, t[i].name);
        }
        if (!wn[i])
            rc = fn_fail(err, FN_E_NOMEM, "%s: out of memory", w->path);
        for (int j = 0; j < i && rc == 0; j++)
            if (strcmp(wn[j], wn[i]) == 0)
                rc = fn_fail(err, FN_E_ARG, "%s: layer %s: weight %s given twice", w->path,
                             layer, wn[i]);
    }
    hid_t g = -1;
    if (rc == 0) {
        g = H5Gcreate2(w->root, layer, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0)
            rc = fn_fail(err, FN_E_IO, "%s: cannot create group for layer %s", w->path, layer);
    }
    char what[600];
    snprintf(what, sizeof what, "%s: layer %s", w->path, layer);
    if (rc == 0)
        rc = write_str_list(g, "weight_names", wn, n, what, err);
    for (int i = 0; i < n && rc == 0; i++)
        rc = write_dataset(g, layer, wn[i], &t[i], w->path, err);
    if (g >= 0)
        H5Gclose(g);
    for (int i = 0; i < n; i++)
        free(wn[i]);
    free(wn);
    if (rc == 0) {
        if (!(w->names[w->n] = dup_str(layer)))
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory", w->path);
        w->n++;
    }
    return rc;
}

int fn_kh5w_finish(fn_kh5w *w, fn_err *err)
{
    if (!w || w->file < 0) {
        fn_kh5w_abort(w);
        return fn_fail(err, FN_E_ARG, "keras_h5w: writer is not open");
    }
    if (write_str_list(w->root, "layer_names", w->names, w->n, w->path, err) ||
        write_str_scalar(w->root, "backend", FN_KH5W_BACKEND, w->path, err) ||
        write_str_scalar(w->root, "keras_version", FN_KH5W_KERAS_VERSION, w->path, err)) {
        fn_kh5w_abort(w);
        return -1;
    }
    herr_t rc = 0;
    if (w->root != w->file)
        rc = H5Gclose(w->root);
    w->root = -1;
    if (H5Fclose(w->file) < 0)
        rc = -1;
    w->file = -1;
    if (rc < 0) {
        fn_fail(err, FN_E_IO, "%s: HDF5 failed to finish %s", w->path, w->tmp);
        fn_kh5w_abort(w);
        return -1;
    }
    if (rename(w->tmp, w->path) != 0) {
        fn_fail(err, FN_E_IO, "%s: cannot rename %s into place: %s", w->path, w->tmp,
                strerror(errno));
        fn_kh5w_abort(w);
        return -1;
    }
    w->tmp[0] = '\0';
    fn_kh5w_abort(w); /* frees; nothing left to delete */
    return 0;
}

void fn_kh5w_abort(fn_kh5w *w)
{
    if (!w)
        return;
    if (w->root >= 0 && w->root != w->file)
        H5Gclose(w->root);
    if (w->file >= 0)
        H5Fclose(w->file);
    if (w->tmp && w->tmp[0])
        unlink(w->tmp);
    for (int i = 0; i < w->n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->tmp);
    free(w->path);
    free(w);
}
