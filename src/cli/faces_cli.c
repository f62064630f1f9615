/* faces_cli.c - the images of a command, as faces (see faces_cli.h). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/faces_cli.h"
#include "cli/prefetch.h"
#include "core/hash.h"

static int arg_has(const fn_cli_args *a, const char *name)
{
    for (const fn_cli_opt *o = a->cmd->opts; o->name; o++)
        if (!strcmp(o->name, name))
            return 1;
    return 0;
}

static int open_detector(const fn_cli_args *a, fn_face_source *s)
{
    const char *kind = arg_has(a, "detector") ? fn_cli_str(a, "detector") : NULL;
    const char *det_name = "ssd-mobilenetv1";
    if (kind && !strcmp(kind, "tiny"))
        det_name = "tiny-face-detector";
    else if (kind && strcmp(kind, "ssd"))
        return fn_cli_fail("--detector: '%s' is not ssd or tiny", kind);
    char det_dir[PATH_MAX], lm_dir[PATH_MAX];
    fn_err err = {0};
    if (fn_cli_find_model(det_name, det_dir, sizeof det_dir, &err) ||
        fn_cli_find_model("face-landmark-68", lm_dir, sizeof lm_dir, &err))
        return fn_cli_fail_err(&err);
    fn_faces_opts o;
    fn_faces_opts_default(&o, NULL);
    o.detector_dir = det_dir;
    o.landmarks_dir = lm_dir;
    o.min_score = arg_has(a, "min-score") ? fn_cli_get_double(a, "min-score", 0) : 0;
    o.threads = a->model.threads;
    o.sandbox = fn_cli_sandbox_default();
    if (o.min_score >= 1)
        return fn_cli_fail("--min-score: %g is not below 1", o.min_score);
    if (fn_faces_open(&s->det, &o, &err))
        return fn_cli_fail_err(&err);
    return 0;
}

int fn_face_source_open(const fn_cli_args *a, fn_pick pick, int batch, fn_face_source *s)
{
    memset(s, 0, sizeof *s);
    s->pick = pick;
    s->batch = batch > 0 ? batch : 16;
    s->chip = FN_CHIP_DEFAULT;
    if (arg_has(a, "largest") && fn_cli_flag(a, "largest") && (pick == FN_PICK_ALL || pick == FN_PICK_ONE))
        s->pick = FN_PICK_LARGEST;
    const char *chip = arg_has(a, "chip") ? fn_cli_str(a, "chip") : NULL;
    if (chip && !strcmp(chip, "faceapi"))
        s->chip = FN_CHIP_FACEAPI;
    else if (chip && strcmp(chip, "align"))
        return fn_cli_fail("--chip: '%s' is not align or faceapi", chip);
    s->save_chips = arg_has(a, "save-chips") ? fn_cli_str(a, "save-chips") : NULL;
    if (s->save_chips && fn_cli_out_dir(s->save_chips))
        return FN_EXIT_ERROR;
    fn_err err = {0};
    s->lm_path = arg_has(a, "landmarks") ? fn_cli_str(a, "landmarks") : NULL;
    if (s->lm_path) {
        double scale = fn_cli_get_double(a, "landmark-scale", 1.0);
        if (fn_cli_load_landmarks(&a->model, s->lm_path, scale, &s->lms, &err))
            return fn_cli_fail_err(&err);
        return 0; /* the landmarks say where the face is */
    }
    if (arg_has(a, "no-detect") && fn_cli_flag(a, "no-detect"))
        return 0;
    int rc = open_detector(a, s);
    if (rc)
        fn_face_source_close(s);
    return rc;
}

void fn_face_source_close(fn_face_source *s)
{
    fn_faces_close(s->det);
    fn_landmarks_free(&s->lms);
    memset(s, 0, sizeof *s);
}

void fn_cli_face_set_free(fn_cli_face_set *set)
{
    for (int i = 0; set->face && i < set->n; i++)
        free(set->face[i].landmarks);
    free(set->face);
    free(set->emb);
    free(set->raw);
    free(set->status);
    free(set->n_found);
    memset(set, 0, sizeof *set);
}

/* ------------------------------------------------------------------ the loop */

typedef struct {
    fn_face_source *s;
    fn_encoder *enc;
    fn_cli_face_set *set;
    size_t per;          /* floats per input */
    float *in, *out;     /* batch inputs, outputs */
    int *slot;           /* batch slot -> face index */
    int m;               /* filled slots */
    int want_raw, tty;
    fn_prefetch *pf;     /* decodes the photos ahead, in the order one_image takes them */
} loop;

