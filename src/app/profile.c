/* profile.c - facenet.json parsing and image -> input tensor (see profile.h). */
#include "app/profile.h"

#include "core/file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#define MAX_PROFILE_BYTES ((size_t)1 << 20)
#define MAX_INPUT_SIDE 8192
#define DEFAULT_SIDE 160

void fn_profile_default(fn_profile *p, int in_h, int in_w)
{
    memset(p, 0, sizeof *p);
    p->in_h = in_h > 0 ? in_h : DEFAULT_SIDE;
    p->in_w = in_w > 0 ? in_w : DEFAULT_SIDE;
    p->resize = FN_RESIZE_NEAREST;
    p->pad_to_square = FN_PAD_NONE;
    for (int c = 0; c < 3; c++) {
        p->mean[c] = 0.0f;
        p->std[c] = 255.0f;
        p->scale[c] = 1.0f / 255.0f;
    }
    p->use_scale = 0;
    p->bgr = 0;
    p->threshold = 0.7f;
    p->l2_normalize = 1;
    p->has_template = 0;
    p->align_mode = FN_ALIGN_SIMILARITY;
}

void fn_profile_template(const fn_profile *p, double tmpl[10])
{
    if (p->has_template)
        memcpy(tmpl, p->tmpl, sizeof p->tmpl);
    else
        fn_align_default_template(p->in_w, p->in_h, tmpl);
}

/* ------------------------------------------------------------- parsing */

static int finite_number(const cJSON *it, double *out)
{
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return 0;
    *out = it->valuedouble;
    return 1;
}

/* A number (same for all three channels) or an array of three numbers. */
static int get_triple(const cJSON *it, const char *name, const char *key, int nonzero,
                      float out[3], fn_err *err)
{
    double v[3];
    if (cJSON_IsArray(it)) {
        if (cJSON_GetArraySize(it) != 3)
            goto bad;
        for (int c = 0; c < 3; c++)
            if (!finite_number(cJSON_GetArrayItem(it, c), &v[c]))
                goto bad;
    } else if (finite_number(it, &v[0])) {
        v[1] = v[2] = v[0];
    } else {
        goto bad;
    }
    for (int c = 0; c < 3; c++) {
        if (nonzero && v[c] == 0)
            return fn_fail(err, FN_E_FORMAT, "%s: key \"%s\": must not be zero", name, key);
        out[c] = (float)v[c];
    }
    return 0;
bad:
    return fn_fail(err, FN_E_FORMAT, "%s: key \"%s\": expected a number or an array of 3 numbers",
                   name, key);
}

static int get_enum(const cJSON *it, const char *name, const char *key, const char *const *opts,
                    int nopts, int *out, fn_err *err)
{
    char list[128] = "";
    for (int i = 0; i < nopts; i++) {
        if (cJSON_IsString(it) && strcmp(it->valuestring, opts[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s\"%s\"", i ? " or " : "", opts[i]);
    }
    if (cJSON_IsString(it))
        return fn_fail(err, FN_E_FORMAT, "%s: key \"%s\": expected %s, got \"%.64s\"", name, key,
                       list, it->valuestring);
    return fn_fail(err, FN_E_FORMAT, "%s: key \"%s\": expected a string (%s)", name, key, list);
}

static int get_bool(const cJSON *it, const char *name, const char *key, int *out, fn_err *err)
{
    if (!cJSON_IsBool(it))
        return fn_fail(err, FN_E_FORMAT, "%s: key \"%s\": expected true or false", name, key);
    *out = cJSON_IsTrue(it);
    return 0;
}

static int get_input_size(const cJSON *it, const char *name, int *h, int *w, fn_err *err)
{
    double v[2];
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2)
        goto bad;
    for (int i = 0; i < 2; i++)
        if (!finite_number(cJSON_GetArrayItem(it, i), &v[i]) || v[i] != floor(v[i]) || v[i] < 1 ||
            v[i] > MAX_INPUT_SIDE)
            goto bad;
    *h = (int)v[0];
    *w = (int)v[1];
    return 0;
bad:
    return fn_fail(err, FN_E_FORMAT,
                   "%s: key \"input_size\": expected [height, width], integers 1..%d", name,
                   MAX_INPUT_SIDE);
}

static int get_template(const cJSON *it, const char *name, double out[10], fn_err *err)
{
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 10)
        goto bad;
    for (int i = 0; i < 10; i++)
        if (!finite_number(cJSON_GetArrayItem(it, i), &out[i]))
            goto bad;
    return 0;
bad:
    return fn_fail(err, FN_E_FORMAT,
                   "%s: key \"align_template\": expected 10 numbers [x0, y0, ..., x4, y4]", name);
}

