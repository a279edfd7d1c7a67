/* conv.c: kernel family 'conv' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_conv_methods[] = {{NULL, NULL, 0, NULL}};
