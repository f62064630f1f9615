/* cmd_detect.c - `facenet detect`: the faces in photos - per face the detector's score,
 * the box and the 68 landmarks in image pixels; --save-chips writes the chip the
 * recognition net would see, --draw a copy of each photo with what was found. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/faces_cli.h"

static void print_face(const char *path, int i, const fn_face *f, int json)
{
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "image", fn_json_str(path));
        fn_cli_face cf = {.face = i, .score = f->score, .box = f->box};
        float lm[136];
        for (int k = 0; k < 136; k++)
            lm[k] = (float)f->landmarks[k];
        cf.landmarks = lm;
        fn_cli_face_json(j, &cf);
        fn_json_print(j);
        return;
    }
    printf("%s face %d: score %.4f box %.1f %.1f %.1f %.1f landmarks", path, i, f->score, f->box.x, f->box.y,
           f->box.width, f->box.height);
    for (int k = 0; k < 68; k++)
        printf(" %.1f,%.1f", f->landmarks[2 * k], f->landmarks[2 * k + 1]);
    printf("\n");
}

int fn_cmd_detect(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("detect", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    int json = fn_cli_flag(&a, "json");
    const char *draw = fn_cli_str(&a, "draw"), *chips = fn_cli_str(&a, "save-chips");
    fn_image_list l = {0};
    fn_face_source src = {0};
    fn_encoder enc = {0};
    fn_face_list fl = {0};
    fn_err err = {0};
    int rc = FN_EXIT_ERROR, n_faces = 0, n_none = 0, n_bad = 0;
    if (fn_cli_check_inputs(&a, chips ? &a.model : NULL, 1) || fn_cli_expand_images(a.pos, a.n_pos, &l))
        goto out;
    if (l.n == 0) {
        fn_cli_fail("detect: no images given (see facenet detect --help)");
        goto out;
    }
    if (fn_cli_check_images((const char *const *)l.path, l.n, 0, "skipped", json))
        goto out;
    if ((draw && fn_cli_out_dir(draw)) || (chips && fn_cli_out_dir(chips)))
        goto out;
    if (chips && fn_cli_open_encoder(&a.model, &enc, &err)) { /* the chip has the recognition net's size */
        fn_cli_fail_err(&err);
        goto out;
    }
    if (fn_face_source_open(&a, FN_PICK_ALL, 1, &src))
        goto out;
    for (int i = 0; i < l.n; i++) {
        fn_image img = {0};
        fn_err e2 = {0};
        char name[2 * PATH_MAX];
        if (fn_faces_detect_file(src.det, l.path[i], a.model.lim.pixels, &img, &fl, &e2)) {
            fn_cli_fail("%s (skipped)", e2.msg);
            n_bad++;
            if (json)
                fn_json_print(fn_cli_image_status_json(l.path[i], FN_IMG_UNREADABLE, 0));
            fn_image_free(&img);
            continue;
        }
        if (fl.n == 0) {
            n_none++;
            if (json) {
                fn_json_print(fn_cli_image_status_json(l.path[i], FN_IMG_NO_FACE, 0));
            } else {
                printf("%s: no face found\n", l.path[i]);
            }
        }
        for (int k = 0; k < fl.n; k++) {
            print_face(l.path[i], k, &fl.face[k], json);
            if (chips) {
                fn_image chip = {0};
                char sfx[32];
                snprintf(sfx, sizeof sfx, "-%d", k);
                fn_cli_out_name(name, sizeof name, chips, l.key[i], sfx);
                if (fn_faces_chip(&enc, &img, l.path[i], &fl.face[k], src.chip, &chip, &e2) ||
                    fn_image_save_png(name, &chip, &e2)) {
                    fn_cli_fail("%s: chip %d not saved: %s", l.path[i], k, e2.msg);
                    n_bad++;
                }
                fn_image_free(&chip);
            }
        }
        n_faces += fl.n;
        if (draw) {
            fn_faces_draw(&img, &fl);
            fn_cli_out_name(name, sizeof name, draw, l.key[i], "");
            if (fn_image_save_png(name, &img, &e2)) {
                fn_cli_fail("%s", e2.msg);
                n_bad++;
            }
        }
        fn_image_free(&img);
    }
    fprintf(stderr, "facenet: %d face%s in %d image%s (%d without a face, %d failed)\n", n_faces,
            n_faces == 1 ? "" : "s", l.n, l.n == 1 ? "" : "s", n_none, n_bad);
    rc = n_bad ? FN_EXIT_ERROR : FN_EXIT_OK;
out:
    fn_face_list_free(&fl);
    fn_face_source_close(&src);
    fn_encoder_close(&enc);
    fn_image_list_free(&l);
    fn_cli_args_free(&a);
    return rc;
}
