/* c[m,n] = op(a) · b (or d + op(a) · b, row + op(a) · b, (d + row) + op(a) · b, with row one
   value per column), with a as stored or transposed and b not, for a
   narrow b or a short product: Kiln's own GEMM for the products of convolutions, of small
   dense layers and of a recurrent layer's loop step, where b is a filter or a weight of at
   most a few hundred columns and either a has many rows or the whole product is a few
   million multiply-adds.

   b is read in place, row by row, in panels of up to 64 columns (four AVX-512 registers; 16
   columns in two AVX2 registers), without packing; a panel's rows stay in the caches while
   every block of rows of c passes over them. Each block of rows keeps its whole tile of c in
   registers (6 rows × 4 registers, 8 × 3, 12 × 2 or 24 × 1: 24 accumulators; with AVX2 6 × 2
   or 12 × 1) and adds one broadcast element of op(a) times one row of the panel per step of
   k. The broadcast elements of a block are a's rows when a is as stored, and neighbours in
   one row of a when it is transposed (a weight gradient hᵀ·dz, whose a is a batch of rows). A
   panel's last register is masked when n is not a multiple of the lanes, so any n works; rows
   left over after the last whole block go in shorter tiles. Large products are split by rows
   between the cores.

   The libraries pack both operands into their own layouts before multiplying, which costs
   more than the product when k is small (a 3×3 convolution of a one-channel image has
   k = 9) or when the call is short (one image, one step of a loop); `kiln bench gemm`
   compares them. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#if defined(__x86_64__)
#include "kiln_simd.h"

/* The tile loops are unrolled whole, so that the tile stays in registers. */
#define KILN_UNROLL _Pragma("unroll")

/* Register v of a panel's row at `at`: the lanes of `last` only in the last register of a
   masked panel. */
#define PANEL_LOAD(ISA, MASKED, VECS, v, at) load_part_##ISA(at, !((MASKED) && (v) == (VECS) - 1), last)

/* A tile's sums s into its rows of c (row stride n), the panel's last register under the
   mask `last` when MASKED. */
#define TILE_STORE(ISA, MASKED, ROWS, VECS)                                                        \
    KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                                   \
        KILN_UNROLL for (int v = 0; v < (VECS); v++)                                               \
            store_part_##ISA(c + r * n + lanes * v, !((MASKED) && v == (VECS) - 1), last, s[r][v]);

/* Step p of a tile: the panel's row p (its last register masked when MASKED), times each row
   r's element ELEMENT (an expression of r and p), added to the row's sums s[r]. */
#define TILE_STEP(ISA, MASKED, ROWS, VECS, ELEMENT)                                                \
    {                                                                                              \
        vec_##ISA w[VECS];                                                                         \
        KILN_UNROLL for (int v = 0; v < (VECS); v++)                                               \
            w[v] = PANEL_LOAD(ISA, MASKED, VECS, v, b + p * n + lanes * v);                        \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                             \
            vec_##ISA x = set1_##ISA(ELEMENT);                                                     \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = fma_##ISA(x, w[v], s[r][v]);    \
        }                                                                                          \
    }

/* One block of ROWS rows × VECS registers of c: rows [i, i+ROWS), the panel at column j.
   a points at the block's first element of op(a): row i of a (lda = k) when TRANS is 0, or
   column i of a (lda = m) when it is 1. With d (laid out as c, possibly c itself), the tile
   stores d + its sums; with row (the panel's columns of a bias), row + its sums; with both,
   (d + row) + its sums: the bits of the additions done after the product. The panel's last
   register holds the lanes of `last` only when MASKED is 1 (n not a multiple of the lanes);
   full panels use plain loads. */
#define NARROW_TILE(ISA, MASKED, TRANS, ROWS, VECS)                                                \
    KILN_TARGET_##ISA static void tile_##ISA##MASKED##TRANS##_##ROWS##x##VECS(                     \
        int64_t k, int64_t n, int64_t lda, const float *a, const float *b, const float *d,          \
        const float *row, float *c, mask_##ISA last) {                                             \
        const int lanes = KILN_LANES_##ISA;                                                        \
        vec_##ISA s[ROWS][VECS];                                                                   \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = zero_##ISA();                   \
        for (int64_t p = 0; p < k; p++) {                                                          \
            TILE_STEP(ISA, MASKED, ROWS, VECS, (TRANS) ? a[p * lda + r] : a[r * lda + p])          \
        }                                                                                          \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                         \
                const float *from = d != NULL ? d + r * n + lanes * v : NULL;                      \
                const float *bias = row != NULL ? row + lanes * v : NULL;                          \
                if (from != NULL && bias != NULL)                                                  \
                    s[r][v] = add_##ISA(add_##ISA(PANEL_LOAD(ISA, MASKED, VECS, v, from),               \
                                                  PANEL_LOAD(ISA, MASKED, VECS, v, bias)), s[r][v]);    \
                else if (from != NULL || bias != NULL)                                             \
                    s[r][v] = add_##ISA(PANEL_LOAD(ISA, MASKED, VECS, v, from != NULL ? from : bias), s[r][v]); \
            }                                                                                      \
        TILE_STORE(ISA, MASKED, ROWS, VECS)                                                        \
    }

/* A tile of each height for a as stored (0) and transposed (1), full and masked. */
#define NARROW_TILE_VARIANTS(ISA, ROWS, VECS)                                                      \
    NARROW_TILE(ISA, 0, 0, ROWS, VECS) NARROW_TILE(ISA, 0, 1, ROWS, VECS)                         \
    NARROW_TILE(ISA, 1, 0, ROWS, VECS) NARROW_TILE(ISA, 1, 1, ROWS, VECS)

typedef void (*tile_avx512_fn)(int64_t, int64_t, int64_t, const float *, const float *, const float *,
                               const float *, float *, __mmask16);
typedef void (*tile_avx2_fn)(int64_t, int64_t, int64_t, const float *, const float *, const float *,
                             const float *, float *, __m256i);

/* The tiles of one panel width, tallest first, ending with one row: [masked][trans][height]. */
#define NARROW_SET_TYPE(ISA)                                                                       \
    typedef struct {                                                                               \
        int count;                                                                                 \
        int64_t heights[6];                                                                        \
        tile_##ISA##_fn tiles[2][2][6];                                                            \
    } tile_set_##ISA;
NARROW_SET_TYPE(avx512)
NARROW_SET_TYPE(avx2)

