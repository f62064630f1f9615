/* cmd_encode.c - `facenet encode`: many images to an embeddings file, in batches,
 * with a progress bar on a terminal, skipping (and counting) unreadable images, and
 * sharding so several machines can split one collection. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/encoder.h"
#include "cli/cli.h"
#include "io/embeddings.h"
#include "io/landmarks.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void progress(int done, int total, double t0)
{
    double el = now() - t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    int width = 30, fill = total ? (int)((double)done / total * width) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d/%d  %.1f img/s  ETA %dm%02ds ", bar, done, total, rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

/* Landmarks of an image: by its key, else by its last two path components
 * ("Name/Name_0001.jpg", as LFW lists them). */
const double *fn_cli_find_landmarks(const fn_landmarks *lm, const char *key)
{
    const double *p = fn_landmarks_find(lm, key);
    if (p)
        return p;
    const char *s = key + strlen(key);
    int slashes = 0;
    while (s > key && slashes < 2)
        if (*--s == '/' && ++slashes == 2)
            s++;
    return s != key ? fn_landmarks_find(lm, s) : NULL;
}

/* Was paths[idx] already reported (the same path given twice fails twice)? */
static int reported(const char *const *paths, const int *ok, int idx)
{
    for (int j = 0; j < idx; j++)
        if (!ok[j] && !strcmp(paths[j], paths[idx]))
            return 1;
    return 0;
}

int fn_cli_encode_paths(fn_encoder *enc, const char *const *paths, const char *const *keys, int n,
                        const fn_landmarks *lms, const char *lm_name, int batch, const char *note, float *emb,
                        float *raw, int *ok, int *n_ok, fn_err *err)
{
    const size_t per = fn_encoder_input_floats(enc);
    float *in = malloc(sizeof(float) * per * (size_t)batch), *out = malloc(sizeof(float) * (size_t)enc->dim * batch);
    int *slot = malloc(sizeof(int) * (size_t)batch);
    if (!in || !out || !slot) {
        free(in), free(out), free(slot);
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    }
    int tty = isatty(2) && n > 1, rc = 0, idx = 0;
    double t0 = now();
    *n_ok = 0;
    while (idx < n && !rc) {
        int m_in = 0;
        for (; m_in < batch && idx < n; idx++) {
            const double *lm = NULL;
            fn_err e2 = {0};
            int bad = 0;
            ok[idx] = 0;
            if (lms && !(lm = fn_cli_find_landmarks(lms, keys[idx]))) {
                fn_fail(&e2, FN_E_NOTFOUND, "%s: no landmarks for it in %s", paths[idx], lm_name);
                bad = 1;
            }
            if (!bad && fn_encoder_prepare(enc, paths[idx], lm, in + per * m_in, &e2))
                bad = 1;
            if (bad) {
                if (tty)
                    fputc('\n', stderr);
                if (!reported(paths, ok, idx))
                    fn_cli_fail("%s (%s)", e2.msg, note);
                for (int j = 0; j < enc->dim; j++)
                    emb[(size_t)idx * enc->dim + j] = NAN;
            } else {
                slot[m_in++] = idx;
            }
        }
        /* with raw wanted, run without the profile's normalisation and apply it here */
        int l2 = enc->prof.l2_normalize;
        if (raw)
            enc->prof.l2_normalize = 0;
        int run_rc = m_in ? fn_encoder_run(enc, in, m_in, out, err) : 0;
        enc->prof.l2_normalize = l2;
        if (run_rc) {
            rc = -1;
            break;
        }
        for (int k = 0; k < m_in; k++) {
            float *e = emb + (size_t)slot[k] * enc->dim;
            memcpy(e, out + (size_t)k * enc->dim, sizeof(float) * enc->dim);
            if (raw) {
                memcpy(raw + (size_t)slot[k] * enc->dim, e, sizeof(float) * enc->dim);
                if (l2)
                    fn_l2_normalize(e, enc->dim);
            }
            ok[slot[k]] = 1;
            (*n_ok)++;
        }
        if (tty)
            progress(idx, n, t0);
    }
    if (tty)
        fputc('\n', stderr);
    free(in), free(out), free(slot);
    return rc;
}

