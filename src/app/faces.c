/* faces.c - the face detector object of faces.h: opening the detector and landmark
 * folders (detector.json), running the nets through the public engine API and
 * app/detect.h's face-api post-processing, the small-photo pass, and picking a face.
 * The recognition chips are in faces_chip.c. */
#include "app/faces.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/file.h"
#include "facenet.h"

#define MAX_JSON_BYTES ((size_t)1 << 20)
#define PATH_CAP 4096

struct fn_faces {
    fn_detector_kind kind;
    fn_faces_opts opts;
    fn_net *det_net, *lm_net;
    fn_det_input_params det_in, lm_in;
    int det_out[2];             /* SSD: box encodings, class logits; tiny: grid, unused */
    int lm_out;
    fn_ssd_params ssd;
    fn_tiny_params tiny;
    size_t n_anchors;           /* SSD */
    int grid;                   /* tiny */
    float *anchors, *boxes, *scores; /* SSD: [n,4], [n,4], [n] */
    fn_detection *cands;        /* tiny: grid^2 * anchors */
    int *keep;
    fn_detection *dets;         /* detections of one pass */
    int dets_cap, ndets;
    float *det_tensor, *lm_tensor;
};

void fn_faces_opts_default(fn_faces_opts *o, const char *root)
{
    static char det[PATH_CAP], lm[PATH_CAP];
    snprintf(det, sizeof det, "%s/ssd-mobilenetv1", root ? root : "weights");
    snprintf(lm, sizeof lm, "%s/face-landmark-68", root ? root : "weights");
    memset(o, 0, sizeof *o);
    o->detector_dir = det;
    o->landmarks_dir = lm;
    o->small_side = 300;
    o->small_canvas[0] = 2.0;
    o->small_canvas[1] = 2.5;
    o->small_canvas[2] = 3.0;
    o->small_canvas[3] = 1.5;
    o->small_always = 1;
}

fn_detector_kind fn_faces_kind(const fn_faces *det)
{
    return det->kind;
}

static const char *join(char *buf, const char *dir, const char *file)
{
    snprintf(buf, PATH_CAP, "%s/%s", dir, file);
    return buf;
}

static cJSON *read_json(const char *path, fn_err *err)
{
    char *text;
    size_t len;
    if (fn_read_file(path, MAX_JSON_BYTES, &text, &len, err))
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j)
        fn_fail(err, FN_E_FORMAT, "%s: not valid JSON", path);
    return j;
}

/* A number field; absent: *v unchanged.  Wrong type or out of [lo, hi]: error. */
static int json_num(const cJSON *o, const char *key, double lo, double hi, double *v,
                    const char *path, fn_err *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return 0;
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi))
        return fn_fail(err, FN_E_FORMAT, "%s: \"%s\" must be a number in [%g, %g]", path, key, lo,
                       hi);
    *v = it->valuedouble;
    return 0;
}

static int load_net(const char *dir, const fn_faces_opts *fo, fn_net **net, fn_err *err)
{
    char js[PATH_CAP], h5[PATH_CAP];
    fn_load_opts o = {.model_json = join(js, dir, "model.json"),
                      .weights = join(h5, dir, "model.h5"),
                      .sandbox = fo->sandbox,
                      .threads = fo->threads};
    return fn_net_load(&o, net, err);
}

/* Index of the output produced by the layer detector.json names for `role`. */
static int output_index(const fn_net *net, const cJSON *dj, const char *role, const char *path,
                        int *idx, fn_err *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dj, "outputs"), role);
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(o, "layer");
    if (!cJSON_IsString(layer))
        return fn_fail(err, FN_E_FORMAT, "%s: no outputs.%s.layer", path, role);
    for (int i = 0; i < fn_net_n_outputs(net); i++)
        if (!strcmp(fn_net_output_name(net, i), layer->valuestring)) {
            *idx = i;
            return 0;
        }
    return fn_fail(err, FN_E_FORMAT, "%s: the model has no output layer \"%s\" (%s)", path,
                   layer->valuestring, role);
}

/* Plan the net for one size x size x 3 input; out_count: the floats output idx gives. */
static int plan(fn_net *net, int size, int idx, size_t *out_count, const char *dir, fn_err *err)
{
    fn_shape s = {3, {size, size, 3, 0}};
    if (fn_net_plan(net, 1, &s, err))
        return fn_wrap(err, "%s: ", dir);
    fn_shape os;
    fn_net_output(net, idx, &os);
    *out_count = fn_shape_count(&os);
    return 0;
}

