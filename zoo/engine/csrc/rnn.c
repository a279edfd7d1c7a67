/* rnn.c: kernel family 'rnn' (see act.c for the file's template). */
#include "zoo.h"

PyMethodDef zoo_rnn_methods[] = {{NULL, NULL, 0, NULL}};
