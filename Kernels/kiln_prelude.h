/*
 * kiln_prelude.h: the prelude of every translation unit Kiln generates.
 *
 * Generated code is plain C99 compiled in memory by TinyCC. It includes no system header:
 * this prelude declares the few types, libm functions and runtime kernels it may call, and
 * the JIT registers each of them by address (see Kernels/README.md for the ABI). The
 * runtime kernels in this directory include the same header, so the C compiler checks that
 * their definitions match what generated code is told.
 */
#ifndef KILN_PRELUDE_H
#define KILN_PRELUDE_H

#if defined(__TINYC__)
typedef long int64_t;
typedef unsigned long uint64_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;
typedef unsigned long size_t;
/* Kiln's elementary functions (kiln_math.h; the same bits as the vectorised kernels). */
float kiln_exp(float);
float kiln_log(float);
float kiln_log1p(float);
float kiln_tanh(float);
float kiln_erf(float);
/* kiln_math.h's inlining attribute, which this prelude's own sigmoid and softplus share. */
#define KILN_MATH_INLINE static inline
float powf(float, float);
float sqrtf(float);
float floorf(float);
float fabsf(float);
void *memcpy(void *, const void *, size_t);
void *memset(void *, int, size_t);
#else
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "kiln_math.h"
#endif

/* Row-major CBLAS, as OpenBLAS exports it (101 = CblasRowMajor, 111/112 = No/Trans). */
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* Monotonic time in nanoseconds; profiled units (KILN_PROFILE=1) time each kernel with it. */
int64_t kiln_clock_ns(void);
/* *counter += ns, atomically: the parts of a profiled kernel add their times from every core. */
void kiln_profile_add(int64_t *counter, int64_t ns);

/* Fault codes a program's entry point returns; fault[1..3] say more (see README.md). */
#define KILN_OK 0
#define KILN_FAULT_INDEX 1
#define KILN_FAULT_EMPTY 2

/* c[m,n] = op(a) x op(b); a is [m,k] ([k,m] when trans_a), b is [k,n] ([n,k] when trans_b). */
void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, const float *b, float *c);
/* c[m,n] = d + op(a) x op(b), d laid out as c: d may be c itself (an accumulator), and
   neither may overlap a or b. A kernel adding a product to a value of its shape (a recurrent
   layer's weight gradient, summed over the steps) makes one pass over c instead of two. */
void kiln_gemm_add(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   const float *a, const float *b, const float *d, float *c);
/* c[m,n] = (d + row) + op(a) x op(b), row [n] added to every row (a bias), d laid out as c
   (may be c itself); d or row may be NULL (then c = row + op(a) x op(b), or d + ...). The
   additions have the bits of a loop doing them after the product. Kiln's own kernel adds
   them as it stores each tile of c; for products it does not run, the product goes to
   `product` (m x n floats, overlapping nothing else) and a pass adds it. A recurrent step's
   gates (the step's input, its bias and h U) are one call so. */
void kiln_gemm_add_row(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                       const float *d, const float *row, float *product, float *c);

/* y = x with axes permuted: y's axis i is x's axis perm[i]; shape is x's shape. */
void kiln_transpose(int64_t elem_size, int64_t rank, const int64_t *shape, const int64_t *perm,
                    const void *x, void *y);
/* y = the box of x (shape in_shape) starting at starts, of shape out_shape. */
void kiln_slice(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *starts,
                const int64_t *out_shape, const void *x, void *y);
/* y (shape out_shape) = zeros with x (shape in_shape) placed at offset low. */
void kiln_pad(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *low,
              const int64_t *out_shape, const void *x, void *y);
/* Copies x, viewed as [outer, part], into columns [offset, offset + part) of y, viewed as [outer, total]. */
void kiln_concat_part(int64_t elem_size, int64_t outer, int64_t part, int64_t total, int64_t offset,
                      const void *x, void *y);
/* Asks the cache for the bytes at x, which a loop reads a few steps later (a hint: nothing is
   read or written). */
void kiln_prefetch(const void *x, int64_t bytes);

/* y = x (shape[rank]) summed (op 0), maximised (1) or minimised (2) over the axes whose
   reduced[axis] is not 0, in x's row-major order with the generated loops' rules (reduce.c);
   y has the kept axes' shape. At most 16 axes. */
