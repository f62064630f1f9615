/* embed.c - the embedding of one face photo with the installed facenet-c library:
 * the numbers `facenet encode` prints for it, on one line.
 *
 *   cc examples/embed.c $(pkg-config --cflags --libs facenet) -o embed
 *   ./embed photo.jpg                   # the default model installed with the library
 *   ./embed photo.jpg path/to/model     # any model directory (model.json, model.h5,
 *                                       # facenet.json)
 *
 * With a PREFIX outside the dynamic linker's paths (not /usr or /usr/local), run it
 * with LD_LIBRARY_PATH=PREFIX/lib, or link the static library instead:
 *   cc examples/embed.c $(pkg-config --cflags facenet) $(pkg-config --variable=libdir facenet)/libfacenet.a \
 *      -Wl,--as-needed $(pkg-config --static --libs facenet)
 * (--as-needed: the -lfacenet in those flags then adds no dependency on the .so).
 */
#include <facenet_app.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s IMAGE [MODEL_DIR]\n", argv[0]);
        return 2;
    }
    fn_err err;
    /* NULL: the default model, where `make install` put it */
    fn_embedder *e = fn_embedder_open(argc == 3 ? argv[2] : NULL, &err);
    if (!e) {
        fprintf(stderr, "embed: %s\n", err.msg);
        return 2;
    }
    float v[FN_EMBEDDER_MAX_DIM];
    if (fn_embedder_embed_file(e, argv[1], v, &err)) {
        fprintf(stderr, "embed: %s\n", err.msg);
        fn_embedder_close(e);
        return 2;
    }
    /* %.9g prints every float exactly (9 significant digits round-trip) */
    int dim = fn_embedder_dim(e);
    for (int i = 0; i < dim; i++)
        printf("%s%.9g", i ? " " : "", (double)v[i]);
    printf("\n");
    fn_embedder_close(e);
    return 0;
}