static void progress(int done, int total, double t0)
{
    double el = fn_cli_now() - t0, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    int width = 30, fill = total ? (int)((double)done / total * width) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d/%d  %.1f img/s  ETA %dm%02ds ", bar, done, total, rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

/* Report one image's problem on its own line (after the progress bar). */
static void report(const loop *L, const char *note, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(const loop *L, const char *note, const char *fmt, ...)
{
    if (L->tty)
        fputc('\n', stderr);
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn_cli_fail("%s (%s)", msg, note);
}

/* Run the filled batch; copy each output to its face's row. */
static int flush(loop *L, fn_err *err)
{
    if (!L->m)
        return 0;
    fn_encoder *enc = L->enc;
    int l2 = enc->prof.l2_normalize;
    if (L->want_raw)
        enc->prof.l2_normalize = 0; /* apply it here, keeping the raw outputs */
    int rc = fn_encoder_run(enc, L->in, L->m, L->out, err);
    enc->prof.l2_normalize = l2;
    if (rc)
        return -1;
    int dim = enc->dim;
    for (int k = 0; k < L->m; k++) {
        float *e = L->set->emb + (size_t)L->slot[k] * dim;
        memcpy(e, L->out + (size_t)k * dim, sizeof(float) * dim);
        if (L->want_raw) {
            memcpy(L->set->raw + (size_t)L->slot[k] * dim, e, sizeof(float) * dim);
            if (l2)
                fn_l2_normalize(e, dim);
        }
    }
    L->m = 0;
    return 0;
}

/* A new face row (its embedding NaN until its batch runs); its input goes to the next
 * batch slot, which the caller fills. */
static fn_cli_face *add_face(loop *L, fn_err *err)
{
    fn_cli_face_set *set = L->set;
    if (set->n == set->cap) {
        int cap = set->cap ? 2 * set->cap : 64;
        fn_cli_face *f = realloc(set->face, sizeof *f * (size_t)cap);
        if (f)
            set->face = f;
        float *e = f ? realloc(set->emb, sizeof(float) * (size_t)cap * set->dim) : NULL;
        if (e)
            set->emb = e;
        float *r = e && L->want_raw ? realloc(set->raw, sizeof(float) * (size_t)cap * set->dim) : NULL;
        if (r)
            set->raw = r;
        if (!f || !e || (L->want_raw && !r)) {
            fn_fail(err, FN_E_NOMEM, "out of memory after %d faces", set->n);
            return NULL;
        }
        set->cap = cap;
    }
    fn_cli_face *f = &set->face[set->n];
    memset(f, 0, sizeof *f);
    for (int j = 0; j < set->dim; j++)
        set->emb[(size_t)set->n * set->dim + j] = NAN;
    return f;
}

void fn_cli_out_name(char *buf, size_t cap, const char *dir, const char *key, const char *suffix)
{
    char base[PATH_MAX];
    const char *slash = strrchr(key, '/');
    snprintf(base, sizeof base, "%s", key[0] == '/' || !strncmp(key, "../", 3) ? (slash ? slash + 1 : key) : key);
    for (char *p = base; *p; p++)
        if (*p == '/')
            *p = '_';
    char *dot = strrchr(base, '.');
    if (dot && dot != base)
        *dot = '\0';
    snprintf(buf, cap, "%s/%s%s.png", dir, base, suffix);
}

static int save_chip(const loop *L, const char *key, int face, const fn_image *chip, fn_err *err)
{
    char path[2 * PATH_MAX], sfx[24] = "";
    if (face >= 0)
        snprintf(sfx, sizeof sfx, "-%d", face);
    fn_cli_out_name(path, sizeof path, L->s->save_chips, key, sfx);
    return fn_image_save_png(path, chip, err);
}

/* The faces the pick rule takes from a detection list, into idx; returns how many, or
 * -1 for FN_PICK_ONE with several. */
static int pick_faces(const fn_face_source *s, const fn_face_list *fl, const fn_image *img, int *idx)
{
    switch (s->pick) {
    case FN_PICK_ONE:
        if (fl->n > 1)
            return -1;
        break;
    case FN_PICK_LARGEST:
        if (fl->n) {
            idx[0] = fn_faces_largest(fl);
            return 1;
        }
        return 0;
    case FN_PICK_CENTRAL:
        if (fl->n) {
            idx[0] = fn_faces_central(fl, img->w, img->h);
            return 1;
        }
        return 0;
    case FN_PICK_ALL:
        break;
    }
    for (int i = 0; i < fl->n; i++)
        idx[i] = i;
    return fl->n;
}

/* One image: decode, find the faces, queue their inputs.  -1 only for errors that stop
 * everything (memory, the network); an image's own problem sets its status. */
static int one_image(loop *L, int i, const char *path, const char *key, const char *note, int keep_lm,
                     fn_face_list *fl, fn_err *err)
{
    fn_face_source *s = L->s;
    fn_cli_face_set *set = L->set;
    fn_err e2 = {0};
    fn_image img = {0};
    int rc = 0, encoded = 0;
    set->status[i] = FN_IMG_UNREADABLE;
    if (fn_prefetch_take(L->pf, &img, &e2)) {
        report(L, note, "%s", e2.msg);
        goto done;
    }
    if (!s->det) { /* the image is the face: whole, or aligned from its landmarks */
        const double *lm = NULL;
        if (s->lm_path && !(lm = fn_cli_find_landmarks(&s->lms, key))) {
            report(L, note, "%s: no landmarks for it in %s", path, s->lm_path);
            goto done;
        }
        if (fn_encoder_prepare_image(L->enc, &img, lm, L->in + L->per * L->m, &e2)) {
            report(L, note, "%s: %s", path, e2.msg);
            goto done;
        }
        if (s->save_chips) {
            fn_image chip;
            int sr = fn_preprocess_chip(&L->enc->prof, &img, lm, &chip, &e2) || save_chip(L, key, -1, &chip, &e2);
            fn_image_free(&chip);
            if (sr) {
                report(L, note, "%s: chip not saved: %s", path, e2.msg);
                goto done;
            }
        }
        fn_cli_face *f = add_face(L, err);
        if (!f) {
            rc = -1;
            goto done;
        }
        *f = (fn_cli_face){.image = i, .face = -1, .n_faces = 1, .score = NAN,
                           .box = {0, 0, img.w, img.h}};
        L->slot[L->m++] = set->n++;
        encoded = 1;
        if (L->m == s->batch && flush(L, err))
            rc = -1;
        goto done;
    }
    if (fn_faces_detect(s->det, &img, path, fl, &e2)) {
        report(L, note, "%s", e2.msg);
        goto done;
    }
    set->n_found[i] = fl->n;
    if (fl->n == 0) {
        set->status[i] = FN_IMG_NO_FACE;
        report(L, note, "%s: no face found", path);
        goto done;
    }
    int *idx = malloc(sizeof(int) * (size_t)fl->n);
    if (!idx) {
        rc = fn_fail(err, FN_E_NOMEM, "%s: out of memory", path);
        goto done;
    }
    int k = pick_faces(s, fl, &img, idx);
    if (k < 0) {
        set->status[i] = FN_IMG_MANY;
        report(L, note, "%s: %d faces found, one expected (--largest takes the largest)", path, fl->n);
    }
    for (int q = 0; q < k && !rc; q++) {
        const fn_face *face = &fl->face[idx[q]];
        if (fn_faces_input(L->enc, &img, path, face, s->chip, L->in + L->per * L->m, &e2)) {
            report(L, note, "%s", e2.msg);
            continue;
        }
        if (s->save_chips) {
            fn_image chip = {0};
            int sr = fn_faces_chip(L->enc, &img, path, face, s->chip, &chip, &e2) ||
                     save_chip(L, key, idx[q], &chip, &e2);
            fn_image_free(&chip);
            if (sr) {
                report(L, note, "%s: chip not saved: %s", path, e2.msg);
                continue;
            }
        }
        fn_cli_face *f = add_face(L, err);
        if (!f || (keep_lm && !(f->landmarks = malloc(sizeof(float) * 136)))) {
            rc = f ? fn_fail(err, FN_E_NOMEM, "%s: out of memory", path) : -1;
            break;
        }
        f->image = i, f->face = idx[q], f->n_faces = fl->n, f->score = face->score, f->box = face->box;
        for (int j = 0; keep_lm && j < 136; j++)
            f->landmarks[j] = (float)face->landmarks[j];
        L->slot[L->m++] = set->n++;
        encoded++;
        if (L->m == s->batch && flush(L, err))
            rc = -1;
    }
    free(idx);
done:
    if (encoded)
        set->status[i] = FN_IMG_OK;
    fn_image_free(&img);
    return rc;
}

/* An open-addressing table of indices keyed by the path's hash (a list of a million
 * photos is one pass, not a million squared comparisons). */
int fn_cli_first_occurrences(const char *const *paths, int n, int *first)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    int *table = malloc(sizeof(int) * cap);
    if (!table)
        return -1;
    for (size_t k = 0; k < cap; k++)
        table[k] = -1;
    for (int i = 0; i < n; i++) {
        fn_hash h;
        fn_hash_init(&h);
        fn_hash_update(&h, paths[i], strlen(paths[i]));
        size_t k = (size_t)h.a & (cap - 1);
        first[i] = -1;
        for (; table[k] >= 0; k = (k + 1) & (cap - 1))
            if (!strcmp(paths[table[k]], paths[i])) {
                first[i] = table[k];
                break;
            }
        if (first[i] < 0)
            table[k] = i;
    }
    free(table);
    return 0;
}

int fn_cli_encode_faces(fn_face_source *s, fn_encoder *enc, const char *const *paths, const char *const *keys,
                        int n, const char *note, int want_raw, int keep_landmarks, fn_cli_face_set *set,
                        fn_err *err)
{
    memset(set, 0, sizeof *set);
    set->dim = enc->dim;
    set->n_images = n;
    loop L = {.s = s, .enc = enc, .set = set, .per = fn_encoder_input_floats(enc), .want_raw = want_raw,
              .tty = isatty(2) && n > 1};
    L.in = malloc(sizeof(float) * L.per * (size_t)s->batch);
    L.out = malloc(sizeof(float) * (size_t)enc->dim * s->batch);
    L.slot = malloc(sizeof(int) * (size_t)s->batch);
    set->status = malloc((size_t)(n ? n : 1));
    set->n_found = calloc((size_t)(n ? n : 1), sizeof(int));
    fn_face_list fl = {0};
    int rc = 0;
    /* the same path again is encoded again (its faces are rows of their own), but a
     * failure is reported once: first[i] is its first occurrence, or -1 */
    int *first = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!L.in || !L.out || !L.slot || !set->status || !set->n_found || !first || fn_cli_first_occurrences(paths, n, first) ||
        !(L.pf = fn_prefetch_start(paths, n, enc->max_pixels, 2)))
        rc = fn_fail(err, FN_E_NOMEM, "out of memory");
    /* detection and recognition take turns: the detector's nets use the encoder's workers
     * (both were opened with the command's --threads) */
    if (!rc && s->det)
        rc = fn_faces_share_threads(s->det, enc->net, err);
    double t0 = fn_cli_now();
    for (int i = 0; i < n && !rc; i++) {
        if (first[i] >= 0 && set->status[first[i]] != FN_IMG_OK) {
            fn_image skip; /* decoded ahead all the same */
            fn_err e2;
            if (!fn_prefetch_take(L.pf, &skip, &e2))
                fn_image_free(&skip);
            set->status[i] = set->status[first[i]];
            set->n_found[i] = set->n_found[first[i]];
        } else {
            rc = one_image(&L, i, paths[i], keys ? keys[i] : paths[i], note, keep_landmarks, &fl, err);
        }
        if (L.tty)
            progress(i + 1, n, t0);
    }
    if (!rc)
        rc = flush(&L, err);
    if (L.tty)
        fputc('\n', stderr);
    for (int i = 0; i < n && set->status; i++) {
        set->n_ok += set->status[i] == FN_IMG_OK;
        set->n_unreadable += set->status[i] == FN_IMG_UNREADABLE;
        set->n_no_face += set->status[i] == FN_IMG_NO_FACE;
        set->n_many += set->status[i] == FN_IMG_MANY;
    }
    fn_prefetch_stop(L.pf);
    fn_face_list_free(&fl);
    free(first);
    free(L.in);
    free(L.out);
    free(L.slot);
    return rc;
}

