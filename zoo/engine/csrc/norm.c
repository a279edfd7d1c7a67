/* norm.c: kernel family 'norm' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_norm_methods[] = {{NULL, NULL, 0, NULL}};
