/* cmd_merge.c - `facenet merge -o OUT SHARD...`: join the outputs of sharded encodes
 * (`encode --shard K/N`, one per job of a Slurm array or GNU parallel) into one file.
 *
 * Refused: shards of different models or dimensions, or without provenance (nothing to
 * check them by); the same image path in two shards (overlap); and, when the shards
 * say they are K/N of one list, a K given twice or missing (a gap: a job that failed).
 * Rows are put back in the order of the whole input list (each row's index), so the
 * merge of N shards equals one `encode` of the whole list. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "io/embeddings.h"

typedef struct {
    const char *path;
    long long index;
    int shard, row;
} row_ref;

static int by_path(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : x->shard - y->shard;
}

static int by_index(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->shard != y->shard ? x->shard - y->shard : x->row - y->row;
}

/* Shards' provenance must agree; with K/N on all, every K once. */
static int check_shards(const fn_emb_set *s, char *const *names, int n)
{
    const fn_emb_meta *m0 = &s[0].meta;
    int all_kn = 1;
    for (int i = 0; i < n; i++) {
        const fn_emb_meta *m = &s[i].meta;
        if (!s[i].has_meta || !m->model[0])
            return fn_cli_fail("merge: %s carries no model fingerprint (not written by facenet encode 0.2+); "
                               "cannot check it belongs with the others",
                               names[i]);
        if (strcmp(m->model, m0->model))
            return fn_cli_fail("merge: %s was made with model %.15s, %s with %.15s; refusing to mix models",
                               names[i], m->model, names[0], m0->model);
        if (s[i].n && s[0].n && s[i].dim != s[0].dim)
            return fn_cli_fail("merge: %s holds %d-d rows, %s %d-d", names[i], s[i].dim, names[0], s[0].dim);
        all_kn &= m->shard_n > 0;
    }
    if (!all_kn)
        return 0;
    const int N = m0->shard_n;
    char *seen = calloc((size_t)N, 1);
    if (!seen)
        return fn_cli_fail("out of memory");
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const fn_emb_meta *m = &s[i].meta;
        if (m->shard_n != N || m->total != m0->total)
            rc = fn_cli_fail("merge: %s is shard %d/%d of %lld images, %s is %d/%d of %lld: not one job", names[i],
                             m->shard_k, m->shard_n, m->total, names[0], m0->shard_k, N, m0->total);
        else if (m->shard_k < 0 || m->shard_k >= N)
            rc = fn_cli_fail("merge: %s: shard %d/%d is out of range", names[i], m->shard_k, N);
        else if (seen[m->shard_k]++)
            rc = fn_cli_fail("merge: shard %d/%d given twice (%s overlaps an earlier file)", m->shard_k, N, names[i]);
    }
    char missing[256] = "";
    int n_missing = 0;
    for (int k = 0; k < N && !rc; k++)
        if (!seen[k] && n_missing++ < 8) {
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%d/%d", l ? ", " : "", k, N);
        }
    if (!rc && n_missing)
        rc = fn_cli_fail("merge: %d of %d shards missing (%s%s): a job that did not finish? rerun it with "
                         "encode --shard K/N --resume",
                         n_missing, N, missing, n_missing > 8 ? ", ..." : "");
    free(seen);
    return rc;
}