static int open_ssd(fn_faces *d, const cJSON *dj, const char *path, fn_err *err)
{
    const char *dir = d->opts.detector_dir;
    char buf[PATH_CAP];
    fn_ssd_default(&d->ssd);
    fn_det_input_ssd_default(&d->det_in);
    double v = d->ssd.iou_threshold, m = d->ssd.max_results, c = d->ssd.min_confidence;
    if (json_num(dj, "iou_threshold", 0, 1, &v, path, err) ||
        json_num(dj, "max_results", 1, 10000, &m, path, err) ||
        json_num(dj, "min_confidence", 0, 1, &c, path, err) ||
        output_index(d->det_net, dj, "box_encodings", path, &d->det_out[0], err) ||
        output_index(d->det_net, dj, "class_logits", path, &d->det_out[1], err))
        return -1;
    d->ssd.iou_threshold = v;
    d->ssd.max_results = (int)m;
    d->ssd.min_confidence = d->opts.min_score > 0 ? d->opts.min_score : c;
    size_t nb, nc;
    if (plan(d->det_net, d->det_in.size, d->det_out[0], &nb, dir, err) ||
        plan(d->det_net, d->det_in.size, d->det_out[1], &nc, dir, err))
        return -1;
    if (nb % 4 || nc != nb / 4 * 3)
        return fn_fail(err, FN_E_SHAPE, "%s: box encodings (%zu values) and class logits (%zu) "
                                        "are not [N,4] and [N,3]", dir, nb, nc);
    d->n_anchors = nb / 4;
    d->anchors = malloc(sizeof(float) * nb);
    d->boxes = malloc(sizeof(float) * nb);
    d->scores = malloc(sizeof(float) * d->n_anchors);
    d->dets_cap = d->ssd.max_results;
    if (!d->anchors || !d->boxes || !d->scores)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", dir);
    return fn_ssd_anchors_load(join(buf, dir, "anchors.f32"), d->n_anchors, d->anchors, err);
}

static int open_tiny(fn_faces *d, const cJSON *dj, const char *path, fn_err *err)
{
    fn_tiny_default(&d->tiny);
    fn_det_input_tiny_default(&d->det_in);
    double v = d->tiny.iou_threshold, s = d->tiny.score_threshold;
    if (json_num(dj, "iou_threshold", 0, 1, &v, path, err) ||
        json_num(dj, "score_threshold", 0, 1, &s, path, err) ||
        output_index(d->det_net, dj, "grid", path, &d->det_out[0], err))
        return -1;
    d->tiny.iou_threshold = v;
    d->tiny.score_threshold = d->opts.min_score > 0 ? d->opts.min_score : s;
    const cJSON *an = cJSON_GetObjectItemCaseSensitive(dj, "anchors");
    if (an) {
        int na = cJSON_GetArraySize(an);
        if (!cJSON_IsArray(an) || na < 1 || na > FN_TINY_MAX_ANCHORS)
            return fn_fail(err, FN_E_FORMAT, "%s: \"anchors\" must hold 1..%d [w, h] pairs", path,
                           FN_TINY_MAX_ANCHORS);
        for (int i = 0; i < na; i++) {
            const cJSON *p = cJSON_GetArrayItem(an, i);
            const cJSON *w = cJSON_GetArrayItem(p, 0), *h = cJSON_GetArrayItem(p, 1);
            if (cJSON_GetArraySize(p) != 2 || !cJSON_IsNumber(w) || !cJSON_IsNumber(h) ||
                !(w->valuedouble > 0 && w->valuedouble < 1e3) ||
                !(h->valuedouble > 0 && h->valuedouble < 1e3))
                return fn_fail(err, FN_E_FORMAT, "%s: anchor %d is not a positive [w, h] pair",
                               path, i);
            d->tiny.anchors[i][0] = w->valuedouble;
            d->tiny.anchors[i][1] = h->valuedouble;
        }
        d->tiny.num_anchors = na;
    }
    fn_shape s3 = {3, {d->det_in.size, d->det_in.size, 3, 0}}, os;
    if (fn_net_plan(d->det_net, 1, &s3, err))
        return fn_wrap(err, "%s: ", d->opts.detector_dir);
    fn_net_output(d->det_net, d->det_out[0], &os);
    if (os.rank != 3 || os.d[0] != os.d[1] || os.d[0] <= 0 ||
        os.d[2] != d->tiny.num_anchors * 5)
        return fn_fail(err, FN_E_SHAPE, "%s: the grid output is not [g, g, %d]",
                       d->opts.detector_dir, d->tiny.num_anchors * 5);
    d->grid = os.d[0];
    int cap = d->grid * d->grid * d->tiny.num_anchors;
    d->cands = malloc(sizeof *d->cands * (size_t)cap);
    d->keep = malloc(sizeof *d->keep * (size_t)cap);
    d->dets_cap = cap;
    if (!d->cands || !d->keep)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", d->opts.detector_dir);
    return 0;
}

