/* keras_model.h - a Keras model config (model.json, or the model_config attribute of a
 * full-model .h5) parsed into a neutral description: for every layer its name, class,
 * config and the names of the layers feeding it, in file order; plus the model's input
 * and output layer names.  Knows nothing of the engine's graph: src/net/graph.c builds
 * that from this description.
 *
 * Lambda layers are recognised here, from their marshalled Python bytecode (never
 * executed; see keras_lambda.c), and described by what they compute: the layer keeps
 * class "Lambda" for display, its `op` becomes "Lambda:scale_sum" (config {"scale": s})
 * or "Lambda:l2_normalize" (config {"axis": a}). */
#ifndef FN_KERAS_MODEL_H
#define FN_KERAS_MODEL_H

#include <cJSON.h>

#include "core/error.h"
#include "core/hash.h"

typedef struct {
    const char *name;
    const char *class_name;    /* as Keras wrote it: "Conv2D", "Lambda" */
    const char *op;            /* what the engine runs: class_name, or "Lambda:<kind>" */
    const cJSON *config;       /* owned by the model description */
    int n_in;
    const char **in_names;     /* n_in names of producer layers */
} fn_keras_layer;

typedef struct {
    cJSON *doc;                /* the parsed JSON, owner of every string above */
    cJSON *extra;              /* configs and layers synthesized while parsing */
    char *source;              /* "keras 2.4.0, tensorflow", or NULL when the file does not say */
    int n_layers;
    fn_keras_layer *layers;    /* file order */
    int n_inputs, n_outputs;
    const char **input_names, **output_names;
} fn_keras_model;

/* Limits on a config, checked before the parser allocates (FN_E_LIMIT, the message
 * names the limit).  The text's size is the caller's to limit. */
#define FN_KERAS_DEFAULT_MAX_VALUES ((size_t)1000000) /* JSON values: ~80 MB of cJSON nodes */
#define FN_KERAS_DEFAULT_MAX_LAYERS 100000
typedef struct {
    size_t max_values; /* values in the JSON text (json-values); 0: the default */
    size_t max_layers; /* layers of the model (layers); 0: the default */
} fn_keras_limits;

/* Parse json_text (len bytes); src names the file in messages; lim may be NULL (the
 * defaults).  On failure *m is left empty. */
int fn_keras_parse(const char *json_text, size_t len, const fn_keras_limits *lim, const char *src,
                   fn_keras_model *m, fn_err *err);
void fn_keras_model_free(fn_keras_model *m);
/* Layer i: if it is a Lambda, recognise it (sets op and config); an unknown Lambda is
 * an error naming the layer.  Separate from parsing so the graph builder reports
 * problems in execution order. */
int fn_keras_describe_lambda(fn_keras_model *m, int i, const char *src, fn_err *err);

/* Feed the architecture into h in a canonical form: per layer (file order) its name,
 * class, the engine's op, its inputs and its config with object keys sorted and
 * numbers printed as %.17g, so re-writing the same model (another key order, other
 * spacing or number spelling, another keras_version) hashes the same.  Part of the
 * model fingerprint (fn_net_fingerprint). */
void fn_keras_model_hash(const fn_keras_model *m, fn_hash *h);

#endif
