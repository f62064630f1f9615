/* cmd_gallery.c - `facenet enroll`, `verify` and `identify`: the office door
 * (`db` is in cmd_db.c).
 * The gallery is an SQLite file (src/app/gallery.c); every embedding in it carries the
 * fingerprint of the model that made it, and mixing models is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/gallery.h"
#include "app/match.h"
#include "cli/cli.h"
#include "cli/faces_cli.h"

typedef struct {
    fn_cli_args args;
    fn_model_args m;
    const char *db;
    double threshold;
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
    if (!strcmp(cmd, "verify") || !strcmp(cmd, "identify")) {
        a->have_threshold = fn_cli_str(p, "threshold") != NULL;
        a->threshold = fn_cli_get_double(p, "threshold", 0);
    }
    if (!a->db)
        return fn_cli_fail("%s: --db FILE is required (see facenet %s --help)", cmd, cmd);
    return 0;
}

/* Encode the faces of list (pick: the command's rule), each failure reported on stderr
 * with note.  -1 only when nothing could be tried (options, memory, the network);
 * options errors are printed already (err left empty). */
static int encode_list(gal_args *a, fn_encoder *enc, const fn_image_list *l, fn_pick pick, const char *note,
                       fn_cli_face_set *set, fn_err *err)
{
    fn_face_source src;
    if (fn_face_source_open(&a->args, pick, 16, &src))
        return -1;
    int rc = fn_cli_encode_faces(&src, enc, (const char *const *)l->path, (const char *const *)l->key, l->n, note,
                                 0, 0, set, err);
    fn_face_source_close(&src);
    return rc;
}

/* The gallery must be empty or built with this encoder's model. */
static int check_model(fn_gallery *g, const fn_encoder *enc, fn_err *err)
{
    return fn_cli_gallery_model_check(g, enc, err); /* cmd_db.c: points to db reenroll */
}

/* After parse: the exit status for --help (-1) or an error, else the usage error. */
static int parse_end(gal_args *a, int rc, const char *usage)
{
    fn_cli_args_free(&a->args);
    return rc < 0 ? FN_EXIT_OK : rc ? rc : fn_cli_fail("%s", usage);
}

/* An error not yet printed (the face options print their own). */
static void fail_once(const fn_err *err)
{
    if (err->msg[0])
        fn_cli_fail_err(err);
}

/* One stderr line after a batch with detection: faces per image, the failures. */
static void summary(const char *verb, const fn_cli_face_set *set)
{
    fprintf(stderr, "facenet: %s %d face%s in %d of %d image%s (%d without a face, %d with several, %d unreadable)\n",
            verb, set->n, set->n == 1 ? "" : "s", set->n_ok, set->n_images, set->n_images == 1 ? "" : "s",
            set->n_no_face, set->n_many, set->n_unreadable);
}

