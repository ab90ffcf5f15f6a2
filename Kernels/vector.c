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

/* y[j] = f(a[j]) where a has stride sa. */
#define KILN_UNARY(name, expr)                                                                  \
    KILN_CLONES void kiln_vec_##name(int64_t m, const float *a, int64_t sa, float *y) {                     \
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
KILN_UNARY(exp, kiln_exp(x))
KILN_UNARY(log, kiln_log(x))
KILN_UNARY(square, x * x)
KILN_UNARY(tanh, kiln_tanh(x))
KILN_UNARY(erf, kiln_erf(x))
KILN_UNARY(sigmoid, kiln_sigmoid(x))
KILN_UNARY(relu, kiln_relu(x))
KILN_UNARY(softplus, kiln_softplus(x))
KILN_UNARY(floor, floorf(x))

/* sqrtf is correctly rounded, as the SSE and AVX instructions are; calling it through libm
   (which keeps errno) would stop the loop from vectorising, so the instructions are named. */
#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
__attribute__((target("avx512f"))) static void sqrt_run_avx512(int64_t m, const float *a, float *y, int reciprocal) {
    int64_t j = 0;
    __m512 one = _mm512_set1_ps(1.0f);
    for (; j + 16 <= m; j += 16) {
        __m512 r = _mm512_sqrt_ps(_mm512_loadu_ps(a + j));
        _mm512_storeu_ps(y + j, reciprocal ? _mm512_div_ps(one, r) : r);
    }
    for (; j < m; j++) y[j] = reciprocal ? 1.0f / sqrtf(a[j]) : sqrtf(a[j]);
}
#endif

static void sqrt_run(int64_t m, const float *a, float *y, int reciprocal) {
    int64_t j = 0;
#if defined(__x86_64__) && defined(__SSE__) && !defined(KILN_PORTABLE)
    if (__builtin_cpu_supports("avx512f")) {
        sqrt_run_avx512(m, a, y, reciprocal);
        return;
    }
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

/* A walk over the rows of a loop over leading axes of sizes dims[0..rank), keeping the row of
   another array each one maps to: the sum of each axis's index times strides[axis], in rows
   (0 along the axes the other array is broadcast or summed over). At most
   KILN_GATHER_MAX_RANK leading axes (the compiler checks). */
#define KILN_GATHER_MAX_RANK 16
typedef struct {
    int64_t index[KILN_GATHER_MAX_RANK];
    int64_t offset;
} row_walk;

/* The walk at row `first`. */
static inline row_walk row_walk_start(int64_t rank, const int64_t *dims, const int64_t *strides, int64_t first) {
    row_walk walk;
    int64_t rest = first;
    walk.offset = 0;
    for (int64_t a = rank - 1; a >= 0; a--) {
        walk.index[a] = dims[a] > 0 ? rest % dims[a] : 0;
        rest = dims[a] > 0 ? rest / dims[a] : 0;
        walk.offset += walk.index[a] * strides[a];
    }
    return walk;
}

/* The next row: the innermost axis steps, carrying into the outer ones. */
static inline void row_walk_next(row_walk *walk, int64_t rank, const int64_t *dims, const int64_t *strides) {
    for (int64_t a = rank - 1; a >= 0; a--) {
        walk->offset += strides[a];
        if (++walk->index[a] < dims[a]) return;
        walk->offset -= strides[a] * dims[a];
        walk->index[a] = 0;
    }
}

/* y[q][j] = the row of x that row first + q of the loop reads (row_walk), for q < rows,
   j < length: a pooling's gradient per window, spread over the window's rows. */
KILN_CLONES void kiln_vec_gather_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims,
                                      const int64_t *strides, int64_t first, const float *x, float *y) {
    row_walk walk = row_walk_start(rank, dims, strides, first);
    for (int64_t q = 0; q < rows; q++) {
        const float *row = x + walk.offset * length;
        KILN_SIMD for (int64_t j = 0; j < length; j++) y[q * length + j] = row[j];
        row_walk_next(&walk, rank, dims, strides);
    }
}

/* y[row of first + q][j] += x[q][j] for q < rows, j < length (stride sx 0: one value for
   all), the row of the result found by row_walk (strides 0 along the axes summed over), the
   rows added in order: a sum over some leading axes, as a pooling's window axes, in the
   scalar loop's order. */
KILN_CLONES void kiln_vec_add_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims,
                                   const int64_t *strides, int64_t first, const float *x, int64_t sx, float *y) {
    row_walk walk = row_walk_start(rank, dims, strides, first);
    for (int64_t q = 0; q < rows; q++) {
        add_row(length, x + q * length * sx, sx, y + walk.offset * length);
        row_walk_next(&walk, rank, dims, strides);
    }
}

/* y[j] += x[i][j] for each row i of the block in turn (stride sx 0: one value for all): a
   sum over every leading axis, the rows added in the scalar loop's order. */
KILN_CLONES void kiln_vec_sum_columns(int64_t rows, int64_t length, const float *x, int64_t sx, float *y) {
    for (int64_t i = 0; i < rows; i++) add_row(length, x + i * length * sx, sx, y);
}

void kiln_vec_sum_groups(int64_t rows, int64_t length, const float *x, int64_t sx, float *y) {
    for (int64_t i = 0; i < rows; i++) {
        float total = y[i];
        for (int64_t j = 0; j < length; j++) total += x[(i * length + j) * sx];
        y[i] = total;
    }
}