#define NARROW_POSITION(ISA, M, T, H, V) tile_##ISA##M##T##_##H##x##V
#define NARROW_LIST6(ISA, M, T, V, H1, H2, H3, H4, H5, H6)                                         \
    {NARROW_POSITION(ISA, M, T, H1, V), NARROW_POSITION(ISA, M, T, H2, V), NARROW_POSITION(ISA, M, T, H3, V), \
     NARROW_POSITION(ISA, M, T, H4, V), NARROW_POSITION(ISA, M, T, H5, V), NARROW_POSITION(ISA, M, T, H6, V)}

/* A panel width's entry: its tile heights (padded to six with 1), how many there are, and
   the tiles of each height for every variant. */
#define NARROW_SET(ISA, V, COUNT, H1, H2, H3, H4, H5, H6)                                          \
    [V] = {COUNT, {H1, H2, H3, H4, H5, H6},                                                        \
           {{NARROW_LIST6(ISA, 0, 0, V, H1, H2, H3, H4, H5, H6), NARROW_LIST6(ISA, 0, 1, V, H1, H2, H3, H4, H5, H6)}, \
            {NARROW_LIST6(ISA, 1, 0, V, H1, H2, H3, H4, H5, H6), NARROW_LIST6(ISA, 1, 1, V, H1, H2, H3, H4, H5, H6)}}}

/* AVX-512: panels of up to 4 registers (64 columns), tiles of 24 accumulators. */
NARROW_TILE_VARIANTS(avx512, 24, 1) NARROW_TILE_VARIANTS(avx512, 16, 1) NARROW_TILE_VARIANTS(avx512, 8, 1)
NARROW_TILE_VARIANTS(avx512, 4, 1) NARROW_TILE_VARIANTS(avx512, 2, 1) NARROW_TILE_VARIANTS(avx512, 1, 1)
NARROW_TILE_VARIANTS(avx512, 12, 2) NARROW_TILE_VARIANTS(avx512, 8, 2) NARROW_TILE_VARIANTS(avx512, 4, 2)
NARROW_TILE_VARIANTS(avx512, 2, 2) NARROW_TILE_VARIANTS(avx512, 1, 2)
NARROW_TILE_VARIANTS(avx512, 8, 3) NARROW_TILE_VARIANTS(avx512, 4, 3) NARROW_TILE_VARIANTS(avx512, 2, 3)
NARROW_TILE_VARIANTS(avx512, 1, 3)
NARROW_TILE_VARIANTS(avx512, 6, 4) NARROW_TILE_VARIANTS(avx512, 4, 4) NARROW_TILE_VARIANTS(avx512, 2, 4)
NARROW_TILE_VARIANTS(avx512, 1, 4)
#define KILN_PANEL_VECS_avx512 4
static const tile_set_avx512 sets_avx512[KILN_PANEL_VECS_avx512 + 1] = {
    NARROW_SET(avx512, 1, 6, 24, 16, 8, 4, 2, 1), NARROW_SET(avx512, 2, 5, 12, 8, 4, 2, 1, 1),
    NARROW_SET(avx512, 3, 4, 8, 4, 2, 1, 1, 1), NARROW_SET(avx512, 4, 4, 6, 4, 2, 1, 1, 1)};

/* AVX2: panels of up to 2 registers (16 columns), tiles of 12 accumulators, which leave the
   panel's row and one broadcast element the last of the 16 registers (a third register per
   row would not fit, and the compiler spills). */
NARROW_TILE_VARIANTS(avx2, 12, 1) NARROW_TILE_VARIANTS(avx2, 8, 1) NARROW_TILE_VARIANTS(avx2, 4, 1)
NARROW_TILE_VARIANTS(avx2, 2, 1) NARROW_TILE_VARIANTS(avx2, 1, 1)
NARROW_TILE_VARIANTS(avx2, 6, 2) NARROW_TILE_VARIANTS(avx2, 4, 2) NARROW_TILE_VARIANTS(avx2, 2, 2)
NARROW_TILE_VARIANTS(avx2, 1, 2)
#define KILN_PANEL_VECS_avx2 2
static const tile_set_avx2 sets_avx2[KILN_PANEL_VECS_avx2 + 1] = {
    NARROW_SET(avx2, 1, 5, 12, 8, 4, 2, 1, 1), NARROW_SET(avx2, 2, 4, 6, 4, 2, 1, 1, 1)};

/* Rows [i0, i1) of c in chunks of KILN_NARROW_CHUNK rows, and each chunk panel by panel:
   whole tiles of the tallest height, then the rows left in shorter ones. A chunk's rows of a
   stay in the caches while every panel passes over them, so a is read from memory once
   however many panels b has (four of 16 columns for a 64-column b with AVX2). The chunk is a
   multiple of every tallest height, so only the last one has rows left over. */
