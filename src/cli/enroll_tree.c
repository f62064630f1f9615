/* enroll_tree.c - `facenet enroll --db G DIR`: DIR/Name/photo.jpg, one folder per person
 * (face_recognition's known-people folder, deepface's db_path).
 *
 * Per person, in one transaction: the photos of the folder (recursive, sorted), minus
 * those already enrolled for that person - the same path, or the same bytes under
 * another path (a hash of the content, recorded with each photo enrolled here; for
 * photos enrolled otherwise, the stored file is hashed when it is still there) - and
 * minus repeats within the folder.  Each skip is reported.  A person with a photo
 * that cannot be read is not enrolled (all of a person's photos or none, as
 * `enroll NAME`); the others are, and the exit status says some failed.  Files directly
 * in DIR belong to nobody and are listed as skipped. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/gallery.h"
#include "cli/cli.h"
#include "cli/faces_cli.h"
#include "core/hash.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fn_cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The person folders of dir, sorted; loose files are reported.  NULL on failure. */
static char **person_dirs(const char *dir, int *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) {
        fn_cli_fail("%s: cannot read directory", dir);
        return NULL;
    }
    char **names = NULL;
    int cap = 0, loose = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!fn_cli_is_dir(p)) {
            if (loose++ < 5)
                fn_cli_fail("%s: not in a person's folder (DIR/Name/photo.jpg), skipped", p);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, sizeof *nn * (size_t)cap);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (loose > 5)
        fn_cli_fail("%s: %d files in all not in a person's folder, skipped", dir, loose);
    if (names)
        qsort(names, (size_t)*n, sizeof *names, cmp_str);
    else
        names = calloc(1, sizeof *names);
    return names;
}

static int content_of(const char *path, char out[40])
{
    fn_hash h;
    fn_err err = {0};
    fn_hash_init(&h);
    if (fn_hash_file(&h, path, &err))
        return -1;
    char hex[33];
    fn_hash_hex(&h, hex);
    snprintf(out, 40, "h1:%s", hex);
    return 0;
}

typedef struct {
    fn_gallery *g;
    fn_encoder *enc;
    fn_face_source *src;
    int json;
} tree_ctx;

