/* eval.c - LFW pairs files and verification metrics (see eval.h). */
#include "app/eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/match.h"
#include "core/file.h"

#define PAIRS_MAX_BYTES (64L << 20)
#define PAIRS_MAX_PER_SET 1000000
#define PAIRS_MAX_SETS 1000
#define IMAGE_MAX 9999 /* name_%04d.jpg */

/* ---- pairs files ---------------------------------------------------------- */

void fn_lfw_pairs_free(fn_lfw_pairs *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        free(p->pairs[i].path_a);
        free(p->pairs[i].path_b);
    }
    free(p->pairs);
    memset(p, 0, sizeof *p);
}

static int read_all(const char *path, char **out, size_t *len, fn_err *err)
{
    /* a FIFO or device would block or never end: refused before reading */
    int fd = fn_open_regular(path, err);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return fn_fail(err, FN_E_IO, "%s: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)PAIRS_MAX_BYTES) {
                free(buf);
                fclose(f);
                return fn_fail(err, FN_E_FORMAT, "%s: larger than %ld bytes, not a pairs file",
                               path, PAIRS_MAX_BYTES);
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return fn_fail(err, FN_E_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Split a line (NUL-terminated, modified in place) on spaces and tabs.
 * Returns the number of fields; stores at most max of them. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return n;
        if (n < max)
            f[n] = p;
        n++;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

/* Strict positive decimal integer in [1, max]; -1 otherwise. */
static long parse_count(const char *s, long max)
{
    if (!*s)
        return -1;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
    }
    return v >= 1 ? v : -1;
}

static int check_pair_name(const char *file, int line, const char *name, fn_err *err)
{
    if (name[0] == '.')
        return fn_fail(err, FN_E_FORMAT, "%s:%d: name '%s' starts with '.'", file, line, name);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return fn_fail(err, FN_E_FORMAT,
                           "%s:%d: name '%s' contains a path separator or control character",
                           file, line, name);
    return 0;
}

static char *image_path(const char *name, long idx)
{
    size_t len = 2 * strlen(name) + 16;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%s_%04ld.jpg", name, name, idx);
    return s;
}

/* Next line from *pos: returns it NUL-terminated (without \r\n), NULL at end. */
static char *next_line(char *buf, size_t len, size_t *pos)
{
    if (*pos >= len)
        return NULL;
    char *start = buf + *pos;
    char *nl = memchr(start, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - start) : len - *pos;
    *pos += l + (nl ? 1 : 0);
    start[l] = '\0';
    if (l > 0 && start[l - 1] == '\r')
        start[l - 1] = '\0';
    return start;
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

int fn_lfw_pairs_load(const char *path, fn_lfw_pairs *out, fn_err *err)
{
    if (!out || !path)
        return fn_fail(err, FN_E_ARG, "pairs file: bad arguments");
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0, pos = 0;
    if (read_all(path, &buf, &len, err))
        return -1;
    if (memchr(buf, '\0', len)) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s: contains NUL bytes, not a pairs file", path);
    }
    int lineno = 1;
    char *line = next_line(buf, len, &pos);
    char *f[5];
    int nf = line ? split_fields(line, f, 5) : 0;
    long sets = 1, per = -1;
    if (nf == 1) {
        per = parse_count(f[0], PAIRS_MAX_PER_SET);
    } else if (nf == 2) {
        sets = parse_count(f[0], PAIRS_MAX_SETS);
        per = parse_count(f[1], PAIRS_MAX_PER_SET);
    }
    if (nf < 1 || nf > 2 || sets < 1 || per < 1) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT,
                       "%s:1: expected a header 'N' or 'sets N' (positive numbers)", path);
    }
    const long total = sets * per * 2; /* <= 2e9 by the limits above */
    if (total > 0x7fffffffL) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s:1: %ld pairs are too many", path, total);
    }
    /* Each pair needs a line of at least "a 1 2\n": refuse a header that
     * promises more than the file can hold before allocating for it. */
    if ((size_t)total > len / 6) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s:1: header announces %ld pairs but the file has "
                       "only %zu bytes", path, total, len);
    }
    out->pairs = calloc((size_t)total, sizeof *out->pairs);
    if (!out->pairs) {
        free(buf);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory for %ld pairs", path, total);
    }
    out->n_sets = (int)sets;
    out->per_set = (int)per;
    while (out->n < total) {
        line = next_line(buf, len, &pos);
        lineno++;
        if (!line) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: file ends after %d of the %ld pairs its header "
                    "announces", path, lineno, out->n, total);
            goto fail;
        }
        if (is_blank(line))
            continue;
        const int same = out->n % (2 * per) < per;
        nf = split_fields(line, f, 5);
        if (nf != (same ? 3 : 4)) {
            fn_fail(err, FN_E_FORMAT,
                    "%s:%d: pair %d should be a %s pair '%s', got %d fields", path, lineno,
                    out->n + 1, same ? "same-person" : "different-person",
                    same ? "name i j" : "name1 i name2 j", nf);
            goto fail;
        }
        const char *na = f[0], *nb = same ? f[0] : f[2];
        long ia = parse_count(f[1], IMAGE_MAX), ib = parse_count(f[same ? 2 : 3], IMAGE_MAX);
        if (ia < 0 || ib < 0) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: image numbers must be integers 1..%d", path,
                    lineno, IMAGE_MAX);
            goto fail;
        }
        if (check_pair_name(path, lineno, na, err) || check_pair_name(path, lineno, nb, err))
            goto fail;
        if (same && ia == ib) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: same-person pair uses image %ld twice", path,
                    lineno, ia);
            goto fail;
        }
        if (!same && strcmp(na, nb) == 0) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: different-person pair names '%s' twice", path,
                    lineno, na);
            goto fail;
        }
        fn_lfw_pair *p = &out->pairs[out->n];
        p->same = same;
        p->path_a = image_path(na, ia);
        p->path_b = image_path(nb, ib);
        out->n++; /* counted now so that free releases the paths */
        if (!p->path_a || !p->path_b) {
            fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    while ((line = next_line(buf, len, &pos)) != NULL) {
        lineno++;
        if (!is_blank(line)) {
            fn_fail(err, FN_E_FORMAT, "%s:%d: extra line after the %ld pairs the header "
                    "announces", path, lineno, total);
            goto fail;
        }
    }
    free(buf);
    return 0;
fail:
    free(buf);
    fn_lfw_pairs_free(out);
    return -1;
}

