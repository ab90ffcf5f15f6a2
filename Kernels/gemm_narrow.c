/* c[m,n] = op(a) · b (or d + op(a) · b), with a as stored or transposed and b not, for a
   narrow b or a short product: Kiln's own GEMM for the products of convolutions, of small
   dense layers and of a recurrent layer's loop step, where b is a filter or a weight of at
   most a few hundred columns and either a has many rows or the whole product is a few
   million multiply-adds.

   b is read in place, row by row, in panels of up to 64 columns (four AVX-512 registers),
   without packing; a panel's rows stay in the caches while every block of rows of c passes
   over them. Each block of rows keeps its whole tile of c in registers (6 rows × 4 registers,
   8 × 3, 12 × 2 or 24 × 1: 24 accumulators) and adds one broadcast element of op(a) times
   one row of the panel per step of k. The broadcast elements of a block are a's rows when a
   is as stored, and neighbours in one row of a when it is transposed (a weight gradient
   hᵀ·dz, whose a is a batch of rows). A panel's last register is masked when n is not a
   multiple of 16, so any n works; rows left over after the last whole block go in shorter
   tiles. Large products are split by rows between the cores.

   The libraries pack both operands into their own layouts before multiplying, which costs
   more than the product when k is small (a 3×3 convolution of a one-channel image has
   k = 9) or when the call is short (one image, one step of a loop); `kiln bench gemm`
   compares them. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* The tile loops are unrolled whole, so that the tile stays in registers. */
#define KILN_UNROLL _Pragma("unroll")

/* One block of ROWS rows × VECS registers of c: rows [i, i+ROWS), the panel at column j.
   a points at the block's first element of op(a): row i of a (lda = k) when TRANS is 0, or
   column i of a (lda = m) when it is 1. With d (laid out as c, possibly c itself), the tile
   stores d + its sums. */
#define NARROW_TILE(TRANS, ROWS, VECS)                                                             \
    __attribute__((target("avx512f"))) static void tile##TRANS##_##ROWS##x##VECS(                  \
        int64_t k, int64_t n, int64_t lda, const float *a, const float *b, const float *d, float *c, \
        __mmask16 last) {                                                                          \
        __m512 s[ROWS][VECS];                                                                      \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = _mm512_setzero_ps();            \
        for (int64_t p = 0; p < k; p++) {                                                          \
            __m512 w[VECS];                                                                        \
            KILN_UNROLL for (int v = 0; v < (VECS); v++)                                           \
                w[v] = _mm512_maskz_loadu_ps(v == (VECS) - 1 ? last : 0xffff, b + p * n + 16 * v); \
            KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                         \
                __m512 x = _mm512_set1_ps((TRANS) ? a[p * lda + r] : a[r * lda + p]);              \
                KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = _mm512_fmadd_ps(x, w[v], s[r][v]); \
            }                                                                                      \
        }                                                                                          \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                         \
                __mmask16 lanes = v == (VECS) - 1 ? last : 0xffff;                                 \
                if (d != NULL) s[r][v] = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, d + r * n + 16 * v), s[r][v]); \
                _mm512_mask_storeu_ps(c + r * n + 16 * v, lanes, s[r][v]);                         \
            }                                                                                      \
    }

/* Every tile, for a as stored (0) and transposed (1). */
#define NARROW_TILES(TRANS)                                                                        \
    NARROW_TILE(TRANS, 6, 4) NARROW_TILE(TRANS, 4, 4) NARROW_TILE(TRANS, 2, 4) NARROW_TILE(TRANS, 1, 4) \
    NARROW_TILE(TRANS, 8, 3) NARROW_TILE(TRANS, 4, 3) NARROW_TILE(TRANS, 2, 3) NARROW_TILE(TRANS, 1, 3) \
    NARROW_TILE(TRANS, 12, 2) NARROW_TILE(TRANS, 8, 2) NARROW_TILE(TRANS, 4, 2) NARROW_TILE(TRANS, 2, 2) \
    NARROW_TILE(TRANS, 1, 2) NARROW_TILE(TRANS, 24, 1) NARROW_TILE(TRANS, 16, 1) NARROW_TILE(TRANS, 8, 1) \
    NARROW_TILE(TRANS, 4, 1) NARROW_TILE(TRANS, 2, 1) NARROW_TILE(TRANS, 1, 1)

NARROW_TILES(0)
NARROW_TILES(1)

typedef void (*tile_fn)(int64_t, int64_t, int64_t, const float *, const float *, const float *, float *, __mmask16);

/* The tiles of each panel width (1 to 4 registers), tallest first, ending with one row. */
typedef struct {
    int count;
    int64_t heights[6];
    tile_fn tiles[6];
} tile_set;

