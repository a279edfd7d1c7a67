/* module.c: the zoo.engine._native module, assembled from the families' method tables. */
#include "zoo.h"

static PyMethodDef *families[] = {zoo_core_methods, zoo_act_methods, zoo_conv_methods, zoo_pool_methods,
                                  zoo_norm_methods, zoo_optim_methods, zoo_reduce_methods, zoo_rnn_methods,
                                  zoo_conv3d_methods, zoo_comm_methods, zoo_quant_methods};

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