#define KILN_NARROW_CHUNK 48
#define NARROW_PANELS(ISA)                                                                         \
    /* The tiles of a panel of 1 to lanes * KILN_PANEL_VECS columns. */                           \
    static const tile_set_##ISA *panel_set_##ISA(int64_t width) {                                  \
        return &sets_##ISA[(width + KILN_LANES_##ISA - 1) / KILN_LANES_##ISA];                     \
    }                                                                                              \
    /* The height of the first panel's tallest tile: the grain of the parts split between the      \
       cores. */                                                                                   \
    static int64_t narrow_grain_##ISA(int64_t n) {                                                 \
        int64_t panel = KILN_LANES_##ISA * KILN_PANEL_VECS_##ISA;                                  \
        return panel_set_##ISA(n < 1 ? 1 : n < panel ? n : panel)->heights[0];                     \
    }                                                                                              \
    KILN_TARGET_##ISA static void narrow_##ISA(int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n, int64_t k, \
                                               const float *a, const float *b, const float *d, const float *bias, \
                                               float *c) {                                                        \
        const int64_t lanes = KILN_LANES_##ISA, panel = lanes * KILN_PANEL_VECS_##ISA;             \
        int64_t lda = trans_a ? m : k, row = trans_a ? 1 : k;                                      \
        for (int64_t start = i0; start < i1; start += KILN_NARROW_CHUNK) {                         \
            int64_t end = i1 - start < KILN_NARROW_CHUNK ? i1 : start + KILN_NARROW_CHUNK;         \
            for (int64_t j = 0; j < n; j += panel) {                                               \
                int64_t width = n - j < panel ? n - j : panel;                                     \
                int64_t tail = width - lanes * ((width - 1) / lanes);                              \
                const tile_set_##ISA *set = panel_set_##ISA(width);                                \
                tile_##ISA##_fn const *tiles = set->tiles[tail != lanes][trans_a != 0];            \
                mask_##ISA last = lanes_##ISA(tail);                                               \
                int64_t i = start;                                                                 \
                for (int t = 0; t < set->count; t++) {                                             \
                    for (; i + set->heights[t] <= end; i += set->heights[t])                       \
                        tiles[t](k, n, lda, a + i * row, b + j, d != NULL ? d + i * n + j : NULL,       \
                                 bias != NULL ? bias + j : NULL, c + i * n + j, last);                      \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
NARROW_PANELS(avx512)
NARROW_PANELS(avx2)

/* Products whose rows of a are read in place: row i's element p is rows[i][offsets[p]]. These
   are a convolution's windows read straight from the image (windows.c), where offsets[p] is
   how far window cell p lies from the window's first cell. The tiles are the narrow ones
   above with only that change, so every sum has the same bits as the product of the gathered
   rows. A tile keeps its rows' addresses in registers, so tiles are at most 6 rows tall on
   every instruction set. */
#define WINDOW_TILE(ISA, MASKED, ROWS, VECS)                                                       \
    KILN_TARGET_##ISA static void wtile_##ISA##MASKED##_##ROWS##x##VECS(                           \
        int64_t k, int64_t n, const int64_t *offsets, const float *const *rows, const float *b, float *c, \
        mask_##ISA last) {                                                                         \
        const int lanes = KILN_LANES_##ISA;                                                        \
        const float *a[ROWS];                                                                      \
        vec_##ISA s[ROWS][VECS];                                                                   \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                             \
            a[r] = rows[r];                                                                        \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = zero_##ISA();                   \
        }                                                                                          \
        for (int64_t p = 0; p < k; p++) {                                                          \
            int64_t at = offsets[p];                                                               \
            TILE_STEP(ISA, MASKED, ROWS, VECS, a[r][at])                                           \
        }                                                                                          \
        TILE_STORE(ISA, MASKED, ROWS, VECS)                                                        \
    }

typedef void (*wtile_avx512_fn)(int64_t, int64_t, const int64_t *, const float *const *, const float *, float *,
                                __mmask16);
typedef void (*wtile_avx2_fn)(int64_t, int64_t, const int64_t *, const float *const *, const float *, float *,
                              __m256i);

/* Tiles of 6, 4, 2 and 1 rows of one panel width, full and masked, made by the tile macro TILE
   (WINDOW_TILE or WINDOW_T_TILE), and their table entry [masked][height] by the tiles' NAME. */
#define WINDOW_HEIGHTS(TILE, ISA, MASKED, VECS)                                                    \
    TILE(ISA, MASKED, 6, VECS) TILE(ISA, MASKED, 4, VECS) TILE(ISA, MASKED, 2, VECS) TILE(ISA, MASKED, 1, VECS)
#define WINDOW_WIDTH(TILE, ISA, VECS) WINDOW_HEIGHTS(TILE, ISA, 0, VECS) WINDOW_HEIGHTS(TILE, ISA, 1, VECS)
#define WINDOW_LIST(NAME, ISA, MASKED, VECS)                                                       \
    {NAME##_##ISA##MASKED##_6x##VECS, NAME##_##ISA##MASKED##_4x##VECS, NAME##_##ISA##MASKED##_2x##VECS, \
     NAME##_##ISA##MASKED##_1x##VECS}
#define WINDOW_SET(NAME, ISA, VECS) [VECS] = {WINDOW_LIST(NAME, ISA, 0, VECS), WINDOW_LIST(NAME, ISA, 1, VECS)}
static const int64_t window_heights[4] = {6, 4, 2, 1};
/* The tiles TILE makes (named NAME) of every panel width on both instruction sets, and their
   tables SETS_avx512 and SETS_avx2 [width in registers][masked][height]. */
#define WINDOW_TABLES(TILE, NAME, SETS)                                                            \
    WINDOW_WIDTH(TILE, avx512, 1) WINDOW_WIDTH(TILE, avx512, 2) WINDOW_WIDTH(TILE, avx512, 3)      \
    WINDOW_WIDTH(TILE, avx512, 4)                                                                  \
    static const NAME##_avx512_fn SETS##_avx512[KILN_PANEL_VECS_avx512 + 1][2][4] = {             \
        WINDOW_SET(NAME, avx512, 1), WINDOW_SET(NAME, avx512, 2), WINDOW_SET(NAME, avx512, 3),     \
        WINDOW_SET(NAME, avx512, 4)};                                                              \
    WINDOW_WIDTH(TILE, avx2, 1) WINDOW_WIDTH(TILE, avx2, 2)                                        \
    static const NAME##_avx2_fn SETS##_avx2[KILN_PANEL_VECS_avx2 + 1][2][4] = {WINDOW_SET(NAME, avx2, 1), \
                                                                              WINDOW_SET(NAME, avx2, 2)};
WINDOW_TABLES(WINDOW_TILE, wtile, window_sets)

/* Rows [i0, i1) of c as narrow_ISA computes them, panel by panel, in chunks of this many rows:
   a's rows are the image's, in the caches whatever the chunk, so a chunk is as long as a part
   of a convolution's product usually is, and each panel of b passes over it once (with
   narrow_ISA's 48 rows, the last 2 of conv2's 50 rows a core takes read every panel again). */
#define KILN_WINDOW_CHUNK 240

/* For each panel of n columns (j, its first): the tiles of its width from SETS (of type
   FN), the mask of its last register, and rows i from START to END in tiles of 6, 4, 2 and 1
   (t, the height's position), each one CALL. */
#define WINDOW_PANEL_TILES(ISA, FN, SETS, START, END, CALL)                                        \
    for (int64_t j = 0; j < n; j += lanes * KILN_PANEL_VECS_##ISA) {                               \
        int64_t width = n - j < lanes * KILN_PANEL_VECS_##ISA ? n - j : lanes * KILN_PANEL_VECS_##ISA; \
        int64_t vecs = (width + lanes - 1) / lanes, tail = width - lanes * (vecs - 1);             \
        FN const *tiles = SETS[vecs][tail != lanes];                                               \
        mask_##ISA last = lanes_##ISA(tail);                                                       \
        int64_t i = (START);                                                                       \
        for (int t = 0; t < 4; t++) {                                                              \
            for (; i + window_heights[t] <= (END); i += window_heights[t]) CALL;                   \
        }                                                                                          \
    }

#define WINDOW_PANELS(ISA)                                                                         \
    KILN_TARGET_##ISA static void window_narrow_##ISA(int64_t i0, int64_t i1, int64_t n, int64_t k,              \
                                                      const float *const *rows, const int64_t *offsets,          \
                                                      const float *b, float *c) {                                \
        const int64_t lanes = KILN_LANES_##ISA;                                                    \
        for (int64_t start = i0; start < i1; start += KILN_WINDOW_CHUNK) {                         \
            int64_t end = i1 - start < KILN_WINDOW_CHUNK ? i1 : start + KILN_WINDOW_CHUNK;         \
            WINDOW_PANEL_TILES(ISA, wtile_##ISA##_fn, window_sets_##ISA, start, end,               \
                               tiles[t](k, n, offsets, rows + i, b + j, c + i * n + j, last))      \
        }                                                                                          \
    }
