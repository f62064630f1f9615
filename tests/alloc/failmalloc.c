/* failmalloc.c - an LD_PRELOAD shim that fails one chosen allocation, for the
 * allocation-failure sweep (tests/alloc/sweep.sh).
 *
 *   FACENET_FAIL_ALLOC=i        the i-th malloc/calloc/realloc/posix_memalign/
 *                               aligned_alloc/memalign counted from the start of main
 *                               (1-based; 0 = count only) returns NULL with ENOMEM;
 *                               only that one, later ones succeed again
 *   FACENET_FAIL_ALLOC_COUNT=F  at exit, write to F how many allocations main made
 *   FACENET_FAIL_ALLOC_TRACE=F  when the failure is injected, write the call stack
 *                               to F (backtrace_symbols_fd: no allocation)
 *                               and, if the program then dies of a signal, the
 *                               signal and its stack to F.sig
 *   FACENET_FAIL_ALLOC_MAP=F    at exit, write to F one letter per allocation saying
 *                               who asked for it: the first caller outside libc and
 *                               this shim is f (the program: the CLI and libfacenet),
 *                               h libhdf5, s SQLite, i libjpeg/libpng, j cJSON,
 *                               b OpenBLAS, o anything else.  The sweep uses it to
 *                               fail every allocation of our own code and a stride
 *                               of the rest.  A forked child that ends with _exit
 *                               (the weights sandbox) writes its own map to F.PID.
 *   FACENET_FAIL_ALLOC_LEAKS=F  track the allocations made (since main) on behalf of
 *                               the program (f), cJSON (j) and libjpeg/libpng (i):
 *                               what the program must free itself.  When main has
 *                               returned and the other exit handlers have run, write
 *                               to F how many are still allocated, then one line per
 *                               leftover (at most 8): owner, size, the program's
 *                               return address in it.  In a normal run nothing is
 *                               left (libhdf5's, SQLite's and OpenBLAS's own caches
 *                               are theirs, not counted), so any leftover after an
 *                               injected failure is a leak of the error path.
 *
 * A forked child inherits the count: with FACENET_FAIL_ALLOC=i the i-th allocation
 * of the parent fails, and so does the child's i-th (counted from main, through the
 * fork) if the child makes that many.
 *
 * Counting starts when main starts (the shim wraps __libc_start_main), so library
 * constructors (OpenBLAS's thread pool) are not counted.  Allocations of every thread
 * count.  The real allocator is glibc's __libc_* entry points, so no dlsym is needed
 * on the allocation path.  Linux/glibc only; built as a .so by tests/alloc/sweep.sh's
 * Makefile rule. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_long counter;      /* allocations since main started */
static atomic_int armed;         /* 1 once main has started */
static long fail_at;             /* 0: never fail */
static const char *count_file, *trace_file, *map_file;
#define MAP_CAP (1 << 20)
static char owner_map[MAP_CAP];

/* ---- live allocations of the program, cJSON and the image libraries (LEAKS) */
static const char *leaks_file;
static pid_t main_pid;
#define LIVE_CAP (1 << 20)
#define TOMB ((void *)1)
typedef struct {
    void *p;
    size_t n;
    void *pc;
    char who;
} live_t;
static live_t live[LIVE_CAP];
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_shim; /* backtrace() may allocate: no tracking inside */

static size_t slot_of(void *p)
{
    return ((uintptr_t)p >> 4) * 11400714819323198485ull >> 44; /* 20 bits */
}

static void live_add(void *p, size_t n, char who, void *pc)
{
    pthread_mutex_lock(&live_mu);
    size_t k = slot_of(p);
    for (size_t probe = 0; probe < LIVE_CAP; probe++, k = (k + 1) & (LIVE_CAP - 1))
        if (!live[k].p || live[k].p == TOMB) {
            live[k] = (live_t){p, n, pc, who};
            break;
        }
    pthread_mutex_unlock(&live_mu);
}

static void live_del(void *p)
{
    pthread_mutex_lock(&live_mu);
    size_t k = slot_of(p);
    for (size_t probe = 0; probe < LIVE_CAP && live[k].p; probe++, k = (k + 1) & (LIVE_CAP - 1))
        if (live[k].p == p) {
            live[k].p = TOMB;
            break;
        }
    pthread_mutex_unlock(&live_mu);
}

