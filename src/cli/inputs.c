/* inputs.c - every file a command reads, checked before it loads any net.
 *
 * Loading the nets (the recognition model, face-api's detector and landmark nets)
 * takes a second or more on a busy machine; a FIFO, a device or a folder named where a
 * file belongs, a missing pairs file or a gallery that is not a file must not wait for
 * that - nor hang, as a blocking open of a FIFO would.  These checks are cheap (stat,
 * and an open and close of a regular file; nothing is read) and come first; the
 * readers keep their own checks (core/file.c:fn_open_regular), since a file can change
 * between the two. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/faces_cli.h"
#include "core/file.h"

/* Options whose value is a file the command reads whole. */
static const char *const input_file_opts[] = {"landmarks", "pairs", "train-pairs", "raw", NULL};

static int is_input_file_opt(const char *name)
{
    for (int k = 0; input_file_opts[k]; k++)
        if (!strcmp(name, input_file_opts[k]))
            return 1;
    return 0;
}

int fn_cli_check_dir(const char *path, const char *what, fn_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fn_fail(err, FN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fn_fail(err, FN_E_IO, "%s: not a directory (%s names a folder)", path, what);
    return 0;
}

int fn_cli_check_inputs(const fn_cli_args *a, const fn_model_args *m, int profile)
{
    fn_err err = {0};
    for (int i = 0; i < a->n_ev; i++) {
        const char *name = a->ev[i].opt->name, *v = a->ev[i].val;
        struct stat st;
        if (is_input_file_opt(name) && fn_check_regular(v, &err))
            return fn_cli_fail_err(&err);
        if (!strcmp(name, "images") && fn_cli_check_dir(v, "--images", &err))
            return fn_cli_fail_err(&err);
        /* a gallery that does not exist yet is enroll's to create, the others say so */
        if (!strcmp(name, "db") && stat(v, &st) == 0 && !S_ISREG(st.st_mode))
            return fn_cli_fail("%s: not a regular file", v);
    }
    if (m && fn_cli_check_model(m, profile, &err))
        return fn_cli_fail_err(&err);
    return 0;
}

int fn_cli_check_images(const char *const *paths, int n, int all, const char *note, int json)
{
    fn_err err = {0};
    int first_bad = -1;
    for (int i = 0; i < n; i++) {
        if (!fn_check_regular(paths[i], &err)) {
            if (!all)
                return 0; /* one to work on: the others are reported when their turn comes */
        } else if (first_bad < 0) {
            first_bad = i;
        }
    }
    if (first_bad < 0)
        return 0;
    /* the same path again is reported once, as when the images are read */
    int *first = malloc(sizeof(int) * (size_t)n), bad = 0;
    if (!first || fn_cli_first_occurrences(paths, n, first)) {
        free(first);
        fn_cli_fail("out of memory");
        return 1;
    }
    for (int i = first_bad; i < n; i++) {
        if (first[i] >= 0 || !fn_check_regular(paths[i], &err))
            continue;
        bad++;
        fn_cli_fail("%s (%s)", err.msg, note);
        if (json)
            fn_json_print(fn_cli_image_status_json(paths[i], FN_IMG_UNREADABLE, 0));
    }
    free(first);
    if (!all && bad > 1)
        fn_cli_fail("none of the %d images can be opened: nothing done", bad);
    return bad;
}