WINDOW_PANELS(avx512)
WINDOW_PANELS(avx2)

/* A pooled convolution, relu(max over a pooling window's cells of their window rows · b +
   bias), for one panel of b and pixel after pixel: a pixel's cells (the rows at at[i] +
   cell_offsets[q], read as window tiles read them) go four at a time through a tile of 4 rows
   × VECS registers, whose sums are folded into a running maximum m in registers, which the
   pixel's first cell starts (`start`; else m goes on from y). With `finish`, m + bias goes
   through the relu and into y; without, m itself does, for a later call to take up. Each sum
   is the window tiles' (each element alone, in order), the maximum takes the cells in order
   with the pooling's rule (a NaN, or a value beyond it), and, relu and the addition of a bias
   being non-decreasing, the maximum taken before them is the maximum of the activations
   after them: the bits of the convolution, its bias and relu, then the pooling, one after the
   other. Rows past the last cell repeat it, and are not folded in. The pixel loop is inside
   the tile: a call per pixel cost more than the 9 steps of a 3×3 one-channel window. */
#define POOL_TILE(ISA, MASKED, VECS)                                                               \
    KILN_TARGET_##ISA static void ptile_##ISA##MASKED##_##VECS(                                    \
        int64_t pixels, int64_t cells, int64_t k, int64_t n, const int64_t *offsets, const float *const *at, \
        const int64_t *cell_offsets, const float *b, const float *bias, int start, int finish, float *y, \
        mask_##ISA last) {                                                                         \
        const int lanes = KILN_LANES_##ISA;                                                        \
        vec_##ISA add[VECS];                                                                       \
        KILN_UNROLL for (int v = 0; v < (VECS); v++) add[v] = PANEL_LOAD(ISA, MASKED, VECS, v, bias + lanes * v); \
        for (int64_t i = 0; i < pixels; i++, y += n) {                                             \
            vec_##ISA m[VECS];                                                                     \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) m[v] = start ? zero_##ISA() : PANEL_LOAD(ISA, MASKED, VECS, v, y + lanes * v); \
            for (int64_t g = 0; g < cells; g += 4) {                                               \
                const float *a[4];                                                                 \
                vec_##ISA s[4][VECS];                                                              \
                KILN_UNROLL for (int r = 0; r < 4; r++) {                                          \
                    a[r] = at[i] + cell_offsets[g + r < cells ? g + r : cells - 1];                \
                    KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = zero_##ISA();           \
                }                                                                                  \
                for (int64_t p = 0; p < k; p++) {                                                  \
                    int64_t at = offsets[p];                                                       \
                    TILE_STEP(ISA, MASKED, 4, VECS, a[r][at])                                      \
                }                                                                                  \
                KILN_UNROLL for (int r = 0; r < 4; r++) {                                          \
                    if (g + r >= cells) break;                                                     \
                    KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                 \
                        vec_##ISA x = s[r][v];                                                     \
                        m[v] = start && g + r == 0 ? x : blend_##ISA(either_##ISA(nan_##ISA(x), gt_##ISA(x, m[v])), x, m[v]); \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                         \
                vec_##ISA x = m[v];                                                                \
                if (finish) {                                                                      \
                    x = add_##ISA(x, add[v]);                                                      \
                    x = blend_##ISA(either_##ISA(gt_##ISA(x, zero_##ISA()), nan_##ISA(x)), x, zero_##ISA()); \
                }                                                                                  \
                store_part_##ISA(y + lanes * v, !((MASKED) && v == (VECS) - 1), last, x);          \
            }                                                                                      \
        }                                                                                          \
    }
#define POOL_WIDTH(ISA, VECS) POOL_TILE(ISA, 0, VECS) POOL_TILE(ISA, 1, VECS)
#define POOL_SET(ISA, VECS) [VECS] = {ptile_##ISA##0_##VECS, ptile_##ISA##1_##VECS}
typedef void (*ptile_avx512_fn)(int64_t, int64_t, int64_t, int64_t, const int64_t *, const float *const *,
                                const int64_t *, const float *, const float *, int, int, float *, __mmask16);
typedef void (*ptile_avx2_fn)(int64_t, int64_t, int64_t, int64_t, const int64_t *, const float *const *,
                              const int64_t *, const float *, const float *, int, int, float *, __m256i);
POOL_WIDTH(avx512, 1) POOL_WIDTH(avx512, 2) POOL_WIDTH(avx512, 3) POOL_WIDTH(avx512, 4)
static const ptile_avx512_fn pool_sets_avx512[KILN_PANEL_VECS_avx512 + 1][2] = {
    POOL_SET(avx512, 1), POOL_SET(avx512, 2), POOL_SET(avx512, 3), POOL_SET(avx512, 4)};
POOL_WIDTH(avx2, 1) POOL_WIDTH(avx2, 2)
static const ptile_avx2_fn pool_sets_avx2[KILN_PANEL_VECS_avx2 + 1][2] = {POOL_SET(avx2, 1), POOL_SET(avx2, 2)};

/* Pixels [0, pixels) (row i of y), panel by panel of b. */
#define POOL_PANELS(ISA)                                                                           \
    KILN_TARGET_##ISA static void pool_##ISA(int64_t pixels, int64_t cells, int64_t n, int64_t k, \
                                             const float *const *at, const int64_t *cell_offsets,          \
                                             const int64_t *offsets, const float *b, int start, int finish, \
                                             const float *bias, float *y) {                                \
        const int64_t lanes = KILN_LANES_##ISA, panel = lanes * KILN_PANEL_VECS_##ISA;             \
        for (int64_t j = 0; j < n; j += panel) {                                                   \
            int64_t width = n - j < panel ? n - j : panel;                                         \
            int64_t vecs = (width + lanes - 1) / lanes, tail = width - lanes * (vecs - 1);         \
            ptile_##ISA##_fn tile = pool_sets_##ISA[vecs][tail != lanes];                          \
            mask_##ISA last = lanes_##ISA(tail);                                                   \
            tile(pixels, cells, k, n, offsets, at, cell_offsets, b + j, bias + j, start, finish, y + j, last); \
        }                                                                                          \
    }