enum {
    K_INPUT_SIZE, K_RESIZE, K_PAD, K_MEAN, K_STD, K_SCALE, K_ORDER, K_THRESHOLD, K_L2,
    K_TEMPLATE, K_ALIGN_MODE, K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "input_size", "resize", "pad_to_square", "mean", "std", "scale", "channel_order",
    "threshold", "l2_normalize", "align_template", "align_mode"};

static int parse_key(int k, const cJSON *it, const char *name, fn_profile *p, int *has_size,
                     fn_err *err)
{
    static const char *const resize_opts[] = {"nearest", "bilinear"};
    static const char *const pad_opts[] = {"end", "center"};
    static const char *const order_opts[] = {"rgb", "bgr"};
    static const char *const align_opts[] = {"similarity", "dlib"};
    int v = 0;
    double d;
    switch (k) {
    case K_INPUT_SIZE:
        *has_size = 1;
        return get_input_size(it, name, &p->in_h, &p->in_w, err);
    case K_RESIZE:
        if (get_enum(it, name, "resize", resize_opts, 2, &v, err))
            return -1;
        p->resize = v ? FN_RESIZE_BILINEAR : FN_RESIZE_NEAREST;
        return 0;
    case K_PAD:
        if (cJSON_IsBool(it)) {
            p->pad_to_square = cJSON_IsTrue(it) ? FN_PAD_END : FN_PAD_NONE;
            return 0;
        }
        if (!cJSON_IsString(it))
            return fn_fail(err, FN_E_FORMAT,
                           "%s: key \"pad_to_square\": expected true, false, \"end\" or \"center\"",
                           name);
        if (get_enum(it, name, "pad_to_square", pad_opts, 2, &v, err))
            return -1;
        p->pad_to_square = v ? FN_PAD_CENTER : FN_PAD_END;
        return 0;
    case K_MEAN:
        return get_triple(it, name, "mean", 0, p->mean, err);
    case K_STD:
        return get_triple(it, name, "std", 1, p->std, err);
    case K_SCALE:
        p->use_scale = 1;
        return get_triple(it, name, "scale", 1, p->scale, err);
    case K_ORDER:
        if (get_enum(it, name, "channel_order", order_opts, 2, &v, err))
            return -1;
        p->bgr = v;
        return 0;
    case K_THRESHOLD:
        if (!finite_number(it, &d) || d < 0)
            return fn_fail(err, FN_E_FORMAT,
                           "%s: key \"threshold\": expected a non-negative number", name);
        p->threshold = (float)d;
        return 0;
    case K_L2:
        return get_bool(it, name, "l2_normalize", &p->l2_normalize, err);
    case K_TEMPLATE:
        p->has_template = 1;
        return get_template(it, name, p->tmpl, err);
    case K_ALIGN_MODE:
        if (get_enum(it, name, "align_mode", align_opts, 2, &v, err))
            return -1;
        p->align_mode = v ? FN_ALIGN_DLIB : FN_ALIGN_SIMILARITY;
        return 0;
    }
    return fn_fail(err, FN_E_ARG, "%s: internal: key index %d", name, k);
}

/* 1-based line of byte offset `off` in text, for JSON syntax errors. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && text[i]; i++)
        line += text[i] == '\n';
    return line;
}

int fn_profile_parse(const char *json, const char *name, int model_h, int model_w, fn_profile *p,
                     fn_err *err)
{
    fn_profile_default(p, model_h, model_w);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        return fn_fail(err, FN_E_FORMAT, "%s: invalid JSON at line %d (byte %zu)", name,
                       line_of(json, off), off);
    }
    int rc = 0, has_size = 0;
    unsigned seen = 0;
    if (!cJSON_IsObject(root)) {
        rc = fn_fail(err, FN_E_FORMAT, "%s: expected a JSON object at the top level", name);
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        int k = 0;
        while (k < K_COUNT && strcmp(it->string, key_names[k]) != 0)
            k++;
        if (k == K_COUNT) {
            rc = fn_fail(err, FN_E_FORMAT,
                         "%s: unknown key \"%.64s\" (known: input_size, resize, pad_to_square, "
                         "mean, std, scale, channel_order, threshold, l2_normalize, "
                         "align_template, align_mode)",
                         name, it->string);
            goto done;
        }
        if (seen & (1u << k)) {
            rc = fn_fail(err, FN_E_FORMAT, "%s: key \"%s\" appears twice", name, key_names[k]);
            goto done;
        }
        seen |= 1u << k;
        if ((rc = parse_key(k, it, name, p, &has_size, err)) != 0)
            goto done;
    }
    if ((seen & (1u << K_STD)) && (seen & (1u << K_SCALE))) {
        rc = fn_fail(err, FN_E_FORMAT, "%s: give either \"std\" or \"scale\", not both", name);
        goto done;
    }
    if (has_size && model_h > 0 && model_w > 0 && (p->in_h != model_h || p->in_w != model_w)) {
        rc = fn_fail(err, FN_E_SHAPE, "%s: input_size is %dx%d but the model takes %dx%d", name,
                     p->in_h, p->in_w, model_h, model_w);
        goto done;
    }
done:
    cJSON_Delete(root);
    if (rc)
        fn_profile_default(p, model_h, model_w);
    return rc;
}

int fn_profile_load(const char *path, int model_h, int model_w, fn_profile *p, fn_err *err)
{
    fn_profile_default(p, model_h, model_w);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return 0; /* no profile: the course's defaults */
    char *buf;
    size_t len;
    if (fn_read_file(path, MAX_PROFILE_BYTES, &buf, &len, err))
        return -1;
    if (strlen(buf) != len) {
        free(buf);
        return fn_fail(err, FN_E_FORMAT, "%s: contains a NUL byte, not a JSON text", path);
    }
    int rc = fn_profile_parse(buf, path, model_h, model_w, p, err);
    free(buf);
    return rc;
}