static char owner_of(void *pc);

/* Who asked for an allocation: the first caller outside libc and this shim. */
static char caller(void **pc)
{
    void *frames[12];
    int k = backtrace(frames, 12);
    *pc = NULL;
    /* stdio's buffers (a FILE's, stdout's) are libc's to keep until exit */
    Dl_info info;
    for (int i = 1; i < k && i < 4; i++)
        if (dladdr(frames[i], &info) && info.dli_sname && strstr(info.dli_sname, "_IO_file_doallocate"))
            return 'o';
    for (int i = 1; i < k; i++) {
        char c = owner_of(frames[i]);
        if (c) {
            *pc = frames[i];
            return c;
        }
    }
    return 'o';
}

/* After a successful allocation p of n bytes: remember it if it is the program's. */
static void track(void *p, size_t n)
{
    if (!leaks_file || !p || in_shim || !atomic_load_explicit(&armed, memory_order_relaxed))
        return;
    in_shim = 1;
    void *pc;
    char who = caller(&pc);
    if (who == 'f' || who == 'j' || who == 'i')
        live_add(p, n, who, pc);
    in_shim = 0;
}

static void untrack(void *p)
{
    if (leaks_file && p && !in_shim)
        live_del(p);
}

static char owner_of(void *pc)
{
    Dl_info info;
    if (!dladdr(pc, &info) || !info.dli_fname)
        return 'o';
    const char *f = strrchr(info.dli_fname, '/');
    f = f ? f + 1 : info.dli_fname;
    if (!strncmp(f, "libc.so", 7) || !strncmp(f, "failmalloc", 10))
        return 0; /* look further up */
    if (!strncmp(f, "libhdf5", 7))
        return 'h';
    if (!strncmp(f, "libsqlite3", 10))
        return 's';
    if (!strncmp(f, "libjpeg", 7) || !strncmp(f, "libpng", 6))
        return 'i';
    if (!strncmp(f, "libcjson", 8))
        return 'j';
    if (!strncmp(f, "libopenblas", 11) || !strncmp(f, "libgfortran", 11))
        return 'b';
    if (info.dli_fname[0] == '\0' || strstr(f, "facenet"))
        return 'f'; /* the main program has an empty or its own name */
    return 'o';
}

static void record_owner(long n)
{
    if (n > MAP_CAP)
        return;
    void *frames[12];
    int k = backtrace(frames, 12);
    char who = 'o';
    for (int i = 1; i < k; i++) {
        char c = owner_of(frames[i]);
        if (c) {
            who = c;
            break;
        }
    }
    owner_map[n - 1] = who;
}

/* 1 if this allocation is the one to fail. */
static int should_fail(void)
{
    if (!atomic_load_explicit(&armed, memory_order_relaxed))
        return 0;
    long n = atomic_fetch_add(&counter, 1) + 1;
    if (map_file)
        record_owner(n);
    if (n != fail_at)
        return 0;
    if (trace_file) {
        int fd = open(trace_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            void *frames[64];
            int k = backtrace(frames, 64);
            backtrace_symbols_fd(frames, k, fd);
            close(fd);
        }
    }
    errno = ENOMEM;
    return 1;
}

void *malloc(size_t n)
{
    void *p = should_fail() ? NULL : __libc_malloc(n);
    track(p, n);
    return p;
}

void *calloc(size_t a, size_t b)
{
    void *p = should_fail() ? NULL : __libc_calloc(a, b);
    track(p, a * b);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL; /* p stays allocated */
    void *q = __libc_realloc(p, n);
    if (q || !n) {
        untrack(p);
        track(q, n);
    }
    return q;
}

void *memalign(size_t al, size_t n)
{
    void *p = should_fail() ? NULL : __libc_memalign(al, n);
    track(p, n);
    return p;
}

void *aligned_alloc(size_t al, size_t n)
{
    void *p = should_fail() ? NULL : __libc_memalign(al, n);
    track(p, n);
    return p;
}

int posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)))
        return EINVAL;
    if (should_fail())
        return ENOMEM;
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    track(p, n);
    *out = p;
    return 0;
}