int fn_cli_face_set_append(fn_cli_face_set *dst, fn_cli_face_set *src, int offset, fn_err *err)
{
    int n_img = offset + src->n_images, n = dst->n + src->n;
    if (!dst->dim)
        dst->dim = src->dim;
    unsigned char *st = realloc(dst->status, (size_t)(n_img ? n_img : 1));
    if (st)
        dst->status = st;
    int *nf = st ? realloc(dst->n_found, sizeof(int) * (size_t)(n_img ? n_img : 1)) : NULL;
    if (nf)
        dst->n_found = nf;
    fn_cli_face *f = nf ? realloc(dst->face, sizeof *f * (size_t)(n ? n : 1)) : NULL;
    if (f)
        dst->face = f;
    float *e = f ? realloc(dst->emb, sizeof(float) * (size_t)(n ? n : 1) * dst->dim) : NULL;
    if (e)
        dst->emb = e;
    float *r = e && src->raw ? realloc(dst->raw, sizeof(float) * (size_t)(n ? n : 1) * dst->dim) : NULL;
    if (r)
        dst->raw = r;
    if (!e || (src->raw && !r))
        return fn_fail(err, FN_E_NOMEM, "out of memory after %d faces", dst->n);
    if (src->n_images) {
        memcpy(dst->status + offset, src->status, (size_t)src->n_images);
        memcpy(dst->n_found + offset, src->n_found, sizeof(int) * (size_t)src->n_images);
    }
    for (int i = 0; i < src->n; i++) {
        dst->face[dst->n + i] = src->face[i];
        dst->face[dst->n + i].image += offset;
        src->face[i].landmarks = NULL; /* moved */
    }
    if (src->n) /* (no memcpy from a NULL array, even of 0 bytes) */
        memcpy(dst->emb + (size_t)dst->n * dst->dim, src->emb, sizeof(float) * (size_t)src->n * dst->dim);
    if (src->n && src->raw)
        memcpy(dst->raw + (size_t)dst->n * dst->dim, src->raw, sizeof(float) * (size_t)src->n * dst->dim);
    dst->n = dst->cap = n;
    dst->n_images = n_img;
    dst->n_ok += src->n_ok, dst->n_unreadable += src->n_unreadable;
    dst->n_no_face += src->n_no_face, dst->n_many += src->n_many;
    return 0;
}