/* ------------------------------------------------------- preprocessing */

static int check_profile(const fn_profile *p, fn_err *err)
{
    if (p->in_h <= 0 || p->in_w <= 0 || p->in_h > MAX_INPUT_SIDE || p->in_w > MAX_INPUT_SIDE)
        return fn_fail(err, FN_E_ARG, "profile: invalid input size %dx%d", p->in_h, p->in_w);
    return 0;
}

int fn_profile_normalize(const fn_profile *p, const fn_image *img, float *out, fn_err *err)
{
    if (check_profile(p, err))
        return -1;
    if (!img->rgb || img->w != p->in_w || img->h != p->in_h)
        return fn_fail(err, FN_E_SHAPE, "normalize: image is %dx%d, the input is %dx%d", img->w,
                       img->h, p->in_w, p->in_h);
    size_t n = (size_t)img->w * (size_t)img->h;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *px = img->rgb + 3 * i;
        float *o = out + 3 * i;
        for (int c = 0; c < 3; c++) {
            /* float32 throughout: this is what makes the result bit-equal to
             * NumPy's float32 `x / 255` and TF.js's `(x - mean) / 255`. */
            float v = (float)px[p->bgr ? 2 - c : c] - p->mean[c];
            o[c] = p->use_scale ? v * p->scale[c] : v / p->std[c];
        }
    }
    return 0;
}

int fn_preprocess_chip(const fn_profile *p, const fn_image *img, const double *lm, fn_image *chip, fn_err *err)
{
    memset(chip, 0, sizeof *chip);
    if (check_profile(p, err))
        return -1;
    if (!img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "preprocess: empty image");
    if (lm) {
        double tmpl[10];
        fn_profile_template(p, tmpl);
        return fn_align_face(img, lm, tmpl, p->in_w, p->in_h, p->align_mode, chip, err);
    }
    fn_image padded = {0, 0, NULL};
    const fn_image *cur = img;
    int rc = 0;
    if (p->pad_to_square != FN_PAD_NONE && cur->w != cur->h) {
        if ((rc = fn_image_pad_square(cur, p->pad_to_square == FN_PAD_CENTER, p->max_pixels, &padded, err)))
            return rc;
        cur = &padded;
    }
    if (cur->w != p->in_w || cur->h != p->in_h) {
        rc = fn_image_resize(cur, p->in_w, p->in_h, p->resize, chip, err);
    } else if (!(rc = fn_image_alloc(chip, cur->w, cur->h, err))) {
        memcpy(chip->rgb, cur->rgb, (size_t)cur->w * cur->h * 3);
    }
    fn_image_free(&padded);
    return rc;
}

int fn_preprocess(const fn_profile *p, const fn_image *img, float *out, fn_err *err)
{
    if (check_profile(p, err))
        return -1;
    if (!img->rgb || img->w <= 0 || img->h <= 0)
        return fn_fail(err, FN_E_ARG, "preprocess: empty image");
    if (img->w == p->in_w && img->h == p->in_h && (p->pad_to_square == FN_PAD_NONE || img->w == img->h))
        /* already the input size: no copy */
        return fn_profile_normalize(p, img, out, err);
    fn_image chip;
    if (fn_preprocess_chip(p, img, NULL, &chip, err))
        return -1;
    int rc = fn_profile_normalize(p, &chip, out, err);
    fn_image_free(&chip);
    return rc;
}

int fn_preprocess_aligned(const fn_profile *p, const fn_image *img, const double lm[10],
                          float *out, fn_err *err)
{
    fn_image chip;
    if (fn_preprocess_chip(p, img, lm, &chip, err))
        return -1;
    int rc = fn_profile_normalize(p, &chip, out, err);
    fn_image_free(&chip);
    return rc;
}