static int open_landmarks(fn_faces *d, fn_err *err)
{
    const char *dir = d->opts.landmarks_dir;
    char path[PATH_CAP];
    join(path, dir, "detector.json");
    cJSON *dj = read_json(path, err);
    if (!dj)
        return -1;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(dj, "kind");
    double size = 112, points = 68;
    int rc = 0;
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "landmarks68"))
        rc = fn_fail(err, FN_E_UNSUPPORTED, "%s: \"kind\" is not \"landmarks68\"", path);
    else if (json_num(dj, "input_size", 112, 112, &size, path, err) ||
             json_num(dj, "points", 68, 68, &points, path, err) ||
             load_net(dir, &d->opts, &d->lm_net, err) ||
             output_index(d->lm_net, dj, "landmarks", path, &d->lm_out, err))
        rc = -1;
    cJSON_Delete(dj);
    if (rc)
        return -1;
    fn_det_input_landmarks_default(&d->lm_in);
    size_t n;
    if (plan(d->lm_net, d->lm_in.size, d->lm_out, &n, dir, err))
        return -1;
    if (n != 136)
        return fn_fail(err, FN_E_SHAPE, "%s: the landmark output has %zu values, not 136", dir, n);
    d->lm_tensor = malloc(sizeof(float) * 112 * 112 * 3);
    if (!d->lm_tensor)
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", dir);
    return 0;
}