void kiln_reduce_f32(int op, int64_t rank, const int64_t *shape, const int64_t *reduced, const float *x, float *y);
/* The gradient of a maximum or minimum over the axes flagged in `reduced` (extremum_gradient.c):
   x of shape[rank], y and dy with the reduced axes of length 1, keep a mask like x or NULL.
   At most 16 axes: the JIT passes neighbouring axes of the same kind as one. */
void kiln_extremum_gradient(int64_t rank, const int64_t *shape, const uint8_t *reduced, const float *x, const float *y,
                            const float *dy, const uint8_t *keep, float *out);

/* The windows of images x [n, h, w, c] as rows y [n, oh, ow, kh*kw*c] (windows.c): windows of
   kh x kw cells dh, dw apart, sh, sw apart, over x padded by top rows and left columns; cells
   outside the image are pad. */
void kiln_patches(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                  const float *x, float *y);
/* y [n*oh*ow, cols] = the rows kiln_patches would write, times b [kh*kw*c, cols], without
   writing them: each core gathers a block of window rows at a time where its cache holds
   them and multiplies it with kiln_gemm (a convolution's forward pass). */
void kiln_gemm_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                       const float *x, int64_t cols, const float *b, float *y);
/* Rows [first, first + count) of kiln_gemm_windows' y, into y [count, cols], on the calling
   core: one chunk of a convolution's product, whose epilogue follows it while it is in the
   cache. */
void kiln_gemm_window_rows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                           float pad, const float *x, int64_t cols, const float *b, int64_t first, int64_t count,
                           float *y);
/* y [n, oh/ph, ow/pw, cols] = relu(the maximum over each ph x pw block of those rows' product,
   plus bias): a convolution, its bias and relu and a max pooling, without writing the map. */
void kiln_gemm_window_pool(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                           int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                           const float *x, int64_t cols, const float *b, const float *bias, int64_t ph, int64_t pw,
                           float *y);
/* y [kh*kw*c, cols] = the transpose of the rows kiln_patches would write, times dz
   [n*oh*ow, cols], without writing them: a convolution's filter gradient. `second` holds as
   many floats as y (the sums of the second half of the windows; unused when n is 0). */
void kiln_gemm_windows_t(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                         const float *x, int64_t cols, const float *dz, float *y, float *second);
/* A convolution's filter and bias gradients through its ReLU and max pooling, without writing
   its map's gradient (pool_gradient.c; include/KilnKernels.h says more). */
void kiln_pooled_filter_gradient(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                                 int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                                 float pad, const float *x, int64_t cols, const float *map, const float *pooled,
                                 const float *dpooled, const uint8_t *keep, int64_t ph, int64_t pw, float *y,
                                 float *bias, float *second);
/* y [n, h, w, c] = the rows dz times b transposed (dz [n*oh*ow, cols], b [kh*kw*c, cols]: a convolution's
   output gradient and filters) folded into images as kiln_fold_patches folds rows, without
   writing them: a convolution's input gradient. `scratch` holds n*oh*ow*kh*kw*c floats (the
   product's place). */
void kiln_gemm_fold_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, int64_t cols,
                            const float *dz, const float *b, float *scratch, float *y);
/* The adjoint: rows x [n, oh, ow, kh*kw*c] summed into images y [n, h, w, c]. */
void kiln_fold_patches(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, const float *x,
                       float *y);

/* y = params[outer, idx, inner] for params viewed as [outer, length, inner]; count indices. */
int kiln_gather(int64_t elem_size, int64_t outer, int64_t length, int64_t inner, int64_t count,
                const void *params, const int32_t *idx, void *y, int64_t *fault);
/* y (viewed as [outer, length, inner]) = zeros plus updates ([outer, count, inner]) added at idx. */
int kiln_scatter_add_f32(int64_t outer, int64_t length, int64_t inner, int64_t count,
                         const float *updates, const int32_t *idx, float *y, int64_t *fault);
int kiln_scatter_add_i32(int64_t outer, int64_t length, int64_t inner, int64_t count,
                         const int32_t *updates, const int32_t *idx, int32_t *y, int64_t *fault);
/* y[count, depth] = one-hot rows of idx. */
int kiln_one_hot(int64_t count, int64_t depth, const int32_t *idx, float *y, int64_t *fault);

