/* triplet_examples.c - easy, semi-hard and hard triplets from real embeddings, with
 * their losses from the project's own triplet loss (app/triplet.c:fn_triplet_loss).
 * Not a timing: `make docs` runs it on the LFW embeddings written by `facenet encode
 * -o FILE.csv` and splices its Markdown table into docs/walkthrough.md.
 *
 *   triplet_examples EMB.csv [ALPHA]
 *
 * EMB.csv: `facenet encode` CSV rows (path, then the embedding). An image's person is
 * the folder it is in (LFW: Name/Name_0001.jpg). Over every triplet (anchor a,
 * positive p of the same person, negative n of another), with squared distances
 * d_ap and d_an as in the loss, FaceNet's three kinds:
 *   easy       d_an >= d_ap + alpha   loss 0, nothing to learn
 *   semi-hard  d_ap < d_an < d_ap + alpha   0 < loss < alpha
 *   hard       d_an <= d_ap            loss >= alpha: the negative is closer
 * For each kind it prints how many triplets there are and the one with the median
 * margin d_an - d_ap (ties: by position in the file), whose loss fn_triplet_loss recomputes from the
 * three embeddings; and the mean over all triplets beside fn_mean_triplet_loss's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/triplet.h"
#include "core/error.h"

typedef struct {
    char **path;
    float *emb;
    int *label;
    int n, dim;
} emb_set;

static int read_csv(const char *file, emb_set *s)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fprintf(stderr, "triplet_examples: %s: cannot open\n", file), -1;
    char *line = NULL, **names = NULL;
    size_t cap = 0;
    int n_names = 0, cap_rows = 0;
    memset(s, 0, sizeof *s);
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, "path,", 5)) /* the header row */
            continue;
        char *save = NULL, *tok = strtok_r(line, ",\n", &save);
        if (!tok)
            continue;
        if (s->n == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 1024;
            s->path = realloc(s->path, sizeof *s->path * (size_t)cap_rows);
            s->label = realloc(s->label, sizeof *s->label * (size_t)cap_rows);
            names = realloc(names, sizeof *names * (size_t)cap_rows);
            s->emb = realloc(s->emb, sizeof *s->emb * (size_t)cap_rows * 1024);
            if (!s->path || !s->label || !names || !s->emb)
                return fprintf(stderr, "triplet_examples: out of memory\n"), -1;
        }
        s->path[s->n] = strdup(tok);
        int d = 0;
        while ((tok = strtok_r(NULL, ",\n", &save)) && d < 1024)
            s->emb[(size_t)s->n * 1024 + d++] = strtof(tok, NULL);
        if (s->dim && d != s->dim)
            return fprintf(stderr, "triplet_examples: %s: row %d has %d values, not %d\n", file, s->n + 1, d, s->dim),
                   -1;
        s->dim = d;
        /* the person: the folder name */
        char *p = s->path[s->n], *slash = strrchr(p, '/');
        char *start = p;
        for (char *q = p; slash && q < slash; q++)
            if (*q == '/')
                start = q + 1;
        size_t len = slash ? (size_t)(slash - start) : strlen(p);
        int lab = -1;
        for (int i = 0; i < n_names && lab < 0; i++)
            if (strlen(names[i]) == len && !strncmp(names[i], start, len))
                lab = i;
        if (lab < 0)
            names[lab = n_names++] = strndup(start, len);
        s->label[s->n++] = lab;
    }
    free(line);
    fclose(f);
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    if (s->n < 3 || s->dim < 1)
        return fprintf(stderr, "triplet_examples: %s: too few embeddings\n", file), -1;
    for (int i = 0; i < s->n; i++) /* rows of dim values, packed */
        memmove(s->emb + (size_t)i * s->dim, s->emb + (size_t)i * 1024, sizeof(float) * (size_t)s->dim);
    return 0;
}

typedef struct {
    int a, p, n;
    double margin; /* d_an - d_ap: the loss is max(alpha - margin, 0) */
} trip;

#define CMP(x, y) (((x) > (y)) - ((x) < (y)))
static int cmp_trip(const void *x, const void *y)
{
    const trip *a = x, *b = y;
    int c = CMP(a->margin, b->margin);
    c = c ? c : CMP(a->a, b->a);
    c = c ? c : CMP(a->p, b->p);
    return c ? c : CMP(a->n, b->n);
}

