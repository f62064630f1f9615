/* main.c - `facenet`: dispatch to a subcommand. */
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"info", fn_cmd_info, "info [--model DIR] [--layers] [--input-shape HxWxC]   model summary and memory plan"},
    {"embed", fn_cmd_embed, "embed [--model DIR] --raw FILE.f32... [--json] [--input-shape HxWxC]   run raw float32 inputs"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: facenet <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nmodel options (every command): --model DIR (DIR/model.json + DIR/model.h5; default\n"
               "  $FACENET_MODEL or weights/dlib-resnet), --model-json FILE, --weights FILE\n"
               "exit status: 0 success (verify: same person), 1 verify: different person, 2 error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FN_EXIT_ERROR : FN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fn_cli_fail("unknown command '%s' (try facenet --help)", argv[1]);
    return FN_EXIT_ERROR;
}
