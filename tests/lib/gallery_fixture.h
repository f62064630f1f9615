/* gallery_fixture.h - shared helpers of the gallery tests (test_gallery_store.c,
 * test_gallery_hostile.c, test_gallery_crash.c): a temporary directory per program,
 * fresh file names in it, whole-file bytes, and gallery calls that must succeed
 * (they fail the running cmocka test, printing the error, when they do not). */
#ifndef FN_GALLERY_FIXTURE_H
#define FN_GALLERY_FIXTURE_H

#include <stddef.h>

#include "app/gallery.h"

#define FP_A "3f2a9c1b0d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdd"
#define FP_B "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3b4a5968778695a4b3c2d1e0f"

/* cmocka group setup/teardown: create / remove the temporary directory. */
int tg_setup(void **state);
int tg_teardown(void **state);
const char *tg_tmpdir(void);
/* A fresh path in the temp dir for each use: <tmpdir>/<stem><counter>.db */
void tg_new_path(char *out, size_t cap, const char *stem);

/* Whole file (NULL and *len = 0 if it cannot be opened) / write or fail the test. */
unsigned char *tg_slurp(const char *path, size_t *len);
void tg_write_bytes(const char *path, const void *data, size_t len);
int tg_exists(const char *path);
long long tg_fsize(const char *path); /* -1 if missing */

fn_gallery *tg_open_ok(const char *path, int create);
void tg_enroll_ok(fn_gallery *g, const char *name, const char *fp, int dim, int n,
                  const float *e, const char *const *paths);
void tg_check_ok(fn_gallery *g);
/* A small valid gallery: alice x3, bob x2, dim 8, model FP_A. */
void tg_make_small(const char *path);

#endif