POOL_PANELS(avx512)
POOL_PANELS(avx2)

/* The transposed product of windows read in place: row p of c (a cell of the window, at
   offsets[p] from each window's first cell) is the sum over the k windows i of
   rows[i][offsets[p]] times row i of b (a filter's gradient: the windows' cells against the
   gradient of the convolution's output). A tile holds ROWS rows of c, whose offsets stay in
   registers, and steps through the windows, one row of the panel and one broadcast cell a
   row each step, in order of i: the narrow tiles' step (TILE_STEP) with the roles of a's
   rows and columns exchanged, so the sums are those of the transposed narrow tiles over the
   gathered rows. With `accumulate`, the tile starts from c's sums instead of zero: windows
   taken in chunks go on with the very sums a single pass makes. */
#define WINDOW_T_TILE(ISA, MASKED, ROWS, VECS)                                                     \
    KILN_TARGET_##ISA static void wttile_##ISA##MASKED##_##ROWS##x##VECS(                          \
        int64_t k, int64_t n, const int64_t *offsets, const float *const *rows, const float *b, int accumulate, \
        float *c, mask_##ISA last) {                                                               \
        const int lanes = KILN_LANES_##ISA;                                                        \
        int64_t at[ROWS];                                                                          \
        vec_##ISA s[ROWS][VECS];                                                                   \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                             \
            at[r] = offsets[r];                                                                    \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                         \
                const float *from = c + r * n + lanes * v;                                         \
                s[r][v] = !accumulate ? zero_##ISA()                                               \
                          : PANEL_LOAD(ISA, MASKED, VECS, v, from);                                 \
            }                                                                                      \
        }                                                                                          \
        for (int64_t p = 0; p < k; p++) {                                                          \
            const float *row = rows[p];                                                            \
            TILE_STEP(ISA, MASKED, ROWS, VECS, row[at[r]])                                         \
        }                                                                                          \
        TILE_STORE(ISA, MASKED, ROWS, VECS)                                                        \
    }

typedef void (*wttile_avx512_fn)(int64_t, int64_t, const int64_t *, const float *const *, const float *, int, float *,
                                 __mmask16);
typedef void (*wttile_avx2_fn)(int64_t, int64_t, const int64_t *, const float *const *, const float *, int, float *,
                               __m256i);
WINDOW_TABLES(WINDOW_T_TILE, wttile, window_t_sets)

/* Rows [p0, p1) of c, panel by panel, each panel's tiles stepping through all k windows. */
#define WINDOW_T_PANELS(ISA)                                                                       \
    KILN_TARGET_##ISA static void window_t_##ISA(int64_t p0, int64_t p1, int64_t n, int64_t k,                  \
                                                 const float *const *rows, const int64_t *offsets,              \
                                                 const float *b, int accumulate, float *c) {                    \
        const int64_t lanes = KILN_LANES_##ISA;                                                    \
        WINDOW_PANEL_TILES(ISA, wttile_##ISA##_fn, window_t_sets_##ISA, p0, p1,                    \
                           tiles[t](k, n, offsets + i, rows, b + j, accumulate, c + i * n + j, last)) \
    }
WINDOW_T_PANELS(avx512)
WINDOW_T_PANELS(avx2)

/* Tiles of a product folded into images as it is made (kiln_gemm_narrow_fold): the narrow
   tiles' steps over rows of a (row stride k) and a panel of b (row stride n). With targets
   `to`, register v of row r is added where to[r * VECS + v] points (a window cell's channels
   in the image); without, the sums are stored whole into `sums`, rows of 64 floats, for
   fold_add to add into the image. */
#define FOLD_TILE(ISA, MASKED, ROWS, VECS)                                                         \
    KILN_TARGET_##ISA static void ftile_##ISA##MASKED##_##ROWS##x##VECS(int64_t k, int64_t n, const float *a, \
                                                                      const float *b, float *sums, float *const *to, \
                                                                      mask_##ISA last) {           \
        const int lanes = KILN_LANES_##ISA;                                                        \
        vec_##ISA s[ROWS][VECS];                                                                   \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) s[r][v] = zero_##ISA();                   \
        const float *row[ROWS];                                                                    \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++) {                                             \
            row[r] = a + r * k;                                                                    \
            /* A register per row: addressed from one, the rows cost an addition each a step. */ \
            __asm__("" : "+r"(row[r]));                                                            \
        }                                                                                          \
        for (int64_t p = 0; p < k; p++) {                                                          \
            TILE_STEP(ISA, MASKED, ROWS, VECS, row[r][p])                                          \
        }                                                                                          \
        if (to != NULL) {                                                                          \
            KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                           \
                KILN_UNROLL for (int v = 0; v < (VECS); v++) {                                     \
                    float *at = to[r * (VECS) + v];                                                \
                    int whole = !((MASKED) && v == (VECS) - 1);                                    \
                    store_part_##ISA(at, whole, last, add_##ISA(load_part_##ISA(at, whole, last), s[r][v])); \
                }                                                                                  \
            return;                                                                                \
        }                                                                                          \
        KILN_UNROLL for (int r = 0; r < (ROWS); r++)                                               \
            KILN_UNROLL for (int v = 0; v < (VECS); v++) store_##ISA(sums + r * 64 + lanes * v, s[r][v]); \
    }

typedef void (*ftile_avx512_fn)(int64_t, int64_t, const float *, const float *, float *, float *const *, __mmask16);
typedef void (*ftile_avx2_fn)(int64_t, int64_t, const float *, const float *, float *, float *const *, __m256i);
WINDOW_TABLES(FOLD_TILE, ftile, fold_sets)
#endif

/* A run of a panel's columns that lies in one window cell: `from` its first column from the
   panel's, `run` long, in the cell dy rows and dx columns of the image from the window's
   first cell, whose first float lies `offset` floats from the window's first cell's. */
typedef struct {
    int64_t from, run, dy, dx, offset;
} fold_segment;

/* The runs of columns [j, j + width) of a product's rows, one per window cell they meet (at
   most width). */
