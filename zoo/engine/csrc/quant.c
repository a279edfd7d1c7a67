/* quant.c: kernel family 'quant' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_quant_methods[] = {{NULL, NULL, 0, NULL}};
