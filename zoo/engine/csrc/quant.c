/* quant.c: kernel family 'quant' (see zoo_template.h for a family file's layout). */
#include "zoo.h"

PyMethodDef zoo_quant_methods[] = {{NULL, NULL, 0, NULL}};
