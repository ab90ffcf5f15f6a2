/* c[n] = a[k] · b[k,n] for one row a (a single-sample forward pass), reading b once, row by
   row, in its own order: the access pattern the hardware prefetchers stream fastest. The
   columns are cut in chunks of 256 held in 16 AVX-512 registers (96 in 12 with AVX2), the
   last few in one masked register (plain C without either), and a large matrix is split by
   columns between the cores (each keeps its half of the weights in its own cache from call to
   call). A narrow matrix (an output layer of 10 classes) has its one or two registers of sums
   in one loop. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#if defined(__x86_64__)
#include "kiln_simd.h"

/* Chunks of WIDTH registers of c's columns, each summed over all of k. */
#define GEMV_CHUNK(ISA, WIDTH)                                                                    \
    for (; j + lanes * (WIDTH) <= j1; j += lanes * (WIDTH)) {                                    \
        vec_##ISA s[WIDTH];                                                                       \
        for (int r = 0; r < (WIDTH); r++) s[r] = zero_##ISA();                                    \
        for (int64_t p = 0; p < k; p++) {                                                         \
            vec_##ISA x = set1_##ISA(a[p]);                                                       \
            const float *row = b + p * n + j;                                                     \
            for (int r = 0; r < (WIDTH); r++) s[r] = fma_##ISA(x, load_##ISA(row + lanes * r), s[r]); \
        }                                                                                         \
        for (int r = 0; r < (WIDTH); r++) store_##ISA(c + j + lanes * r, s[r]);                   \
    }

/* Columns [j0, j1), at most this many (one or two registers of sums: an output layer of
   10 classes), run every register, the masked last one too, in one loop over k: in two loops,
   one after the other, each register's chain of fused multiply-adds waits on its own latency
   alone (the convnet's 1,600 × 10 layer took 4.3 µs so, 2.2 µs in one loop). Each column is
   still summed in order, as the narrow GEMM's tiles sum it, so a single row gets the bits it
   gets in a batch. */
#define KILN_GEMV_NARROW 16
#define GEMV_NARROW(ISA)                                                                          \
    KILN_TARGET_##ISA static void gemv_narrow_##ISA(int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, \
                                                    const float *b, float *c) {                   \
        enum { lanes = KILN_LANES_##ISA, vecs = KILN_GEMV_NARROW / KILN_LANES_##ISA };            \
        mask_##ISA mask[vecs];                                                                    \
        vec_##ISA s[vecs];                                                                        \
        for (int v = 0; v < vecs; v++) {                                                          \
            int64_t width = j1 - j0 - v * lanes;                                                  \
            mask[v] = lanes_##ISA(width < 0 ? 0 : width < lanes ? width : lanes);                 \
            s[v] = zero_##ISA();                                                                  \
        }                                                                                         \
        for (int64_t p = 0; p < k; p++) {                                                         \
            vec_##ISA x = set1_##ISA(a[p]);                                                       \
            const float *row = b + p * n + j0;                                                    \
            for (int v = 0; v < vecs; v++) s[v] = fma_##ISA(x, loadm_##ISA(row + v * lanes, mask[v]), s[v]); \
        }                                                                                         \
        for (int v = 0; v < vecs; v++) storem_##ISA(c + j0 + v * lanes, mask[v], s[v]);           \
    }

/* Columns [j0, j1) in chunks of W1, W2, W3 registers and one, then the last few columns in
   one masked register; a few columns in one loop (gemv_narrow). */
#define GEMV_COLUMNS(ISA, W1, W2, W3)                                                             \
    KILN_TARGET_##ISA static void gemv_##ISA(int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, \
                                             const float *b, float *c) {                         \
        const int64_t lanes = KILN_LANES_##ISA;                                                   \
        if (j1 - j0 <= KILN_GEMV_NARROW) {                                                        \
            gemv_narrow_##ISA(k, n, j0, j1, a, b, c);                                             \
            return;                                                                               \
        }                                                                                         \
        int64_t j = j0;                                                                           \
        GEMV_CHUNK(ISA, W1)                                                                       \
        GEMV_CHUNK(ISA, W2)                                                                       \
        GEMV_CHUNK(ISA, W3)                                                                       \
        GEMV_CHUNK(ISA, 1)                                                                        \
        if (j < j1) {                                                                             \
            mask_##ISA mask = lanes_##ISA(j1 - j);                                                \
            vec_##ISA s = zero_##ISA();                                                           \
            for (int64_t p = 0; p < k; p++) s = fma_##ISA(set1_##ISA(a[p]), loadm_##ISA(b + p * n + j, mask), s); \
            storem_##ISA(c + j, mask, s);                                                         \
        }                                                                                         \
    }

/* AVX-512: 256, 128 and 64 columns in 16, 8 and 4 of its 32 registers. AVX2: 96, 64 and 32
   columns in 12, 8 and 4 of its 16. */
GEMV_NARROW(avx512)
GEMV_NARROW(avx2)
GEMV_COLUMNS(avx512, 16, 8, 4)
GEMV_COLUMNS(avx2, 12, 8, 4)
#endif

/* Columns [j0, j1) with plain C, for CPUs without AVX2. */
static void gemv_plain(int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, const float *b, float *c) {
    if (j0 >= j1) return;
    for (int64_t j = j0; j < j1; j++) c[j] = 0.0f;
    for (int64_t p = 0; p < k; p++) {
        float x = a[p];
        const float *row = b + p * n;
        for (int64_t j = j0; j < j1; j++) c[j] += x * row[j];
    }
}

static void gemv_columns(int level, int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, const float *b,
                         float *c) {
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(level, gemv, k, n, j0, j1, a, b, c)) return;
#endif
    gemv_plain(k, n, j0, j1, a, b, c);
}

static void gemv_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const kiln_product_job *job = args[0];
    gemv_columns(kiln_cpu_simd_level(), job->k, job->n, begin, end, job->a, job->b, job->c);
}

/* Matrices of at least this many bytes are split between the cores, in parts of whole
   multiples of this many columns (eight registers). */
#define KILN_GEMV_SPLIT (256 * 1024)
#define KILN_GEMV_GRAIN 128

void kiln_gemv(int64_t k, int64_t n, const float *a, const float *b, float *c) {
    if ((int64_t)sizeof(float) * k * n < KILN_GEMV_SPLIT || n < 2 * KILN_GEMV_GRAIN) {
        gemv_columns(kiln_cpu_simd_level(), k, n, 0, n, a, b, c);
        return;
    }
    kiln_product_job job = {.n = n, .k = k, .a = a, .b = b, .c = c};
    void *args[1] = {&job};
    kiln_parallel_for_grain(n, 0, KILN_GEMV_GRAIN, gemv_part, args);
}

void kiln_gemv_at(int level, int64_t k, int64_t n, const float *a, const float *b, float *c) {
    int highest = kiln_cpu_simd_level();
    gemv_columns(level < highest ? level : highest, k, n, 0, n, a, b, c);
}
