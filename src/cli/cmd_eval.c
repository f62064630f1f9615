/* cmd_eval.c - `facenet distance` (pairwise matrix) and `facenet evaluate` (the LFW
 * verification protocol on labelled pairs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app/eval.h"
#include "app/match.h"
#include "app/triplet.h"
#include "cli/cli.h"
#include "io/pairs.h"

int fn_cmd_distance(int argc, char **argv)
{
    fn_model_args m = {0};
    int json = 0, n = 0;
    char **imgs = calloc((size_t)argc, sizeof *imgs);
    if (!imgs)
        return fn_cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        int r = fn_cli_model_opt(&m, argc, argv, &i);
        if (r < 0) {
            free(imgs);
            return FN_EXIT_ERROR;
        }
        if (r)
            continue;
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            free(imgs);
            return fn_cli_fail("distance: unknown option %s", argv[i]);
        } else
            imgs[n++] = argv[i];
    }
    if (n < 2) {
        free(imgs);
        return fn_cli_fail("distance: give at least two images");
    }
    fn_err err = {0};
    fn_encoder enc = {0};
    float *emb = NULL;
    int rc = FN_EXIT_ERROR;
    if (fn_cli_open_encoder(&m, &enc, &err) || !(emb = malloc(sizeof(float) * (size_t)n * enc.dim)) ||
        fn_encoder_encode_files(&enc, (const char *const *)imgs, NULL, n, emb, &err)) {
        fn_cli_fail_err(&err);
    } else {
        if (json) {
            printf("{\"images\": [");
            for (int i = 0; i < n; i++) {
                printf("%s", i ? ", " : "");
                fn_json_string(stdout, imgs[i]);
            }
            printf("], \"distances\": [");
        } else {
            printf("%-12s", "");
            for (int j = 0; j < n; j++) {
                const char *b = strrchr(imgs[j], '/');
                printf(" %10.10s", b ? b + 1 : imgs[j]);
            }
            printf("\n");
        }
        for (int i = 0; i < n; i++) {
            const char *b = strrchr(imgs[i], '/');
            if (json)
                printf("%s[", i ? ", " : "");
            else
                printf("%-12.12s", b ? b + 1 : imgs[i]);
            for (int j = 0; j < n; j++) {
                float d = fn_l2_distance(emb + (size_t)i * enc.dim, emb + (size_t)j * enc.dim, enc.dim);
                printf(json ? "%s%.9g" : "%s%10.4f", json ? (j ? ", " : "") : " ", (double)d);
            }
            printf(json ? "]" : "\n");
        }
        if (json)
            printf("]}\n");
        rc = FN_EXIT_OK;
    }
    free(emb);
    fn_encoder_close(&enc);
    free(imgs);
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
    fn_model_args m = {0};
    const char *pairs_path = NULL, *train_path = NULL, *root = NULL, *lm_path = NULL;
    double lm_scale = 1.0;
    int json = 0, batch = 16, folds = 10;
    for (int i = 1; i < argc; i++) {
        int r = fn_cli_model_opt(&m, argc, argv, &i);
        const char *v;
        if (r < 0)
            return FN_EXIT_ERROR;
        if (r)
            continue;
        if (!strcmp(argv[i], "--pairs")) {
            if (!(pairs_path = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--train-pairs")) {
            if (!(train_path = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--images")) {
            if (!(root = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--landmarks")) {
            if (!(lm_path = fn_cli_value(argc, argv, &i)))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--landmark-scale")) {
            if (!(v = fn_cli_value(argc, argv, &i)) || fn_cli_double("--landmark-scale", v, &lm_scale))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--batch")) {
            if (!(v = fn_cli_value(argc, argv, &i)) || fn_cli_int("--batch", v, 1, 4096, &batch))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--folds")) {
            if (!(v = fn_cli_value(argc, argv, &i)) || fn_cli_int("--folds", v, 2, 1000, &folds))
                return FN_EXIT_ERROR;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            return fn_cli_fail("evaluate: unknown argument %s", argv[i]);
        }
    }
    if (!pairs_path || !root)
        return fn_cli_fail("evaluate: usage: facenet evaluate --pairs PAIRS.txt --images DIR "
                           "[--landmarks F --landmark-scale S] [--train-pairs PAIRS.txt] [--json]");
    fn_err err = {0};
    fn_lfw_pairs test = {0}, train = {0};
    fn_encoder enc = {0};
    fn_landmarks lms = {0};
    char **uniq = NULL, **paths = NULL, **names = NULL;
    float *emb = NULL, *dist = NULL, *tdist = NULL;
    int *ok = NULL, *same = NULL, *tsame = NULL, *label = NULL;
    int rc = FN_EXIT_ERROR, nu = 0, n_ok = 0;
    if (fn_lfw_pairs_load(pairs_path, &test, &err) || (train_path && fn_lfw_pairs_load(train_path, &train, &err)) ||
        (lm_path && fn_landmarks_load(lm_path, lm_scale, &lms, &err)) || fn_cli_open_encoder(&m, &enc, &err)) {
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
    emb = malloc(sizeof(float) * (size_t)nu * enc.dim);
    ok = calloc((size_t)nu, sizeof *ok);
    if (!paths || !emb || !ok) {
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
    if (fn_cli_encode_paths(&enc, (const char *const *)paths, (const char *const *)uniq, nu, lm_path ? &lms : NULL,
                            lm_path, batch, emb, ok, &n_ok, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    /* distances: NaN where an image is missing */
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
            (*sames[s])[i] = p->pairs[i].same;
            (*dists[s])[i] = ok[a] && ok[b] ? fn_l2_distance(emb + (size_t)a * enc.dim, emb + (size_t)b * enc.dim, enc.dim)
                                            : NAN;
        }
    }
    fn_eval_result r;
    if (fn_eval_lfw(dist, same, test.n, folds, &r, &err)) {
        fn_cli_fail_err(&err);
        goto out;
    }
    double accuracy = r.acc_mean, acc_std = r.acc_std, thr = r.thr_mean;
    const char *protocol = "10-fold cross-validation on --pairs";
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
                if (!ok[u])
                    continue;
                ok[u] = 0; /* count each image once */
                memcpy(lemb + (size_t)nl * enc.dim, emb + (size_t)u * enc.dim, sizeof(float) * enc.dim);
                label[nl++] = person_label(names, &n_names, pp[q]);
            }
        }
        if (fn_mean_triplet_loss(lemb, label, nl, enc.dim, 0.2, &tl, &active, &n_trip, &err))
            tl = NAN;
    }
    free(lemb);
    if (json) {
        printf("{\"accuracy\": %.6f, \"accuracy_std\": %.6f, \"threshold\": %.6f, \"auc\": %.6f, "
               "\"tar_at_far_1e-3\": %.6f, \"pairs\": %d, \"skipped\": %d, \"triplet_loss\": ",
               accuracy, acc_std, thr, r.auc, r.tar, r.n_pairs, r.n_skipped);
        if (isfinite(tl))
            printf("%.6f", tl);
        else
            printf("null");
        printf(", \"triplets\": %lld, \"images\": %d, \"images_skipped\": %d, \"protocol\": \"%s\"}\n", n_trip, nu,
               nu - n_ok, protocol);
    } else {
        printf("pairs:            %d (%d skipped: image missing or unreadable)\n", r.n_pairs, r.n_skipped);
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
    free(emb);
    free(ok);
    free(dist);
    free(tdist);
    free(same);
    free(tsame);
    fn_landmarks_free(&lms);
    fn_encoder_close(&enc);
    fn_lfw_pairs_free(&test);
    fn_lfw_pairs_free(&train);
    return rc;
}
