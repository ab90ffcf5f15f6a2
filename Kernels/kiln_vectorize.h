/* kiln_vectorize.h: how the runtime's C loops ask to be vectorised, shared by the block
   primitives (vector.c) and the kernels that write their loops inline (extremum_gradient.c). */
#ifndef KILN_VECTORIZE_H
#define KILN_VECTORIZE_H

/* The result may be an operand's own array (written at the index just read), which the
   compiler cannot prove harmless: it would check for overlap on every call and run the
   scalar loop when the arrays are the same, as in an optimizer's update written in place. */
#if defined(__clang__)
/* Loops calling the C library (floorf in the baseline build) stay scalar. */
#pragma clang diagnostic ignored "-Wpass-failed"
#define KILN_SIMD _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define KILN_SIMD _Pragma("GCC ivdep")
#else
#define KILN_SIMD
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(KILN_PORTABLE)
#define KILN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KILN_CLONES
#endif

#endif
