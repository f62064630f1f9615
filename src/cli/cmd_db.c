/* cmd_db.c - `facenet db`: look after a gallery file.
 *
 *   db list | remove NAME | check     the identities, removing one, a full check
 *   db info                           model fingerprint, dim, people, photos, times, the
 *                                     profile the embeddings were made with (when noted)
 *   db reenroll [--skip-missing]      re-encode every stored photo from its stored path
 *                                     with the current model, in one transaction
 *
 * Also the gallery/model check every gallery command makes (fn_cli_gallery_model_check):
 * a gallery from an older facenet (fingerprint of the model files' bytes) or another
 * model is refused with a message naming `facenet db reenroll`. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/gallery.h"
#include "cli/cli.h"
#include "cli/faces_cli.h"

int fn_cli_gallery_model_check(fn_gallery *g, const fn_encoder *enc, fn_err *err)
{
    char fp[FN_GALLERY_MAX_FP + 1];
    int dim;
    if (fn_gallery_model(g, fp, sizeof fp, &dim, err))
        return -1;
    const char *path = fn_gallery_path(g);
    if (!fp[0] || (!strcmp(fp, enc->fingerprint) && dim == enc->dim))
        return 0;
    if (fn_fingerprint_is_legacy(fp))
        return fn_fail(err, FN_E_ARG,
                       "%s: gallery was made by an older facenet whose model fingerprint (%.12s) hashed the "
                       "model files' bytes, which change whenever the model is converted again; move it to "
                       "this model (%.15s) with: facenet db reenroll --db %s",
                       path, fp, enc->fingerprint, path);
    return fn_fail(err, FN_E_ARG,
                   "%s: gallery was built with model %.15s (dim %d), this model is %.15s (dim %d); use a "
                   "gallery per model, or re-encode its photos with this one: facenet db reenroll --db %s",
                   path, fp, dim, enc->fingerprint, enc->dim, path);
}

int fn_cli_gallery_note_profile(fn_gallery *g, const fn_encoder *enc, const char *model_dir, fn_err *err)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "model", fn_json_str(model_dir ? model_dir : ""));
    cJSON_AddNumberToObject(j, "threshold", fn_json_float_value(enc->prof.threshold));
    cJSON_AddBoolToObject(j, "l2_normalize", enc->prof.l2_normalize);
    cJSON_AddNumberToObject(j, "input_h", enc->prof.in_h);
    cJSON_AddNumberToObject(j, "input_w", enc->prof.in_w);
    char *s = fn_json_print_exact(j, 0);
    cJSON_Delete(j);
    if (!s)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    int rc = fn_gallery_set_note(g, "profile", s, err);
    cJSON_free(s);
    return rc;
}

/* A time as UTC text in format fmt, or none when it is outside the years 1970-9999. */
static void utc(double t, const char *fmt, const char *none, char *out, size_t cap)
{
    struct tm tmv;
    time_t tt = (time_t)(t >= 0 && t < 253402300800.0 ? t : 0);
    if (!(t >= 0 && t < 253402300800.0) || !gmtime_r(&tt, &tmv) || !strftime(out, cap, fmt, &tmv))
        snprintf(out, cap, "%s", none);
}

static int db_list(fn_gallery *g, int json)
{
    fn_err err = {0};
    fn_identity_info *ids = NULL;
    int n = 0;
    if (fn_gallery_list(g, &ids, &n, &err))
        return fn_cli_fail_err(&err);
    char fp[FN_GALLERY_MAX_FP + 1] = "";
    int dim = 0;
    fn_gallery_model(g, fp, sizeof fp, &dim, &err);
    for (int i = 0; i < n; i++) {
        char when[40];
        if (json) {
            utc(ids[i].last_time, "%Y-%m-%d %H:%M:%SZ", "?", when, sizeof when);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "name", fn_json_str(ids[i].name));
            cJSON_AddNumberToObject(j, "embeddings", ids[i].count);
            cJSON_AddStringToObject(j, "last_enrolled", when);
            fn_json_print(j);
        } else {
            utc(ids[i].last_time, "%Y-%m-%d %H:%M:%S", "?", when, sizeof when);
            printf("%-24s %3d embedding%s  last enrolled %s UTC\n", ids[i].name, ids[i].count,
                   ids[i].count == 1 ? " " : "s", when);
        }
    }
    if (!json)
        printf("%d identit%s, model %.15s, dim %d\n", n, n == 1 ? "y" : "ies", fp[0] ? fp : "-", dim);
    fn_gallery_list_free(ids, n);
    return FN_EXIT_OK;
}