int fn_cli_encode_each(fn_face_source *s, fn_encoder *enc, const char *const *paths, const char *const *keys, int n,
                       const char *note, float *emb, int *ok, int *n_ok, fn_err *err)
{
    if (s->pick == FN_PICK_ALL)
        return fn_fail(err, FN_E_ARG, "fn_cli_encode_each: the pick rule must give one face an image");
    fn_cli_face_set set;
    if (fn_cli_encode_faces(s, enc, paths, keys, n, note, 0, 0, &set, err)) {
        fn_cli_face_set_free(&set);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        ok[i] = 0;
        for (int j = 0; j < enc->dim; j++)
            emb[(size_t)i * enc->dim + j] = NAN;
    }
    for (int r = 0; r < set.n; r++) {
        int i = set.face[r].image;
        memcpy(emb + (size_t)i * enc->dim, set.emb + (size_t)r * enc->dim, sizeof(float) * enc->dim);
        ok[i] = 1;
    }
    *n_ok = set.n;
    fn_cli_face_set_free(&set);
    return 0;
}

const char *fn_cli_face_label(const fn_cli_face_set *set, const char *const *paths, int i, char *buf, size_t cap)
{
    const fn_cli_face *f = &set->face[i];
    if (f->face < 0 || f->n_faces <= 1)
        snprintf(buf, cap, "%s", paths[f->image]);
    else
        snprintf(buf, cap, "%s#%d", paths[f->image], f->face);
    return buf;
}

