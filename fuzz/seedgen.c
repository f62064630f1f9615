/* seedgen.c - small seed files the fuzz targets need that the shared data does not
 * hold as such (used by fuzz/make_seeds.sh):
 *   seedgen h5config MODEL.h5 OUT.json   the model_config of a full-model .h5
 *   seedgen png W H OUT.png              an 8-bit RGB gradient of odd size */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "io/keras_weights.h"

int main(int argc, char **argv)
{
    fn_err err;
    if (argc == 4 && !strcmp(argv[1], "h5config")) {
        char *json;
        if (fn_keras_h5_config(argv[2], &json, &err)) {
            fprintf(stderr, "seedgen: %s\n", err.msg);
            return 1;
        }
        FILE *f = fopen(argv[3], "wb");
        int bad = !f || fputs(json, f) == EOF;
        if (f && fclose(f) != 0)
            bad = 1;
        free(json);
        if (bad)
            fprintf(stderr, "seedgen: cannot write %s\n", argv[3]);
        return bad;
    }
    if (argc == 5 && !strcmp(argv[1], "png")) {
        int w = atoi(argv[2]), h = atoi(argv[3]);
        fn_image img;
        if (fn_image_alloc(&img, w, h, &err)) {
            fprintf(stderr, "seedgen: %s\n", err.msg);
            return 1;
        }
        for (int i = 0; i < w * h * 3; i++)
            img.rgb[i] = (unsigned char)(i * 7 + i / 3);
        int rc = fn_image_save_png(argv[4], &img, &err);
        if (rc)
            fprintf(stderr, "seedgen: %s\n", err.msg);
        fn_image_free(&img);
        return rc ? 1 : 0;
    }
    fprintf(stderr, "usage: seedgen h5config MODEL.h5 OUT.json | png W H OUT.png\n");
    return 2;
}