#define NARROW_SETS(T)                                                                             \
    {                                                                                              \
        [1] = {6, {24, 16, 8, 4, 2, 1}, {tile##T##_24x1, tile##T##_16x1, tile##T##_8x1, tile##T##_4x1, tile##T##_2x1, tile##T##_1x1}}, \
        [2] = {5, {12, 8, 4, 2, 1}, {tile##T##_12x2, tile##T##_8x2, tile##T##_4x2, tile##T##_2x2, tile##T##_1x2}}, \
        [3] = {4, {8, 4, 2, 1}, {tile##T##_8x3, tile##T##_4x3, tile##T##_2x3, tile##T##_1x3}},    \
        [4] = {4, {6, 4, 2, 1}, {tile##T##_6x4, tile##T##_4x4, tile##T##_2x4, tile##T##_1x4}},    \
    }

/* By whether a is transposed, then by panel width. */
static const tile_set tile_sets[2][5] = {NARROW_SETS(0), NARROW_SETS(1)};

/* Rows [i0, i1) of c, panel by panel: whole tiles of the tallest height, then the rows left
   in shorter ones. */
__attribute__((target("avx512f"))) static void narrow_avx512(int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n,
                                                             int64_t k, const float *a, const float *b, const float *d,
                                                             float *c) {
    int64_t lda = trans_a ? m : k, row = trans_a ? 1 : k;
    for (int64_t j = 0; j < n; j += 64) {
        int64_t width = n - j < 64 ? n - j : 64;
        int vecs = (int)((width + 15) / 16);
        int64_t tail = width - 16 * (vecs - 1);
        __mmask16 last = (__mmask16)(tail == 16 ? 0xffff : (1u << tail) - 1);
        const tile_set *set = &tile_sets[trans_a != 0][vecs];
        int64_t i = i0;
        for (int t = 0; t < set->count; t++) {
            for (; i + set->heights[t] <= i1; i += set->heights[t])
                set->tiles[t](k, n, lda, a + i * row, b + j, d != NULL ? d + i * n + j : NULL, c + i * n + j, last);
        }
    }
}
#endif

/* Rows [i0, i1) of c with plain C, for CPUs without AVX-512: 64 columns at a time summed in
   a local row, so that d may be c itself. */
static void narrow_plain(int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n, int64_t k, const float *a,
                         const float *b, const float *d, float *c) {
    float sums[64];
    for (int64_t i = i0; i < i1; i++) {
        for (int64_t j0 = 0; j0 < n; j0 += 64) {
            int64_t width = n - j0 < 64 ? n - j0 : 64;
            for (int64_t j = 0; j < width; j++) sums[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                float x = trans_a ? a[p * m + i] : a[i * k + p];
                const float *w = b + p * n + j0;
                for (int64_t j = 0; j < width; j++) sums[j] += x * w[j];
            }
            float *row = c + i * n + j0;
            const float *base = d != NULL ? d + i * n + j0 : NULL;
            for (int64_t j = 0; j < width; j++) row[j] = base != NULL ? base[j] + sums[j] : sums[j];
        }
    }
}

static void narrow_rows(int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n, int64_t k, const float *a,
                        const float *b, const float *d, float *c) {
#if defined(__x86_64__)
    if (kiln_cpu_has_avx512f()) {
        narrow_avx512(trans_a, i0, i1, m, n, k, a, b, d, c);
        return;
    }
#endif
    narrow_plain(trans_a, i0, i1, m, n, k, a, b, d, c);
}

/* The product's operands, the array added to it (or NULL) and whether a is transposed, for
   the parts split between the cores. */
typedef struct {
    kiln_product_job product;
    const float *d;
    int trans_a;
} narrow_job;

static void narrow_part(int64_t begin, int64_t end, int64_t m, void *const *args) {
    const narrow_job *job = args[0];
    narrow_rows(job->trans_a, begin, end, m, job->product.n, job->product.k, job->product.a, job->product.b, job->d,
                job->product.c);
}

/* Products of at least this many multiply-adds are split between the cores, in parts of
   whole tiles of the first panel's height. */
#define KILN_NARROW_SPLIT (512 * 1024)

static void narrow(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b, const float *d,
                   float *c) {
    int64_t grain = 6;
#if defined(__x86_64__)
    grain = tile_sets[0][n >= 64 ? 4 : n < 1 ? 1 : (n + 15) / 16].heights[0];
#endif
    if (m * n * k < KILN_NARROW_SPLIT || m < 2 * grain) {
        narrow_rows(trans_a, 0, m, m, n, k, a, b, d, c);
        return;
    }
    narrow_job job = {{.n = n, .k = k, .a = a, .b = b, .c = c}, d, trans_a};
    void *args[1] = {&job};
    kiln_parallel_for_grain(m, m, grain, narrow_part, args);
}

void kiln_gemm_narrow(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
    narrow(trans_a, m, n, k, a, b, NULL, c);
}

void kiln_gemm_narrow_add(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                          const float *d, float *c) {
    narrow(trans_a, m, n, k, a, b, d, c);
}
