/* module.c: the zoo.engine._native module, assembled from the families' method tables. */
#include "zoo.h"

static PyMethodDef *families[] = {
    zoo_core_methods,                                                        /* threads, build facts */
    zoo_act_methods,    zoo_softmax_methods,                                 /* activations */
    zoo_conv_methods,   zoo_depthwise_methods, zoo_winograd_methods,         /* 1-D / 2-D convolution */
    zoo_conv3d_methods, zoo_pool_methods,      zoo_pool3d_methods,           /* 3-D convolution, pooling */
    zoo_resize_methods,                                                      /* upsampling, resizing */
    zoo_norm_methods,   zoo_dropout_methods,                                 /* batch norm, dropout */
    zoo_rnn_methods,    zoo_gru_methods,       zoo_embedding_methods,        /* recurrent cells, lookups */
    zoo_optim_methods,  zoo_reduce_methods,    zoo_comm_methods,             /* flat buffers: optimizers, all-reduce */
    zoo_quant_methods};

static PyMethodDef all_methods[512];

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "zoo.engine._native",
                                       "zoo's OpenMP kernels (call them through zoo.engine.kernels).", -1,
                                       all_methods};

PyMODINIT_FUNC PyInit__native(void) {
    size_t n = 0;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (PyMethodDef *m = families[f]; m->ml_name != NULL; m++) {
            if (n + 1 >= sizeof(all_methods) / sizeof(all_methods[0])) {
                PyErr_SetString(PyExc_RuntimeError, "zoo.engine._native: too many kernels");
                return NULL;
            }
            all_methods[n++] = *m;
        }
    all_methods[n] = (PyMethodDef){NULL, NULL, 0, NULL};
    return PyModule_Create(&moduledef);
}
