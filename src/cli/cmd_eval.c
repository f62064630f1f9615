/* cmd_eval.c - `facenet distance` (pairwise matrix) and `facenet evaluate` (the LFW
 * verification protocol on labelled pairs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/eval.h"
#include "app/match.h"
#include "app/triplet.h"
#include "cli/cli.h"
#include "cli/faces_cli.h"
#include "cli/plot.h"
#include "io/pairs.h"

/* The label of an image in the text matrix: its file name, cut to width. */
static const char *base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

int fn_cmd_distance(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("distance", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    int json = fn_cli_flag(&a, "json");
    const char *plot = fn_cli_str(&a, "plot");
    fn_image_list l = {0};
    fn_err err = {0};
    fn_encoder enc = {0};
    fn_face_source src = {0};
    fn_cli_face_set set = {0};
    int rc = FN_EXIT_ERROR;
    if (fn_cli_check_inputs(&a, &a.model, 1) || fn_cli_expand_images(a.pos, a.n_pos, &l))
        goto out;
    if (l.n < 1) {
        fn_cli_fail("distance: give at least two images, or one with several faces (see facenet distance --help)");
        goto out;
    }
    if (fn_cli_check_images((const char *const *)l.path, l.n, 0, "skipped", 0))
        goto out;
    if ((plot && fn_plot_check_path(plot, &err)) || fn_cli_open_encoder(&a.model, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (fn_face_source_open(&a, FN_PICK_ALL, 16, &src))
        goto out;
    const char *const *paths = (const char *const *)l.path;
    if (fn_cli_encode_faces(&src, &enc, paths, (const char *const *)l.key, l.n, "skipped", 0, 0, &set, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (set.n < 2) { /* the images that failed were named; else say why there is no matrix */
        if (set.n_ok == l.n)
            fn_cli_fail("distance: %d face%s found, a matrix needs two", set.n, set.n == 1 ? "" : "s");
        goto out;
    }
    /* the matrix of the faces found; the images without one were reported */
    char label[4200];
    cJSON *j = NULL, *imgs = NULL, *rows = NULL, *faces = NULL;
    if (json) {
        j = cJSON_CreateObject();
        imgs = cJSON_AddArrayToObject(j, "images");
        if (fn_face_source_detects(&src))
            faces = cJSON_AddArrayToObject(j, "faces");
        rows = cJSON_AddArrayToObject(j, "distances");
    } else {
        printf("%-12s", "");
        for (int c = 0; c < set.n; c++)
            printf(" %10.10s", base(fn_cli_face_label(&set, paths, c, label, sizeof label)));
        printf("\n");
    }
    for (int r = 0; r < set.n; r++) {
        cJSON *row = json ? cJSON_CreateArray() : NULL;
        if (json) {
            cJSON_AddItemToArray(imgs, fn_json_str(paths[set.face[r].image]));
            if (faces) {
                cJSON *fj = cJSON_CreateObject();
                fn_cli_face_json(fj, &set.face[r]);
                cJSON_AddItemToArray(faces, fj);
            }
        } else {
            printf("%-12.12s", base(fn_cli_face_label(&set, paths, r, label, sizeof label)));
        }
        for (int c = 0; c < set.n; c++) {
            float d = fn_l2_distance(set.emb + (size_t)r * enc.dim, set.emb + (size_t)c * enc.dim, enc.dim);
            if (json)
                cJSON_AddItemToArray(row, cJSON_CreateNumber(fn_json_float_value(d)));
            else
                printf(" %10.4f", (double)d);
        }
        if (json)
            cJSON_AddItemToArray(rows, row);
        else
            printf("\n");
    }
    if (json && fn_json_print(j))
        goto out;
    if (plot) { /* the faces in matrix order, labelled as in the text */
        char **labels = calloc((size_t)set.n, sizeof *labels);
        int *all = malloc(sizeof(int) * (size_t)set.n), bad = !labels || !all;
        for (int i = 0; !bad && i < set.n; i++) {
            all[i] = 1;
            bad = !(labels[i] = strdup(fn_cli_face_label(&set, paths, i, label, sizeof label)));
        }
        int prc = bad ? fn_fail(&err, FN_E_NOMEM, "out of memory")
                      : fn_plot_distances(plot, (const char *const *)labels, all, set.n, set.emb, enc.dim,
                                          fn_cli_get_double(&a, "threshold", enc.prof.threshold), NULL, &err);
        for (int i = 0; labels && i < set.n; i++)
            free(labels[i]);
        free(labels);
        free(all);
        if (prc) {
            fn_cli_fail_err(&err);
            goto out;
        }
    }
    rc = set.n_ok == l.n ? FN_EXIT_OK : FN_EXIT_ERROR;
out:
    fn_cli_face_set_free(&set);
    fn_face_source_close(&src);
    fn_encoder_close(&enc);
    fn_image_list_free(&l);
    fn_cli_args_free(&a);
    return rc;
}

/* Index of path in a sorted unique list (built below). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int find(char **sorted, int n, const char *key)
{
    char **hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, cmp_str);
    return hit ? (int)(hit - sorted) : -1;
}

static int person_label(char **names, int *n, const char *path)
{
    size_t len = strcspn(path, "/");
    for (int i = 0; i < *n; i++)
        if (strlen(names[i]) == len && !strncmp(names[i], path, len))
            return i;
    names[*n] = strndup(path, len);
    return (*n)++;
}

int fn_cmd_evaluate(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("evaluate", argc, argv, &a);
    if (pr || a.n_pos) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : pr < 0 ? FN_EXIT_ERROR
                      : fn_cli_fail("evaluate: takes no operands (see facenet evaluate --help)");
    }
    fn_model_args m = a.model;
    const char *pairs_path = fn_cli_str(&a, "pairs"), *train_path = fn_cli_str(&a, "train-pairs");
    const char *root = fn_cli_str(&a, "images");
    const char *plot = fn_cli_str(&a, "plot"), *scores = fn_cli_str(&a, "scores");
    int log_far = fn_cli_flag(&a, "log-far");
    int json = fn_cli_flag(&a, "json"), batch = fn_cli_get_int(&a, "batch", 16), folds = fn_cli_get_int(&a, "folds", 10);
    if (!pairs_path || !root) {
        fn_cli_args_free(&a);
        return fn_cli_fail("evaluate: usage: facenet evaluate --pairs PAIRS.txt --images DIR "
                           "[--landmarks F --landmark-scale S] [--train-pairs PAIRS.txt] [--json]");
    }
    fn_err err = {0};
    fn_lfw_pairs test = {0}, train = {0};
    fn_encoder enc = {0};
    fn_face_source src = {0};
    fn_cli_face_set set = {0};
    char **uniq = NULL, **paths = NULL, **names = NULL;
    float *dist = NULL, *tdist = NULL;
    int *row = NULL, *same = NULL, *tsame = NULL, *label = NULL;
    int rc = FN_EXIT_ERROR, nu = 0, n_no_face = 0;
    if (fn_cli_check_inputs(&a, &m, 1))
        goto out;
    if ((plot && fn_plot_check_path(plot, &err)) || fn_lfw_pairs_load_max(pairs_path, m.lim.pairs, &test, &err) ||
        (train_path && fn_lfw_pairs_load_max(train_path, m.lim.pairs, &train, &err))) {
        fn_cli_fail_err(&err);
        goto out;
    }
    /* unique images of both pair lists */
    int cap = 2 * (test.n + train.n);
    uniq = malloc(sizeof(char *) * (size_t)(cap ? cap : 1));
    for (int i = 0; uniq && i < test.n; i++)
        uniq[nu++] = test.pairs[i].path_a, uniq[nu++] = test.pairs[i].path_b;
    for (int i = 0; uniq && i < train.n; i++)
        uniq[nu++] = train.pairs[i].path_a, uniq[nu++] = train.pairs[i].path_b;
    if (!uniq) {
        fn_cli_fail("out of memory");
        goto out;
    }
    qsort(uniq, (size_t)nu, sizeof *uniq, cmp_str);
    int k = 0;
    for (int i = 0; i < nu; i++)
        if (!k || strcmp(uniq[i], uniq[k - 1]))
            uniq[k++] = uniq[i];
    nu = k;
    paths = calloc((size_t)nu, sizeof *paths);
    row = malloc(sizeof(int) * (size_t)(nu ? nu : 1));
    if (!paths || !row) {
        fn_cli_fail("out of memory");
        goto out;
    }
    for (int i = 0; i < nu; i++) {
        size_t len = strlen(root) + strlen(uniq[i]) + 2;
        if (!(paths[i] = malloc(len))) {
            fn_cli_fail("out of memory");
            goto out;
        }
        snprintf(paths[i], len, "%s/%s", root, uniq[i]);
    }
    /* the files first, then the nets: per image the face nearest the centre */
    if (fn_cli_check_images((const char *const *)paths, nu, 0, "skipped", 0))
        goto out;
    if (fn_cli_open_encoder(&m, &enc, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    if (fn_face_source_open(&a, FN_PICK_CENTRAL, batch, &src))
        goto out;
    if (fn_cli_encode_faces(&src, &enc, (const char *const *)paths, (const char *const *)uniq, nu, "skipped", 0, 0,
                            &set, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    for (int i = 0; i < nu; i++)
        row[i] = -1;
    for (int r = 0; r < set.n; r++)
        row[set.face[r].image] = r;
    n_no_face = set.n_no_face;
    const float *emb = set.emb;
    /* distances: a pair with an image without a face is answered "different" (infinitely
     * far: counted); NaN (the pair is skipped) where an image could not be read */
    fn_lfw_pairs *sets[2] = {&test, &train};
    float **dists[2] = {&dist, &tdist};
    int **sames[2] = {&same, &tsame};
    for (int s = 0; s < 2; s++) {
        fn_lfw_pairs *p = sets[s];
        *dists[s] = malloc(sizeof(float) * (size_t)(p->n ? p->n : 1));
        *sames[s] = malloc(sizeof(int) * (size_t)(p->n ? p->n : 1));
        if (!*dists[s] || !*sames[s]) {
            fn_cli_fail("out of memory");
            goto out;
        }
        for (int i = 0; i < p->n; i++) {
            int a = find(uniq, nu, p->pairs[i].path_a), b = find(uniq, nu, p->pairs[i].path_b);
            int ra = row[a], rb = row[b];
            int unreadable = set.status[a] == FN_IMG_UNREADABLE || set.status[b] == FN_IMG_UNREADABLE;
            (*sames[s])[i] = p->pairs[i].same;
            (*dists[s])[i] = ra >= 0 && rb >= 0 ? fn_l2_distance(emb + (size_t)ra * enc.dim, emb + (size_t)rb * enc.dim, enc.dim)
                             : unreadable ? NAN
                                          : INFINITY;
        }
    }
    fn_eval_result r;
    if (fn_eval_lfw(dist, same, test.n, folds, &r, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    double accuracy = r.acc_mean, acc_std = r.acc_std, thr = r.thr_mean;
    char kfold[64];
    snprintf(kfold, sizeof kfold, "%d-fold cross-validation on --pairs", folds);
    const char *protocol = kfold;
    if (train_path) {
        double tacc;
        if (fn_eval_best_threshold(tdist, tsame, train.n, &thr, &tacc, &err)) {
            fn_cli_fail_err(&err);
            goto out;
        }
        accuracy = fn_eval_accuracy(dist, same, test.n, thr);
        acc_std = sqrt(accuracy * (1 - accuracy) / (r.n_used ? r.n_used : 1)); /* binomial standard error */
        protocol = "threshold chosen on --train-pairs, applied to --pairs";
    }
    if ((plot && fn_plot_evaluation(plot, dist, same, test.n, thr, log_far, NULL, &err)) ||
        (scores && fn_write_scores(scores, root, &test, dist, train_path ? &train : NULL, tdist, folds, &err))) {
        fn_cli_fail_err(&err);
        goto out;
    }
    /* mean triplet loss over the encoded images of --pairs, labelled by person */
    double tl = NAN, active = NAN;
    long long n_trip = 0;
    names = calloc((size_t)nu, sizeof *names);
    label = malloc(sizeof(int) * (size_t)nu);
    float *lemb = malloc(sizeof(float) * (size_t)nu * enc.dim);
    int nl = 0, n_names = 0;
    if (names && label && lemb) {
        for (int i = 0; i < test.n; i++) {
            const char *pp[2] = {test.pairs[i].path_a, test.pairs[i].path_b};
            for (int q = 0; q < 2; q++) {
                int u = find(uniq, nu, pp[q]);
                if (row[u] < 0)
                    continue;
                memcpy(lemb + (size_t)nl * enc.dim, emb + (size_t)row[u] * enc.dim, sizeof(float) * enc.dim);
                row[u] = -1; /* count each image once */
                label[nl++] = person_label(names, &n_names, pp[q]);
            }
        }
        if (fn_mean_triplet_loss(lemb, label, nl, enc.dim, 0.2, &tl, &active, &n_trip, &err))
            tl = NAN;
    }
    free(lemb);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "accuracy", accuracy);
        cJSON_AddNumberToObject(j, "accuracy_std", acc_std);
        cJSON_AddNumberToObject(j, "threshold", thr);
        cJSON_AddNumberToObject(j, "auc", r.auc);
        cJSON_AddNumberToObject(j, "tar_at_far_1e-3", r.tar);
        cJSON_AddNumberToObject(j, "pairs", r.n_pairs);
        cJSON_AddNumberToObject(j, "skipped", r.n_skipped);
        cJSON_AddItemToObject(j, "triplet_loss", isfinite(tl) ? cJSON_CreateNumber(tl) : cJSON_CreateNull());
        cJSON_AddNumberToObject(j, "triplets", (double)n_trip);
        cJSON_AddNumberToObject(j, "images", nu);
        cJSON_AddNumberToObject(j, "images_skipped", set.n_unreadable);
        cJSON_AddNumberToObject(j, "images_no_face", n_no_face);
        cJSON_AddBoolToObject(j, "detect", fn_face_source_detects(&src));
        cJSON_AddStringToObject(j, "protocol", protocol);
        if (fn_json_print(j))
            goto out;
    } else {
        printf("pairs:            %d (%d skipped: image missing or unreadable)\n", r.n_pairs, r.n_skipped);
        if (fn_face_source_detects(&src))
            printf("images:           %d, no face found on %d (their pairs answered \"different\")\n", nu, n_no_face);
        printf("accuracy:         %.2f%% +- %.2f%% (%s)\n", 100 * accuracy, 100 * acc_std, protocol);
        printf("threshold:        %.4f%s\n", thr, train_path ? "" : " (mean over folds)");
        printf("ROC AUC:          %.4f\n", r.auc);
        printf("TAR @ FAR=1e-3:   %.4f (FAR achieved %.4f)\n", r.tar, r.far);
        printf("triplet loss:     %.4f (alpha 0.2, mean over %lld triplets of %d images)\n", tl, n_trip, nl);
    }
    rc = FN_EXIT_OK;
out:
    if (names)
        for (int i = 0; i < nu; i++)
            free(names[i]);
    free(names);
    free(label);
    if (paths)
        for (int i = 0; i < nu; i++)
            free(paths[i]);
    free(paths);
    free(uniq);
    free(row);
    fn_cli_face_set_free(&set);
    fn_face_source_close(&src);
    fn_cli_args_free(&a);
    free(dist);
    free(tdist);
    free(same);
    free(tsame);
    fn_encoder_close(&enc);
    fn_lfw_pairs_free(&test);
    fn_lfw_pairs_free(&train);
    return rc;
}