static int db_info(fn_gallery *g, const char *db, int json)
{
    fn_err err = {0};
    fn_gallery_info in;
    char prof[1024];
    if (fn_gallery_info_get(g, &in, &err) || fn_gallery_note(g, "profile", prof, sizeof prof, &err))
        return fn_cli_fail_err(&err);
    char created[40], updated[40];
    utc(in.created, "%Y-%m-%dT%H:%M:%SZ", "-", created, sizeof created);
    utc(in.updated, "%Y-%m-%dT%H:%M:%SZ", "-", updated, sizeof updated);
    cJSON *p = prof[0] ? cJSON_Parse(prof) : NULL;
    const int legacy = fn_fingerprint_is_legacy(in.fp);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "db", fn_json_str(db));
        cJSON_AddItemToObject(j, "model", in.fp[0] ? fn_json_str(in.fp) : cJSON_CreateNull());
        cJSON_AddBoolToObject(j, "legacy_fingerprint", legacy);
        cJSON_AddNumberToObject(j, "dim", in.dim);
        cJSON_AddNumberToObject(j, "people", (double)in.n_ids);
        cJSON_AddNumberToObject(j, "photos", (double)in.n_rows);
        cJSON_AddItemToObject(j, "created", in.created > 0 ? cJSON_CreateString(created) : cJSON_CreateNull());
        cJSON_AddItemToObject(j, "updated", in.updated > 0 ? cJSON_CreateString(updated) : cJSON_CreateNull());
        cJSON_AddItemToObject(j, "profile", p ? p : cJSON_CreateNull());
        return fn_json_print(j) ? FN_EXIT_ERROR : FN_EXIT_OK;
    }
    printf("gallery:   %s\n", db);
    printf("model:     %s%s\n", in.fp[0] ? in.fp : "- (empty)",
           legacy ? " (old-style fingerprint: run facenet db reenroll)" : "");
    printf("dim:       %d\n", in.dim);
    printf("people:    %lld\n", in.n_ids);
    printf("photos:    %lld\n", in.n_rows);
    printf("created:   %s\n", created);
    printf("updated:   %s\n", updated);
    const cJSON *thr = cJSON_GetObjectItemCaseSensitive(p, "threshold");
    const cJSON *l2 = cJSON_GetObjectItemCaseSensitive(p, "l2_normalize");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(p, "model");
    if (p)
        printf("profile:   threshold %.6g, l2_normalize %s, model folder %s\n",
               cJSON_IsNumber(thr) ? thr->valuedouble : 0.0, cJSON_IsTrue(l2) ? "true" : "false",
               cJSON_IsString(md) ? md->valuestring : "?");
    else
        printf("profile:   not recorded (galleries record it at db reenroll and folder enroll)\n");
    cJSON_Delete(p);
    return FN_EXIT_OK;
}

/* Re-encode every stored photo with the current model.  A photo that cannot be read
 * fails the whole run (each one listed) unless --skip-missing drops it; a photo stored
 * without a path can never be re-encoded. */
static int db_reenroll(fn_gallery *g, const fn_cli_args *a, const char *db, int json)
{
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_face_source src = {0};
    fn_gallery_photo *ph = NULL;
    int n = 0, rc = FN_EXIT_ERROR, n_ok = 0;
    const int skip = fn_cli_flag(a, "skip-missing");
    float *emb = NULL;
    int *ok = NULL;
    const char **paths = NULL;
    long long *ids = NULL;
    char old_fp[FN_GALLERY_MAX_FP + 1];
    int old_dim;
    char mdir[4096];
    if (fn_gallery_model(g, old_fp, sizeof old_fp, &old_dim, &err) || fn_gallery_photos(g, NULL, &ph, &n, &err)) {
        rc = fn_cli_fail_err(&err);
        goto out;
    }
    size_t rows = (size_t)(n ? n : 1);
    ok = calloc(rows, sizeof *ok);
    paths = calloc(rows, sizeof *paths);
    ids = malloc(sizeof *ids * rows);
    if (!ok || !paths || !ids) {
        fn_cli_fail("out of memory");
        goto out;
    }
    int n_path = 0;
    for (int i = 0; i < n; i++) {
        ids[i] = ph[i].id;
        paths[i] = ph[i].path ? ph[i].path : "";
        if (!ph[i].path) {
            fn_cli_fail("%s: photo %lld of '%s' was stored without its path and cannot be re-encoded", db, ph[i].id,
                        ph[i].name);
        }
        n_path += ph[i].path != NULL;
    }
    const char *note = skip ? "dropped from the gallery (--skip-missing)" : "nothing re-enrolled";
    if (!skip && n_path < n) {
        fn_cli_fail("%s: %d of %d photos cannot be re-encoded; the gallery is unchanged (facenet db reenroll "
                    "--skip-missing drops them instead)", db, n - n_path, n);
        goto out;
    }
    /* every photo a file before the nets load (without --skip-missing one missing fails the run) */
    int n_bad = skip ? 0 : fn_cli_check_images(paths, n, 1, note, 0);
    if (n_bad) {
        fn_cli_fail("%s: %d of %d photos cannot be read (listed above); the gallery is unchanged (facenet db "
                    "reenroll --skip-missing drops them instead)", db, n_bad, n);
        goto out;
    }
    if (fn_cli_open_encoder(&a->model, &enc, &err)) {
        rc = fn_cli_fail_err(&err);
        goto out;
    }
    if (fn_face_source_open(a, FN_PICK_ONE, 16, &src)) /* the photos' faces, as enroll found them */
        goto out;
    if (!(emb = malloc(sizeof(float) * rows * (size_t)enc.dim))) {
        fn_cli_fail("out of memory");
        goto out;
    }
    if (n && fn_cli_encode_each(&src, &enc, paths, paths, n, note, emb, ok, &n_ok, &err)) {
        rc = fn_cli_fail_err(&err);
        goto out;
    }
    for (int i = 0; i < n; i++) /* a path-less row was "encoded" from "": never keep it */
        if (!ph[i].path && ok[i])
            ok[i] = 0, n_ok--;
    if (n_ok < n && !skip) {
        fn_cli_fail("%s: %d of %d photos could not be read (listed above); the gallery is unchanged (facenet db "
                    "reenroll --skip-missing drops them instead)",
                    db, n - n_ok, n);
        goto out;
    }
    if (fn_gallery_reencode(g, old_fp, enc.fingerprint, enc.dim, n, ids, emb, ok, &err) ||
        fn_cli_gallery_note_profile(g, &enc, fn_cli_model_dir(&a->model, mdir, sizeof mdir), &err)) {
        rc = fn_cli_fail_err(&err);
        goto out;
    }
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "db", fn_json_str(db));
        cJSON_AddItemToObject(j, "model", fn_json_str(enc.fingerprint));
        cJSON_AddItemToObject(j, "previous_model", old_fp[0] ? fn_json_str(old_fp) : cJSON_CreateNull());
        cJSON_AddNumberToObject(j, "reenrolled", n_ok);
        cJSON_AddNumberToObject(j, "dropped", n - n_ok);
        fn_json_print(j);
    } else {
        printf("reenrolled %d photo%s in %s with model %.15s (was %.15s)\n", n_ok, n_ok == 1 ? "" : "s", db,
               enc.fingerprint, old_fp[0] ? old_fp : "-");
        if (n_ok < n)
            printf("dropped %d photo%s that could not be read\n", n - n_ok, n - n_ok == 1 ? "" : "s");
    }
    rc = FN_EXIT_OK;
