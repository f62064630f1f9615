/* imagelist.c - turn command-line arguments into a sorted list of image files: the
 * one expansion of IMG|DIR|@LIST for every command that takes images. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/encoder.h"
#include "cli/cli.h"
#include "core/file.h"

static int push(fn_image_list *l, const char *path, const char *key, fn_err *err)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->path, sizeof *p * (size_t)cap), **k = p ? realloc(l->key, sizeof *k * (size_t)cap) : NULL;
        if (p)
            l->path = p;
        if (k)
            l->key = k;
        if (!p || !k)
            return fn_fail(err, FN_E_NOMEM, "out of memory");
        l->cap = cap;
    }
    l->path[l->n] = strdup(path);
    l->key[l->n] = strdup(key);
    if (!l->path[l->n] || !l->key[l->n])
        return fn_fail(err, FN_E_NOMEM, "out of memory");
    l->n++;
    return 0;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir: filesystem path; rel: path relative to the argument ("" at the top). */
static int walk(fn_image_list *l, const char *dir, const char *rel, int depth, fn_err *err)
{
    if (depth > 32)
        return fn_fail(err, FN_E_ARG, "%s: directories nested too deeply", dir);
    DIR *d = opendir(dir);
    if (!d)
        return fn_fail(err, FN_E_IO, "%s: cannot read directory", dir);
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, sizeof *nn * (size_t)cap);
            if (!nn) {
                rc = fn_fail(err, FN_E_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = fn_fail(err, FN_E_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc && n) /* (an empty folder: names is NULL, which qsort may not get) */
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && !rc; i++) {
        char path[4096], key[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(key, sizeof key, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat st, lst;
        if (stat(path, &st) || lstat(path, &lst))
            continue;
        if (S_ISDIR(st.st_mode) && S_ISLNK(lst.st_mode))
            continue; /* symlinked directories are not followed: no loops, no surprises */
        if (S_ISDIR(st.st_mode))
            rc = walk(l, path, key, depth + 1, err);
        else if (S_ISREG(st.st_mode) && is_image_name(names[i]))
            rc = push(l, path, key, err);
        else if (S_ISREG(st.st_mode) && l->n_skipped++ < 5)
            snprintf(l->skipped[l->n_skipped - 1], sizeof l->skipped[0], "%.255s", key);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int fn_image_list_add(fn_image_list *l, const char *arg, fn_err *err)
{
    if (arg[0] == '@') {
        int fd = fn_open_regular(arg + 1, err); /* a FIFO would block fopen */
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (fd >= 0 && !f) {
            close(fd);
            return fn_fail(err, FN_E_NOMEM, "%s: out of memory opening the list file", arg + 1);
        }
        if (!f)
            return -1;
        char *line = NULL;
        size_t cap = 0;
        int rc = 0;
        while (!rc && getline(&line, &cap, f) >= 0) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] && line[0] != '#')
                rc = push(l, line, line, err);
        }
        free(line);
        fclose(f);
        return rc;
    }
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", arg);
        size_t k = strlen(dir);
        while (k > 1 && dir[k - 1] == '/')
            dir[--k] = '\0';
        return walk(l, dir, "", 0, err);
    }
    return push(l, arg, arg, err); /* a missing file is reported when it is read */
}

void fn_image_list_free(fn_image_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->path[i]);
        free(l->key[i]);
    }
    free(l->path);
    free(l->key);
    memset(l, 0, sizeof *l);
}

int fn_cli_expand_images(char *const *args, int n, fn_image_list *l)
{
    fn_err err = {0};
    for (int i = 0; i < n; i++) {
        int before = l->n;
        if (fn_image_list_add(l, args[i], &err))
            return fn_cli_fail_err(&err);
        if (l->n == before && args[i][0] != '@') /* not an error: other operands may hold images */
            fn_cli_fail("%s: no JPEG or PNG image in this folder", args[i]);
    }
    if (l->n_skipped) {
        char names[5 * 260] = "";
        for (int i = 0; i < l->n_skipped && i < 5; i++) {
            size_t k = strlen(names);
            snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", l->skipped[i]);
        }
        fn_cli_fail("skipped %d file%s that %s not JPEG or PNG (%s%s)", l->n_skipped, l->n_skipped == 1 ? "" : "s",
                    l->n_skipped == 1 ? "is" : "are", names, l->n_skipped > 5 ? ", ..." : "");
    }
    return 0;
}
