/* Block primitives: one elementwise op over up to KILN_BLOCK elements, compiled with
   optimization so the loops vectorise. Generated code strip-mines a large fused loop into
   blocks and calls one primitive per op and block; TinyCC's scalar code would be several
   times slower on the same loop.

   An operand is a pointer and a stride of 1 (a run of elements) or 0 (one value for the
   whole block). The result may be the same array as an operand (same index), never an
   overlapping one. Each element is computed with exactly the C expression the scalar loops
   use (the prelude's helpers, no contraction into fused multiply-adds), so both give the
   same bits. */
#include "kiln_prelude.h"

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
#include <immintrin.h>
#endif

/* Each primitive is compiled three times, for AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and the
   baseline, and the loader picks the widest the CPU has. No variant fuses a multiply and an
   add, so all three give the same bits. */
#include "kiln_vectorize.h"

/* y[j] = f(a[j]) where a has stride sa, as the function fname. */
#define KILN_UNARY_FN(fname, expr)                                                              \
    KILN_CLONES void fname(int64_t m, const float *a, int64_t sa, float *y) {                   \
        if (sa) {                                                                               \
            KILN_SIMD for (int64_t j = 0; j < m; j++) {                                                   \
                float x = a[j];                                                                 \
                y[j] = (expr);                                                                  \
            }                                                                                   \
        } else {                                                                                \
            float x = a[0];                                                                     \
            float r = (expr);                                                                   \
            KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;                                           \
        }                                                                                       \
    }

#define KILN_UNARY(name, expr) KILN_UNARY_FN(kiln_vec_##name, expr)

/* y[j] = f(a[j], b[j]), each operand with its own stride. */
#define KILN_BINARY(name, type, expr)                                                           \
    KILN_CLONES void kiln_vec_##name(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb,     \
                         type *y) {                                                             \
        if (sa && sb) {                                                                         \
            KILN_SIMD for (int64_t j = 0; j < m; j++) {                                                   \
                float x = a[j], z = b[j];                                                       \
                y[j] = (expr);                                                                  \
            }                                                                                   \
        } else if (sa) {                                                                        \
            float z = b[0];                                                                     \
            KILN_SIMD for (int64_t j = 0; j < m; j++) {                                                   \
                float x = a[j];                                                                 \
                y[j] = (expr);                                                                  \
            }                                                                                   \
        } else if (sb) {                                                                        \
            float x = a[0];                                                                     \
            KILN_SIMD for (int64_t j = 0; j < m; j++) {                                                   \
                float z = b[j];                                                                 \
                y[j] = (expr);                                                                  \
            }                                                                                   \
        } else {                                                                                \
            float x = a[0], z = b[0];                                                           \
            type r = (expr);                                                                    \
            KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;                                           \
        }                                                                                       \
    }

KILN_UNARY(neg, -x)
KILN_UNARY(abs, fabsf(x))
KILN_UNARY(sign, kiln_sign(x))
KILN_UNARY(log, kiln_log(x))
KILN_UNARY(square, x * x)
KILN_UNARY(erf, kiln_erf(x))
KILN_UNARY(relu, kiln_relu(x))
KILN_UNARY(softplus, kiln_softplus(x))
KILN_UNARY(floor, floorf(x))

/* exp, sigmoid and tanh, the gates of recurrent layers, also have AVX-512 and AVX2 forms
   (below) for runs of elements; these loops serve other CPUs and a value broadcast to the block. */
static KILN_UNARY_FN(exp_loop, kiln_exp(x))
static KILN_UNARY_FN(sigmoid_loop, kiln_sigmoid(x))
static KILN_UNARY_FN(tanh_loop, kiln_tanh(x))

#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
#include "include/KilnKernels.h"
#include "kiln_simd.h"