out:
    free(emb);
    free(ok);
    free(paths);
    free(ids);
    fn_gallery_photos_free(ph, n);
    fn_face_source_close(&src);
    fn_encoder_close(&enc);
    return rc;
}

int fn_cmd_db(int argc, char **argv)
{
    static const char usage[] =
        "db: usage: facenet db list|info|check|remove NAME|reenroll --db FILE (see facenet db --help)";
    fn_cli_args a;
    int pr = fn_cli_parse("db", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    const char *db = fn_cli_str(&a, "db"), *sub = a.n_pos ? a.pos[0] : "";
    const int json = fn_cli_flag(&a, "json");
    int rc = FN_EXIT_ERROR;
    fn_err err = {0};
    fn_gallery *g = NULL;
    const int list = !strcmp(sub, "list") && a.n_pos == 1, remove = !strcmp(sub, "remove") && a.n_pos == 2;
    const int check = !strcmp(sub, "check") && a.n_pos == 1, info = !strcmp(sub, "info") && a.n_pos == 1;
    const int reenroll = !strcmp(sub, "reenroll") && a.n_pos == 1;
    if (!db) {
        fn_cli_fail("db: --db FILE is required (see facenet db --help)");
    } else if (!list && !remove && !check && !info && !reenroll) {
        fn_cli_fail("%s", usage);
    } else if ((fn_cli_flag(&a, "skip-missing") || fn_cli_str(&a, "landmarks")) && !reenroll) {
        fn_cli_fail("db %s: --skip-missing and --landmarks are options of db reenroll", sub);
    } else if (fn_cli_check_inputs(&a, reenroll ? &a.model : NULL, 1)) {
    } else if (fn_gallery_open(db, 0, &g, &err)) {
        fn_cli_fail_err(&err);
    } else if (list) {
        rc = db_list(g, json);
    } else if (info) {
        rc = db_info(g, db, json);
    } else if (reenroll) {
        rc = db_reenroll(g, &a, db, json);
    } else if (remove) {
        int removed = 0;
        if (fn_gallery_remove(g, a.pos[1], &removed, &err)) {
            fn_cli_fail_err(&err);
        } else {
            if (json) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddItemToObject(j, "removed", fn_json_str(a.pos[1]));
                cJSON_AddNumberToObject(j, "embeddings", removed);
                fn_json_print(j);
            } else {
                printf("removed %s (%d embedding%s)\n", a.pos[1], removed, removed == 1 ? "" : "s");
            }
            rc = FN_EXIT_OK;
        }
    } else if (fn_gallery_check(g, &err)) {
        fn_cli_fail_err(&err);
    } else {
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "db", fn_json_str(db));
            cJSON_AddTrueToObject(j, "ok");
            fn_json_print(j);
        } else {
            printf("%s: ok\n", db);
        }
        rc = FN_EXIT_OK;
    }
    fn_gallery_close(g);
    fn_cli_args_free(&a);
    return rc;
}
