/* trt_common.h - shared definitions of the tinyrt C runtime (C99).
 *
 * Every kernel in this runtime is a static inline function: the generated model file calls it
 * with compile-time constant sizes, so the compiler inlines, unrolls and vectorises it for the
 * target. Kernels never allocate, lock, wait or do I/O; all state lives in caller-owned memory.
 */
#ifndef TRT_COMMON_H
#define TRT_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define TRT_INLINE static inline __attribute__((always_inline))
#define TRT_ALIGN(n) __attribute__((aligned(n)))
#else
#define TRT_INLINE static inline
#define TRT_ALIGN(n)
#endif

/* Number of independent partial sums in dot products: fixes the summation order (so results
 * do not depend on compiler flags) while letting the compiler map the lanes onto SIMD. */
#define TRT_LANES 8

/* A kernel's bias argument for a layer without bias. */
#define TRT_NO_BIAS NULL

#endif /* TRT_COMMON_H */
