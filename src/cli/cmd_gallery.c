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
    fn_model_args m;
    const char *db, *lm_path;
    double lm_scale, threshold;
    int have_threshold, json;
    int n_pos;
    char **pos;
} gal_args;

static int parse(gal_args *a, int argc, char **argv, const char *cmd)
{
    memset(a, 0, sizeof *a);
    a->lm_scale = 1.0;
    a->pos = calloc((size_t)argc, sizeof *a->pos);
    if (!a->pos)
        return fn_cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        int r = fn_cli_model_opt(&a->m, argc, argv, &i);
        const char *v;
        if (r < 0)
            return FN_EXIT_ERROR;
        if (r)
            continue;
        if (!strcmp(argv[i], "--db")) {
            if (!(a->db = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--threshold")) {
            if (!(v = fn_cli_value(argc, argv, &i)) || fn_cli_double("--threshold", v, &a->threshold))
                return FN_EXIT_ERROR;
            a->have_threshold = 1;
        } else if (!strcmp(argv[i], "--landmarks")) {
            if (!(a->lm_path = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--landmark-scale")) {
            if (!(v = fn_cli_value(argc, argv, &i)) || fn_cli_double("--landmark-scale", v, &a->lm_scale))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--json")) {
            a->json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return fn_cli_fail("%s: unknown option %s", cmd, argv[i]);
        } else {
            a->pos[a->n_pos++] = argv[i];
        }
    }
    if (!a->db)
        return fn_cli_fail("%s: --db FILE is required", cmd);
    return 0;
}

/* Encode images all-or-nothing (any unreadable image is an error). */
static int encode_all(gal_args *a, fn_encoder *enc, char **imgs, int n, float **emb, fn_err *err)
{
    fn_landmarks lms = {0};
    const double **lm = NULL;
    if (a->lm_path) {
        if (fn_landmarks_load(a->lm_path, a->lm_scale, &lms, err))
            return -1;
        lm = calloc((size_t)n, sizeof *lm);
        for (int i = 0; lm && i < n; i++)
            if (!(lm[i] = fn_cli_find_landmarks(&lms, imgs[i]))) {
                fn_landmarks_free(&lms);
                free(lm);
                return fn_fail(err, FN_E_NOTFOUND, "%s: no landmarks for it in %s", imgs[i], a->lm_path);
            }
    }
    *emb = malloc(sizeof(float) * (size_t)n * enc->dim);
    int rc = *emb ? fn_encoder_encode_files(enc, (const char *const *)imgs, lm, n, *emb, err)
                  : fn_fail(err, FN_E_NOMEM, "out of memory");
    fn_landmarks_free(&lms);
    free(lm);
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

int fn_cmd_enroll(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "enroll");
    if (rc || a.n_pos < 2) {
        free(a.pos);
        return rc ? rc : fn_cli_fail("enroll: usage: facenet enroll --db FILE NAME IMG...");
    }
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    float *emb = NULL;
    const char *name = a.pos[0];
    rc = FN_EXIT_ERROR;
    if (fn_gallery_check_name(name, &err) || fn_cli_open_encoder(&a.m, &enc, &err) ||
        fn_gallery_open(a.db, 1, &g, &err) || check_model(g, &enc, &err) ||
        encode_all(&a, &enc, a.pos + 1, a.n_pos - 1, &emb, &err) ||
        fn_gallery_enroll(g, name, enc.fingerprint, enc.dim, a.n_pos - 1, emb, (const char *const *)a.pos + 1, &err)) {
        fn_cli_fail_err(&err);
    } else {
        if (a.json) {
            printf("{\"enrolled\": ");
            fn_json_string(stdout, name);
            printf(", \"photos\": %d, \"db\": ", a.n_pos - 1);
            fn_json_string(stdout, a.db);
            printf("}\n");
        } else {
            printf("enrolled %s: %d photo%s -> %s\n", name, a.n_pos - 1, a.n_pos == 2 ? "" : "s", a.db);
        }
        rc = FN_EXIT_OK;
    }
    free(emb);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    free(a.pos);
    return rc;
}

int fn_cmd_verify(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "verify");
    if (rc || a.n_pos != 2) {
        free(a.pos);
        return rc ? rc : fn_cli_fail("verify: usage: facenet verify --db FILE NAME IMG [--threshold T]");
    }
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_gallery_matrix gm = {0};
    float *emb = NULL;
    rc = FN_EXIT_ERROR;
    if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, a.pos[0], &gm, &err) ||
        fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err) ||
        encode_all(&a, &enc, a.pos + 1, 1, &emb, &err)) {
        fn_cli_fail_err(&err);
    } else {
        double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
        float best = INFINITY;
        for (int r = 0; r < gm.n_rows; r++) {
            float d = fn_l2_distance(emb, gm.emb + (size_t)r * gm.dim, gm.dim);
            best = d < best ? d : best;
        }
        int same = best < thr;
        if (a.json) {
            printf("{\"image\": ");
            fn_json_string(stdout, a.pos[1]);
            printf(", \"name\": ");
            fn_json_string(stdout, a.pos[0]);
            printf(", \"distance\": %.9g, \"threshold\": %.6g, \"match\": %s}\n", (double)best, thr,
                   same ? "true" : "false");
        } else {
            printf("%s: distance to %s %.4f %s threshold %.4g: %s\n", a.pos[1], a.pos[0], (double)best,
                   same ? "<" : ">=", thr, same ? "same person, welcome in" : "not the same person");
        }
        rc = same ? FN_EXIT_OK : FN_EXIT_NO;
    }
    free(emb);
    fn_gallery_matrix_free(&gm);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    free(a.pos);
    return rc;
}