void fn_cli_face_json(cJSON *obj, const fn_cli_face *f)
{
    if (f->face < 0)
        return;
    cJSON_AddNumberToObject(obj, "face", f->face);
    cJSON_AddNumberToObject(obj, "score", fn_json_float_value((float)f->score));
    float box[4] = {(float)f->box.x, (float)f->box.y, (float)f->box.width, (float)f->box.height};
    cJSON_AddItemToObject(obj, "box", fn_json_floats(box, 4));
    if (f->landmarks) {
        cJSON *pts = cJSON_CreateArray();
        for (int j = 0; pts && j < 68; j++)
            cJSON_AddItemToArray(pts, fn_json_floats(f->landmarks + 2 * j, 2));
        cJSON_AddItemToObject(obj, "landmarks", pts);
    }
}

cJSON *fn_cli_image_status_json(const char *path, fn_img_status st, int n_found)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "image", fn_json_str(path));
    if (st == FN_IMG_NO_FACE || st == FN_IMG_MANY)
        cJSON_AddNumberToObject(j, "faces", n_found);
    cJSON_AddStringToObject(j, "error", st == FN_IMG_NO_FACE ? "no face found"
                                        : st == FN_IMG_MANY  ? "several faces, one expected"
                                                             : "unreadable");
    return j;
}
