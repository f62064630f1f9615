/* input.c - Keras InputLayer: declares the per-sample input shape (null = unknown,
 * fixed when the input is given at run time).  Its output buffer is filled by the
 * runtime, so forward does nothing. */
#include <stdlib.h>

#include "layers/ops.h"

static int input_parse(fn_layer *L, const cJSON *cfg, fn_err *err)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cfg, "batch_input_shape");
    if (!s)
        s = cJSON_GetObjectItemCaseSensitive(cfg, "batch_shape");
    int n = cJSON_GetArraySize(s);
    if (!cJSON_IsArray(s) || n < 2 || n > FN_MAX_RANK + 1)
        return fn_fail(err, FN_E_FORMAT, "layer %s: batch_input_shape missing or of unsupported rank",
                       L->name);
    fn_shape *sh = malloc(sizeof *sh);
    if (!sh)
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    L->priv = sh;
    sh->rank = n - 1;
    for (int i = 1; i < n; i++) {
        const cJSON *d = cJSON_GetArrayItem(s, i);
        if (cJSON_IsNull(d))
            sh->d[i - 1] = -1;
        else if (cJSON_IsNumber(d) && d->valuedouble >= 1 && d->valuedouble <= 1e8)
            sh->d[i - 1] = (int)d->valuedouble;
        else
            return fn_fail(err, FN_E_FORMAT, "layer %s: bad dimension in batch_input_shape", L->name);
    }
    const char *dtype = fn_cfg_str(cfg, "dtype", "float32");
    if (dtype[0] != 'f' && dtype[0] != 'u' && dtype[0] != 'i')
        return fn_fail(err, FN_E_UNSUPPORTED, "layer %s: input dtype '%s' is not supported", L->name, dtype);
    L->flags = 0;
    return 0;
}

static int input_infer(fn_layer *L, const fn_shape *in, int n_in, fn_shape *out, fn_err *err)
{
    (void)in;
    if (n_in != 0)
        return fn_fail(err, FN_E_FORMAT, "layer %s: an InputLayer has no inputs", L->name);
    *out = *(const fn_shape *)L->priv;
    return 0;
}

static void input_forward(const fn_layer *L, const fn_view *in, const fn_shape *in_shape, int n_in,
                          fn_view out, const fn_ctx *ctx)
{
    (void)L, (void)in, (void)in_shape, (void)n_in, (void)out, (void)ctx;
}

static void input_destroy(fn_layer *L)
{
    free(L->priv);
    L->priv = NULL;
}

const fn_op fn_op_input = {
    .class_name = "InputLayer",
    .parse = input_parse,
    .infer = input_infer,
    .forward = input_forward,
    .destroy = input_destroy,
};
