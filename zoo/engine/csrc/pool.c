/* pool.c: kernel family 'pool' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_pool_methods[] = {{NULL, NULL, 0, NULL}};