/* kiln_exp, kiln_sigmoid and kiln_tanh 16 lanes at a time with AVX-512: the same float
   operations in the same order (fused multiply-adds where the scalar code calls fmaf), so the
   same bits, checked against the scalar functions over all 2^32 floats, with and without
   denormals flushed (tools/exhaustive_math.c). Two steps are shorter than the compiler's
   rendering of the scalar code: the clamps are min and max (a NaN's lane is replaced at the
   end either way), and 2^n is one vscalefps, which rounds p * 2^n once, as the scalar code's
   exact-then-rounding multiplications do. Before the multiply-adds were fused: about 0.46 ns
   an element against 0.63 for exp on one core of a Xeon (sigmoid 0.65 against 0.77, tanh 0.89
   against 1.03); fused, on a Zen 4: exp 0.22 ns, sigmoid 0.29, tanh 0.45 (Kernels/README.md).
   The same forms with AVX2, which has no vscalefps, ran no faster than the compiler's
   vectorisation of the scalar code on a Zen 3 (exp 1.04-1.41 ns against 1.01-1.52, tanh
   2.17-2.47 against 1.98-2.00), so AVX2 keeps that; it has its own sqrt and 1 / sqrt, twice as
   fast as four lanes at a time. */
/* exp's argument is clamped to [low, high]: below, the result is 0; above, infinity. */
#define KILN_EXP_LOW (-103.97208404541015625f)
#define KILN_EXP_HIGH 88.72283935546875f
#define KILN_EXP_VECTOR(ISA)                                                                     \
    /* exp of lanes already within [low, high] (the clamped argument). */                        \
    KILN_TARGET_##ISA static inline vec_##ISA exp_within_##ISA(vec_##ISA c) {                    \
        vec_##ISA n = floor_##ISA(fma_##ISA(c, set1_##ISA(1.44269502162933349609375f), set1_##ISA(0.5f))); \
        vec_##ISA r = fma_##ISA(n, set1_##ISA(-0.693359375f), c);                                \
        r = fma_##ISA(n, set1_##ISA(2.12194440e-4f), r);                                         \
        vec_##ISA z = mul_##ISA(r, r);                                                           \
        vec_##ISA p = set1_##ISA(1.9875691500e-4f);                                              \
        p = fma_##ISA(p, r, set1_##ISA(1.3981999507e-3f));                                       \
        p = fma_##ISA(p, r, set1_##ISA(8.3334519073e-3f));                                       \
        p = fma_##ISA(p, r, set1_##ISA(4.1665795894e-2f));                                       \
        p = fma_##ISA(p, r, set1_##ISA(1.6666665459e-1f));                                       \
        p = fma_##ISA(p, r, set1_##ISA(5.0000001201e-1f));                                       \
        p = fma_##ISA(p, z, r);                                                                  \
        p = add_##ISA(p, set1_##ISA(1.0f));                                                      \
        return scale_##ISA(p, n);                                                                \
    }                                                                                            \
    KILN_TARGET_##ISA static inline vec_##ISA exp_##ISA(vec_##ISA x) {                           \
        const vec_##ISA high = set1_##ISA(KILN_EXP_HIGH), low = set1_##ISA(KILN_EXP_LOW);       \
        vec_##ISA y = exp_within_##ISA(max_##ISA(min_##ISA(x, high), low));                      \
        y = blend_##ISA(gt_##ISA(x, high), set1_##ISA(INFINITY), y);                             \
        y = blend_##ISA(lt_##ISA(x, low), zero_##ISA(), y);                                      \
        return blend_##ISA(nan_##ISA(x), x, y);                                                  \
    }

/* sigmoid from x and e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) otherwise, one
   division either way. */
#define KILN_SIGMOID_VECTOR(ISA)                                                                 \
    KILN_TARGET_##ISA static inline vec_##ISA sigmoid_of_##ISA(vec_##ISA x, vec_##ISA e) {       \
        vec_##ISA one = set1_##ISA(1.0f);                                                        \
        vec_##ISA numerator = blend_##ISA(ge_##ISA(x, zero_##ISA()), one, e);                    \
        return div_##ISA(numerator, add_##ISA(one, e));                                          \
    }                                                                                            \
    KILN_TARGET_##ISA static inline vec_##ISA sigmoid_##ISA(vec_##ISA x) {                       \
        return sigmoid_of_##ISA(x, exp_##ISA(negabs_##ISA(x)));                                  \
    }                                                                                            \
    KILN_TARGET_##ISA static inline vec_##ISA sigmoid_within_##ISA(vec_##ISA x) {                \
        return sigmoid_of_##ISA(x, exp_within_##ISA(negabs_##ISA(x)));                           \
    }

