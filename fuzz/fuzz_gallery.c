/* fuzz_gallery.c - a gallery file (SQLite) opened as an existing gallery: model
 * record, list, load all and one identity, full check.  The bytes are written to a
 * fresh file per input (its -wal/-shm/-journal companions removed first), so what
 * one input's open writes cannot leak into the next. */
#include <stddef.h>
#include <stdint.h>

#include "app/gallery.h"
#include "fuzz_util.h"

static void unlink_all(void)
{
    static const char *const names[] = {"gallery.db", "gallery.db-wal", "gallery.db-shm",
                                        "gallery.db-journal"};
    char p[600];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(fuzz_path(names[i], p, sizeof p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    unlink_all();
    fuzz_write("gallery.db", data, size, path, sizeof path);
    fn_gallery *g;
    fn_err err;
    if (fn_gallery_open(path, 0, &g, &err))
        return 0;
    char fp[FN_GALLERY_MAX_FP + 1];
    int dim;
    (void)fn_gallery_model(g, fp, sizeof fp, &dim, &err);
    fn_identity_info *ids = NULL;
    int n = 0;
    if (fn_gallery_list(g, &ids, &n, &err) == 0) {
        fn_gallery_matrix m = {0};
        if (n > 0 && fn_gallery_load(g, ids[0].name, &m, &err) == 0)
            fn_gallery_matrix_free(&m);
        fn_gallery_list_free(ids, n);
    }
    fn_gallery_matrix all = {0};
    (void)fn_gallery_load(g, NULL, &all, &err);
    fn_gallery_matrix_free(&all);
    (void)fn_gallery_check(g, &err);
    fn_gallery_close(g);
    return 0;
}