/* ---- metrics --------------------------------------------------------------- */

typedef struct {
    float d;
    int same;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    return (x->d > y->d) - (x->d < y->d);
}

/* The usable pairs of index range [0,n) minus [skip0, skip1), sorted by
 * distance. *s is NULL when m == 0. */
static int collect(const float *dist, const int *same, int n, int skip0, int skip1,
                   scored **s, int *m, int *npos, int *nneg, fn_err *err)
{
    *s = NULL;
    *m = *npos = *nneg = 0;
    if (n <= 0)
        return 0;
    scored *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return fn_fail(err, FN_E_NOMEM, "evaluation: out of memory for %d pairs", n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if ((i >= skip0 && i < skip1) || isnan(dist[i]))
            continue;
        v[k].d = dist[i];
        v[k].same = same[i] != 0;
        if (v[k].same)
            (*npos)++;
        else
            (*nneg)++;
        k++;
    }
    qsort(v, (size_t)k, sizeof *v, cmp_scored);
    if (k == 0) {
        free(v);
        v = NULL;
    }
    *s = v;
    *m = k;
    return 0;
}

static void best_on_sorted(const scored *s, int m, int nneg, double *thr, double *acc)
{
    long best_correct = nneg, tp = 0, fp = 0; /* k = 0: everything "different" */
    int best_k = 0;
    for (int k = 1; k <= m; k++) {
        if (s[k - 1].same)
            tp++;
        else
            fp++;
        if (k < m && s[k].d == s[k - 1].d)
            continue; /* no threshold separates equal distances */
        long correct = tp + (nneg - fp);
        if (correct > best_correct) {
            best_correct = correct;
            best_k = k;
        }
    }
    if (best_k == 0)
        *thr = s[0].d;
    else if (best_k == m)
        *thr = nextafter((double)s[m - 1].d, INFINITY);
    else
        *thr = ((double)s[best_k - 1].d + (double)s[best_k].d) / 2;
    *acc = (double)best_correct / m;
}

