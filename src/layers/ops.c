/* ops.c - the op table: Keras class name -> op.  Adding an op is one file and one
 * line here. */
#include <string.h>

#include "layers/ops.h"

static const struct {
    const char *class_name;
    const fn_op *op;
} table[] = {
    {"InputLayer", &fn_op_input},
    {"Conv2D", &fn_op_conv2d},
    {"Convolution2D", &fn_op_conv2d},
    {"BatchNormalization", &fn_op_batchnorm},
    {"Activation", &fn_op_activation},
    {"ReLU", &fn_op_relu},
    {"Softmax", &fn_op_softmax},
    {"MaxPooling2D", &fn_op_maxpool2d},
    {"MaxPool2D", &fn_op_maxpool2d},
    {"AveragePooling2D", &fn_op_avgpool2d},
    {"AvgPool2D", &fn_op_avgpool2d},
    {"GlobalAveragePooling2D", &fn_op_gap2d},
    {"GlobalMaxPooling2D", &fn_op_gmp2d},
    {"ZeroPadding2D", &fn_op_zeropad2d},
    {"Concatenate", &fn_op_concat},
    {"Add", &fn_op_add},
    {"Dense", &fn_op_dense},
    {"Flatten", &fn_op_flatten},
    {"Dropout", &fn_op_dropout},
    {"SpatialDropout2D", &fn_op_dropout},
    {"GaussianDropout", &fn_op_dropout},
    {"GaussianNoise", &fn_op_dropout},
    {"AlphaDropout", &fn_op_dropout},
    {"Lambda:scale_sum", &fn_op_scale_sum},       /* Lambdas as recognised by src/io/keras_lambda.c */
    {"Lambda:l2_normalize", &fn_op_l2_normalize},
    {"PReLU", &fn_op_prelu},
    {"LeakyReLU", &fn_op_leaky_relu},
    {"DepthwiseConv2D", &fn_op_depthwise_conv2d},
    {"SeparableConv2D", &fn_op_separable_conv2d},
    {"Reshape", &fn_op_reshape},
};

const fn_op *fn_op_find(const char *class_name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].class_name, class_name))
            return table[i].op;
    return NULL;
}

int fn_op_known_unsupported(const char *class_name)
{
    static const char *const later[] = {"Conv2DTranspose",
                                        "Conv1D", "Conv3D", "LSTM", "GRU", "Bidirectional",
                                        "UpSampling2D", "Permute", "TFOpLambda",
                                        "Functional", "Model", "Sequential"};
    for (size_t i = 0; i < sizeof later / sizeof *later; i++)
        if (!strcmp(later[i], class_name))
            return 1;
    return 0;
}