int fn_cmd_encode(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("encode", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    fn_model_args m = a.model;
    fn_image_list list = {0};
    const char *outs[8], *lm_path = fn_cli_str(&a, "landmarks");
    int n_out = fn_cli_values(&a, "output", outs, 8);
    int batch = fn_cli_get_int(&a, "batch", 16);
    int shard_k = 0, shard_n = 1, json = fn_cli_flag(&a, "json");
    double lm_scale = fn_cli_get_double(&a, "landmark-scale", 1.0);
    if (fn_cli_str(&a, "shard"))
        fn_cli_parse_shard(fn_cli_str(&a, "shard"), &shard_k, &shard_n); /* checked by the parser */
    fn_err err = {0};
    int rc = FN_EXIT_ERROR;
    if (n_out > 8) {
        fn_cli_fail("encode: at most 8 outputs (-o)");
        goto done;
    }
    if (fn_cli_expand_images(a.pos, a.n_pos, &list))
        goto done;
    if (list.n == 0) {
        fn_cli_fail("encode: no images given");
        goto done;
    }
    for (int o = 0; o < n_out; o++) { /* refuse a bad output name before the work */
        const char *dot = strrchr(outs[o], '.');
        if (!dot || (strcmp(dot, ".npy") && strcmp(dot, ".csv") && strcmp(dot, ".h5") && strcmp(dot, ".hdf5"))) {
            fn_cli_fail("%s: unknown output format (use .npy, .csv or .h5)", outs[o]);
            goto done;
        }
    }
    fn_encoder enc;
    if (fn_cli_open_encoder(&m, &enc, &err)) {
        rc = fn_cli_fail_err(&err);
        goto done;
    }
    fn_landmarks lms = {0};
    if (lm_path && fn_cli_load_landmarks(&m, lm_path, lm_scale, &lms, &err)) {
        rc = fn_cli_fail_err(&err);
        fn_encoder_close(&enc);
        goto done;
    }
    /* this shard's images */
    int total = 0, want_raw = json && !n_out;
    for (int i = shard_k; i < list.n; i += shard_n)
        total++;
    size_t rows = (size_t)(total ? total : 1);
    const char **paths = malloc(sizeof(char *) * rows), **keys = malloc(sizeof(char *) * rows);
    const char **okpaths = malloc(sizeof(char *) * rows);
    int *okf = malloc(sizeof(int) * rows);
    float *emb = malloc(sizeof(float) * (size_t)enc.dim * rows);
    float *raw = want_raw ? malloc(sizeof(float) * (size_t)enc.dim * rows) : NULL;
    if (!paths || !keys || !okpaths || !okf || !emb || (want_raw && !raw)) {
        fn_cli_fail("out of memory");
        goto cleanup;
    }
    for (int i = shard_k, k = 0; i < list.n; i += shard_n, k++)
        paths[k] = list.path[i], keys[k] = list.key[i];
    double t0 = now();
    int ok = 0;
    if (fn_cli_encode_paths(&enc, paths, keys, total, lm_path ? &lms : NULL, lm_path, batch, "skipped", emb, raw, okf,
                            &ok, &err)) {
        rc = fn_cli_fail_err(&err);
        goto cleanup;
    }
    int skipped = total - ok;
    for (int i = 0, k = 0; i < total; i++) /* compact the successes */
        if (okf[i]) {
            okpaths[k] = paths[i];
            memmove(emb + (size_t)k * enc.dim, emb + (size_t)i * enc.dim, sizeof(float) * enc.dim);
            if (raw)
                memmove(raw + (size_t)k * enc.dim, raw + (size_t)i * enc.dim, sizeof(float) * enc.dim);
            k++;
        }
    double el = now() - t0;
    if (ok == 0 && total > 0) { /* nothing encoded: keep any previous outputs */
        fn_cli_fail("encode: none of the %d images could be encoded%s", total, n_out ? "; outputs left untouched" : "");
        goto cleanup;
    }
    for (int o = 0; o < n_out; o++)
        if (fn_write_embeddings(outs[o], okpaths, ok, enc.dim, emb, &err)) {
            rc = fn_cli_fail_err(&err);
            goto cleanup;
        }
    for (int i = 0; i < ok && !n_out; i++) {
        if (json) {
            /* "embedding": what the profile compares; "raw": the network output */
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "path", fn_json_str(okpaths[i]));
            cJSON_AddItemToObject(j, "embedding", fn_json_floats(emb + (size_t)i * enc.dim, (size_t)enc.dim));
            cJSON_AddItemToObject(j, "raw", fn_json_floats(raw + (size_t)i * enc.dim, (size_t)enc.dim));
            if (fn_json_print(j))
                goto cleanup;
        } else {
            printf("%s", okpaths[i]);
            for (int j = 0; j < enc.dim; j++)
                printf(" %.9g", (double)emb[(size_t)i * enc.dim + j]);
            printf("\n");
        }
    }
    fprintf(stderr, "facenet: encoded %d image%s, %d skipped, in %.1f s (%.1f img/s)%s%s\n", ok, ok == 1 ? "" : "s",
            skipped, el, el > 0 ? ok / el : 0.0, n_out ? " -> " : "", n_out ? outs[0] : "");
    rc = skipped ? FN_EXIT_ERROR : FN_EXIT_OK; /* the others are written; the status says some failed */
cleanup:
    free(paths);
    free(keys);
    free(okf);
    free(emb);
    free(raw);
    free(okpaths);
    fn_landmarks_free(&lms);
    fn_encoder_close(&enc);
done:
    fn_image_list_free(&list);
    fn_cli_args_free(&a);
    return rc;
}
