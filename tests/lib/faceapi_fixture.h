/* faceapi_fixture.h - a synthetic model in face-api's format for the converter tests
 * (test_converter_tfjs.c, test_converter_model.c, test_fetch_weights.c), and the
 * per-program temporary directory they work in.
 *
 * The model has all 117 tensors of face-api's FaceRecognitionNet with their real
 * shapes and small deterministic values: mostly uint8-quantised, the conv64_* filters
 * raw float32 like the real file, one tensor uint16 and one float16, so every decoder
 * runs; none of these tests needs the npm package.  A variant describes a
 * corrupted copy (a tensor left out, reshaped, NaN, ...).
 * Helpers fail the running cmocka test on any error of their own.
 */
#ifndef FN_FACEAPI_FIXTURE_H
#define FN_FACEAPI_FIXTURE_H

#include <stddef.h>

#define MANIFEST_NAME "face_recognition_model-weights_manifest.json"
#define BIN_NAME "face_recognition_model.bin"

enum { Q_RAW, Q_U8, Q_U16, Q_F16 };

typedef struct {
    char name[80];
    int rank;
    long long dims[4];
    int q;
    double scale, min;
    size_t count;
    unsigned char *bytes;  /* as stored in the .bin */
    size_t nbytes;
    float *value;          /* what tfjs decodes */
} gtensor;

typedef struct {
    const char *omit;      /* leave this tensor out (manifest and bin) */
    const char *reshape;   /* give this tensor the shape below (bin sized to match) */
    int rank;
    long long dims[4];
    long bin_delta;        /* bytes cut from (<0) or appended to (>0) the bin */
    int bad_json;          /* cut the manifest text short */
    const char *nan_in;    /* raw float32 tensor that gets a NaN */
    const char *extra;     /* an additional tensor */
    const char *bad_quant; /* tensor whose quantisation dtype becomes "int4" */
} variant;

/* face-api's full tensor set (plus the variant's changes), in manifest order; the
 * values are the same on every call. */
gtensor *fx_gen_tensors(const variant *v, int *n);
void fx_free_tensors(gtensor *ts, int n);
/* The tensor called name (fails the test if there is none). */
const gtensor *fx_find_t(const gtensor *ts, int n, const char *name);
/* Write dir/<MANIFEST_NAME> and dir/<BIN_NAME>. */
void fx_write_model(const char *dir, const variant *v);

/* cmocka group setup/teardown: create / remove the temporary root directory. */
int fx_setup(void **state);
int fx_teardown(void **state);
/* A fresh sub-directory of the temporary root (static rotating buffer). */
const char *fx_subdir(const char *name);
/* Entries in dir other than . and .. (-1 if it cannot be opened). */
int fx_count_entries(const char *dir);
int fx_exists(const char *path);
int fx_count_lines(const char *s);
/* Run $FACENET_BUILD/tools/faceapi2keras on dir's manifest into out; returns the exit
 * status, stdout and stderr in *so / *se (malloc'd; either may be NULL). */
int fx_convert(const char *dir, const char *out, char **so, char **se);

#endif