double fn_eval_accuracy(const float *dist, const int *same, int n, double thr)
{
    long used = 0, correct = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(dist[i]))
            continue;
        used++;
        correct += ((double)dist[i] < thr) == (same[i] != 0);
    }
    return used ? (double)correct / used : NAN;
}

static int check_args(const float *dist, const int *same, int n, const char *what,
                      fn_err *err)
{
    if (n < 0 || (n > 0 && (!dist || !same)))
        return fn_fail(err, FN_E_ARG, "%s: bad arguments (n=%d)", what, n);
    return 0;
}

int fn_eval_best_threshold(const float *dist, const int *same, int n, double *thr,
                           double *acc, fn_err *err)
{
    if (check_args(dist, same, n, "best threshold", err) || !thr || !acc)
        return fn_fail(err, FN_E_ARG, "best threshold: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect(dist, same, n, 0, 0, &s, &m, &np, &nn, err))
        return -1;
    if (m == 0)
        return fn_fail(err, FN_E_ARG, "best threshold: no scored pairs among %d", n);
    best_on_sorted(s, m, nn, thr, acc);
    free(s);
    return 0;
}

int fn_eval_kfold(const float *dist, const int *same, int n, int k, double *acc_mean,
                  double *acc_std, double *thr_mean, int *folds_used, fn_err *err)
{
    if (check_args(dist, same, n, "k-fold", err) || !acc_mean || !acc_std || !thr_mean)
        return fn_fail(err, FN_E_ARG, "k-fold: bad arguments");
    if (k < 2 || k > n)
        return fn_fail(err, FN_E_ARG, "k-fold: %d folds for %d pairs", k, n);
    double *accs = malloc((size_t)k * sizeof *accs);
    if (!accs)
        return fn_fail(err, FN_E_NOMEM, "k-fold: out of memory");
    double thr_sum = 0.0;
    int used = 0, start = 0;
    for (int f = 0; f < k; f++) {
        const int size = n / k + (f < n % k ? 1 : 0);
        const int end = start + size;
        scored *s;
        int m, np, nn;
        if (collect(dist, same, n, start, end, &s, &m, &np, &nn, err)) {
            free(accs);
            return -1;
        }
        int test_used = 0;
        for (int i = start; i < end; i++)
            test_used += !isnan(dist[i]);
        double thr, train_acc;
        if (m > 0 && test_used > 0) {
            best_on_sorted(s, m, nn, &thr, &train_acc);
            accs[used++] = fn_eval_accuracy(dist + start, same + start, size, thr);
            thr_sum += thr;
        }
        free(s);
        start = end;
    }
    if (used == 0) {
        free(accs);
        return fn_fail(err, FN_E_ARG, "k-fold: no fold has scored pairs on both sides");
    }
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < used; i++)
        mean += accs[i];
    mean /= used;
    for (int i = 0; i < used; i++)
        var += (accs[i] - mean) * (accs[i] - mean);
    free(accs);
    *acc_mean = mean;
    *acc_std = sqrt(var / used);
    *thr_mean = thr_sum / used;
    if (folds_used)
        *folds_used = used;
    return 0;
}