void free(void *p)
{
    untrack(p);
    __libc_free(p);
}

/* Write len bytes to path; a failure shows as a missing or short file in the sweep. */
static void dump(const char *path, const char *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w <= 0)
            break;
        buf += w;
        len -= (size_t)w;
    }
    close(fd);
}

static void write_count(void)
{
    long n = atomic_load(&counter);
    if (count_file) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%ld\n", n);
        dump(count_file, buf, (size_t)len);
    }
    if (map_file)
        dump(map_file, owner_map, (size_t)(n < MAP_CAP ? n : MAP_CAP));
    if (leaks_file && getpid() == main_pid) {
        in_shim = 1;
        char buf[1024];
        int len = 0, left = 0;
        pthread_mutex_lock(&live_mu);
        for (size_t k = 0; k < LIVE_CAP; k++)
            left += live[k].p && live[k].p != TOMB;
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%d\n", left);
        int shown = 0;
        for (size_t k = 0; k < LIVE_CAP && shown < 8; k++)
            if (live[k].p && live[k].p != TOMB) {
                Dl_info info;
                const char *sym = dladdr(live[k].pc, &info) && info.dli_sname ? info.dli_sname : "?";
                len += snprintf(buf + len, sizeof buf - (size_t)len, "%c %zu bytes, from %s %p\n", live[k].who,
                                live[k].n, sym, live[k].pc);
                if (len >= (int)sizeof buf)
                    len = (int)sizeof buf - 1;
                shown++;
            }
        pthread_mutex_unlock(&live_mu);
        dump(leaks_file, buf, (size_t)len);
    }
}

/* A forked child (the weights sandbox) leaves with _exit, past atexit: its map goes to
 * MAP_FILE.PID.  Only async-signal-safe calls. */
void _exit(int status)
{
    if (map_file && main_pid && getpid() != main_pid) {
        char path[4200], num[16];
        int k = 0;
        for (long p = getpid(); p > 0 && k < 15; p /= 10)
            num[k++] = (char)('0' + p % 10);
        size_t len = strlen(map_file);
        if (len + 2 + (size_t)k < sizeof path) {
            memcpy(path, map_file, len);
            path[len++] = '.';
            while (k > 0)
                path[len++] = num[--k];
            path[len] = '\0';
            long n = atomic_load(&counter);
            dump(path, owner_map, (size_t)(n < MAP_CAP ? n : MAP_CAP));
        }
    }
    syscall(SYS_exit_group, status);
    for (;;)
        ;
}

static char sig_file[4096];

/* Where a program died after the injected failure: async-signal-safe calls only. */
static void on_fatal(int sig)
{
    int fd = open(sig_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        char line[32];
        int len = snprintf(line, sizeof line, "signal %d\n", sig);
        if (write(fd, line, (size_t)len) == len) {
            void *frames[64];
            int k = backtrace(frames, 64);
            backtrace_symbols_fd(frames, k, fd);
        }
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_fatal_signals(void)
{
    if (!trace_file || strlen(trace_file) + 5 > sizeof sig_file)
        return;
    snprintf(sig_file, sizeof sig_file, "%s.sig", trace_file);
    /* an own stack, so a stack overflow (libhdf5 recursing) is caught too */
    static char alt[1 << 16];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_ONSTACK;
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
}

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int counted_main(int argc, char **argv, char **envp)
{
    atexit(write_count);
    main_pid = getpid();
    catch_fatal_signals();
    atomic_store(&armed, 1);
    return real_main(argc, argv, envp);
}

typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
                        void *);

int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    const char *s = getenv("FACENET_FAIL_ALLOC");
    fail_at = s ? atol(s) : 0;
    count_file = getenv("FACENET_FAIL_ALLOC_COUNT");
    trace_file = getenv("FACENET_FAIL_ALLOC_TRACE");
    map_file = getenv("FACENET_FAIL_ALLOC_MAP");
    leaks_file = getenv("FACENET_FAIL_ALLOC_LEAKS");
    void *warm[2];
    backtrace(warm, 2); /* loads libgcc_s now, not at the failing allocation */
    start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return real(counted_main, argc, argv, init, fini, rtld_fini, stack_end);
}
