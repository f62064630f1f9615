/* cmd_gallery.c - `facenet enroll`, `verify`, `identify` and `db`: the office door.
 * The gallery is an SQLite file (src/app/gallery.c); every embedding in it carries the
 * fingerprint of the model that made it, and mixing models is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/gallery.h"
#include "app/match.h"
#include "cli/cli.h"

typedef struct {
    fn_cli_args args;
    fn_model_args m;
    const char *db, *lm_path;
    double lm_scale, threshold;
    int have_threshold, json;
    int n_pos;
    char **pos;
} gal_args;

/* 0 to go on; else the exit status (after --help, or an error already printed). */
static int parse(gal_args *a, int argc, char **argv, const char *cmd)
{
    memset(a, 0, sizeof *a);
    int pr = fn_cli_parse(cmd, argc, argv, &a->args);
    if (pr)
        return pr > 0 ? -1 : FN_EXIT_ERROR;
    fn_cli_args *p = &a->args;
    a->m = p->model;
    a->db = fn_cli_str(p, "db");
    a->json = fn_cli_flag(p, "json");
    a->pos = p->pos, a->n_pos = p->n_pos;
    if (strcmp(cmd, "db")) {
        a->lm_path = fn_cli_str(p, "landmarks");
        a->lm_scale = fn_cli_get_double(p, "landmark-scale", 1.0);
    }
    if (!strcmp(cmd, "verify") || !strcmp(cmd, "identify")) {
        a->have_threshold = fn_cli_str(p, "threshold") != NULL;
        a->threshold = fn_cli_get_double(p, "threshold", 0);
    }
    if (!a->db)
        return fn_cli_fail("%s: --db FILE is required (see facenet %s --help)", cmd, cmd);
    return 0;
}

/* Encode the images of list, each failure reported on stderr with note; ok[i] says
 * which worked.  -1 only when nothing could be tried (landmarks file, memory). */
static int encode_list(gal_args *a, fn_encoder *enc, const fn_image_list *l, const char *note, float **emb,
                       int **ok, int *n_ok, fn_err *err)
{
    fn_landmarks lms = {0};
    if (a->lm_path && fn_cli_load_landmarks(&a->m, a->lm_path, a->lm_scale, &lms, err))
        return -1;
    int n = l->n ? l->n : 1;
    *emb = malloc(sizeof(float) * (size_t)n * enc->dim);
    *ok = calloc((size_t)n, sizeof **ok);
    int rc = *emb && *ok ? fn_cli_encode_paths(enc, (const char *const *)l->path, (const char *const *)l->key, l->n,
                                               a->lm_path ? &lms : NULL, a->lm_path, 16, note, *emb, NULL, *ok, n_ok, err)
                         : fn_fail(err, FN_E_NOMEM, "out of memory");
    fn_landmarks_free(&lms);
    return rc;
}

/* The gallery must be empty or built with this encoder's model. */
static int check_model(fn_gallery *g, const fn_encoder *enc, fn_err *err)
{
    char fp[FN_GALLERY_MAX_FP];
    int dim;
    if (fn_gallery_model(g, fp, sizeof fp, &dim, err))
        return -1;
    if (fp[0] && (strcmp(fp, enc->fingerprint) || dim != enc->dim))
        return fn_fail(err, FN_E_ARG,
                       "%s: gallery was built with model %.12s (dim %d), this model is %.12s (dim %d); use a new gallery file",
                       fn_gallery_path(g), fp, dim, enc->fingerprint, enc->dim);
    return 0;
}

/* After parse: the exit status for --help (-1) or an error, else the usage error. */
static int parse_end(gal_args *a, int rc, const char *usage)
{
    fn_cli_args_free(&a->args);
    return rc < 0 ? FN_EXIT_OK : rc ? rc : fn_cli_fail("%s", usage);
}