/* tanh from x and e = exp(2|x|), but for a NaN's lane. */
#define KILN_TANH_VECTOR(ISA)                                                                    \
    KILN_TARGET_##ISA static inline vec_##ISA tanh_of_##ISA(vec_##ISA x, vec_##ISA e) {          \
        vec_##ISA a = abs_##ISA(x), zero = zero_##ISA(), one = set1_##ISA(1.0f);                 \
        vec_##ISA z = mul_##ISA(x, x);                                                           \
        vec_##ISA p = set1_##ISA(-5.70498872745e-3f);                                            \
        p = fma_##ISA(p, z, set1_##ISA(2.06390887954e-2f));                                      \
        p = fma_##ISA(p, z, set1_##ISA(-5.37397155531e-2f));                                     \
        p = fma_##ISA(p, z, set1_##ISA(1.33314422036e-1f));                                      \
        p = fma_##ISA(p, z, set1_##ISA(-3.33332819422e-1f));                                     \
        p = mul_##ISA(p, z);                                                                     \
        vec_##ISA small = fma_##ISA(p, x, x);                                                    \
        vec_##ISA big = sub_##ISA(one, div_##ISA(set1_##ISA(2.0f), add_##ISA(e, one)));          \
        big = blend_##ISA(lt_##ISA(x, zero), sub_##ISA(zero, big), big);                         \
        vec_##ISA y = blend_##ISA(lt_##ISA(a, set1_##ISA(0.625f)), small, big);                  \
        return blend_##ISA(eq_##ISA(x, zero), x, y); /* the sign of zero */                      \
    }                                                                                            \
    KILN_TARGET_##ISA static inline vec_##ISA tanh_##ISA(vec_##ISA x) {                          \
        vec_##ISA a = abs_##ISA(x);                                                              \
        vec_##ISA y = tanh_of_##ISA(x, exp_##ISA(add_##ISA(a, a)));                              \
        return blend_##ISA(nan_##ISA(x), x, y);                                                  \
    }                                                                                            \
    KILN_TARGET_##ISA static inline vec_##ISA tanh_within_##ISA(vec_##ISA x) {                   \
        vec_##ISA a = abs_##ISA(x);                                                              \
        return tanh_of_##ISA(x, exp_within_##ISA(add_##ISA(a, a)));                              \
    }

/* sqrtf and 1 / sqrtf (below): the instruction is correctly rounded, as sqrtf is. */
#define KILN_RSQRT_VECTOR(ISA)                                                                   \
    KILN_TARGET_##ISA static inline vec_##ISA rsqrt_##ISA(vec_##ISA x) {                         \
        return div_##ISA(set1_##ISA(1.0f), sqrt_##ISA(x));                                       \
    }

/* y[j] = f(a[j]) over a run of m elements; the last few in a masked register. */
#define KILN_RUN(ISA, name)                                                                      \
    KILN_TARGET_##ISA static void name##_run_##ISA(int64_t m, const float *a, float *y) {        \
        const int64_t lanes = KILN_LANES_##ISA;                                                  \
        int64_t j = 0;                                                                           \
        for (; j + lanes <= m; j += lanes) store_##ISA(y + j, name##_##ISA(load_##ISA(a + j)));  \
        if (j < m) {                                                                             \
            mask_##ISA rest = lanes_##ISA(m - j);                                                \
            storem_##ISA(y + j, rest, name##_##ISA(loadm_##ISA(a + j, rest)));                   \
        }                                                                                        \
    }