/* y[outer, inner] = the first index of the largest value (or first NaN) along x's middle axis. */
int kiln_argmax_f32(int64_t outer, int64_t length, int64_t inner, const float *x, int32_t *y, int64_t *fault);
int kiln_argmax_i32(int64_t outer, int64_t length, int64_t inner, const int32_t *x, int32_t *y, int64_t *fault);
/* softmax (log_softmax when log_output) of x viewed as [outer, length, inner] along the middle axis. */
void kiln_softmax(int64_t outer, int64_t length, int64_t inner, const float *x, float *y, int log_output);

/* Runs body over [0, total) in parts of whole blocks, one per core (parallel.c); body gets
   [begin, end), the batch size n and args. For loops whose elements are computed alone. */
typedef void (*kiln_part_fn)(int64_t begin, int64_t end, int64_t n, void *const *args);
void kiln_parallel_for(int64_t total, int64_t n, kiln_part_fn body, void *const *args);
/* The same in parts of whole `grain`s: rows of a row-blocked loop, `grain` rows to a block. */
void kiln_parallel_for_grain(int64_t total, int64_t n, int64_t grain, kiln_part_fn body, void *const *args);

/* Adam's update of `count` elements in one pass (update.c): m_out = m + (g - m) c1,
   v_out = v + (g g - v) c2, w_out = w - (m_out alpha) / (sqrt(v_out) + eps), each with the
   bits of the block primitives; the outputs may be m, v and w themselves. */
void kiln_adam(int64_t count, const float *g, const float *m, const float *v, const float *w, const float *c1,
               const float *c2, const float *alpha, const float *eps, float *m_out, float *v_out, float *w_out);

/* Block primitives (vector.c): y = op(operands) over m <= KILN_BLOCK elements. Each operand
   is a pointer with a stride of 1 (m elements) or 0 (one value for all); y may be an operand. */