/* One person: 0 enrolled (or nothing new), 1 a photo failed, -1 a hard error (printed). */
static int enroll_person(tree_ctx *c, const char *dir, const char *name)
{
    fn_err err = {0};
    if (fn_gallery_check_name(name, &err)) {
        fn_cli_fail("%s: folder name is not a usable identity name: %s", dir, err.msg);
        return 1;
    }
    fn_image_list l = {0};
    char *arg = (char *)dir;
    if (fn_cli_expand_images(&arg, 1, &l))
        return 1;
    if (l.n == 0) {
        fn_cli_fail("%s: no JPEG or PNG photos; %s not enrolled", dir, name);
        fn_image_list_free(&l);
        return 1;
    }
    fn_gallery_photo *have = NULL;
    int n_have = 0, rc = -1, n_new = 0, n_dup = 0, n_ok = 0;
    char (*hash)[40] = calloc((size_t)(l.n ? l.n : 1), sizeof *hash);
    const char **paths = calloc((size_t)(l.n ? l.n : 1), sizeof *paths), **keys = NULL;
    const char **hashes = calloc((size_t)(l.n ? l.n : 1), sizeof *hashes);
    keys = calloc((size_t)(l.n ? l.n : 1), sizeof *keys);
    float *emb = malloc(sizeof(float) * (size_t)(l.n ? l.n : 1) * (size_t)c->enc->dim);
    int *ok = calloc((size_t)(l.n ? l.n : 1), sizeof *ok);
    if (!hash || !paths || !hashes || !keys || !emb || !ok) {
        fn_cli_fail("out of memory");
        goto out;
    }
    if (fn_gallery_photos(c->g, name, &have, &n_have, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    for (int i = 0; i < n_have; i++) /* stored without a content hash: hash the file if it is still there */
        if (!have[i].content && have[i].path) {
            char h[40];
            if (!content_of(have[i].path, h))
                have[i].content = strdup(h);
        }
    for (int i = 0; i < l.n; i++) {
        const char *why = NULL, *other = NULL;
        if (content_of(l.path[i], hash[i]))
            hash[i][0] = '\0'; /* unreadable: the encoder reports it */
        for (int k = 0; k < n_have && !why; k++)
            if (have[k].path && !strcmp(have[k].path, l.path[i]))
                why = "already enrolled", other = NULL;
            else if (hash[i][0] && have[k].content && !strcmp(have[k].content, hash[i]))
                why = "already enrolled", other = have[k].path;
        for (int k = 0; k < n_new && !why; k++)
            if (!strcmp(paths[k], l.path[i]) || (hash[i][0] && hashes[k] && !strcmp(hashes[k], hash[i])))
                why = "the same photo as", other = paths[k];
        if (why) {
            n_dup++;
            if (!strcmp(why, "already enrolled"))
                fprintf(stderr, "facenet: %s: already enrolled for %s%s%s, skipped\n", l.path[i], name,
                        other ? " as " : "", other ? other : "");
            else
                fprintf(stderr, "facenet: %s: the same photo as %s, skipped\n", l.path[i], other);
            continue;
        }
        paths[n_new] = l.path[i], keys[n_new] = l.key[i];
        hashes[n_new++] = hash[i][0] ? hash[i] : NULL;
    }
    char note[300];
    snprintf(note, sizeof note, "%.64s not enrolled: a person's photos go in all together or not at all", name);
    if (n_new && fn_cli_encode_each(c->src, c->enc, paths, keys, n_new, note, emb, ok, &n_ok, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (n_ok < n_new) {
        rc = 1;
        goto out;
    }
    if (n_new && fn_gallery_enroll_content(c->g, name, c->enc->fingerprint, c->enc->dim, n_new, emb, paths, hashes,
                                           &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToObject(j, "enrolled", fn_json_str(name));
        cJSON_AddNumberToObject(j, "photos", n_new);
        cJSON_AddNumberToObject(j, "skipped", n_dup);
        cJSON_AddItemToObject(j, "db", fn_json_str(fn_gallery_path(c->g)));
        fn_json_print(j);
    } else {
        printf("enrolled %s: %d photo%s", name, n_new, n_new == 1 ? "" : "s");
        if (n_dup)
            printf(" (%d already there, skipped)", n_dup);
        printf(" -> %s\n", fn_gallery_path(c->g));
    }
    rc = 0;
out:
    free(hash);
    free(paths);
    free(keys);
    free(hashes);
    free(emb);
    free(ok);
    fn_gallery_photos_free(have, n_have);
    fn_image_list_free(&l);
    return rc;
}

int fn_cli_enroll_tree(const fn_cli_args *a, const char *db, const char *dir)
{
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_face_source src = {0};
    fn_gallery *g = NULL;
    int n = 0, rc = FN_EXIT_ERROR, failed = 0;
    char **names = person_dirs(dir, &n), mdir[4096];
    if (!names)
        goto out;
    if (n == 0) {
        fn_cli_fail("enroll: %s holds no person folders (DIR/Name/photo.jpg); to enroll one person: facenet enroll "
                    "--db FILE NAME %s",
                    dir, dir);
        goto out;
    }
    if (fn_cli_open_encoder(&a->model, &enc, &err) || fn_gallery_open(db, 1, &g, &err) ||
        fn_cli_gallery_model_check(g, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (fn_face_source_open(a, FN_PICK_ONE, 16, &src)) /* one face a photo (--largest: the largest) */
        goto out;
    tree_ctx c = {g, &enc, &src, fn_cli_flag(a, "json")};
    for (int i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        int r = enroll_person(&c, p, names[i]);
        if (r < 0)
            goto out;
        failed += r;
    }
    if (fn_cli_gallery_note_profile(g, &enc, fn_cli_model_dir(&a->model, mdir, sizeof mdir), &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (failed)
        fn_cli_fail("enroll: %d of %d people not enrolled (their photos are listed above)", failed, n);
    rc = failed ? FN_EXIT_ERROR : FN_EXIT_OK;
out:
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    fn_gallery_close(g);
    fn_face_source_close(&src);
    fn_encoder_close(&enc);
    return rc;
}
