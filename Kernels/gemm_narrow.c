/* c[m,n] = a[m,k] · b[k,n] (neither transposed) for a narrow b: Kiln's own GEMM for the
   products of convolutions and of small dense layers, where b is a filter of at most a few
   hundred columns and a has many rows.

   b is read in place, row by row, in panels of up to 64 columns (four AVX-512 registers),
   without packing; a panel's rows stay in the caches while every block of rows of a passes
   over them. Each block of rows keeps its whole tile of c in registers (6 rows × 4 registers,
   8 × 3, 12 × 2 or 24 × 1: 24 accumulators) and adds one broadcast element of a times one
   row of the panel per step of k. A panel's last register is masked when n is not a multiple
   of 16, so any n works; rows left over after the last whole block go in shorter tiles.
   Large products are split by rows between the cores.

   The libraries pack both operands into their own layouts before multiplying, which costs
   more than the product when k is small (a 3×3 convolution of a one-channel image has
   k = 9) or when the call is short (one image); `kiln bench gemm` compares them. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* The tile loops are unrolled whole, so that the tile stays in registers. */
#define KILN_UNROLL _Pragma("unroll")

/* One block of ROWS rows × VECS registers of c: rows [i, i+ROWS), the panel at column j. */
#define NARROW_TILE(ROWS, VECS)                                                                    \
    __attribute__((target("avx512f"))) static void tile_##ROWS##x##VECS(                           \
        int64_t k, int64_t n, const float *a, const float *b, float *c, __mmask16 last) {          \
        __m512 s[ROWS][VECS];                                                                      \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                                           \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = _mm512_setzero_ps();                        \
        for (int64_t p = 0; p < k; p++) {                                                          \
            __m512 w[VECS];                                                                        \
            KILN_UNROLL for (int v = 0; v < (VECS); v++)                                                       \
                w[v] = _mm512_maskz_loadu_ps(v == (VECS) - 1 ? last : 0xffff, b + p * n + 16 * v); \
            KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                                     \
                __m512 x = _mm512_set1_ps(a[r * k + p]);                                           \
                KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = _mm512_fmadd_ps(x, w[v], s[r][v]);      \
            }                                                                                      \
        }                                                                                          \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                                           \
            KILN_UNROLL for (int v = 0; v < (VECS); v++)                                                       \
                _mm512_mask_storeu_ps(c + r * n + 16 * v, v == (VECS) - 1 ? last : 0xffff, s[r][v]); \
    }

NARROW_TILE(6, 4)
NARROW_TILE(4, 4)
NARROW_TILE(2, 4)
NARROW_TILE(1, 4)
NARROW_TILE(8, 3)
NARROW_TILE(4, 3)
NARROW_TILE(2, 3)
NARROW_TILE(1, 3)
NARROW_TILE(12, 2)
NARROW_TILE(8, 2)
NARROW_TILE(4, 2)
NARROW_TILE(2, 2)
NARROW_TILE(1, 2)
NARROW_TILE(24, 1)
NARROW_TILE(16, 1)
NARROW_TILE(8, 1)
NARROW_TILE(4, 1)
NARROW_TILE(2, 1)
NARROW_TILE(1, 1)

typedef void (*tile_fn)(int64_t, int64_t, const float *, const float *, float *, __mmask16);

/* The tiles of each panel width (1 to 4 registers), tallest first, ending with one row. */
typedef struct {
    int count;
    int64_t heights[6];
    tile_fn tiles[6];
} tile_set;

static const tile_set tile_sets[5] = {
    [1] = {6, {24, 16, 8, 4, 2, 1}, {tile_24x1, tile_16x1, tile_8x1, tile_4x1, tile_2x1, tile_1x1}},
    [2] = {5, {12, 8, 4, 2, 1}, {tile_12x2, tile_8x2, tile_4x2, tile_2x2, tile_1x2}},
    [3] = {4, {8, 4, 2, 1}, {tile_8x3, tile_4x3, tile_2x3, tile_1x3}},
    [4] = {4, {6, 4, 2, 1}, {tile_6x4, tile_4x4, tile_2x4, tile_1x4}},
};

/* Rows [i0, i1) of c, panel by panel: whole tiles of the tallest height, then the rows left
   in shorter ones. */
__attribute__((target("avx512f"))) static void narrow_avx512(int64_t i0, int64_t i1, int64_t n, int64_t k,
                                                             const float *a, const float *b, float *c) {
    for (int64_t j = 0; j < n; j += 64) {
        int64_t width = n - j < 64 ? n - j : 64;
        int vecs = (int)((width + 15) / 16);
        int64_t tail = width - 16 * (vecs - 1);
        __mmask16 last = (__mmask16)(tail == 16 ? 0xffff : (1u << tail) - 1);
        const tile_set *set = &tile_sets[vecs];
        int64_t i = i0;
        for (int t = 0; t < set->count; t++) {
            for (; i + set->heights[t] <= i1; i += set->heights[t]) set->tiles[t](k, n, a + i * k, b + j, c + i * n + j, last);
        }
    }
}
#endif

/* Rows [i0, i1) of c with plain C, for CPUs without AVX-512. */
static void narrow_plain(int64_t i0, int64_t i1, int64_t n, int64_t k, const float *a, const float *b, float *c) {
    for (int64_t i = i0; i < i1; i++) {
        float *row = c + i * n;
        for (int64_t j = 0; j < n; j++) row[j] = 0.0f;
        for (int64_t p = 0; p < k; p++) {
            float x = a[i * k + p];
            const float *w = b + p * n;
            for (int64_t j = 0; j < n; j++) row[j] += x * w[j];
        }
    }
}

static void narrow_rows(int64_t i0, int64_t i1, int64_t n, int64_t k, const float *a, const float *b, float *c) {
#if defined(__x86_64__)
    if (kiln_cpu_has_avx512f()) {
        narrow_avx512(i0, i1, n, k, a, b, c);
        return;
    }
#endif
    narrow_plain(i0, i1, n, k, a, b, c);
}

static void narrow_part(int64_t begin, int64_t end, int64_t m, void *const *args) {
    (void)m;
    const kiln_product_job *job = args[0];
    narrow_rows(begin, end, job->n, job->k, job->a, job->b, job->c);
}

/* Products of at least this many multiply-adds are split between the cores, in parts of
   whole tiles of the first panel's height. */
#define KILN_NARROW_SPLIT (512 * 1024)

void kiln_gemm_narrow(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
    int64_t grain = 6;
#if defined(__x86_64__)
    grain = tile_sets[n >= 64 ? 4 : n < 1 ? 1 : (n + 15) / 16].heights[0];
#endif
    if (m * n * k < KILN_NARROW_SPLIT || m < 2 * grain) {
        narrow_rows(0, m, n, k, a, b, c);
        return;
    }
    kiln_product_job job = {.n = n, .k = k, .a = a, .b = b, .c = c};
    void *args[1] = {&job};
    kiln_parallel_for_grain(m, m, grain, narrow_part, args);
}