#define KILN_BLOCK 256
void kiln_vec_neg(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_abs(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_sign(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_exp(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_log(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_sqrt(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_rsqrt(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_square(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_tanh(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_erf(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_sigmoid(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_relu(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_softplus(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_floor(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_add(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_bias_relu_rows(int64_t rows, int64_t length, const float *x, const float *bias, float *y, uint8_t *mask);
void kiln_vec_sub(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_mul(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_div(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_pow(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_maximum(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_minimum(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, float *y);
void kiln_vec_equal(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_not_equal(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_less(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_less_equal(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_greater(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_greater_equal(int64_t m, const float *a, int64_t sa, const float *b, int64_t sb, uint8_t *y);
void kiln_vec_select(int64_t m, const uint8_t *c, int64_t sc, const float *a, int64_t sa,
                     const float *b, int64_t sb, float *y);
void kiln_vec_bool_to_f32(int64_t m, const uint8_t *a, int64_t sa, float *y);
void kiln_vec_f32_to_bool(int64_t m, const float *a, int64_t sa, uint8_t *y);
/* y[j] += a[j]: one row's contribution to a sum over leading axes. */
void kiln_vec_sum_rows(int64_t m, const float *a, int64_t sa, float *y);
/* y[j] = value for `count` elements: a reduction's starting values. */
void kiln_fill_f32(int64_t count, float value, float *y);
/* y[j] = kiln_random_uniform(*seed, start + j). */
void kiln_vec_random_uniform(int64_t m, const int32_t *seed, int64_t start, float *y);
/* y[j] = a[j] when a[j] is NaN or larger (smaller) than y[j]: one row's part of a max (min). */
void kiln_vec_max_rows(int64_t m, const float *a, int64_t sa, float *y);
void kiln_vec_min_rows(int64_t m, const float *a, int64_t sa, float *y);
/* Blocks of `rows` short rows of `length`: y = x[i] repeated along row i; y = the run x
   tiled over the rows; y[i] += the elements of row i of x (stride sx), in order. */
void kiln_vec_repeat_rows(int64_t rows, int64_t length, const float *x, float *y);
void kiln_vec_tile(int64_t rows, int64_t length, const float *x, float *y);
/* Rows first..first+rows-1 of a loop over leading axes of sizes dims[rank], each mapped to
   the row of another array at the sum of its axes' indices times strides (0 along the axes
   that array is broadcast or summed over): y = those rows of x, in turn; y's rows += the
   rows of x (stride sx), in order. */
void kiln_vec_gather_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims, const int64_t *strides,
                          int64_t first, const float *x, float *y);
void kiln_vec_add_rows(int64_t rows, int64_t length, int64_t rank, const int64_t *dims, const int64_t *strides,
                       int64_t first, const float *x, int64_t sx, float *y);
void kiln_vec_sum_groups(int64_t rows, int64_t length, const float *x, int64_t sx, float *y);
/* y[j] += x[i][j] for each of `rows` rows of `length` in turn: a sum over the leading axes. */
void kiln_vec_sum_columns(int64_t rows, int64_t length, const float *x, int64_t sx, float *y);
/* The same over a whole [rows, length] array in memory, split by columns between the cores. */
void kiln_sum_columns(int64_t rows, int64_t length, const float *x, float *y);

/* A walk over the rows of a loop over leading axes of sizes dims[0..rank), keeping the row of
   another array each one maps to: the sum of each axis's index times strides[axis], in rows
   (0 along the axes the other array is broadcast or summed over). At most
   KILN_WALK_MAX_RANK axes (the compiler checks). The runtime's row gathers and transposes
   walk their rows with it. */
#define KILN_WALK_MAX_RANK 16
typedef struct {
    int64_t index[KILN_WALK_MAX_RANK];
    int64_t offset;
} kiln_row_walk;

/* The walk at row `first`. */
static inline kiln_row_walk kiln_row_walk_start(int64_t rank, const int64_t *dims, const int64_t *strides,
                                                int64_t first) {
    kiln_row_walk walk;
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
static inline void kiln_row_walk_next(kiln_row_walk *walk, int64_t rank, const int64_t *dims, const int64_t *strides) {
    for (int64_t a = rank - 1; a >= 0; a--) {
        walk->offset += strides[a];
        if (++walk->index[a] < dims[a]) return;
        walk->offset -= strides[a] * dims[a];
        walk->index[a] = 0;
    }
}

/* The conversions generated code needs beyond C's own casts. */
static inline int32_t kiln_f32_to_i32(float x) {
    if (x != x) return 0;
    if (x >= 2147483648.0f) return 2147483647;
    if (x <= -2147483648.0f) return -2147483647 - 1;
    return (int32_t)x;
}
/* Inlined everywhere, as kiln_math.h's functions are (KILN_MATH_INLINE). */
KILN_MATH_INLINE float kiln_sigmoid(float x) {
    float e = kiln_exp(-fabsf(x));
    return x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
KILN_MATH_INLINE float kiln_softplus(float x) { return (x > 0 ? x : 0.0f) + kiln_log1p(kiln_exp(-fabsf(x))); }
static inline float kiln_relu(float x) { return (x > 0 || x != x) ? x : 0.0f; }
static inline float kiln_sign(float x) { return x > 0 ? 1.0f : (x < 0 ? -1.0f : x); }
static inline float kiln_maxf(float a, float b) { return (a != a || b != b) ? (a != a ? a : b) : (a > b ? a : b); }
static inline float kiln_minf(float a, float b) { return (a != a || b != b) ? (a != a ? a : b) : (a < b ? a : b); }
static inline int32_t kiln_sign_i32(int32_t x) { return x > 0 ? 1 : (x < 0 ? -1 : 0); }
static inline int32_t kiln_abs_i32(int32_t x) { return x < 0 ? (int32_t)(0u - (uint32_t)x) : x; }
static inline uint32_t kiln_mix32(uint32_t h) {
    h ^= h >> 16; h *= 0x7feb352du; h ^= h >> 15; h *= 0x846ca68bu; h ^= h >> 16;
    return h;
}
/* The counter-based generator of random_uniform: the same numbers as Reference.uniform. */
static inline float kiln_random_uniform(int32_t seed, int64_t index) {
    uint32_t key = kiln_mix32((uint32_t)seed * 0x9e3779b9u + 0x632be5abu);
    uint64_t wide = (uint64_t)index;
    uint32_t h = kiln_mix32((uint32_t)wide ^ key ^ ((uint32_t)(wide >> 32) * 0x85ebca6bu));
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

#endif
