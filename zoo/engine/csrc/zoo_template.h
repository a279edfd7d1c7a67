/* zoo_template.h: builds a family file's kernels for float and double from one source.
 *
 * A family file is written in two parts:
 *
 *     #ifndef ZOO_TEMPLATE_PASS
 *     #include "zoo.h"
 *     ... constants and type-free helpers ...
 *     #define ZOO_TEMPLATE "family.c"
 *     #include "zoo_template.h"
 *     ... Python wrappers, which call S(kernel) as kernel_f32 / kernel_f64, and the method table ...
 *     #else
 *     ... kernels, written once with the element type T and S(name) ...
 *     #endif
 *
 * This header includes the file ZOO_TEMPLATE twice more with ZOO_TEMPLATE_PASS defined: with
 * T = float and S(name) = name##_f32, then with T = double and S(name) = name##_f64.
 * ZOO_BY_TYPE(f, d) is f in the float pass and d in the double one, so a file can name its
 * per-type functions once: #define ZEXP ZOO_BY_TYPE(zoo_expf, exp). */
#ifndef ZOO_TEMPLATE
#error "define ZOO_TEMPLATE (the family file's name) before including zoo_template.h"
#endif

#define ZOO_TEMPLATE_PASS 1
#define T float
#define S(name) name##_f32
#define ZOO_BY_TYPE(f, d) f
#include ZOO_TEMPLATE
#undef T
#undef S
#undef ZOO_BY_TYPE
#define T double
#define S(name) name##_f64
#define ZOO_BY_TYPE(f, d) d
#include ZOO_TEMPLATE
#undef T
#undef S
#undef ZOO_BY_TYPE
#undef ZOO_TEMPLATE_PASS
#undef ZOO_TEMPLATE