/* KILN_RUN(avx512, name), and name##_pairs_avx512, which takes the run two registers at a time
   (kiln_simd.h's avx512x2) and leaves the rest to it: exp, sigmoid and tanh are chains of
   dependent operations, and two side by side keep the core busy while each waits. On one core
   of a Xeon (Cascade Lake), 2,048 elements: sigmoid 1.85 us against 2.29, tanh 2.64 against
   3.25.
   A pair whose 32 arguments all lie in [lo, hi] (no NaN among them) takes name##_within, which
   leaves out exp's clamps and the blends for arguments out of range and NaN: in that range
   they change nothing, so the bits are the same (tools/exhaustive_math.c). The ranges are
   those on which exp's argument needs no clamp: exp's own [low, high]; sigmoid's
   exp(-|x|) for |x| <= -low; tanh's exp(2|x|) for |x| <= high / 2 (2|x| is exact). Gates
   and softmax's x - max lie there nearly always. Same core, 2,048 arguments in [-5, 5]:
   sigmoid 1.59 us against 1.87, tanh 2.39 against 2.72, exp 1.17 against 1.50. */
#define KILN_RUN_PAIRS(name, lo, hi)                                                             \
    KILN_RUN(avx512, name)                                                                       \
    KILN_TARGET_avx512 static void name##_pairs_avx512(int64_t m, const float *a, float *y) {    \
        int64_t j = 0;                                                                           \
        for (; j + 32 <= m; j += 32) {                                                           \
            vec_avx512x2 x = load_avx512x2(a + j);                                               \
            store_avx512x2(y + j, within_avx512x2(x, lo, hi) ? name##_within_avx512x2(x) : name##_avx512x2(x)); \
        }                                                                                        \
        name##_run_avx512(m - j, a + j, y + j);                                                  \
    }

KILN_EXP_VECTOR(avx512) KILN_SIGMOID_VECTOR(avx512) KILN_TANH_VECTOR(avx512)
KILN_EXP_VECTOR(avx512x2) KILN_SIGMOID_VECTOR(avx512x2) KILN_TANH_VECTOR(avx512x2)
KILN_RUN_PAIRS(exp, KILN_EXP_LOW, KILN_EXP_HIGH)
KILN_RUN_PAIRS(sigmoid, KILN_EXP_LOW, -KILN_EXP_LOW)
KILN_RUN_PAIRS(tanh, -0.5f * KILN_EXP_HIGH, 0.5f * KILN_EXP_HIGH)
KILN_RSQRT_VECTOR(avx512) KILN_RUN(avx512, sqrt) KILN_RUN(avx512, rsqrt)
KILN_RSQRT_VECTOR(avx2) KILN_RUN(avx2, sqrt) KILN_RUN(avx2, rsqrt)

/* kiln_bias_relu_rows (below) a row's vectors at a time, its last few lanes under a mask. The
   rows of a convolution's chunk are 32 or 64 channels: the compiler's loop, which takes four
   registers at a time, took rows of 32 in steps of 8 lanes and spent more on each row's
   entry and exit than on its work. 240 rows of 32 on one core of a Xeon (Cascade Lake), runs
   of one harness before and after: 1.2-1.9 us against 2.3-3.3, with the flags 1.9-2.4 against
   2.4-3.7. */
