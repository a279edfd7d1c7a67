/* comm.c: kernel family 'comm' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_comm_methods[] = {{NULL, NULL, 0, NULL}};