static int64_t fold_segments(const kiln_fold_shape *shape, int64_t j, int64_t width, fold_segment *segments) {
    int64_t count = 0;
    for (int64_t col = j; col < j + width;) {
        int64_t cell = col / shape->c, end = (cell + 1) * shape->c < j + width ? (cell + 1) * shape->c : j + width;
        int64_t dy = cell / shape->kw * shape->dh, dx = cell % shape->kw * shape->dw;
        segments[count++] = (fold_segment){col - j, end - col, dy, dx, (dy * shape->w + dx) * shape->c + col - cell * shape->c};
        col = end;
    }
    return count;
}

/* Whether the window whose first cell is image row y0, column x0 lies wholly inside the image. */
static inline int fold_inside(const kiln_fold_shape *shape, int64_t y0, int64_t x0) {
    return y0 >= 0 && x0 >= 0 && y0 + (shape->kh - 1) * shape->dh < shape->h && x0 + (shape->kw - 1) * shape->dw < shape->w;
}

/* Where a segment of the window whose first cell is (y0, x0) starts in the image, or NULL
   when its cell lies in the padding; `inside` (fold_inside) skips the test. */
static inline float *fold_place(const kiln_fold_shape *shape, float *image, int64_t y0, int64_t x0, int inside,
                                const fold_segment *segment) {
    if (inside) return image + (y0 * shape->w + x0) * shape->c + segment->offset;
    int64_t iy = y0 + segment->dy, ix = x0 + segment->dx;
    if (iy < 0 || iy >= shape->h || ix < 0 || ix >= shape->w) return NULL;
    return image + (iy * shape->w + ix) * shape->c + (segment->offset - (segment->dy * shape->w + segment->dx) * shape->c);
}

/* Adds rows [i, i + rows) of a panel's sums (rows of 64 floats) into the image, each segment
   of row r (window i + r) at its cell unless that lies in the padding (checked only for the
   windows that reach it); ADD_RUN(to, from, run) adds one run. */
#define FOLD_ADD(NAME, TARGET, ADD_RUN)                                                            \
    TARGET static void NAME(const kiln_fold_shape *shape, const fold_segment *segments, int64_t count, int64_t i, \
                            int64_t rows, const float *sums, float *image) {                       \
        int64_t oy = i / shape->ow, ox = i % shape->ow;                                            \
        for (int64_t r = 0; r < rows; r++, sums += 64) {                                           \
            int64_t y0 = oy * shape->sh - shape->top, x0 = ox * shape->sw - shape->left;           \
            int inside = fold_inside(shape, y0, x0);                                               \
            for (int64_t g = 0; g < count; g++) {                                                  \
                float *to = fold_place(shape, image, y0, x0, inside, segments + g);                \
                if (to != NULL) ADD_RUN(to, sums + segments[g].from, segments[g].run);             \
            }                                                                                      \
            if (++ox == shape->ow) ox = 0, oy++;                                                   \
        }                                                                                          \
    }
#define FOLD_ADD_PLAIN(to, from, run)                                                              \
    for (int64_t x = 0; x < (run); x++) (to)[x] += (from)[x];
FOLD_ADD(fold_add_plain, , FOLD_ADD_PLAIN)

#if defined(__x86_64__)
/* Where each register of rows [i, i + rows) of a panel goes, when every register lies in one
   window cell (the channels a multiple of the lanes): vectors[v] is register v's place from
   its window's first cell, found from the panel's segments; registers whose cell lies in the
   padding go to `junk`, one register that nothing reads. */
static void fold_targets(const kiln_fold_shape *shape, const fold_segment *vectors, int64_t vecs, int64_t i, int64_t rows,
                         float *image, float *junk, float **to) {
    int64_t oy = i / shape->ow, ox = i % shape->ow;
    for (int64_t r = 0; r < rows; r++, to += vecs) {
        int64_t y0 = oy * shape->sh - shape->top, x0 = ox * shape->sw - shape->left;
        int inside = fold_inside(shape, y0, x0);
        for (int64_t v = 0; v < vecs; v++) {
            float *place = fold_place(shape, image, y0, x0, inside, vectors + v);
            to[v] = place != NULL ? place : junk;
        }
        if (++ox == shape->ow) ox = 0, oy++;
    }
}

/* Register v's segment of a panel (each register in one, the channels a multiple of `lanes`),
   its offset moved to the register's first column. */
static void fold_vectors(const fold_segment *segments, int64_t count, int64_t lanes, int64_t vecs, fold_segment *vectors) {
    for (int64_t v = 0, g = 0; v < vecs; v++) {
        while (g + 1 < count && segments[g + 1].from <= lanes * v) g++;
        vectors[v] = segments[g];
        vectors[v].offset += lanes * v - segments[g].from;
        vectors[v].from = lanes * v;
    }
}

/* A run added a register at a time, the last few lanes under a mask. */
#define FOLD_ADD_RUN(ISA)                                                                          \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline void add_run_##ISA(float *to, const float *from, int64_t run) { \
        const int64_t lanes = KILN_LANES_##ISA;                                                    \
        int64_t x = 0;                                                                             \
        for (; x + lanes <= run; x += lanes) store_##ISA(to + x, add_##ISA(load_##ISA(to + x), load_##ISA(from + x))); \
        if (x < run) {                                                                             \
            mask_##ISA rest = lanes_##ISA(run - x);                                                \
            storem_##ISA(to + x, rest, add_##ISA(loadm_##ISA(to + x, rest), loadm_##ISA(from + x, rest))); \
        }                                                                                          \
    }
FOLD_ADD_RUN(avx512)
FOLD_ADD_RUN(avx2)
FOLD_ADD(fold_add_avx512, KILN_TARGET_avx512, add_run_avx512)
FOLD_ADD(fold_add_avx2, KILN_TARGET_avx2, add_run_avx2)

/* The product a[m,k] · b[k,n] folded into the image panel by panel of b (whose rows stay in
   the cache while the panel's tiles go down a's rows), each tile's sums added into the image
   as soon as they are made: straight from the registers when each register lies in one
   window cell (the channels a multiple of the lanes), through `sums` and fold_add otherwise.
   Both add the same values to each pixel in the same order. */