int fn_cmd_enroll(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "enroll");
    if (rc || a.n_pos < 2)
        return parse_end(&a, rc, "enroll: usage: facenet enroll --db FILE NAME IMG|DIR|@LIST... (see facenet enroll --help)");
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_image_list l = {0};
    float *emb = NULL;
    int *ok = NULL, n_ok = 0;
    const char *name = a.pos[0];
    char note[300];
    snprintf(note, sizeof note, "%.64s not enrolled: a person's photos go in all together or not at all", name);
    rc = FN_EXIT_ERROR;
    if (fn_gallery_check_name(name, &err)) {
        fn_cli_fail_err(&err);
    } else if (fn_cli_expand_images(a.pos + 1, a.n_pos - 1, &l)) {
    } else if (l.n == 0) {
        fn_cli_fail("enroll: no JPEG or PNG images given for %s", name);
    } else if (fn_cli_open_encoder(&a.m, &enc, &err) || fn_gallery_open(a.db, 1, &g, &err) ||
               check_model(g, &enc, &err) || encode_list(&a, &enc, &l, note, &emb, &ok, &n_ok, &err)) {
        fn_cli_fail_err(&err);
    } else if (n_ok < l.n) {
        /* each failed photo was reported; the gallery is untouched */
    } else if (fn_gallery_enroll(g, name, enc.fingerprint, enc.dim, l.n, emb, (const char *const *)l.path, &err)) {
        fn_cli_fail_err(&err);
    } else {
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "enrolled", fn_json_str(name));
            cJSON_AddNumberToObject(j, "photos", l.n);
            cJSON_AddItemToObject(j, "db", fn_json_str(a.db));
            fn_json_print(j);
        } else {
            printf("enrolled %s: %d photo%s -> %s\n", name, l.n, l.n == 1 ? "" : "s", a.db);
        }
        rc = FN_EXIT_OK;
    }
    free(emb);
    free(ok);
    fn_image_list_free(&l);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    fn_cli_args_free(&a.args);
    return rc;
}

int fn_cmd_verify(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "verify");
    if (rc || a.n_pos != 2)
        return parse_end(&a, rc, "verify: usage: facenet verify --db FILE NAME IMG [--threshold T] (see facenet verify --help)");
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_gallery_matrix gm = {0};
    fn_image_list l = {0};
    float *emb = NULL;
    int *ok = NULL, n_ok = 0;
    rc = FN_EXIT_ERROR;
    if (fn_cli_expand_images(a.pos + 1, 1, &l)) {
    } else if (l.n != 1) {
        fn_cli_fail("verify: takes one image, %s holds %d", a.pos[1], l.n);
    } else if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, a.pos[0], &gm, &err) ||
               fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err) ||
               encode_list(&a, &enc, &l, "no decision", &emb, &ok, &n_ok, &err)) {
        fn_cli_fail_err(&err);
    } else if (n_ok == 1) {
        double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
        float best = INFINITY;
        for (int r = 0; r < gm.n_rows; r++) {
            float d = fn_l2_distance(emb, gm.emb + (size_t)r * gm.dim, gm.dim);
            best = d < best ? d : best;
        }
        int same = best < thr;
        double thr_shown = a.have_threshold ? thr : fn_json_float_value(enc.prof.threshold);
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "image", fn_json_str(l.path[0]));
            cJSON_AddItemToObject(j, "name", fn_json_str(a.pos[0]));
            cJSON_AddNumberToObject(j, "distance", fn_json_float_value(best));
            cJSON_AddNumberToObject(j, "threshold", thr_shown);
            cJSON_AddBoolToObject(j, "match", same);
            fn_json_print(j);
        } else {
            printf("%s: distance to %s %.4f %s threshold %.4g: %s\n", l.path[0], a.pos[0], (double)best,
                   same ? "<" : ">=", thr_shown, same ? "same person, welcome in" : "not the same person");
        }
        rc = same ? FN_EXIT_OK : FN_EXIT_NO;
    }
    free(emb);
    free(ok);
    fn_image_list_free(&l);
    fn_gallery_matrix_free(&gm);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    fn_cli_args_free(&a.args);
    return rc;
}

int fn_cmd_identify(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "identify");
    if (rc || a.n_pos < 1)
        return parse_end(&a, rc, "identify: usage: facenet identify --db FILE IMG|DIR|@LIST... (see facenet identify --help)");
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_gallery_matrix gm = {0};
    fn_image_list l = {0};
    float *emb = NULL, *dist = NULL;
    int *best = NULL, *ok = NULL, n_ok = 0;
    rc = FN_EXIT_ERROR;
    if (fn_cli_expand_images(a.pos, a.n_pos, &l))
        goto out;
    if (l.n == 0) {
        fn_cli_fail("identify: no JPEG or PNG images given");
        goto out;
    }
    if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, NULL, &gm, &err) ||
        fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (gm.n_rows == 0) {
        fn_cli_fail("%s: the gallery is empty (enroll someone first)", a.db);
        goto out;
    }
    if (encode_list(&a, &enc, &l, "skipped", &emb, &ok, &n_ok, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    int k = 0;
    for (int i = 0; i < l.n; i++) /* compact the images that were read */
        if (ok[i])
            memmove(emb + (size_t)k++ * enc.dim, emb + (size_t)i * enc.dim, sizeof(float) * enc.dim);
    best = malloc(sizeof(int) * (size_t)(n_ok ? n_ok : 1));
    dist = malloc(sizeof(float) * (size_t)(n_ok ? n_ok : 1));
    if (!best || !dist || (n_ok && fn_identify(&gm, emb, n_ok, best, dist, &err))) { /* one matrix product */
        fn_cli_fail_err(&err);
        goto out;
    }
    double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
    double thr_shown = a.have_threshold ? thr : fn_json_float_value(enc.prof.threshold);
    for (int i = 0, r = 0; i < l.n; i++) {
        if (!ok[i])
            continue;
        int known = dist[r] < thr;
        const char *who = gm.names[best[r]], *path = l.path[i];
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "image", fn_json_str(path));
            cJSON_AddItemToObject(j, "identity", known ? fn_json_str(who) : cJSON_CreateNull());
            cJSON_AddItemToObject(j, "closest", fn_json_str(who));
            cJSON_AddNumberToObject(j, "distance", fn_json_float_value(dist[r]));
            cJSON_AddNumberToObject(j, "threshold", thr_shown);
            fn_json_print(j);
        } else if (known) {
            printf("%s: %s (distance %.4f)\n", path, who, (double)dist[r]);
        } else {
            printf("%s: unknown (closest %s, distance %.4f >= %.4g)\n", path, who, (double)dist[r], thr_shown);
        }
        r++;
    }
    rc = n_ok == l.n ? FN_EXIT_OK : FN_EXIT_ERROR;