#define KILN_BIAS_RELU(ISA)                                                                      \
    /* The count lanes from column j of a row (a whole register when count is the lane count), \
       the rest under the mask `rest`; flags (the row's, or NULL) written when flagged. */      \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline void bias_relu_vector_##ISA(               \
        int flagged, int64_t count, mask_##ISA rest, int64_t j, const float *x, const float *bias, float *y, \
        uint8_t *flags) {                                                                        \
        int whole = count == KILN_LANES_##ISA;                                                   \
        vec_##ISA sum = add_##ISA(load_part_##ISA(x + j, whole, rest), load_part_##ISA(bias + j, whole, rest)); \
        mask_##ISA positive = gt_##ISA(sum, zero_##ISA());                                       \
        store_part_##ISA(y + j, whole, rest, blend_##ISA(either_##ISA(positive, nan_##ISA(sum)), sum, zero_##ISA())); \
        if (flagged) store_flags_##ISA(flags + j, positive, count);                              \
    }                                                                                            \
    /* The rows, with or without flags (a constant where it is inlined): no test but the loops' \
       own in a row of whole vectors. */                                                         \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline void bias_relu_loop_##ISA(                 \
        int flagged, int64_t rows, int64_t length, const float *x, const float *bias, float *y, uint8_t *flags) { \
        const int64_t lanes = KILN_LANES_##ISA, whole = length - length % lanes;                 \
        mask_##ISA rest = lanes_##ISA(length % lanes);                                           \
        for (int64_t i = 0; i < rows; i++, x += length, y += length) {                           \
            uint8_t *row_flags = flagged ? flags + i * length : NULL;                            \
            for (int64_t j = 0; j < whole; j += lanes)                                           \
                bias_relu_vector_##ISA(flagged, lanes, rest, j, x, bias, y, row_flags);           \
            if (whole < length) bias_relu_vector_##ISA(flagged, length - whole, rest, whole, x, bias, y, row_flags); \
        }                                                                                        \
    }                                                                                            \
    KILN_TARGET_##ISA static void bias_relu_rows_##ISA(int64_t rows, int64_t length, const float *x, \
                                                       const float *bias, float *y, uint8_t *mask) { \
        if (mask != NULL) {                                                                      \
            bias_relu_loop_##ISA(1, rows, length, x, bias, y, mask);                             \
        } else {                                                                                 \
            bias_relu_loop_##ISA(0, rows, length, x, bias, y, mask);                             \
        }                                                                                        \
    }
KILN_BIAS_RELU(avx512)
KILN_BIAS_RELU(avx2)

/* A run (stride 1) goes to the AVX-512 form on CPUs that have it. */
#define KILN_USE_RUN(name)                                                                       \
    if (sa && kiln_cpu_simd_level() == 2) {                                                      \
        name##_pairs_avx512(m, a, y);                                                            \
        return;                                                                                  \
    }
#else
#define KILN_USE_RUN(name)
#endif

void kiln_vec_exp(int64_t m, const float *a, int64_t sa, float *y) {
    KILN_USE_RUN(exp)
    exp_loop(m, a, sa, y);
}

void kiln_vec_sigmoid(int64_t m, const float *a, int64_t sa, float *y) {
    KILN_USE_RUN(sigmoid)
    sigmoid_loop(m, a, sa, y);
}

void kiln_vec_tanh(int64_t m, const float *a, int64_t sa, float *y) {
    KILN_USE_RUN(tanh)
    tanh_loop(m, a, sa, y);
}

/* sqrtf is correctly rounded, as the SSE and AVX instructions are; calling it through libm
   (which keeps errno) would stop the loop from vectorising, so the instructions are named. */
static void sqrt_run(int64_t m, const float *a, float *y, int reciprocal) {
    int64_t j = 0;
#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
    int level = kiln_cpu_simd_level();
    if (reciprocal ? KILN_SIMD_CALL(level, rsqrt_run, m, a, y) : KILN_SIMD_CALL(level, sqrt_run, m, a, y)) return;
    __m128 one = _mm_set1_ps(1.0f);
    for (; j + 4 <= m; j += 4) {
        __m128 r = _mm_sqrt_ps(_mm_loadu_ps(a + j));
        _mm_storeu_ps(y + j, reciprocal ? _mm_div_ps(one, r) : r);
    }
#endif
    for (; j < m; j++) y[j] = reciprocal ? 1.0f / sqrtf(a[j]) : sqrtf(a[j]);
}

void kiln_vec_sqrt(int64_t m, const float *a, int64_t sa, float *y) {
    if (sa) {
        sqrt_run(m, a, y, 0);
    } else {
        float r = sqrtf(a[0]);
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;
    }
}

void kiln_vec_rsqrt(int64_t m, const float *a, int64_t sa, float *y) {
    if (sa) {
        sqrt_run(m, a, y, 1);
    } else {
        float r = 1.0f / sqrtf(a[0]);
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;
    }
}