#define FOLD_PANELS(ISA)                                                                           \
    KILN_TARGET_##ISA static void fold_##ISA(int64_t m, int64_t n, int64_t k, const float *a, const float *b, \
                                             const kiln_fold_shape *shape, float *image) {         \
        const int64_t lanes = KILN_LANES_##ISA, panel = lanes * KILN_PANEL_VECS_##ISA;             \
        const int direct = shape->c % lanes == 0;                                                  \
        float sums[6 * 64], junk[KILN_LANES_##ISA];                                                \
        float *to[6 * KILN_PANEL_VECS_##ISA];                                                      \
        fold_segment segments[64], vectors[KILN_PANEL_VECS_##ISA];                                 \
        for (int64_t j = 0; j < n; j += panel) {                                                   \
            int64_t width = n - j < panel ? n - j : panel;                                         \
            int64_t vecs = (width + lanes - 1) / lanes, tail = width - lanes * (vecs - 1);         \
            ftile_##ISA##_fn const *tiles = fold_sets_##ISA[vecs][tail != lanes];                  \
            mask_##ISA last = lanes_##ISA(tail);                                                   \
            int64_t count = fold_segments(shape, j, width, segments), i = 0;                       \
            if (direct) fold_vectors(segments, count, lanes, vecs, vectors);                       \
            for (int t = 0; t < 4; t++) {                                                          \
                for (; i + window_heights[t] <= m; i += window_heights[t]) {                       \
                    if (direct) {                                                                  \
                        fold_targets(shape, vectors, vecs, i, window_heights[t], image, junk, to); \
                        tiles[t](k, n, a + i * k, b + j, NULL, to, last);                          \
                        continue;                                                                  \
                    }                                                                              \
                    tiles[t](k, n, a + i * k, b + j, sums, NULL, last);                            \
                    fold_add_##ISA(shape, segments, count, i, window_heights[t], sums, image);     \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }
FOLD_PANELS(avx512)
FOLD_PANELS(avx2)
#endif

/* sums[j] = the sum over p of x(p) · b[p, j0 + j] for j < width (at most 64), in order of p,
   where x(p) is a[offsets[p]] with offsets, a[p * step] without: the plain C of a row of the
   narrow products below (a row of a, a column of a transposed, or a window read in place). */
static void plain_sums(int64_t width, int64_t k, const float *a, int64_t step, const int64_t *offsets, const float *b,
                       int64_t n, int64_t j0, float *sums) {
    for (int64_t j = 0; j < width; j++) sums[j] = 0.0f;
    for (int64_t p = 0; p < k; p++) {
        float x = offsets != NULL ? a[offsets[p]] : a[p * step];
        const float *w = b + p * n + j0;
        for (int64_t j = 0; j < width; j++) sums[j] += x * w[j];
    }
}

/* window_narrow_ISA with plain C, for CPUs without AVX2, summing as narrow_plain does. */
static void window_plain(int64_t i0, int64_t i1, int64_t n, int64_t k, const float *const *rows,
                         const int64_t *offsets, const float *b, float *c) {
    float sums[64];
    for (int64_t i = i0; i < i1; i++) {
        for (int64_t j0 = 0; j0 < n; j0 += 64) {
            int64_t width = n - j0 < 64 ? n - j0 : 64;
            plain_sums(width, k, rows[i], 1, offsets, b, n, j0, sums);
            for (int64_t j = 0; j < width; j++) c[i * n + j0 + j] = sums[j];
        }
    }
}

static void window_rows_at(int level, int64_t i0, int64_t i1, int64_t n, int64_t k, const float *const *rows,
                           const int64_t *offsets, const float *b, float *c) {
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, window_narrow, i0, i1, n, k, rows, offsets, b, c)) return;
#endif
    window_plain(i0, i1, n, k, rows, offsets, b, c);
}

/* window_t_ISA with plain C, for CPUs without AVX2: each row of c summed in order of the
   windows, as the tiles sum it. */
static void window_t_plain(int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                           const int64_t *offsets, const float *b, int accumulate, float *c) {
    for (int64_t p = p0; p < p1; p++) {
        float *row = c + p * n;
        if (!accumulate) memset(row, 0, (size_t)n * sizeof(float));
        for (int64_t i = 0; i < k; i++) {
            float x = rows[i][offsets[p]];
            const float *w = b + i * n;
            for (int64_t j = 0; j < n; j++) row[j] += x * w[j];
        }
    }
}

static void window_t_at(int level, int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                        const int64_t *offsets, const float *b, int accumulate, float *c) {
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, window_t, p0, p1, n, k, rows, offsets, b, accumulate, c)) return;
#endif
    window_t_plain(p0, p1, n, k, rows, offsets, b, accumulate, c);
}

/* Rows [i0, i1) of c with plain C, for CPUs without AVX2: 64 columns at a time summed in
   a local row, so that d may be c itself. */
static void narrow_plain(int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n, int64_t k, const float *a,
                         const float *b, const float *d, const float *bias, float *c) {
    float sums[64];
    for (int64_t i = i0; i < i1; i++) {
        for (int64_t j0 = 0; j0 < n; j0 += 64) {
            int64_t width = n - j0 < 64 ? n - j0 : 64;
            plain_sums(width, k, trans_a ? a + i : a + i * k, trans_a ? m : 1, NULL, b, n, j0, sums);
            kiln_add_after_product(1, width, d != NULL ? d + i * n + j0 : NULL, bias != NULL ? bias + j0 : NULL, sums,
                                   c + i * n + j0);
        }
    }
}

/* Rows [i0, i1) of c with the tiles of the given level (kiln_cpu_simd_level's numbering). */
static void narrow_rows(int level, int trans_a, int64_t i0, int64_t i1, int64_t m, int64_t n, int64_t k,
                        const float *a, const float *b, const float *d, const float *row, float *c) {
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, narrow, trans_a, i0, i1, m, n, k, a, b, d, row, c)) return;
#endif
    narrow_plain(trans_a, i0, i1, m, n, k, a, b, d, row, c);
}

/* The product's operands, the array and the row added to it (or NULL) and whether a is
   transposed, for the parts split between the cores. */
typedef struct {
    kiln_product_job product;
    const float *d, *row;
    int trans_a;
} narrow_job;

static void narrow_part(int64_t begin, int64_t end, int64_t m, void *const *args) {
    const narrow_job *job = args[0];
    narrow_rows(kiln_cpu_simd_level(), job->trans_a, begin, end, m, job->product.n, job->product.k, job->product.a,
                job->product.b, job->d, job->row, job->product.c);
}

/* Products of at least this many multiply-adds are split between the cores, in parts of
   whole tiles of the first panel's height. */
#define KILN_NARROW_SPLIT (512 * 1024)

static void narrow(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b, const float *d,
                   const float *row, float *c) {
    int64_t grain = 6;
#if defined(__x86_64__)
    int level = kiln_cpu_simd_level();
    if (level == 2) grain = narrow_grain_avx512(n);
    if (level == 1) grain = narrow_grain_avx2(n);
#endif
    if (m * n * k < KILN_NARROW_SPLIT || m < 2 * grain) {
        narrow_rows(kiln_cpu_simd_level(), trans_a, 0, m, m, n, k, a, b, d, row, c);
        return;
    }
    narrow_job job = {{.n = n, .k = k, .a = a, .b = b, .c = c}, d, row, trans_a};
    void *args[1] = {&job};
    kiln_parallel_for_grain(m, m, grain, narrow_part, args);
}

void kiln_gemm_narrow(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
    narrow(trans_a, m, n, k, a, b, NULL, NULL, c);
}

void kiln_gemm_narrow_add(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                          const float *d, float *c) {
    narrow(trans_a, m, n, k, a, b, d, NULL, c);
}

void kiln_gemm_narrow_add_row(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                              const float *d, const float *row, float *c) {
    narrow(trans_a, m, n, k, a, b, d, row, c);
}

void kiln_gemm_narrow_at(int level, int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                         const float *d, const float *row, float *c) {
    int highest = kiln_cpu_simd_level();
    narrow_rows(level < highest ? level : highest, trans_a, 0, m, m, n, k, a, b, d, row, c);
}

/* A product of rows read in place, for the parts split between the cores. */
typedef struct {
    const float *const *rows;
    const int64_t *offsets;
    const float *b;
    float *c;
    int64_t n, k;
} rows_job;

static void rows_part(int64_t begin, int64_t end, int64_t m, void *const *args) {
    (void)m;
    const rows_job *job = args[0];
    window_rows_at(kiln_cpu_simd_level(), begin, end, job->n, job->k, job->rows, job->offsets, job->b, job->c);
}

void kiln_gemm_narrow_rows(int64_t m, int64_t n, int64_t k, const float *const *rows, const int64_t *offsets,
                           const float *b, float *c) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    if (m * n * k < KILN_NARROW_SPLIT || m < 2 * window_heights[0]) {
        window_rows_at(kiln_cpu_simd_level(), 0, m, n, k, rows, offsets, b, c);
        return;
    }
    rows_job job = {rows, offsets, b, c, n, k};
    void *args[1] = {&job};
    kiln_parallel_for_grain(m, m, window_heights[0], rows_part, args);
}

