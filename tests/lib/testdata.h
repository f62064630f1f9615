/* testdata.h - locate the shared test data (FACENET_SHARED, default ../shared). */
#ifndef FN_TESTDATA_H
#define FN_TESTDATA_H

/* The shared data directory: $FACENET_SHARED, or "../shared" when unset. */
const char *fn_test_shared(void);

/* malloc'd "<shared>/<rel>"; NULL only when out of memory. */
char *fn_test_path(const char *rel);

#endif