int fn_faces_open(fn_faces **out, const fn_faces_opts *o, fn_err *err)
{
    *out = NULL;
    if (!o || !o->detector_dir || !o->landmarks_dir)
        return fn_fail(err, FN_E_ARG, "faces: no detector or landmark folder");
    for (int i = 0; i < FN_FACES_MAX_CANVAS && o->small_canvas[i] != 0; i++)
        if (!(o->small_canvas[i] > 1 && o->small_canvas[i] <= 8))
            return fn_fail(err, FN_E_ARG, "faces: small_canvas[%d] is %g, not in (1, 8]", i,
                           o->small_canvas[i]);
    if (o->small_side < 0 || !(o->min_score < 1))
        return fn_fail(err, FN_E_ARG, "faces: invalid options (small_side %d, min_score %g)",
                       o->small_side, o->min_score);
    fn_faces *d = calloc(1, sizeof *d);
    if (!d)
        return fn_fail(err, FN_E_NOMEM, "faces: out of memory");
    d->opts = *o;
    char path[PATH_CAP];
    join(path, o->detector_dir, "detector.json");
    cJSON *dj = read_json(path, err);
    int rc = dj ? 0 : -1;
    if (!rc) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(dj, "kind");
        const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
        if (!strcmp(k, "ssd"))
            d->kind = FN_DETECTOR_SSD;
        else if (!strcmp(k, "tiny_yolov2"))
            d->kind = FN_DETECTOR_TINY;
        else
            rc = fn_fail(err, FN_E_UNSUPPORTED, "%s: \"kind\" is \"%s\", not \"ssd\" or "
                                                "\"tiny_yolov2\"", path, k);
    }
    if (!rc)
        rc = load_net(o->detector_dir, o, &d->det_net, err);
    if (!rc)
        rc = d->kind == FN_DETECTOR_SSD ? open_ssd(d, dj, path, err) : open_tiny(d, dj, path, err);
    cJSON_Delete(dj);
    if (!rc)
        rc = open_landmarks(d, err);
    if (!rc) /* the two nets run one after the other: one set of workers */
        rc = fn_net_share_threads(d->lm_net, d->det_net, err);
    if (!rc) {
        size_t n = (size_t)d->det_in.size * d->det_in.size * 3;
        d->det_tensor = malloc(sizeof(float) * n);
        d->dets = malloc(sizeof *d->dets * (size_t)(d->dets_cap > 0 ? d->dets_cap : 1));
        if (!d->det_tensor || !d->dets)
            rc = fn_fail(err, FN_E_NOMEM, "faces: out of memory");
    }
    if (rc) {
        fn_faces_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

int fn_faces_share_threads(fn_faces *d, fn_net *net, fn_err *err)
{
    return fn_net_share_threads(d->det_net, net, err) || fn_net_share_threads(d->lm_net, net, err) ? -1 : 0;
}

void fn_faces_close(fn_faces *d)
{
    if (!d)
        return;
    fn_net_free(d->det_net);
    fn_net_free(d->lm_net);
    free(d->anchors);
    free(d->boxes);
    free(d->scores);
    free(d->cands);
    free(d->keep);
    free(d->dets);
    free(d->det_tensor);
    free(d->lm_tensor);
    free(d);
}

/* One detector pass on img: d->dets[0..ndets), image pixels, decreasing score. */
static int detect_pass(fn_faces *d, const fn_image *img, fn_err *err)
{
    d->ndets = 0;
    fn_shape s = {3, {d->det_in.size, d->det_in.size, 3, 0}};
    if (fn_det_input_tensor(img, NULL, &d->det_in, d->det_tensor, err) ||
        fn_net_run(d->det_net, d->det_tensor, 1, &s, err))
        return -1;
    if (d->kind == FN_DETECTOR_SSD)
        return fn_ssd_postprocess(fn_net_output(d->det_net, d->det_out[0], NULL),
                                  fn_net_output(d->det_net, d->det_out[1], NULL), d->anchors,
                                  d->n_anchors, img->w, img->h, &d->ssd, d->boxes, d->scores,
                                  d->dets, &d->ndets, err);
    return fn_tiny_postprocess(fn_net_output(d->det_net, d->det_out[0], NULL), d->grid, img->w,
                               img->h, &d->tiny, d->cands, d->keep, d->dets, &d->ndets, err);
}

static int list_reserve(fn_face_list *l, int n, fn_err *err)
{
    if (n <= l->cap)
        return 0;
    fn_face *f = realloc(l->face, sizeof *f * (size_t)n);
    if (!f)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    l->face = f;
    l->cap = n;
    return 0;
}

/* The 68 points of detection `det` of img into f (face-api's landmark step).  A
 * detection whose clipped box is empty is skipped (*ok = 0), as face-api drops it. */
static int landmarks(fn_faces *d, const fn_image *img, const fn_detection *det, fn_face *f,
                     int *ok, fn_err *err)
{
    fn_err skip = {0};
    *ok = 0;
    if (fn_landmark_crop(det, img->w, img->h, &f->landmark_crop, &skip))
        return 0;
    fn_shape s = {3, {d->lm_in.size, d->lm_in.size, 3, 0}};
    if (fn_det_input_tensor(img, &f->landmark_crop, &d->lm_in, d->lm_tensor, err) ||
        fn_net_run(d->lm_net, d->lm_tensor, 1, &s, err) ||
        fn_landmarks_decode(fn_net_output(d->lm_net, d->lm_out, NULL), &f->landmark_crop,
                            &det->box, d->lm_in.size, NULL, f->landmarks, err))
        return -1;
    f->score = det->score;
    f->box = det->box;
    *ok = 1;
    return 0;
}

static double box_iou(const fn_box *a, const fn_box *b)
{
    double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
    double x1 = fmin(a->x + a->width, b->x + b->width), y1 = fmin(a->y + a->height, b->y + b->height);
    double inter = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0;
    double u = a->width * a->height + b->width * b->height - inter;
    return u > 0 ? inter / u : 0;
}

/* A small-photo pass, run while no pass has found a face: img in the middle of a zero
 * canvas of side `factor` x its longer side; its detections, shifted back to img's
 * pixels, join dets unless they overlap one already there (IoU > the detector's NMS
 * threshold). */
static int small_pass(fn_faces *d, const fn_image *img, double factor, int pass, fn_detection *all,
                      int *from, int *nall, int cap, fn_err *err)
{
    int side = img->w > img->h ? img->w : img->h;
    int cs = (int)lround(side * factor);
    if (cs <= side)
        return 0;
    fn_image canvas = {0};
    if (fn_image_alloc(&canvas, cs, cs, err))
        return -1;
    int ox = (cs - img->w) / 2, oy = (cs - img->h) / 2;
    for (int y = 0; y < img->h; y++)
        memcpy(canvas.rgb + ((size_t)(y + oy) * cs + ox) * 3, img->rgb + (size_t)y * img->w * 3,
               (size_t)img->w * 3);
    int rc = detect_pass(d, &canvas, err);
    fn_image_free(&canvas);
    if (rc)
        return -1;
    double iou_thr = d->kind == FN_DETECTOR_SSD ? d->ssd.iou_threshold : d->tiny.iou_threshold;
    for (int k = 0; k < d->ndets && *nall < cap; k++) {
        fn_detection t = d->dets[k];
        t.box.x -= ox;
        t.box.y -= oy;
        int dup = 0;
        for (int j = 0; j < *nall && !dup; j++)
            dup = box_iou(&t.box, &all[j].box) > iou_thr;
        if (!dup) {
            from[*nall] = pass;
            all[(*nall)++] = t;
        }
    }
    return 0;
}

/* Stable sort by decreasing score, from[] alongside (insertion: a few dozen detections
 * at most). */
static void sort_by_score(fn_detection *v, int *from, int n)
{
    for (int i = 1; i < n; i++) {
        fn_detection t = v[i];
        int tf = from[i], j = i;
        for (; j > 0 && v[j - 1].score < t.score; j--)
            v[j] = v[j - 1], from[j] = from[j - 1];
        v[j] = t, from[j] = tf;
    }
}

int fn_faces_detect(fn_faces *d, const fn_image *img, const char *name, fn_face_list *faces,
                    fn_err *err)
{
    faces->n = 0;
    if (!name)
        name = "image";
    if (!img || !img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "%s: empty image", name);
    if (detect_pass(d, img, err))
        return fn_wrap(err, "%s: ", name);
    int side = img->w > img->h ? img->w : img->h, small = side < d->opts.small_side;
    int cap = d->ndets + (small ? d->dets_cap : 0);
    fn_detection *all = malloc(sizeof *all * (size_t)(cap > 0 ? cap : 1));
    int *from = calloc((size_t)(cap > 0 ? cap : 1), sizeof *from);
    if (!all || !from) {
        free(all), free(from);
        return fn_fail(err, FN_E_NOMEM, "%s: out of memory", name);
    }
    int nall = d->ndets, rc = 0;
    memcpy(all, d->dets, sizeof *all * (size_t)nall);
    /* the first canvas always when opts.small_always, then the next ones until a pass
     * has found a face */
    for (int i = 0; small && !rc && i < FN_FACES_MAX_CANVAS; i++) {
        if (d->opts.small_canvas[i] == 0 || (nall > 0 && !(i == 0 && d->opts.small_always)))
            break;
        rc = small_pass(d, img, d->opts.small_canvas[i], i + 1, all, from, &nall, cap, err);
        if (!rc)
            sort_by_score(all, from, nall);
    }
    if (!rc)
        rc = list_reserve(faces, nall, err);
    for (int k = 0; k < nall && !rc; k++) {
        int ok;
        rc = landmarks(d, img, &all[k], &faces->face[faces->n], &ok, err);
        faces->face[faces->n].pass = from[k];
        faces->n += ok && !rc;
    }
    free(all);
    free(from);
    if (rc) {
        faces->n = 0;
        return fn_wrap(err, "%s: ", name);
    }
    return 0;
}

int fn_faces_detect_file(fn_faces *det, const char *path, size_t max_pixels, fn_image *img,
                         fn_face_list *faces, fn_err *err)
{
    faces->n = 0;
    if (fn_image_load(path, max_pixels, img, err))
        return -1;
    return fn_faces_detect(det, img, path, faces, err);
}

void fn_face_list_free(fn_face_list *faces)
{
    free(faces->face);
    memset(faces, 0, sizeof *faces);
}

int fn_faces_central(const fn_face_list *faces, int img_w, int img_h)
{
    int best = -1;
    double bd = INFINITY;
    for (int i = 0; i < faces->n; i++) {
        const fn_box *b = &faces->face[i].box;
        double dx = b->x + b->width / 2 - img_w / 2.0, dy = b->y + b->height / 2 - img_h / 2.0;
        double dd = dx * dx + dy * dy;
        if (dd < bd)
            bd = dd, best = i;
    }
    return best;
}

int fn_faces_largest(const fn_face_list *faces)
{
    int best = -1;
    double ba = -1;
    for (int i = 0; i < faces->n; i++) {
        double a = faces->face[i].box.width * faces->face[i].box.height;
        if (a > ba)
            ba = a, best = i;
    }
    return best;
}
