/*
 * kiln_math.h: Kiln's elementary functions, written to vectorise.
 *
 * Each function is straight-line float arithmetic (no table, no branch but selects), so a
 * loop calling it compiles to 8 or 16 lanes at a time, and it gives the same bits wherever
 * it runs: in the block primitives (vectorised), in the scalar loops TinyCC compiles (which
 * call the exported copies in runtime.c), and in the interpreter, whose Swift copies
 * (Sources/KilnGraph/Core/Math.swift) perform the same operations in the same order. Keep
 * the two in step: `MathTests` checks them against each other bit for bit, and against
 * double precision for the error bounds below.
 *
 * The multiply-adds of exp's reduction and polynomial, and of tanh's polynomial, are fused
 * (fmaf, rounded once; `addingProduct` in Swift), which halves exp's chain of dependent
 * operations. fmaf is one instruction on every x86-64 CPU with AVX2 (the kernels' clones for
 * such CPUs, KILN_CLONES, inline it) and on AArch64; elsewhere the C library computes it
 * exactly in software, with the same bits, more slowly.
 *
 * | function     | method                                                      | max error |
 * | ---          | ---                                                         | ---       |
 * | kiln_exp     | x = n ln2 + r (ln2 in two parts), degree-6 polynomial, 2^n in two steps | 1.011 ulp |
 * | kiln_log     | x = m 2^e, m in [sqrt(1/2), sqrt(2)), degree-9 polynomial   | 0.83 ulp  |
 * | kiln_log1p   | log(1 + u) u / ((1 + u) - 1), and u where 1 + u rounds to 1 | 2.47 ulp  |
 * | kiln_tanh    | odd polynomial below 0.625, else 1 - 2 / (exp(2|x|) + 1)    | 1.331 ulp |
 * | kiln_erf     | x + x P(x^2) below 0.875, else 1 - exp(-x^2) Q(|x|) up to 4 | 1.303 ulp |
 *
 * (The polynomials of exp, log and tanh are the minimax fits of the Cephes library's
 * single-precision functions; erf's were fitted here, by reweighted least squares.
 * The errors are the largest against double precision over every one of the 2^32 floats,
 * for results in the normal range; MathTests checks a sample against the same bounds. exp
 * was at most 0.990 ulp before its multiply-adds were fused; tanh's and erf's largest errors,
 * at 0.6283 and 0.8760, just past the ends of their polynomials, did not change.)
 * Results below FLT_MIN are computed as such here; inside a
 * compiled program, which runs with denormals flushed to zero, they are zero.
 */
#ifndef KILN_MATH_H
#define KILN_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

/* Each function is inlined wherever it is called, so a loop in a kernel's clone for a CPU
   with FMA or AVX-512 (KILN_CLONES) compiles its operations for that CPU and vectorises. */
#if defined(__GNUC__) || defined(__clang__)
#define KILN_MATH_INLINE static inline __attribute__((always_inline))
#else
#define KILN_MATH_INLINE static inline
#endif

static inline uint32_t kiln_float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float kiln_bits_float(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* e^x. */
KILN_MATH_INLINE float kiln_exp(float x) {
    const float high = 88.72283935546875f, low = -103.97208404541015625f;
    float c = x > high ? high : x;
    c = c < low ? low : c;
    c = x != x ? 0.0f : c;
    float n = floorf(fmaf(c, 1.44269502162933349609375f, 0.5f));
    float r = fmaf(n, -0.693359375f, c);
    r = fmaf(n, 2.12194440e-4f, r);
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, z, r);
    p = p + 1.0f;
    /* 2^n as two powers of two, each a normal float for n in [-150, 128]. */
    int32_t k = (int32_t)n;
    int32_t k1 = k / 2, k2 = k - k1;
    float y = p * kiln_bits_float((uint32_t)(k1 + 127) << 23);
    y = y * kiln_bits_float((uint32_t)(k2 + 127) << 23);
    y = x > high ? kiln_bits_float(0x7f800000u) : y;
    y = x < low ? 0.0f : y;
    return x != x ? x : y;
}

/* The natural logarithm: -inf at 0, NaN below. */
KILN_MATH_INLINE float kiln_log(float x) {
    int tiny = x < 1.17549435e-38f;
    float s = tiny ? x * 8388608.0f : x;
    uint32_t u = kiln_float_bits(s);
    int32_t e = (int32_t)((u >> 23) & 0xffu) - (tiny ? 149 : 126);
    float m = kiln_bits_float((u & 0x007fffffu) | 0x3f000000u);
    int below = m < 0.707106781186547524f;
    e = below ? e - 1 : e;
    m = below ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m;
    y = y * z;
    float f = (float)e;
    y = y + f * -2.12194440e-4f;
    y = y - 0.5f * z;
    float r = m + y;
    r = r + f * 0.693359375f;
    r = x == kiln_bits_float(0x7f800000u) ? x : r;
    r = x == 0.0f ? kiln_bits_float(0xff800000u) : r;
    r = x < 0.0f ? kiln_bits_float(0x7fc00000u) : r;
    return x != x ? x : r;
}

/* log(1 + x), accurate for small x. */
KILN_MATH_INLINE float kiln_log1p(float x) {
    float w = 1.0f + x;
    float d = w - 1.0f;
    float r = kiln_log(w) * (x / d);
    r = d == 0.0f ? x : r;
    r = x == kiln_bits_float(0x7f800000u) ? x : r;
    return x != x ? x : r;
}

/* The hyperbolic tangent. */
KILN_MATH_INLINE float kiln_tanh(float x) {
    float a = fabsf(x);
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = fmaf(p, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    p = p * z;
    float small = fmaf(p, x, x);
    float e = kiln_exp(a + a);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    float y = a < 0.625f ? small : big;
    y = x == 0.0f ? x : y; /* keeps the sign of zero */
    return x != x ? x : y;
}


/* The error function: x + x P(x^2) below 0.875; 1 - exp(-x^2) Q(x) up to 4, with Q a
   polynomial in (|x| - 2.4375) / 1.5625 fitted to erfc(x) exp(x^2); 1 above. */
KILN_MATH_INLINE float kiln_erf(float x) {
    float a = fabsf(x);
    float z = x * x;
    float p = 0x1.6cdc2ap-14f;
    p = p * z + -0x1.aec88ep-11f;
    p = p * z + 0x1.5542a2p-8f;
    p = p * z + -0x1.b81a72p-6f;
    p = p * z + 0x1.ce2e8ep-4f;
    p = p * z + -0x1.812744p-2f;
    p = p * z + 0x1.06eba8p-3f;
    float small = x + x * p;
    float u = (a - 2.4375f) * 0x1.47ae14p-1f;
    float q = 0x1.f7441cp-16f;
    q = q * u + -0x1.33474cp-14f;
    q = q * u + 0x1.7ecd9ep-14f;
    q = q * u + -0x1.ee6d9ap-13f;
    q = q * u + 0x1.61b278p-11f;
    q = q * u + -0x1.98a67ap-10f;
    q = q * u + 0x1.c646e2p-9f;
    q = q * u + -0x1.f2a608p-8f;
    q = q * u + 0x1.08964ap-6f;
    q = q * u + -0x1.0e425ap-5f;
    q = q * u + 0x1.08faacp-4f;
    q = q * u + -0x1.f063a2p-4f;
    q = q * u + 0x1.b97394p-3f;
    float e = kiln_exp(-(a * a));
    float mid = 1.0f - e * q;
    float y = a < 4.0f ? mid : 1.0f;
    y = x < 0.0f ? -y : y;
    y = a < 0.875f ? small : y;
    return x != x ? x : y;
}

#endif
