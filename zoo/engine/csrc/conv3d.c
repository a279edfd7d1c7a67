/* conv3d.c: kernel family 'conv3d' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_conv3d_methods[] = {{NULL, NULL, 0, NULL}};
