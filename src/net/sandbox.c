/* sandbox.c - reading an HDF5 file from outside without trusting libhdf5 with this
 * process (fn_load_opts.sandbox; off unless the caller asks).
 *
 * libhdf5 (1.10) can crash, recurse without end or spin on some corrupted files - a
 * flipped byte in a heap or object header is enough.  So the read runs in a forked
 * child with a time limit; the child streams what it read (the weight arrays, or the
 * model config) back through a pipe and exits.  A crash or a timeout in the child
 * becomes an ordinary error here, a clean failure comes back with its own message,
 * and the file is read once, by the child.  The parent never runs libhdf5 on it. */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/keras_weights.h"
#include "net/graph.h"

#define FN_SANDBOX_DEFAULT_S 120

/* ---- the pipe, with a deadline on the reading side ---------------------------- */

typedef struct {
    int fd;
    double deadline;   /* CLOCK_MONOTONIC seconds */
    int timed_out;
} chan;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int chan_read(chan *c, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        double left = c->deadline - now_s();
        if (left <= 0) {
            c->timed_out = 1;
            return -1;
        }
        struct pollfd pfd = {c->fd, POLLIN, 0};
        int r = poll(&pfd, 1, left > 1.0 ? 1000 : (int)(left * 1000) + 1);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        ssize_t got = read(c->fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1; /* EOF: the child died or failed */
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        p += put;
        n -= (size_t)put;
    }
    return 0;
}

/* A string: u32 length (UINT32_MAX for NULL) + bytes. */
static int write_str(int fd, const char *s)
{
    uint32_t len = s ? (uint32_t)strlen(s) : UINT32_MAX;
    return write_all(fd, &len, sizeof len) || (s && write_all(fd, s, len)) ? -1 : 0;
}