int fn_cmd_merge(int argc, char **argv)
{
    fn_cli_args a;
    int pr = fn_cli_parse("merge", argc, argv, &a);
    if (pr) {
        fn_cli_args_free(&a);
        return pr > 0 ? FN_EXIT_OK : FN_EXIT_ERROR;
    }
    const char *out = fn_cli_str(&a, "output");
    int n = a.n_pos, rc = FN_EXIT_ERROR, total_rows = 0;
    fn_err err = {0};
    fn_emb_set *s = calloc((size_t)(n ? n : 1), sizeof *s);
    row_ref *r = NULL;
    const char **paths = NULL;
    long long *index = NULL;
    float *emb = NULL;
    if (!s) {
        fn_cli_fail("out of memory");
        goto out;
    }
    if (!out || n < 1) {
        fn_cli_fail("merge: usage: facenet merge -o OUT.npy|.csv|.h5 SHARD... (see facenet merge --help)");
        goto out;
    }
    if (fn_embeddings_check_writable(out, &err)) {
        fn_cli_fail("merge: %s", err.msg);
        goto out;
    }
    for (int i = 0; i < n; i++) /* every shard a file before any is read */
        if (fn_check_regular(a.pos[i], &err)) {
            fn_cli_fail_err(&err);
            goto out;
        }
    for (int i = 0; i < n; i++) {
        if (fn_read_embeddings(a.pos[i], 0, &s[i], &err)) {
            fn_cli_fail_err(&err);
            goto out;
        }
        if (total_rows > (1 << 30) - s[i].n) {
            fn_cli_fail("merge: too many rows");
            goto out;
        }
        total_rows += s[i].n;
    }
    if (check_shards(s, a.pos, n))
        goto out;
    int dim = 0, have_index = 1, faces = 0;
    for (int i = 0; i < n; i++) {
        dim = s[i].n ? s[i].dim : dim;
        have_index &= s[i].index != NULL;
        faces += s[i].faces6 != NULL;
    }
    if (faces && faces != n) {
        fn_cli_fail("merge: some shards hold detected faces (face, box, score per row) and some whole images "
                    "(--no-detect); merge shards made the same way");
        goto out;
    }
    size_t rows = (size_t)(total_rows ? total_rows : 1);
    r = malloc(sizeof *r * rows);
    paths = malloc(sizeof *paths * rows);
    index = malloc(sizeof *index * rows);
    emb = malloc(sizeof *emb * rows * (size_t)(dim ? dim : 1));
    float *faces6 = faces ? malloc(sizeof *faces6 * 6 * rows) : NULL;
    if (!r || !paths || !index || !emb || (faces && !faces6)) {
        free(faces6);
        fn_cli_fail("out of memory");
        goto out;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++, k++)
            r[k] = (row_ref){s[i].paths[j], have_index ? s[i].index[j] : k, i, j};
    /* overlap: one image path in two shards */
    qsort(r, (size_t)total_rows, sizeof *r, by_path);
    for (int i = 1; i < total_rows; i++) /* (one image's faces share a path within a shard) */
        if (!strcmp(r[i].path, r[i - 1].path) && r[i].shard != r[i - 1].shard) {
            fn_cli_fail("merge: %s is in both %s and %s: the shards overlap", r[i].path, a.pos[r[i - 1].shard],
                        a.pos[r[i].shard]);
            goto out;
        }
    qsort(r, (size_t)total_rows, sizeof *r, by_index);
    for (int i = 0; i < total_rows; i++) {
        const fn_emb_set *src = &s[r[i].shard];
        paths[i] = r[i].path;
        index[i] = have_index ? r[i].index : -1;
        memcpy(emb + (size_t)i * dim, src->emb + (size_t)r[i].row * dim, sizeof *emb * (size_t)dim);
        if (faces6)
            memcpy(faces6 + 6 * (size_t)i, src->faces6 + 6 * (size_t)r[i].row, 6 * sizeof *faces6);
    }
    fn_emb_meta m = s[0].meta;
    m.shard_k = m.shard_n = 0;
    int wrc = fn_write_embeddings_ex(out, paths, have_index ? index : NULL, faces6, total_rows, dim, emb, &m, &err);
    free(faces6);
    if (wrc) {
        fn_cli_fail_err(&err);
        goto out;
    }
    fprintf(stderr, "facenet: merged %d shard%s, %d rows -> %s\n", n, n == 1 ? "" : "s", total_rows, out);
    rc = FN_EXIT_OK;
out:
    for (int i = 0; s && i < n; i++)
        fn_emb_set_free(&s[i]);
    free(s);
    free(r);
    free(paths);
    free(index);
    free(emb);
    fn_cli_args_free(&a);
    return rc;
}