void kiln_gemm_narrow_rows_at(int level, int64_t m, int64_t n, int64_t k, const float *const *rows,
                              const int64_t *offsets, const float *b, float *c) {
    int highest = kiln_cpu_simd_level();
    if (m <= 0 || n <= 0) return;
    window_rows_at(level < highest ? level : highest, 0, m, n, k, rows, offsets, b, c);
}

void kiln_gemm_narrow_rows_t(int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                             const int64_t *offsets, const float *b, int accumulate, float *c) {
    if (p0 >= p1 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) memset(c + p0 * n, 0, (size_t)((p1 - p0) * n) * sizeof(float));
        return;
    }
    window_t_at(kiln_cpu_simd_level(), p0, p1, n, k, rows, offsets, b, accumulate, c);
}

void kiln_gemm_narrow_rows_t_at(int level, int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                                const int64_t *offsets, const float *b, int accumulate, float *c) {
    int highest = kiln_cpu_simd_level();
    if (p0 >= p1 || n <= 0 || k <= 0) return;
    window_t_at(level < highest ? level : highest, p0, p1, n, k, rows, offsets, b, accumulate, c);
}

/* fold_ISA with plain C, for CPUs without AVX2: each row's sums made as narrow_plain makes
   them, 64 columns at a time. */
static void fold_plain(int64_t m, int64_t n, int64_t k, const float *a, const float *b, const kiln_fold_shape *shape,
                       float *image) {
    float sums[64];
    fold_segment segments[64];
    for (int64_t j = 0; j < n; j += 64) {
        int64_t width = n - j < 64 ? n - j : 64, count = fold_segments(shape, j, width, segments);
        for (int64_t i = 0; i < m; i++) {
            plain_sums(width, k, a + i * k, 1, NULL, b, n, j, sums);
            fold_add_plain(shape, segments, count, i, 1, sums, image);
        }
    }
}

void kiln_gemm_narrow_fold(int level, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                           const kiln_fold_shape *shape, float *image) {
    int highest = kiln_cpu_simd_level();
    if (m <= 0 || n <= 0 || k <= 0) return;
    level = level < highest ? level : highest;
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, fold, m, n, k, a, b, shape, image)) return;
#endif
    fold_plain(m, n, k, a, b, shape, image);
}

/* pool_ISA with plain C, for CPUs without AVX2: each cell's sums as window_plain makes them,
   folded in the same order with the same rule. */
static void pool_plain(int64_t pixels, int64_t cells, int64_t n, int64_t k, const float *const *at,
                       const int64_t *cell_offsets, const int64_t *offsets, const float *b, int start, int finish,
                       const float *bias, float *y) {
    float sums[64];
    for (int64_t i = 0; i < pixels; i++) {
        for (int64_t j0 = 0; j0 < n; j0 += 64) {
            int64_t width = n - j0 < 64 ? n - j0 : 64;
            float *m = y + i * n + j0;
            for (int64_t cell = 0; cell < cells; cell++) {
                plain_sums(width, k, at[i] + cell_offsets[cell], 1, offsets, b, n, j0, sums);
                for (int64_t j = 0; j < width; j++) {
                    float x = sums[j];
                    if ((start && cell == 0) || x != x || x > m[j]) m[j] = x;
                }
            }
            if (!finish) continue;
            for (int64_t j = 0; j < width; j++) {
                float x = m[j] + bias[j0 + j];
                m[j] = x > 0.0f || x != x ? x : 0.0f;
            }
        }
    }
}

void kiln_gemm_narrow_pool(int level, int64_t pixels, int64_t cells, int64_t n, int64_t k, const float *const *at,
                           const int64_t *cell_offsets, const int64_t *offsets, const float *b, int start, int finish,
                           const float *bias, float *y) {
    int highest = kiln_cpu_simd_level();
    if (pixels <= 0 || cells <= 0 || n <= 0) return;
    level = level < highest ? level : highest;
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, pool, pixels, cells, n, k, at, cell_offsets, offsets, b, start, finish, bias, y)) return;
#endif
    pool_plain(pixels, cells, n, k, at, cell_offsets, offsets, b, start, finish, bias, y);
}