static const char *short_path(const char *p)
{
    const char *s = p + strlen(p);
    int slashes = 0;
    while (s > p && slashes < 2)
        if (*--s == '/' && ++slashes == 2)
            s++;
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return fprintf(stderr, "usage: triplet_examples EMB.csv [ALPHA]\n"), 2;
    double alpha = argc == 3 ? atof(argv[2]) : 0.2;
    emb_set s;
    if (read_csv(argv[1], &s))
        return 2;
    int n = s.n, d = s.dim;
    double *sq = malloc(sizeof(double) * (size_t)n * n);
    if (!sq)
        return fprintf(stderr, "triplet_examples: out of memory\n"), 2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double t = 0;
            for (int k = 0; k < d; k++) {
                double x = (double)s.emb[(size_t)i * d + k] - s.emb[(size_t)j * d + k];
                t += x * x;
            }
            sq[(size_t)i * n + j] = t;
        }
    /* every triplet, by kind; the sample of each kind kept whole (memory: the count) */
    long long count[3] = {0, 0, 0}, total = 0;
    double sum = 0;
    trip *kind[3] = {NULL, NULL, NULL};
    size_t cap[3] = {0, 0, 0};
    for (int a = 0; a < n; a++)
        for (int p = 0; p < n; p++) {
            if (p == a || s.label[p] != s.label[a])
                continue;
            double dap = sq[(size_t)a * n + p];
            for (int ng = 0; ng < n; ng++) {
                if (s.label[ng] == s.label[a])
                    continue;
                double dan = sq[(size_t)a * n + ng], loss = fmax(dap - dan + alpha, 0);
                int k = dan >= dap + alpha ? 0 : dan > dap ? 1 : 2;
                sum += loss;
                total++;
                if ((size_t)count[k] == cap[k]) {
                    cap[k] = cap[k] ? 2 * cap[k] : 4096;
                    if (!(kind[k] = realloc(kind[k], sizeof(trip) * cap[k])))
                        return fprintf(stderr, "triplet_examples: out of memory\n"), 2;
                }
                kind[k][count[k]++] = (trip){a, p, ng, dan - dap};
            }
        }
    double mean_all, active;
    long long n_trip;
    fn_err err = {0};
    if (fn_mean_triplet_loss(s.emb, s.label, n, d, alpha, &mean_all, &active, &n_trip, &err))
        return fprintf(stderr, "triplet_examples: %s\n", err.msg), 2;
    static const char *names[3] = {"easy", "semi-hard", "hard"};
    printf("| kind | triplets | anchor | positive | negative | d(a,p)² | d(a,n)² | loss (α = %.2g) |\n", alpha);
    printf("| --- | ---: | --- | --- | --- | ---: | ---: | ---: |\n");
    for (int k = 0; k < 3; k++) {
        if (!count[k]) {
            printf("| %s | 0 | | | | | | |\n", names[k]);
            continue;
        }
        qsort(kind[k], (size_t)count[k], sizeof(trip), cmp_trip);
        trip t = kind[k][count[k] / 2];
        double loss;
        if (fn_triplet_loss(s.emb + (size_t)t.a * d, s.emb + (size_t)t.p * d, s.emb + (size_t)t.n * d, 1, d,
                            (float)alpha, &loss, NULL, NULL, NULL, &err))
            return fprintf(stderr, "triplet_examples: %s\n", err.msg), 2;
        printf("| %s | %lld (%.1f%%) | %s | %s | %s | %.4f | %.4f | %.4f |\n", names[k], count[k],
               100.0 * count[k] / total, short_path(s.path[t.a]), short_path(s.path[t.p]), short_path(s.path[t.n]),
               sq[(size_t)t.a * n + t.p], sq[(size_t)t.a * n + t.n], loss);
    }
    double len_min = INFINITY, len_max = 0, len_sum = 0;
    for (int i = 0; i < n; i++) {
        double l, t = 0;
        for (int k = 0; k < d; k++)
            t += (double)s.emb[(size_t)i * d + k] * s.emb[(size_t)i * d + k];
        l = sqrt(t);
        len_min = fmin(len_min, l), len_max = fmax(len_max, l), len_sum += l;
    }
    printf("\n%d images; %lld triplets; mean loss %.6f (fn_mean_triplet_loss: %.6f over %lld, "
           "%.1f%% with a positive loss). Embedding lengths ‖f(x)‖: %.3f to %.3f, mean %.3f.\n",
           n, total, sum / total, mean_all, n_trip, 100 * active, len_min, len_max, len_sum / n);
    for (int k = 0; k < 3; k++)
        free(kind[k]);
    for (int i = 0; i < n; i++)
        free(s.path[i]);
    free(s.path), free(s.label), free(s.emb), free(sq);
    return 0;
}
