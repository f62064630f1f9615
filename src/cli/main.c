/* main.c - `facenet`: --version, help, and dispatch to a subcommand (whose options are
 * in options.c). */
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: facenet <command> [options] [--] [operands]\n"
               "       facenet help <command> | facenet <command> --help | facenet --version\n\ncommands:\n");
    for (const fn_cli_command *c = fn_cli_commands; c->name; c++)
        fprintf(f, "  %-9s %s\n", c->name, c->summary);
    fprintf(f, "\nmodel (every command): --model DIR, else $FACENET_MODEL, else the default model\n"
               "  (installed, or weights/dlib-resnet in the current directory or beside build/)\n"
               "images: files, folders (recursive, sorted; .jpg .jpeg .png) and @LIST files;\n"
               "  the faces in them are detected and aligned (--no-detect: each image is a face crop)\n"
               "--json prints one JSON object per line\n"
               "--limit NAME=N (every command) moves a limit on what input files may ask for:\n ");
    for (const fn_cli_limit *l = fn_cli_limits; l->name; l++)
        fprintf(f, "%s %s", l == fn_cli_limits ? "" : ",", l->name);
    fprintf(f, "\n  (defaults and meanings: facenet <command> --help)\n"
               "exit status: 0 success (verify: same person), 1 verify: different person,\n"
               "             2 error, or some image could not be read (the others are answered)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FN_EXIT_ERROR;
    }
    const char *a = argv[1];
    if (!strcmp(a, "--version") || !strcmp(a, "-V") || !strcmp(a, "version")) {
        printf("facenet %s (libfacenet %s)\n", FN_CLI_VERSION, FACENET_VERSION);
        return FN_EXIT_OK;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
        if (argc < 3) {
            usage(stdout);
            return FN_EXIT_OK;
        }
        const fn_cli_command *c = fn_cli_find_command(argv[2]);
        if (!c)
            return fn_cli_fail("help: unknown command '%s' (try facenet --help)", argv[2]);
        fn_cli_print_help(c, stdout);
        return FN_EXIT_OK;
    }
    const fn_cli_command *c = fn_cli_find_command(a);
    if (c)
        return c->run(argc - 1, argv + 1);
    return fn_cli_fail("unknown command '%s' (try facenet --help)", a);
}