/* collect() all pairs, requiring at least one same and one different pair. */
static int collect_both(const float *dist, const int *same, int n, const char *what, scored **s, int *m,
                        int *np, int *nn, fn_err *err)
{
    if (collect(dist, same, n, 0, 0, s, m, np, nn, err))
        return -1;
    if (*np == 0 || *nn == 0) {
        free(*s);
        *s = NULL;
        return fn_fail(err, FN_E_ARG, "%s: needs both same and different pairs (%d and %d)", what, *np, *nn);
    }
    return 0;
}

int fn_eval_auc(const float *dist, const int *same, int n, double *auc, fn_err *err)
{
    if (check_args(dist, same, n, "AUC", err) || !auc)
        return fn_fail(err, FN_E_ARG, "AUC: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect_both(dist, same, n, "AUC", &s, &m, &np, &nn, err))
        return -1;
    /* Walk groups of equal distance: each same pair beats every different
     * pair farther away and ties with those in its group. */
    double wins = 0.0;
    long neg_after = nn;
    for (int i = 0; i < m;) {
        int j = i;
        long p = 0, q = 0;
        while (j < m && s[j].d == s[i].d) {
            if (s[j].same)
                p++;
            else
                q++;
            j++;
        }
        neg_after -= q;
        wins += (double)p * ((double)neg_after + 0.5 * (double)q);
        i = j;
    }
    free(s);
    *auc = wins / ((double)np * (double)nn);
    return 0;
}

int fn_eval_tar_at_far(const float *dist, const int *same, int n, double far_target,
                       double *tar, double *far, double *thr, fn_err *err)
{
    if (check_args(dist, same, n, "TAR@FAR", err) || !tar || !far || !thr ||
        !(far_target >= 0.0 && far_target <= 1.0))
        return fn_fail(err, FN_E_ARG, "TAR@FAR: bad arguments");
    scored *s;
    int m, np, nn;
    if (collect_both(dist, same, n, "TAR@FAR", &s, &m, &np, &nn, err))
        return -1;
    /* Largest k with k / nn <= far_target, robust to rounding in the product. */
    long k = (long)floor(far_target * nn);
    while (k + 1 <= nn && (double)(k + 1) / nn <= far_target)
        k++;
    while (k > 0 && (double)k / nn > far_target)
        k--;
    double t = INFINITY;
    if (k < nn) {
        long seen = 0;
        for (int i = 0; i < m; i++)
            if (!s[i].same && seen++ == k) {
                t = s[i].d;
                break;
            }
    }
    long ta = 0, fa = 0;
    for (int i = 0; i < m; i++)
        if ((double)s[i].d < t) {
            if (s[i].same)
                ta++;
            else
                fa++;
        }
    free(s);
    *thr = t;
    *tar = (double)ta / np;
    *far = (double)fa / nn;
    return 0;
}

int fn_eval_lfw(const float *dist, const int *same, int n, int n_folds, fn_eval_result *r,
                fn_err *err)
{
    if (!r || check_args(dist, same, n, "LFW evaluation", err))
        return fn_fail(err, FN_E_ARG, "LFW evaluation: bad arguments");
    memset(r, 0, sizeof *r);
    r->n_pairs = n;
    for (int i = 0; i < n; i++) {
        if (isnan(dist[i]))
            r->n_skipped++;
        else if (same[i])
            r->n_same++;
        else
            r->n_diff++;
    }
    r->n_used = n - r->n_skipped;
    r->n_folds = n_folds;
    r->far_target = 1e-3;
    if (fn_eval_kfold(dist, same, n, n_folds, &r->acc_mean, &r->acc_std, &r->thr_mean,
                      &r->folds_used, err) ||
        fn_eval_best_threshold(dist, same, n, &r->best_thr, &r->best_acc, err) ||
        fn_eval_auc(dist, same, n, &r->auc, err) ||
        fn_eval_tar_at_far(dist, same, n, r->far_target, &r->tar, &r->far, &r->far_thr, err))
        return fn_wrap(err, "LFW evaluation: ");
    return 0;
}

/* ---- mean triplet loss ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fn_mean_triplet_loss(const float *emb, const int *label, int n, int d, double alpha,
                         double *mean, double *frac_active, long long *n_triplets,
                         fn_err *err)
{
    if (n < 0 || d < 1 || (n > 0 && (!emb || !label)) || !mean || isnan(alpha))
        return fn_fail(err, FN_E_ARG, "mean triplet loss: bad arguments (n=%d d=%d)", n, d);
    enum { BLOCK = 256, LINEAR_MAX_POS = 16 };
    const int rows = n < BLOCK ? n : BLOCK;
    size_t cells;
    if (fn_mul_size((size_t)rows, (size_t)n, &cells) ||
        fn_mul_size(cells, sizeof(float), &cells))
        return fn_fail(err, FN_E_NOMEM, "mean triplet loss: %d embeddings overflow", n);
    float *dist = malloc(cells ? cells : 1);
    double *neg = malloc(((size_t)n + 1) * sizeof *neg);
    double *prefix = malloc(((size_t)n + 1) * sizeof *prefix);
    if (!dist || !neg || !prefix) {
        free(dist);
        free(neg);
        free(prefix);
        return fn_fail(err, FN_E_NOMEM, "mean triplet loss: out of memory for %d embeddings",
                       n);
    }
    double sum = 0.0;
    long long count = 0, active = 0;
    for (int a0 = 0; a0 < n; a0 += BLOCK) {
        const int nb = n - a0 < BLOCK ? n - a0 : BLOCK;
        /* One gemm per block of anchors: nb x n squared distances. */
        if (fn_pairwise_sqdist(emb + (size_t)a0 * (size_t)d, nb, emb, n, d, dist, err)) {
            free(dist);
            free(neg);
            free(prefix);
            return fn_wrap(err, "mean triplet loss: ");
        }
        for (int r = 0; r < nb; r++) {
            const int a = a0 + r;
            const float *row = dist + (size_t)r * (size_t)n;
            int nneg = 0, npos = 0;
            for (int j = 0; j < n; j++) {
                if (label[j] != label[a])
                    neg[nneg++] = row[j];
                else if (j != a)
                    npos++;
            }
            if (nneg == 0 || npos == 0)
                continue;
            count += (long long)npos * nneg;
            if (npos <= LINEAR_MAX_POS) {
                /* Few positives (the usual case: a handful of images per
                 * person): a scan per positive beats sorting the negatives. */
                for (int p = 0; p < n; p++) {
                    if (p == a || label[p] != label[a])
                        continue;
                    const double x = (double)row[p] + alpha;
                    for (int j = 0; j < nneg; j++)
                        if (neg[j] < x) {
                            sum += x - neg[j];
                            active++;
                        }
                }
                continue;
            }
            qsort(neg, (size_t)nneg, sizeof *neg, cmp_double);
            prefix[0] = 0.0;
            for (int j = 0; j < nneg; j++)
                prefix[j + 1] = prefix[j] + neg[j];
            for (int p = 0; p < n; p++) {
                if (p == a || label[p] != label[a])
                    continue;
                /* Loss is positive exactly for negatives with d_an < d_ap + alpha;
                 * their sum is c (d_ap + alpha) - sum of those d_an. */
                const double x = (double)row[p] + alpha;
                int lo = 0, hi = nneg;
                while (lo < hi) {
                    int mid = lo + (hi - lo) / 2;
                    if (neg[mid] < x)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                sum += (double)lo * x - prefix[lo];
                active += lo;
            }
        }
    }
    free(dist);
    free(neg);
    free(prefix);
    *mean = count ? sum / (double)count : NAN;
    if (frac_active)
        *frac_active = count ? (double)active / (double)count : NAN;
    if (n_triplets)
        *n_triplets = count;
    return 0;
}
