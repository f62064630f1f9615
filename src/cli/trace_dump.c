/* trace_dump.c - `facenet trace --dump DIR`: every computed tensor as a NumPy .npy
 * file (float32, little-endian, C order, shape (n, d0, .., dk): NHWC for images) named
 * by the Keras layer whose output it is, and DIR/index.json listing every layer with
 * its file, or what it was folded into when its own output was never computed.
 * A tensor whose layer has a residual scale folded in is divided by it again, so each
 * file holds what Keras' layer of that name gives (up to float rounding). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/trace.h"

void fn_trace_safe_name(const char *name, char *out, size_t cap)
{
    size_t k = 0;
    for (; *name && k + 1 < cap; name++) {
        char c = *name;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || (c == '.' && k > 0);
        out[k++] = ok ? c : '_';
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, cap, "_");
}

int fn_trace_dump_prepare(fn_trace *t, const char *dir, fn_err *err)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return fn_fail(err, FN_E_IO, "%s: cannot create the dump folder: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: not a folder", dir);
    t->dump_dir = dir;
    /* names decided up front, so two layers whose safe names collide get distinct files */
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(t->net, i, &li);
        if (!li.executed)
            continue;
        fn_net_layer_info(t->net, t->chain_end[i], &li);
        char safe[200], name[240];
        fn_trace_safe_name(li.name, safe, sizeof safe);
        snprintf(name, sizeof name, "%s.npy", safe);
        for (int j = 0; j < i; j++)
            if (t->file[j] && !strcmp(t->file[j], name)) {
                snprintf(name, sizeof name, "%s-%d.npy", safe, i);
                break;
            }
        if (!(t->file[i] = strdup(name)))
            return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    return 0;
}

int fn_trace_dump_layer(fn_trace *t, const fn_layer_output *o, fn_err *err)
{
    fn_layer_info li;
    fn_net_layer_info(t->net, o->layer, &li);
    if (!t->file[o->layer])
        return 0;
    char path[4400], tmp[4500], header[256], dims[160] = "";
    snprintf(path, sizeof path, "%s/%s", t->dump_dir, t->file[o->layer]);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int k = snprintf(dims, sizeof dims, "%d,", o->n);
    for (int d = 0; d < li.out_shape.rank; d++)
        k += snprintf(dims + k, sizeof dims - (size_t)k, " %d,", li.out_shape.d[d]);
    if (li.out_shape.rank > 0)
        dims[k - 1] = '\0'; /* (1, 72, 72, 32) but (1,) */
    int hl = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    int total = 10 + hl + 1, pad = (64 - total % 64) % 64; /* magic+version+len, header, '\n' */
    memset(header + hl, ' ', (size_t)pad);
    header[hl + pad] = '\n';
    unsigned short hlen = (unsigned short)(hl + pad + 1);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return fn_fail(err, FN_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
    int bad = fwrite("\x93NUMPY\x01\x00", 1, 8, f) != 8;
    unsigned char le[2] = {(unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    bad |= fwrite(le, 1, 2, f) != 2 || fwrite(header, 1, hlen, f) != hlen;
    float row[4096];
    for (size_t r = 0; r < o->rows && !bad; r++) {
        const float *p = o->data + r * (size_t)o->ld;
        for (int c0 = 0; c0 < o->cols && !bad; c0 += 4096) {
            int m = o->cols - c0 < 4096 ? o->cols - c0 : 4096;
            for (int c = 0; c < m; c++)
                row[c] = p[c0 + c] / li.out_scale; /* x86: little-endian already */
            bad |= fwrite(row, sizeof(float), (size_t)m, f) != (size_t)m;
        }
    }
    if (fclose(f) || bad) {
        remove(tmp);
        return fn_fail(err, FN_E_IO, "%s: write failed", path);
    }
    if (rename(tmp, path)) {
        remove(tmp);
        return fn_fail(err, FN_E_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return 0;
}

int fn_trace_dump_index(const fn_trace *t, const char *input_name, fn_err *err)
{
    cJSON *root = cJSON_CreateObject(), *layers = root ? cJSON_AddArrayToObject(root, "layers") : NULL;
    if (!layers) {
        cJSON_Delete(root);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    cJSON_AddItemToObject(root, "input", fn_json_str(input_name));
    cJSON_AddStringToObject(root, "layout", "float32 little-endian, C order, shape (n, d0, ..): NHWC for images");
    for (int i = 0; i < t->n_layers; i++) {
        fn_layer_info li;
        fn_net_layer_info(t->net, i, &li);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(layers, o);
        cJSON_AddNumberToObject(o, "index", i);
        cJSON_AddItemToObject(o, "layer", fn_json_str(li.name));
        cJSON_AddItemToObject(o, "class", fn_json_str(li.class_name));
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < li.out_shape.rank; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(li.out_shape.d[d]));
        /* the file holding this layer's Keras output: its own tensor's when it is the
         * end of its folded chain */
        int owner = fn_trace_owner(t->net, i);
        const char *file = t->chain_end[owner] == i || (!li.executed && !li.folded_into) ? t->file[owner] : NULL;
        cJSON_AddItemToObject(o, "file", file ? fn_json_str(file) : cJSON_CreateNull());
        if (!li.executed)
            cJSON_AddItemToObject(o, "folded_into", li.folded_into ? fn_json_str(li.folded_into) : cJSON_CreateNull());
        else if (t->chain_end[i] != i) {
            fn_layer_info end;
            fn_net_layer_info(t->net, t->chain_end[i], &end);
            cJSON_AddItemToObject(o, "computes", fn_json_str(end.name));
        }
        if (li.out_scale != 1.0f)
            cJSON_AddNumberToObject(o, "folded_scale_removed", li.out_scale);
    }
    char path[4400], tmp[4500];
    snprintf(path, sizeof path, "%s/index.json", t->dump_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char *text = fn_json_print_exact(root, 1);
    cJSON_Delete(root);
    if (!text)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    FILE *f = fopen(tmp, "w");
    int bad = !f || fputs(text, f) < 0 || fputc('\n', f) == EOF;
    free(text);
    if ((f && fclose(f)) || bad || rename(tmp, path)) {
        remove(tmp);
        return fn_fail(err, FN_E_IO, "%s: write failed", path);
    }
    return 0;
}
