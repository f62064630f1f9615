/* main.c - `facenet`: dispatch to a subcommand. */
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"info", fn_cmd_info, "info [--model DIR] [--layers] [--input-shape HxWxC]   model summary and memory plan"},
    {"embed", fn_cmd_embed, "embed --raw FILE.f32... [--json] [--input-shape HxWxC]   run preprocessed raw float32 inputs"},
    {"encode", fn_cmd_encode, "encode [--batch N] [--threads N] [-o OUT.npy|.csv|.h5] [--shard K/N] [--landmarks F\n"
                              "         --landmark-scale S] [--json] IMG|DIR|@LIST...   embeddings of many images"},
    {"enroll", fn_cmd_enroll, "enroll --db FILE NAME IMG...   add photos of a person to the gallery"},
    {"verify", fn_cmd_verify, "verify --db FILE NAME IMG [--threshold T]   is this NAME? (exit 0 yes, 1 no)"},
    {"identify", fn_cmd_identify, "identify --db FILE IMG... [--threshold T]   who is this, or unknown"},
    {"distance", fn_cmd_distance, "distance IMG IMG...   pairwise distance matrix"},
    {"evaluate", fn_cmd_evaluate, "evaluate --pairs PAIRS.txt --images DIR [--landmarks F --landmark-scale S]\n"
                                  "         [--train-pairs PAIRS.txt] [--json]   LFW verification protocol"},
    {"db", fn_cmd_db, "db list|remove NAME|check --db FILE   manage the gallery"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: facenet <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %s\n", commands[i].help);
    fprintf(f, "\nmodel options (every command): --model DIR (DIR/model.json + DIR/model.h5; default\n"
               "  $FACENET_MODEL or weights/dlib-resnet), --model-json FILE, --weights FILE\n"
               "images are face crops, resized to the model input (or aligned with --landmarks);\n"
               "--json prints one JSON object per line\n"
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