int fn_cmd_enroll(int argc, char **argv)
{
    gal_args a;
    int rc = parse(&a, argc, argv, "enroll");
    if (!rc && fn_cli_check_inputs(&a.args, &a.m, 1)) {
        fn_cli_args_free(&a.args);
        return FN_EXIT_ERROR;
    }
    if (!rc && a.n_pos == 1 && fn_cli_is_dir(a.pos[0])) { /* DIR/Name/photo.jpg: enroll_tree.c */
        rc = fn_cli_enroll_tree(&a.args, a.db, a.pos[0]);
        fn_cli_args_free(&a.args);
        return rc;
    }
    if (!rc && a.n_pos == 1) {
        fn_cli_fail("enroll: %s: not a directory (a single operand is a folder of Name/photo.jpg; one person: "
                    "facenet enroll --db FILE NAME IMG...)", a.pos[0]);
        fn_cli_args_free(&a.args);
        return FN_EXIT_ERROR;
    }
    if (rc || a.n_pos < 2)
        return parse_end(&a, rc, "enroll: usage: facenet enroll --db FILE NAME IMG|DIR|@LIST... (see facenet enroll --help)");
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_gallery *g = NULL;
    fn_image_list l = {0};
    fn_cli_face_set set = {0};
    const char *name = a.pos[0];
    char note[300];
    snprintf(note, sizeof note, "%.64s not enrolled: a person's photos go in all together or not at all", name);
    rc = FN_EXIT_ERROR;
    if (fn_gallery_check_name(name, &err)) {
        fn_cli_fail_err(&err);
    } else if (fn_cli_expand_images(a.pos + 1, a.n_pos - 1, &l)) {
    } else if (l.n == 0) {
        fn_cli_fail("enroll: no images given for %s", name);
    } else if (fn_cli_check_images((const char *const *)l.path, l.n, 1, note, 0)) { /* all or nothing */
    } else if (fn_cli_open_encoder(&a.m, &enc, &err) || fn_gallery_open(a.db, 1, &g, &err) ||
               check_model(g, &enc, &err) || encode_list(&a, &enc, &l, FN_PICK_ONE, note, &set, &err)) {
        fail_once(&err);
    } else if (set.n_ok < l.n || set.n != l.n) {
        /* each failed photo was reported; the gallery is untouched */
    } else if (fn_gallery_enroll(g, name, enc.fingerprint, enc.dim, l.n, set.emb, (const char *const *)l.path, &err)) {
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
    fn_cli_face_set_free(&set);
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
    fn_cli_face_set set = {0};
    rc = FN_EXIT_ERROR;
    if (fn_cli_check_inputs(&a.args, &a.m, 1) || fn_cli_expand_images(a.pos + 1, 1, &l)) {
    } else if (l.n != 1) {
        fn_cli_fail("verify: takes one image, %s holds %d", a.pos[1], l.n);
    } else if (fn_cli_check_images((const char *const *)l.path, 1, 1, "no decision", a.json)) {
    } else if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, a.pos[0], &gm, &err) ||
               fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err) ||
               encode_list(&a, &enc, &l, FN_PICK_ONE, "no decision", &set, &err)) {
        fail_once(&err);
    } else if (set.n == 1) {
        const fn_cli_face *f = &set.face[0];
        double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
        float best = INFINITY;
        for (int r = 0; r < gm.n_rows; r++) {
            float d = fn_l2_distance(set.emb, gm.emb + (size_t)r * gm.dim, gm.dim);
            best = d < best ? d : best;
        }
        int same = best < thr;
        double thr_shown = a.have_threshold ? thr : fn_json_float_value(enc.prof.threshold);
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "image", fn_json_str(l.path[0]));
            fn_cli_face_json(j, f);
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
    } else if (a.json && set.status) { /* no decision: say why in the JSON too */
        fn_json_print(fn_cli_image_status_json(l.path[0], set.status[0], set.n_found[0]));
    }
    fn_cli_face_set_free(&set);
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
    fn_cli_face_set set = {0};
    float *dist = NULL;
    int *best = NULL;
    rc = FN_EXIT_ERROR;
    if (fn_cli_check_inputs(&a.args, &a.m, 1) || fn_cli_expand_images(a.pos, a.n_pos, &l))
        goto out;
    if (l.n == 0) {
        fn_cli_fail("identify: no images given");
        goto out;
    }
    if (fn_cli_check_images((const char *const *)l.path, l.n, 0, "skipped", a.json))
        goto out;
    if (fn_gallery_open(a.db, 0, &g, &err) || fn_gallery_load(g, NULL, &gm, &err) ||
        fn_cli_open_encoder(&a.m, &enc, &err) || check_model(g, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (gm.n_rows == 0) {
        fn_cli_fail("%s: the gallery is empty (enroll someone first)", a.db);
        goto out;
    }
    if (encode_list(&a, &enc, &l, FN_PICK_ALL, "skipped", &set, &err)) {
        fail_once(&err);
        goto out;
    }
    best = malloc(sizeof(int) * (size_t)(set.n ? set.n : 1));
    dist = malloc(sizeof(float) * (size_t)(set.n ? set.n : 1));
    if (!best || !dist || (set.n && fn_identify(&gm, set.emb, set.n, best, dist, &err))) { /* one matrix product */
        fn_cli_fail_err(&err);
        goto out;
    }
    double thr = a.have_threshold ? a.threshold : enc.prof.threshold;
    double thr_shown = a.have_threshold ? thr : fn_json_float_value(enc.prof.threshold);
    for (int r = 0; r < set.n; r++) {
        const fn_cli_face *f = &set.face[r];
        int known = dist[r] < thr;
        const char *who = gm.names[best[r]];
        char label[4200];
        fn_cli_face_label(&set, (const char *const *)l.path, r, label, sizeof label);
        if (a.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "image", fn_json_str(l.path[f->image]));
            fn_cli_face_json(j, f);
            cJSON_AddItemToObject(j, "identity", known ? fn_json_str(who) : cJSON_CreateNull());
            cJSON_AddItemToObject(j, "closest", fn_json_str(who));
            cJSON_AddNumberToObject(j, "distance", fn_json_float_value(dist[r]));
            cJSON_AddNumberToObject(j, "threshold", thr_shown);
            fn_json_print(j);
        } else if (known) {
            printf("%s: %s (distance %.4f)", label, who, (double)dist[r]);
        } else {
            printf("%s: unknown (closest %s, distance %.4f >= %.4g)", label, who, (double)dist[r], thr_shown);
        }
        if (!a.json && f->face >= 0)
            printf(" [box %.0f %.0f %.0f %.0f]", f->box.x, f->box.y, f->box.width, f->box.height);
        if (!a.json)
            printf("\n");
    }
    for (int i = 0; a.json && i < l.n; i++)
        if (set.status[i] != FN_IMG_OK)
            fn_json_print(fn_cli_image_status_json(l.path[i], set.status[i], set.n_found[i]));
    if (l.n > 1 && set.n_ok < l.n)
        summary("identified", &set);
    rc = set.n_ok == l.n ? FN_EXIT_OK : FN_EXIT_ERROR;
out:
    free(best);
    free(dist);
    fn_cli_face_set_free(&set);
    fn_image_list_free(&l);
    fn_gallery_matrix_free(&gm);
    fn_gallery_close(g);
    fn_encoder_close(&enc);
    fn_cli_args_free(&a.args);
    return rc;
}
