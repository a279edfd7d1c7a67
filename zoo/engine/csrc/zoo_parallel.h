/* zoo_parallel.h: how zoo's kernels use the OpenMP team (included by zoo.h).
 *
 * Every parallel loop splits over what it writes, in pieces fixed by the shapes alone, so results
 * do not depend on the number of threads. */
#ifndef ZOO_PARALLEL_H
#define ZOO_PARALLEL_H

/* The OpenMP team size of one kernel call: nthreads > 0, or the default for 0. */
static inline int zoo_team(int nthreads) {
#ifdef _OPENMP
    return nthreads > 0 ? nthreads : omp_get_max_threads();
#else
    (void)nthreads;
    return 1;
#endif
}

/* The calling thread's number in its team (0 outside a parallel region). */
static inline int zoo_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Run the for loop in the arguments on the OpenMP team when COND holds, else inline (an `if`
 * clause would still enter the OpenMP runtime, which costs more than a small loop). */
#define ZOO_PARFOR(COND, ...)                                        \
    do {                                                             \
        if (COND) {                                                  \
            _Pragma("omp parallel for schedule(static)") __VA_ARGS__ \
        } else {                                                     \
            __VA_ARGS__                                              \
        }                                                            \
    } while (0)

/* Run the block in the arguments for each piece [A, B) of [lo, hi) cut every BLOCK elements, the
 * pieces spread over zoo_team(threads) threads when there are at least two of them. */
#define ZOO_FOR_BLOCKS(lo, hi, BLOCK, threads, A, B, ...)                                                  \
    do {                                                                                                   \
        const int64_t zoo_lo_ = (lo), zoo_hi_ = (hi);                                                      \
        const int64_t zoo_blocks_ = (zoo_hi_ - zoo_lo_ + (BLOCK) - 1) / (BLOCK);                           \
        const int zoo_nt_ = zoo_team(threads);                                                             \
        (void)zoo_nt_;                                                                                     \
        _Pragma("omp parallel for num_threads(zoo_nt_) if (zoo_blocks_ > 1 && zoo_nt_ > 1) schedule(static)") \
        for (int64_t zoo_c_ = 0; zoo_c_ < zoo_blocks_; zoo_c_++) {                                         \
            const int64_t A = zoo_lo_ + zoo_c_ * (BLOCK), B = A + (BLOCK) < zoo_hi_ ? A + (BLOCK) : zoo_hi_; \
            __VA_ARGS__                                                                                    \
        }                                                                                                  \
    } while (0)

#endif