out:
    free(emb);
    free(ok);
    free(best);
    free(dist);
    fn_image_list_free(&l);
    fn_gallery_matrix_free(&gm);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    fn_cli_args_free(&a.args);
    return rc;
}

int fn_cmd_db(int argc, char **argv)
{
    static const char usage[] = "db: usage: facenet db list|remove NAME|check --db FILE (see facenet db --help)";
    gal_args a;
    int rc = parse(&a, argc, argv, "db");
    if (rc || a.n_pos < 1)
        return parse_end(&a, rc, usage);
    const char *sub = a.pos[0];
    fn_err err = {0};
    fn_gallery *g = NULL;
    rc = FN_EXIT_ERROR;
    int list = !strcmp(sub, "list") && a.n_pos == 1, remove = !strcmp(sub, "remove") && a.n_pos == 2;
    int check = !strcmp(sub, "check") && a.n_pos == 1;
    if (!list && !remove && !check) {
        fn_cli_fail("%s", usage);
    } else if (fn_gallery_open(a.db, 0, &g, &err)) {
        fn_cli_fail_err(&err);
    } else if (list) {
        fn_identity_info *ids = NULL;
        int n = 0;
        if (fn_gallery_list(g, &ids, &n, &err)) {
            fn_cli_fail_err(&err);
        } else {
            char fp[FN_GALLERY_MAX_FP] = "";
            int dim = 0;
            fn_gallery_model(g, fp, sizeof fp, &dim, &err);
            for (int i = 0; i < n; i++) {
                char when[32] = "?";
                double lt = ids[i].last_time;
                struct tm tmv;
                time_t t = (time_t)(lt >= 0 && lt < 253402300800.0 ? lt : 0); /* years 1970-9999 */
                if (lt >= 0 && lt < 253402300800.0 && gmtime_r(&t, &tmv))
                    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tmv);
                if (a.json) {
                    cJSON *j = cJSON_CreateObject();
                    cJSON_AddItemToObject(j, "name", fn_json_str(ids[i].name));
                    cJSON_AddNumberToObject(j, "embeddings", ids[i].count);
                    char stamp[40];
                    snprintf(stamp, sizeof stamp, "%s%s", when, strcmp(when, "?") ? "Z" : "");
                    cJSON_AddStringToObject(j, "last_enrolled", stamp);
                    fn_json_print(j);
                } else {
                    printf("%-24s %3d embedding%s  last enrolled %s UTC\n", ids[i].name, ids[i].count,
                           ids[i].count == 1 ? " " : "s", when);
                }
            }
            if (!a.json)
                printf("%d identit%s, model %.12s, dim %d\n", n, n == 1 ? "y" : "ies", fp[0] ? fp : "-", dim);
            fn_gallery_list_free(ids, n);
            rc = FN_EXIT_OK;
        }
    } else if (remove) {
        int removed = 0;
        if (fn_gallery_remove(g, a.pos[1], &removed, &err)) {
            fn_cli_fail_err(&err);
        } else {
            if (a.json) {
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
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "db", fn_json_str(a.db));
            cJSON_AddTrueToObject(j, "ok");
            fn_json_print(j);
        } else {
            printf("%s: ok\n", a.db);
        }
        rc = FN_EXIT_OK;
    }
    fn_gallery_close(g);
    fn_cli_args_free(&a.args);
    return rc;
}
