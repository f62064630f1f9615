/* testutil.h - small helpers for the engine's tests: shared-data paths, whole-file
 * reads, JSON, float comparisons, running the CLI, random unit vectors. */
#ifndef FN_TESTUTIL_H
#define FN_TESTUTIL_H

#include <cJSON.h>
#include <stddef.h>

/* $FACENET_SHARED (default ../shared) + "/" + rel, in a static rotating buffer. */
const char *tu_shared(const char *rel);
/* The same as a malloc'd string (the caller frees it); fails the running test if out of memory. */
char *tu_shared_dup(const char *rel);
/* dir + "/" + name in a static rotating buffer (8 slots). */
const char *tu_path_in(const char *dir, const char *name);
/* $FACENET_BUILD (default build) + "/" + rel. */
const char *tu_build(const char *rel);
/* Whole file, NUL-terminated (size in *len if non-NULL); NULL if unreadable. */
char *tu_read(const char *path, size_t *len);
cJSON *tu_read_json(const char *path);
/* Max |a-b| over n values. */
double tu_maxdiff(const float *a, const float *b, size_t n);
/* JSON number array -> malloc'd floats (count in *n). */
float *tu_json_floats(const cJSON *arr, size_t *n);
/* Run a shell command, capture stdout (malloc'd) and stderr (malloc'd) and the exit status. */
int tu_run(const char *cmd, char **out, char **err);
/* A fresh temporary directory (malloc'd path). */
char *tu_tmpdir(void);
int tu_write(const char *path, const void *data, size_t len);
/* As tu_read / tu_write, but a failure fails the running cmocka test (naming the file). */
unsigned char *tu_read_must(const char *path, size_t *len);
void tu_write_must(const char *path, const void *data, size_t len);
void tu_write_text(const char *path, const char *text);
/* Remove a test's temporary directory and everything in it; 0 on success. */
int tu_rmtree(const char *dir);
/* Uniform in [0, 1), from one fixed-seed sequence per test program. */
double tu_urand(void);
/* n random unit vectors of dimension d (n x d, malloc'd; fails the test if out of
 * memory), drawn from tu_urand. */
float *tu_random_unit(int n, int d);
/* Uniform in [-1, 1) from a linear congruential sequence the caller seeds and keeps
 * (*state), so each kernel test draws the same values on every run and platform. */
float tu_frand(unsigned *state);
/* n such values (malloc'd; fails the test if out of memory). */
float *tu_randv(unsigned *state, size_t n);

#endif
