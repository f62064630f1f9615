/* cmd_encode.c - `facenet encode`: many images to an embeddings file, one row per
 * face found (or per image with --no-detect), in batches, with a progress bar on a
 * terminal, skipping (and counting) unreadable images and images without a face, and
 * sharding so several machines can split one collection. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/encoder.h"
#include "cli/cli.h"
#include "cli/encode_job.h"
#include "cli/faces_cli.h"
#include "io/embeddings.h"
#include "io/landmarks.h"

/* One face as a line of text: "PATH V1 .. VD", with detection
 * "PATH FACE X Y W H SCORE V1 .. VD". */
static void print_text(const char *path, const fn_cli_face *f, const float *e, int dim)
{
    printf("%s", path);
    if (f->face >= 0)
        printf(" %d %.2f %.2f %.2f %.2f %.4f", f->face, f->box.x, f->box.y, f->box.width, f->box.height, f->score);
    for (int j = 0; j < dim; j++)
        printf(" %.9g", (double)e[j]);
    printf("\n");
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
    fn_face_source src = {0};
    fn_cli_face_set set = {0};
    fn_encoder enc = {0};
    const char *outs[8];
    const char **paths = NULL, **keys = NULL;
    int n_out = fn_cli_values(&a, "output", outs, 8);
    int batch = fn_cli_get_int(&a, "batch", 16);
    int shard_k = 0, shard_n = 1, json = fn_cli_flag(&a, "json");
    if (fn_cli_str(&a, "shard"))
        fn_cli_parse_shard(fn_cli_str(&a, "shard"), &shard_k, &shard_n); /* checked by the parser */
    fn_err err = {0};
    int rc = FN_EXIT_ERROR;
    fn_encode_job job = {0}; /* encode_job.c: outputs checked first, checkpoints, --resume */
    long long *index = NULL;
    if (n_out > 8) {
        fn_cli_fail("encode: at most 8 outputs (-o)");
        goto done;
    }
    /* outputs checked (and --resume's read) before walking folders or decoding anything */
    if (fn_encode_job_begin(&job, outs, n_out, fn_cli_flag(&a, "resume"), fn_cli_get_double(&a, "checkpoint", 60)))
        goto done;
    if (fn_cli_check_inputs(&a, &m, 1) || fn_cli_expand_images(a.pos, a.n_pos, &list))
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
    /* this shard's images (--resume: those the output lacks) */
    int total = 0, want_raw = json && !n_out;
    for (int i = shard_k; i < list.n; i += shard_n)
        total += !fn_encode_job_has(&job, list.path[i]);
    paths = malloc(sizeof(char *) * (size_t)(total ? total : 1));
    keys = malloc(sizeof(char *) * (size_t)(total ? total : 1));
    index = malloc(sizeof(long long) * (size_t)(total ? total : 1));
    if (!paths || !keys || !index) {
        fn_cli_fail("out of memory");
        goto done;
    }
    for (int i = shard_k, k = 0; i < list.n; i += shard_n)
        if (!fn_encode_job_has(&job, list.path[i]))
            paths[k] = list.path[i], keys[k] = list.key[i], index[k++] = i;
    if (fn_cli_check_images(paths, total, 0, "skipped", want_raw)) /* before any net is loaded */
        goto done;
    if (fn_cli_open_encoder(&m, &enc, &err)) {
        rc = fn_cli_fail_err(&err);
        goto done;
    }
    char mdir[4096];
    if (fn_encode_job_meta(&job, &enc, fn_cli_model_dir(&m, mdir, sizeof mdir), shard_k,
                           fn_cli_str(&a, "shard") ? shard_n : 0, list.n))
        goto done;
    if (fn_face_source_open(&a, FN_PICK_ALL, batch, &src) || fn_encode_job_detect(&job, fn_face_source_detects(&src)))
        goto done;
    double t0 = fn_cli_now();
    if (fn_encode_job_encode(&job, &src, &enc, paths, keys, index, total, want_raw, json && !n_out, &set, &err)) {
        rc = fn_cli_fail_err(&err);
        goto done;
    }
    double el = fn_cli_now() - t0;
    int failed = total - set.n_ok;
    if (set.n == 0 && total > 0) { /* nothing encoded: keep any previous outputs */
        fn_cli_fail("encode: no face encoded from the %d image%s%s", total, total == 1 ? "" : "s",
                    n_out ? "; outputs left untouched" : "");
        goto done;
    }
    if (n_out && fn_encode_job_write(&job, &set, paths, index, &err)) {
        rc = fn_cli_fail_err(&err);
        goto done;
    }
    for (int i = 0; i < set.n && !n_out; i++) {
        const fn_cli_face *f = &set.face[i];
        const float *e = set.emb + (size_t)i * set.dim;
        if (json) {
            /* "embedding": what the profile compares; "raw": the network output */
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "image", fn_json_str(paths[f->image]));
            fn_cli_face_json(j, f);
            cJSON_AddItemToObject(j, "embedding", fn_json_floats(e, (size_t)set.dim));
            cJSON_AddItemToObject(j, "raw", fn_json_floats(set.raw + (size_t)i * set.dim, (size_t)set.dim));
            if (fn_json_print(j))
                goto done;
        } else {
            print_text(paths[f->image], f, e, set.dim);
        }
    }
    for (int i = 0; json && !n_out && i < total; i++) /* images without an embedding, in --json too */
        if (set.status[i] != FN_IMG_OK && fn_json_print(fn_cli_image_status_json(paths[i], set.status[i], set.n_found[i])))
            goto done;
    if (fn_face_source_detects(&src))
        fprintf(stderr, "facenet: encoded %d face%s from %d of %d images (%d without a face, %d unreadable), "
                        "in %.1f s (%.1f img/s)%s%s\n",
                set.n, set.n == 1 ? "" : "s", set.n_ok, total, set.n_no_face, set.n_unreadable, el,
                el > 0 ? total / el : 0.0, n_out ? " -> " : "", n_out ? outs[0] : "");
    else
        fprintf(stderr, "facenet: encoded %d image%s, %d skipped, in %.1f s (%.1f img/s)%s%s\n", set.n_ok,
                set.n_ok == 1 ? "" : "s", failed, el, el > 0 ? set.n_ok / el : 0.0, n_out ? " -> " : "",
                n_out ? outs[0] : "");
    rc = failed ? FN_EXIT_ERROR : FN_EXIT_OK; /* the others are written; the status says some failed */
done:
    fn_encode_job_free(&job);
    free(paths);
    free(keys);
    free(index);
    fn_cli_face_set_free(&set);
    fn_face_source_close(&src);
    fn_encoder_close(&enc);
    fn_image_list_free(&list);
    fn_cli_args_free(&a);
    return rc;
}