static int read_str(chan *c, char **out, size_t max)
{
    uint32_t len;
    *out = NULL;
    if (chan_read(c, &len, sizeof len))
        return -1;
    if (len == UINT32_MAX)
        return 0;
    if (len > max || !(*out = malloc((size_t)len + 1)))
        return -1;
    if (chan_read(c, *out, len)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    (*out)[len] = '\0';
    return 0;
}

/* Reply: 'E' + u32 kind + message, or 'O' + the job's payload. */
static void write_error(int fd, const fn_err *e)
{
    uint32_t kind = (uint32_t)e->kind;
    if (!write_all(fd, "E", 1) && !write_all(fd, &kind, sizeof kind))
        write_str(fd, e->msg);
}

/* ---- running a job in a child ---------------------------------------------------- */

typedef struct job {
    void (*child)(struct job *j, int fd);                   /* in the child: do it, write the reply */
    int (*receive)(struct job *j, chan *c, fn_err *err);    /* in the parent: read the 'O' payload */
    const char *path;
    fn_net *net;
    char *text;
} job;

static int run(job *j, int timeout_s, fn_err *err)
{
    int limit = timeout_s > 0 ? timeout_s : FN_SANDBOX_DEFAULT_S;
    int fds[2];
    if (pipe(fds))
        return fn_fail(err, FN_E_IO, "%s: cannot create a pipe for the sandbox: %s", j->path, strerror(errno));
#ifdef F_SETPIPE_SZ
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer round trips for ~100 MB of weights; best effort */
#endif
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return fn_fail(err, FN_E_IO, "%s: cannot start the sandbox process: %s", j->path, strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* libhdf5 prints its own diagnostics */
        signal(SIGPIPE, SIG_DFL);
        j->child(j, fds[1]);
        _exit(0); /* no cleanup: the process ends */
    }
    close(fds[1]);
    chan c = {fds[0], now_s() + limit, 0};
    char tag = 0;
    int rc = chan_read(&c, &tag, 1);
    fn_err child_err = {0};
    if (!rc && tag == 'O') {
        rc = j->receive(j, &c, &child_err);
        if (rc && child_err.kind) { /* a failure of ours (memory), not of the child */
            *err = child_err;
            close(fds[0]);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
    } else if (!rc && tag == 'E') {
        uint32_t kind;
        char *msg = NULL;
        if (!chan_read(&c, &kind, sizeof kind) && !read_str(&c, &msg, sizeof child_err.msg)) {
            fn_fail(err, (fn_errkind)kind, "%s", msg ? msg : "");
            free(msg);
            close(fds[0]);
            waitpid(pid, NULL, 0);
            return -1;
        }
        free(msg);
        rc = -1;
    } else {
        rc = -1;
    }
    close(fds[0]);
    if (c.timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (c.timed_out)
        return fn_fail(err, FN_E_FORMAT, "%s: reading did not finish within %d s (corrupt file?)", j->path, limit);
    if (WIFSIGNALED(status))
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt file (the HDF5 library crashed reading it, signal %d)",
                       j->path, WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return fn_fail(err, FN_E_FORMAT, "%s: corrupt file (reading it failed in the HDF5 library, status %d)",
                       j->path, WEXITSTATUS(status));
    if (rc)
        return fn_fail(err, FN_E_FORMAT, "%s: the sandboxed read ended early (corrupt file?)", j->path);
    return 0;
}

/* ---- the jobs ------------------------------------------------------------------------ */

/* Weights: 'O', the backend, then per layer and declared weight a flag byte (present)
 * and its values, in the order both processes know from the same graph. */
static void weights_child(job *j, int fd)
{
    fn_err e = {0};
    if (fn_net_read_weights(j->net, j->path, &e)) {
        write_error(fd, &e);
        return;
    }
    if (write_all(fd, "O", 1) || write_str(fd, j->net->backend))
        _exit(4);
    for (int i = 0; i < j->net->n_layers; i++) {
        const fn_layer *L = &j->net->layers[i];
        for (int k = 0; k < L->n_w; k++) {
            unsigned char have = L->w[k].data != NULL;
            if (write_all(fd, &have, 1) ||
                (have && write_all(fd, L->w[k].data, sizeof(float) * fn_shape_count(&L->w[k].shape))))
                _exit(4);
        }
    }
}

static int weights_receive(job *j, chan *c, fn_err *err)
{
    fn_net *net = j->net;
    char *backend;
    if (read_str(c, &backend, 4096))
        return -1;
    free(net->backend);
    net->backend = backend;
    const int theano = backend && !strcmp(backend, "theano");
    for (int i = 0; i < net->n_layers; i++) {
        fn_layer *L = &net->layers[i];
        L->theano_kernels = theano;
        for (int k = 0; k < L->n_w; k++) {
            unsigned char have;
            if (chan_read(c, &have, 1))
                return -1;
            if (!have)
                continue;
            size_t count = fn_shape_count(&L->w[k].shape);
            free(L->w[k].data);
            if (!(L->w[k].data = malloc(sizeof(float) * count)))
                return fn_fail(err, FN_E_NOMEM, "%s: layer %s: out of memory for %s", j->path, L->name,
                               L->w[k].name);
            if (chan_read(c, L->w[k].data, sizeof(float) * count))
                return -1;
        }
    }
    return 0;
}

int fn_net_read_weights_sandboxed(fn_net *net, const char *path, int timeout_s, fn_err *err)
{
    job j = {weights_child, weights_receive, path, net, NULL};
    return run(&j, timeout_s, err);
}

static void config_child(job *j, int fd)
{
    fn_err e = {0};
    char *text = NULL;
    if (fn_keras_h5_config(j->path, &text, &e)) {
        write_error(fd, &e);
        return;
    }
    if (write_all(fd, "O", 1) || write_str(fd, text))
        _exit(4);
}

static int config_receive(job *j, chan *c, fn_err *err)
{
    (void)err;
    return read_str(c, &j->text, (size_t)256 << 20) || !j->text ? -1 : 0;
}

int fn_h5_config_sandboxed(const char *path, int timeout_s, char **json_text, fn_err *err)
{
    job j = {config_child, config_receive, path, NULL, NULL};
    *json_text = NULL;
    if (run(&j, timeout_s, err)) {
        free(j.text);
        return -1;
    }
    *json_text = j.text;
    return 0;
}