int fn_cmd_identify(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "identify");
    if (rc || a.n_pos < 1) {
        free(a.pos);
        return rc ? rc : fn_cli_fail("identify: usage: facenet identify --db FILE IMG... [--threshold T]");
    }
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_gallery_matrix gm = {0};
    float *emb = NULL, *dist = NULL;
    int *best = NULL;
    rc = FN_EXIT_ERROR;
    if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, NULL, &gm, &err) ||
        fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (gm.n_rows == 0) {
        fn_cli_fail("%s: the gallery is empty (enroll someone first)", a.db);
        goto out;
    }
    if (encode_all(&a, &enc, a.pos, a.n_pos, &emb, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    best = malloc(sizeof(int) * (size_t)a.n_pos);
    dist = malloc(sizeof(float) * (size_t)a.n_pos);
    if (!best || !dist || fn_identify(&gm, emb, a.n_pos, best, dist, &err)) { /* one matrix product */
        fn_cli_fail_err(&err);
        goto out;
    }
    double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
    for (int i = 0; i < a.n_pos; i++) {
        int known = dist[i] < thr;
        const char *who = gm.names[best[i]];
        if (a.json) {
            printf("{\"image\": ");
            fn_json_string(stdout, a.pos[i]);
            printf(", \"identity\": ");
            if (known)
                fn_json_string(stdout, who);
            else
                printf("null");
            printf(", \"closest\": ");
            fn_json_string(stdout, who);
            printf(", \"distance\": %.9g, \"threshold\": %.6g}\n", (double)dist[i], thr);
        } else if (known) {
            printf("%s: %s (distance %.4f)\n", a.pos[i], who, (double)dist[i]);
        } else {
            printf("%s: unknown (closest %s, distance %.4f >= %.4g)\n", a.pos[i], who, (double)dist[i], thr);
        }
    }
    rc = FN_EXIT_OK;
out:
    free(emb);
    free(best);
    free(dist);
    fn_gallery_matrix_free(&gm);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    free(a.pos);
    return rc;
}

int fn_cmd_db(int argc, char **argv)
{
    if (argc < 2)
        return fn_cli_fail("db: usage: facenet db list|remove|check --db FILE [NAME]");
    const char *sub = argv[1];
    gal_args a;
    int rc = parse(&a, argc - 1, argv + 1, "db");
    if (rc) {
        free(a.pos);
        return rc;
    }
    fn_err err = {0};
    fn_gallery *g = NULL;
    rc = FN_EXIT_ERROR;
    if (fn_gallery_open(a.db, 0, &g, &err)) {
        fn_cli_fail_err(&err);
    } else if (!strcmp(sub, "list") && a.n_pos == 0) {
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
                    printf("{\"name\": ");
                    fn_json_string(stdout, ids[i].name);
                    printf(", \"embeddings\": %d, \"last_enrolled\": \"%s%s\"}\n", ids[i].count, when,
                           strcmp(when, "?") ? "Z" : "");
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
    } else if (!strcmp(sub, "remove") && a.n_pos == 1) {
        int removed = 0;
        if (fn_gallery_remove(g, a.pos[0], &removed, &err)) {
            fn_cli_fail_err(&err);
        } else {
            if (a.json) {
                printf("{\"removed\": ");
                fn_json_string(stdout, a.pos[0]);
                printf(", \"embeddings\": %d}\n", removed);
            } else {
                printf("removed %s (%d embedding%s)\n", a.pos[0], removed, removed == 1 ? "" : "s");
            }
            rc = FN_EXIT_OK;
        }
    } else if (!strcmp(sub, "check") && a.n_pos == 0) {
        if (fn_gallery_check(g, &err)) {
            fn_cli_fail_err(&err);
        } else {
            if (a.json) {
                printf("{\"db\": ");
                fn_json_string(stdout, a.db);
                printf(", \"ok\": true}\n");
            } else
                printf("%s: ok\n", a.db);
            rc = FN_EXIT_OK;
        }
    } else {
        fn_cli_fail("db: usage: facenet db list|remove|check --db FILE [NAME]");
    }
    fn_gallery_close(g);
    free(a.pos);
    return rc;
}