KILN_BINARY(add, float, x + z)
KILN_BINARY(sub, float, x - z)
KILN_BINARY(mul, float, x * z)
KILN_BINARY(div, float, x / z)
KILN_BINARY(pow, float, powf(x, z))
KILN_BINARY(maximum, float, kiln_maxf(x, z))
KILN_BINARY(minimum, float, kiln_minf(x, z))
KILN_BINARY(equal, uint8_t, (uint8_t)(x == z))
KILN_BINARY(not_equal, uint8_t, (uint8_t)(x != z))
KILN_BINARY(less, uint8_t, (uint8_t)(x < z))
KILN_BINARY(less_equal, uint8_t, (uint8_t)(x <= z))
KILN_BINARY(greater, uint8_t, (uint8_t)(x > z))
KILN_BINARY(greater_equal, uint8_t, (uint8_t)(x >= z))

/* Both operands are read for every element, so the choice is a blend, not a branch. */
KILN_CLONES void kiln_vec_select(int64_t m, const uint8_t *c, int64_t sc, const float *a, int64_t sa,
                                 const float *b, int64_t sb, float *y) {
    if (sc && sa && sb) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) {
            float x = a[j], z = b[j];
            y[j] = c[j] ? x : z;
        }
    } else if (sc && sa) {
        float z = b[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) {
            float x = a[j];
            y[j] = c[j] ? x : z;
        }
    } else if (sc && sb) {
        float x = a[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) {
            float z = b[j];
            y[j] = c[j] ? x : z;
        }
    } else {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = c[j * sc] ? a[j * sa] : b[j * sb];
    }
}

KILN_CLONES void kiln_vec_bool_to_f32(int64_t m, const uint8_t *a, int64_t sa, float *y) {
    if (sa) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (float)a[j];
    } else {
        float r = (float)a[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;
    }
}

KILN_CLONES void kiln_vec_f32_to_bool(int64_t m, const float *a, int64_t sa, uint8_t *y) {
    if (sa) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (uint8_t)(a[j] != 0);
    } else {
        uint8_t r = (uint8_t)(a[0] != 0);
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = r;
    }
}

KILN_CLONES void kiln_vec_sum_rows(int64_t m, const float *a, int64_t sa, float *y) {
    if (sa) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] += a[j];
    } else {
        float x = a[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] += x;
    }
}

/* y[j] = value for `count` elements: the start of a sum, max or min over many outputs. */
KILN_CLONES void kiln_fill_f32(int64_t count, float value, float *y) {
    KILN_SIMD for (int64_t j = 0; j < count; j++) y[j] = value;
}

/* y[j] = random_uniform(seed, start + j): the counter-based generator of kiln_prelude.h
   (the same numbers as Reference.uniform), eight or sixteen lanes at a time. */
KILN_CLONES void kiln_vec_random_uniform(int64_t m, const int32_t *seed, int64_t start, float *y) {
    uint32_t key = kiln_mix32((uint32_t)*seed * 0x9e3779b9u + 0x632be5abu);
    KILN_SIMD for (int64_t j = 0; j < m; j++) {
        uint64_t wide = (uint64_t)(start + j);
        uint32_t h = kiln_mix32((uint32_t)wide ^ key ^ ((uint32_t)(wide >> 32) * 0x85ebca6bu));
        y[j] = (float)(h >> 8) * (1.0f / 16777216.0f);
    }
}

/* y[j] = a[j] if it is NaN or larger (smaller) than y[j]: one row's part of a max (min) over
   leading axes, with the scalar loop's rule (the first NaN stays; ties keep y). */
KILN_CLONES void kiln_vec_max_rows(int64_t m, const float *a, int64_t sa, float *y) {
    if (sa) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (a[j] != a[j] || a[j] > y[j]) ? a[j] : y[j];
    } else {
        float x = a[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (x != x || x > y[j]) ? x : y[j];
    }
}

