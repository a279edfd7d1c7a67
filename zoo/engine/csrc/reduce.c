/* reduce.c: kernel family 'reduce' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_reduce_methods[] = {{NULL, NULL, 0, NULL}};
