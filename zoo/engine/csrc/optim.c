/* optim.c: kernel family 'optim' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_optim_methods[] = {{NULL, NULL, 0, NULL}};