KILN_CLONES void kiln_vec_min_rows(int64_t m, const float *a, int64_t sa, float *y) {
    if (sa) {
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (a[j] != a[j] || a[j] < y[j]) ? a[j] : y[j];
    } else {
        float x = a[0];
        KILN_SIMD for (int64_t j = 0; j < m; j++) y[j] = (x != x || x < y[j]) ? x : y[j];
    }
}

/* Row blocks (loops over short rows, CRenderer+RowBlocks.swift): a per-row value repeated
   along each of `rows` rows of `length`, a per-column run tiled over them, and each row's
   sum added to y[i] in order, element by element, as the scalar loop adds them. */
KILN_CLONES void kiln_vec_repeat_rows(int64_t rows, int64_t length, const float *x, float *y) {
    for (int64_t i = 0; i < rows; i++) {
        float v = x[i];
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[i * length + j] = v;
    }
}

KILN_CLONES void kiln_vec_tile(int64_t rows, int64_t length, const float *x, float *y) {
    for (int64_t i = 0; i < rows; i++) {
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[i * length + j] = x[j];
    }
}

/* y[j] += x[j] for j < length (stride sx 0: x[0] for every j): one row of a sum over rows. */
static inline void add_row(int64_t length, const float *x, int64_t sx, float *y) {
    if (sx) {
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[j] += x[j];
    } else {
        float value = x[0];
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[j] += value;
    }
}

/* y[q][j] = the row of x that row first + q of the loop reads (kiln_row_walk), for q < rows,
   j < length: a pooling's gradient per window, spread over the window's rows. */
KILN_CLONES void kiln_vec_gather_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims,
                                      const int64_t *strides, int64_t first, const float *x, float *y) {
    kiln_row_walk walk = kiln_row_walk_start(rank, dims, strides, first);
    for (int64_t q = 0; q < rows; q++) {
        const float *row = x + walk.offset * length;
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[q * length + j] = row[j];
        kiln_row_walk_next(&walk, rank, dims, strides);
    }
}

/* y[row of first + q][j] += x[q][j] for q < rows, j < length (stride sx 0: one value for
   all), the row of the result found by kiln_row_walk (strides 0 along the axes summed over), the
   rows added in order: a sum over some leading axes, as a pooling's window axes, in the
   scalar loop's order. */
KILN_CLONES void kiln_vec_add_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims,
                                   const int64_t *strides, int64_t first, const float *x, int64_t sx, float *y) {
    kiln_row_walk walk = kiln_row_walk_start(rank, dims, strides, first);
    for (int64_t q = 0; q < rows; q++) {
        add_row(length, x + q * length * sx, sx, y + walk.offset * length);
        kiln_row_walk_next(&walk, rank, dims, strides);
    }
}

/* c[i][j] = (d[i][j] + row[j]) + sums[i][j] over rows × length, without d or row when it is
   NULL: what follows a product made apart (sums) in kiln_gemm_add_row, with the bits of the
   generated loop adding them after the product. d may be c itself. */
KILN_CLONES void kiln_add_after_product(int64_t rows, int64_t length, const float *d, const float *row,
                                        const float *sums, float *c) {
    for (int64_t i = 0; i < rows; i++) {
        const float *s = sums + i * length, *base = d != NULL ? d + i * length : NULL;
        float *out = c + i * length;
        if (base != NULL && row != NULL) {
            KILN_SIMD for (int64_t j = 0; j < length; j++) out[j] = (base[j] + row[j]) + s[j];
        } else if (base != NULL) {
            KILN_SIMD for (int64_t j = 0; j < length; j++) out[j] = base[j] + s[j];
        } else if (row != NULL) {
            KILN_SIMD for (int64_t j = 0; j < length; j++) out[j] = row[j] + s[j];
        } else if (out != s) {
            memcpy(out, s, (size_t)length * sizeof(float));
        }
    }
}

/* y[i][j] = relu(x[i][j] + bias[j]) over rows × length, and where mask is not NULL mask[i][j] =
   (x[i][j] + bias[j] > 0), what relu's gradient reads: the bias and relu after a chunk of a
   product, in one call per chunk instead of an add, a relu and a comparison per block of rows,
   with the bits kiln_vec_add, kiln_vec_relu and kiln_vec_greater give. */
static void bias_relu_rows_plain(int64_t rows, int64_t length, const float *x, const float *bias, float *y,
                                 uint8_t *mask) {
    for (int64_t i = 0; i < rows; i++) {
        const float *row = x + i * length;
        float *out = y + i * length;
        if (mask == NULL) {
            KILN_SIMD for (int64_t j = 0; j < length; j++) {
                float sum = row[j] + bias[j];
                out[j] = kiln_relu(sum);
            }
            continue;
        }
        uint8_t *positive = mask + i * length;
        KILN_SIMD for (int64_t j = 0; j < length; j++) {
            float sum = row[j] + bias[j];
            out[j] = kiln_relu(sum);
            positive[j] = (uint8_t)(sum > 0.0f);
        }
    }
}

void kiln_bias_relu_rows_at(int level, int64_t rows, int64_t length, const float *x, const float *bias, float *y,
                            uint8_t *mask) {
#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
    int highest = kiln_cpu_simd_level();
    if (KILN_SIMD_CALL(level < highest ? level : highest, bias_relu_rows, rows, length, x, bias, y, mask)) return;
#else
    (void)level;
#endif
    bias_relu_rows_plain(rows, length, x, bias, y, mask);
}

void kiln_bias_relu_rows(int64_t rows, int64_t length, const float *x, const float *bias, float *y, uint8_t *mask) {
    kiln_bias_relu_rows_at(2, rows, length, x, bias, y, mask);
}

/* y[j] += x[i][j] for each row i of the block in turn (stride sx 0: one value for all): a
   sum over every leading axis, the rows added in the scalar loop's order. */
KILN_CLONES void kiln_vec_sum_columns(int64_t rows, int64_t length, const float *x, int64_t sx, float *y) {
    for (int64_t i = 0; i < rows; i++) add_row(length, x + i * length * sx, sx, y);
}

/* Columns [begin, end) of kiln_sum_columns; `rows` comes as the part's n. */
KILN_CLONES static void sum_columns_part(int64_t begin, int64_t end, int64_t rows, void *const *args) {
    const float *x = (const float *)args[0];
    float *y = (float *)args[1];
    const int64_t length = *(const int64_t *)args[2];
    int64_t c = begin;
    for (; c + 16 <= end; c += 16) {
        /* Sixteen sums in registers while the rows go by, instead of in memory. */
        float sums[16];
        for (int j = 0; j < 16; j++) sums[j] = y[c + j];
        for (int64_t i = 0; i < rows; i++) {
            const float *row = x + i * length + c;
            KILN_SIMD for (int j = 0; j < 16; j++) sums[j] += row[j];
        }
        for (int j = 0; j < 16; j++) y[c + j] = sums[j];
    }
    if (c < end) {
        for (int64_t i = 0; i < rows; i++) add_row(end - c, x + i * length + c, 1, y + c);
    }
}

/* y[j] += x[i][j] for each row i < rows in turn, j < length: a sum over every leading axis of a
   value in memory, split by columns between the cores when it is large (parts of 16 columns,
   a cache line); each column is still added up by one core, row after row, in the order
   kiln_vec_sum_columns adds them, so the split changes no bit. */
void kiln_sum_columns(int64_t rows, int64_t length, const float *x, float *y) {
    if (length >= 32 && rows * length >= 65536) {
        void *const args[] = {(void *)x, (void *)y, (void *)&length};
        kiln_parallel_for_grain(length, rows, 16, sum_columns_part, args);
        return;
    }
    kiln_vec_sum_columns(rows, length, x, 1, y);
}

void kiln_vec_sum_groups(int64_t rows, int64_t length, const float *x, int64_t sx, float *y) {
    for (int64_t i = 0; i < rows; i++) {
        float total = y[i];
        for (int64_t j = 0; j < length; j++) total += x[(i * length + j) * sx];
        y[i] = total;
    }
}
